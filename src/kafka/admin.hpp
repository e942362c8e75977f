// Private: admin-API helpers shared by kafka_bus and topic_admin.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "eventshop/kafka/topics.hpp"
#include "handles.hpp"

namespace eventshop::kafka::detail {

struct create_result {
  std::string name;
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;  // TOPIC_ALREADY_EXISTS is not a failure
  std::string message;
};

// One CreateTopics request for all `specs`; one result per topic (a failure of the whole request,
// e.g. __UNSUPPORTED_FEATURE from a cluster without the admin API, is repeated for each).
std::vector<create_result> create_topics(rd_kafka_t* rk, const std::vector<topic_spec>& specs,
                                         std::chrono::milliseconds timeout);

struct topic_info {
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;  // UNKNOWN_TOPIC_OR_PART: no such topic
  std::int32_t partitions = 0;
  std::int32_t replication_factor = 0;
};

// Fresh metadata for one topic (never auto-creates: the caller's handle must have
// allow.auto.create.topics=false). Retries transient answers until `timeout`.
topic_info describe_topic(rd_kafka_t* rk, const std::string& name,
                          std::chrono::milliseconds timeout);

// Creates the topic if missing (when `create`: through `creator` if set, else the admin API,
// else broker auto-creation), then returns its partition count. Throws eventshop::error naming
// the topic when it does not exist / cannot be created / described.
std::int32_t ensure_topic(rd_kafka_t* rk, const topic_spec& spec, bool create,
                          const std::function<void(const topic_spec&)>& creator,
                          std::chrono::milliseconds timeout);

}  // namespace eventshop::kafka::detail
