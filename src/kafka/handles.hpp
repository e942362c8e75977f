// Private: RAII ownership of librdkafka's C handles (modern-cpp-kafka's habit: one deleter and
// one unique_ptr alias per handle type). Only src/kafka and the component's own tests include
// this header; rdkafka.h never reaches a public header.
#pragma once

#include <librdkafka/rdkafka.h>

#include <map>
#include <memory>
#include <string>
#include <system_error>

namespace eventshop::kafka::detail {

template <class T, void (*Destroy)(T*)>
struct c_deleter {
  void operator()(T* p) const noexcept {
    if (p) Destroy(p);
  }
};

// A consumer handle must go through rd_kafka_consumer_close() before destruction; the owner of
// a consumer does that explicitly (see subscriber.cpp) before the deleter runs.
using handle_ptr = std::unique_ptr<rd_kafka_t, c_deleter<rd_kafka_t, rd_kafka_destroy>>;
using conf_ptr =
    std::unique_ptr<rd_kafka_conf_t, c_deleter<rd_kafka_conf_t, rd_kafka_conf_destroy>>;
using topic_ptr =
    std::unique_ptr<rd_kafka_topic_t, c_deleter<rd_kafka_topic_t, rd_kafka_topic_destroy>>;
using message_ptr =
    std::unique_ptr<rd_kafka_message_t, c_deleter<rd_kafka_message_t, rd_kafka_message_destroy>>;
using headers_ptr =
    std::unique_ptr<rd_kafka_headers_t, c_deleter<rd_kafka_headers_t, rd_kafka_headers_destroy>>;
using partition_list_ptr = std::unique_ptr<
    rd_kafka_topic_partition_list_t,
    c_deleter<rd_kafka_topic_partition_list_t, rd_kafka_topic_partition_list_destroy>>;
using queue_ptr =
    std::unique_ptr<rd_kafka_queue_t, c_deleter<rd_kafka_queue_t, rd_kafka_queue_destroy>>;
using event_ptr =
    std::unique_ptr<rd_kafka_event_t, c_deleter<rd_kafka_event_t, rd_kafka_event_destroy>>;
using error_ptr =
    std::unique_ptr<rd_kafka_error_t, c_deleter<rd_kafka_error_t, rd_kafka_error_destroy>>;
using admin_options_ptr =
    std::unique_ptr<rd_kafka_AdminOptions_t,
                    c_deleter<rd_kafka_AdminOptions_t, rd_kafka_AdminOptions_destroy>>;
using new_topic_ptr =
    std::unique_ptr<rd_kafka_NewTopic_t, c_deleter<rd_kafka_NewTopic_t, rd_kafka_NewTopic_destroy>>;

// Metadata is freed through a const pointer.
struct metadata_deleter {
  void operator()(const rd_kafka_metadata_t* p) const noexcept {
    if (p) rd_kafka_metadata_destroy(p);
  }
};
using metadata_ptr = std::unique_ptr<const rd_kafka_metadata_t, metadata_deleter>;

using properties = std::map<std::string, std::string, std::less<>>;

// A configuration with every property of `props` applied, in order. Throws
// eventshop::error(invalid_argument) naming the property librdkafka refused and why.
conf_ptr make_conf(const properties& props);

// Sets one property; throws like make_conf.
void set_property(rd_kafka_conf_t* conf, const std::string& name, const std::string& value);

// Creates a handle of `type` from `conf` (taking ownership of it); throws
// eventshop::error(invalid_argument) with librdkafka's reason on failure.
handle_ptr make_handle(rd_kafka_type_t type, conf_ptr conf);

// librdkafka's error codes mapped onto eventshop::errc, keeping the retriable/fatal split that
// eventshop::is_retriable() reads (see kafka_bus.hpp for the table).
std::error_code to_error_code(rd_kafka_resp_err_t err) noexcept;

// "Broker: Not enough in-sync replicas (NOT_ENOUGH_REPLICAS)".
std::string describe(rd_kafka_resp_err_t err);

}  // namespace eventshop::kafka::detail
