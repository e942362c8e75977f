// eventshop/kafka/mock_cluster.hpp - librdkafka's in-process mock Kafka cluster, for development
// and tests only.
//
// The brokers speak the Kafka protocol on 127.0.0.1 (ephemeral ports) and keep everything in
// memory: no durability, no security, no retention, and a consumer path much slower than a
// real broker's (figures in docs/performance/kafka.md). eventshop-devbroker runs one of these as a
// process. Its consumer-group coordinator waits 3 s before the first assignment of a group and
// (session.timeout.ms - 1 s) in later rebalances, so clients of a mock cluster should use a short
// session.timeout.ms.
//
// Thread safety: all methods are safe to call from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace eventshop::kafka {

class mock_cluster {
 public:
  // Starts `brokers` brokers (ids 1..brokers). Throws eventshop::error(invalid_argument) for a
  // count outside 1..16, backend_error when librdkafka cannot start it.
  explicit mock_cluster(int brokers = 1);
  ~mock_cluster();
  mock_cluster(const mock_cluster&) = delete;
  mock_cluster& operator=(const mock_cluster&) = delete;

  const std::string& bootstrap_servers() const noexcept;
  int brokers() const noexcept;

  // Fault injection. A broker that is down closes its connections and refuses new ones.
  void set_broker_down(int broker_id);
  void set_broker_up(int broker_id);
  // The next requests of `api_key` (Kafka protocol numbers: produce 0, fetch 1, ...) fail with
  // these Kafka error codes, one each, in order.
  void push_request_errors(std::int16_t api_key, const std::vector<int>& kafka_error_codes);
  // The next `count` responses of broker `broker_id` to `api_key` requests succeed but are held
  // back for `delay`: a slow broker at one step of the protocol.
  void delay_responses(int broker_id, std::int16_t api_key, int count,
                       std::chrono::milliseconds delay);
  // Creates a topic directly on the mock (its brokers do not implement the admin API's
  // CreateTopics in librdkafka 2.0.2). Idempotent: an existing topic is left as it is.
  void create_topic(const std::string& name, std::int32_t partitions, int replication_factor);

  static constexpr std::int16_t api_produce = 0;
  static constexpr std::int16_t api_fetch = 1;
  static constexpr std::int16_t api_offset_commit = 8;
  static constexpr std::int16_t api_join_group = 11;
  static constexpr std::int16_t api_heartbeat = 12;
  static constexpr std::int16_t api_sync_group = 14;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace eventshop::kafka
