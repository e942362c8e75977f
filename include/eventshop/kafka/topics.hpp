// eventshop/kafka/topics.hpp - create and check topics on a Kafka cluster (admin API).
//
// `topic_admin::ensure` is idempotent: a missing topic is created as specified, an existing one
// is never changed - only checked, and a mismatch (fewer partitions or replicas than asked) is
// reported in the result so a deployment script can fail loudly. Use it from a deploy step
// against a real cluster, or let eventshop-devbroker call it for the dev cluster.
//
// Thread safety: distinct objects safe; a shared topic_admin is safe too (librdkafka's admin
// calls are thread-safe).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "eventshop/kafka/kafka_bus.hpp"

namespace eventshop::kafka {

struct topic_status {
  std::string name;
  bool created = false;         // this call created it
  std::int32_t partitions = 0;  // as the cluster reports it now
  std::int32_t replication_factor = 0;
  std::string problem;  // empty when the topic matches the spec
};

// The CONTRACT §2 topics (orders, inventory, payment, notification, shipping) and their .dlq
// topics, each with `partitions` partitions.
std::vector<topic_spec> contract_topics(std::int32_t partitions,
                                        std::int16_t replication_factor = -1);

class topic_admin {
 public:
  // `properties`: any librdkafka properties (security, SASL/SSL) for the admin connection.
  explicit topic_admin(std::string bootstrap_servers, property_map properties = {},
                       std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~topic_admin();
  topic_admin(const topic_admin&) = delete;
  topic_admin& operator=(const topic_admin&) = delete;

  // Creates what is missing, checks what exists. Throws eventshop::error for an invalid spec
  // (before touching the cluster) or when the cluster cannot be reached within the timeout.
  std::vector<topic_status> ensure(const std::vector<topic_spec>& specs);

  // Partition count of `topic`; throws eventshop::error(not_found) when it does not exist.
  std::int32_t partitions(std::string_view topic);

  // Names of all topics on the cluster (internal ones included), sorted.
  std::vector<std::string> list();

  struct impl;

 private:
  std::unique_ptr<impl> impl_;
};

}  // namespace eventshop::kafka
