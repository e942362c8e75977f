// Helpers for the Kafka tests: a plain librdkafka producer and group-less consumer to look at
// (and forge) records on the wire, next to eventshop's kafka_bus.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "eventshop/core/registry.hpp"
#include "eventshop/kafka/kafka_bus.hpp"
#include "eventshop/kafka/mock_cluster.hpp"
#include "handles.hpp"

namespace eventshop::kafka::test {

using namespace std::chrono_literals;
using eventshop::kafka::detail::handle_ptr;

struct raw_record {
  std::string key;
  std::string value;
  std::map<std::string, std::string> headers;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
};

// Options for a kafka_bus on an in-process mock cluster: topics created on the mock, a short
// session timeout (the mock coordinator waits session.timeout.ms - 1 s in rebalances).
inline kafka_options mock_options(mock_cluster& cluster, std::int32_t partitions = 4) {
  kafka_options o;
  o.bootstrap_servers = cluster.bootstrap_servers();
  o.partitions = partitions;
  o.redelivery_delay = 20ms;
  o.topic_creator = [&cluster](const topic_spec& s) {
    cluster.create_topic(s.name, s.partitions, std::min(3, cluster.brokers()));
  };
  o.consumer_properties = {{"session.timeout.ms", "2500"}, {"heartbeat.interval.ms", "300"}};
  return o;
}

inline envelope make_event(const std::string& key, int seq, const std::string& type = "TestEvent") {
  event_options o;
  o.source = "/eventshop/kafka-test";
  o.subject = key;
  return make_envelope(type, 1, "{\"seq\":" + std::to_string(seq) + "}", o);
}

inline int seq_of(const envelope& e) {
  const auto p = e.data.find("\"seq\":");
  return std::stoi(e.data.substr(p + 6));
}

// Produces one record as it is, headers and all; waits for the delivery report.
inline void raw_produce(const std::string& bootstrap, const std::string& topic,
                        const std::string& key, const std::string& value,
                        const std::vector<std::pair<std::string, std::string>>& headers) {
  auto rk = detail::make_handle(
      RD_KAFKA_PRODUCER,
      detail::make_conf({{"bootstrap.servers", bootstrap}, {"partitioner", "murmur2_random"}}));
  detail::headers_ptr h(rd_kafka_headers_new(headers.size()));
  for (const auto& [k, v] : headers)
    rd_kafka_header_add(h.get(), k.c_str(), -1, v.data(), static_cast<ssize_t>(v.size()));
  rd_kafka_vu_t args[4];
  args[0].vtype = RD_KAFKA_VTYPE_TOPIC;
  args[0].u.cstr = topic.c_str();
  args[1].vtype = RD_KAFKA_VTYPE_KEY;
  args[1].u.mem = {const_cast<char*>(key.data()), key.size()};
  args[2].vtype = RD_KAFKA_VTYPE_VALUE;
  args[2].u.mem = {const_cast<char*>(value.data()), value.size()};
  args[3].vtype = RD_KAFKA_VTYPE_HEADERS;
  args[3].u.headers = h.get();
  detail::error_ptr err(rd_kafka_produceva(rk.get(), args, 4));
  ASSERT_FALSE(err) << rd_kafka_error_string(err.get());
  (void)h.release();
  ASSERT_EQ(rd_kafka_flush(rk.get(), 10'000), RD_KAFKA_RESP_ERR_NO_ERROR);
}

// Reads every partition of a topic from the beginning, without a consumer group.
class raw_reader {
 public:
  raw_reader(const std::string& bootstrap, const std::string& topic, std::int32_t partitions) {
    rk_ = detail::make_handle(RD_KAFKA_CONSUMER,
                              detail::make_conf({{"bootstrap.servers", bootstrap},
                                                 {"group.id", "raw-reader"},
                                                 {"enable.auto.commit", "false"}}));
    rd_kafka_poll_set_consumer(rk_.get());
    detail::partition_list_ptr list(rd_kafka_topic_partition_list_new(partitions));
    for (std::int32_t p = 0; p < partitions; ++p)
      rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p)->offset =
          RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(rk_.get(), list.get());
  }
  ~raw_reader() { rd_kafka_consumer_close(rk_.get()); }

  // Polls until `n` records arrived or `timeout` passed.
  std::vector<raw_record> read(std::size_t n, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (records_.size() < n && std::chrono::steady_clock::now() < deadline) {
      detail::message_ptr m(rd_kafka_consumer_poll(rk_.get(), 100));
      if (!m || m->err) continue;
      raw_record r;
      if (m->key) r.key.assign(static_cast<const char*>(m->key), m->key_len);
      if (m->payload) r.value.assign(static_cast<const char*>(m->payload), m->len);
      r.partition = m->partition;
      r.offset = m->offset;
      rd_kafka_headers_t* h = nullptr;
      if (rd_kafka_message_headers(m.get(), &h) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        const char* name;
        const void* v;
        std::size_t size;
        for (std::size_t i = 0; rd_kafka_header_get_all(h, i, &name, &v, &size) == 0; ++i)
          r.headers[name] = v ? std::string(static_cast<const char*>(v), size) : std::string();
      }
      records_.push_back(std::move(r));
    }
    return records_;
  }

 private:
  handle_ptr rk_;
  std::vector<raw_record> records_;
};

}  // namespace eventshop::kafka::test
