// eventshop/kafka/kafka_bus.hpp - the distributed bus backend on librdkafka (Apache Kafka).
//
// What it promises, on top of bus.hpp:
// - Publishing: an idempotent producer (enable.idempotence=true, acks=all). A publish is
//   acknowledged from librdkafka's delivery report, i.e. once every in-sync replica has the
//   record; the receipt carries Kafka's partition and offset. Record key = the envelope's
//   subject (its id when there is none), partitioned with murmur2 like Kafka's Java client and
//   eventshop::partition_for. Events travel in the CloudEvents Kafka binding, binary mode by
//   default (attributes as `ce_*` headers, `content-type` header, record value = data), or in
//   structured mode (value = the JSON envelope, content-type application/cloudevents+json).
//   Consumers read both modes whatever they are configured to write.
// - Subscribing: one Kafka consumer (a group member) per subscribe_options::concurrency, each
//   with its own dispatch thread; a member handles its partitions' records one at a time, in
//   offset order. Offsets are stored only after the handler returned and committed from what
//   was stored (enable.auto.commit=false): at-least-once. A throwing handler gets the same
//   record again after `redelivery_delay` (attempt + 1); its partition is paused meanwhile (the
//   records behind it wait) while the member's other partitions go on. On a
//   rebalance the in-flight record is finished first, then what is done is committed
//   synchronously before the partitions are given up. A record that is not a CloudEvent is
//   forwarded unchanged to `<topic><dead_letter_suffix>` (with dlqerror/dlqtopic/dlqpartition/
//   dlqoffset headers) and skipped.
// - Topics are created on first use through the admin API (`partitions`, `replication_factor`)
//   unless create_topics is false; an existing topic is used as it is.
// - Errors: acknowledgements carry eventshop::errc values, so eventshop::is_retriable() tells
//   what to do: timeout (delivery or flush deadline passed), io_error (brokers unreachable,
//   leader changes), backend_error (other broker errors) and queue_full are retriable;
//   too_large, not_found (topic does not exist and may not be created), invalid_argument
//   (authorisation, configuration) and closed (bus closed, or the producer hit a fatal error
//   such as being fenced) are not. The librdkafka reason is logged.
//
// Threads: one delivery-report thread per bus (it runs publish callbacks), librdkafka's own
// threads per handle, and one dispatch thread per subscription member (it runs handlers and the
// rebalance logic). Thread safety: a kafka_bus is safe to use from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "eventshop/core/bus.hpp"

namespace eventshop::kafka {

enum class content_mode {
  binary,      // ce_* headers + content-type, value = data (CONTRACT §1 default)
  structured,  // value = the structured JSON envelope, content-type application/cloudevents+json
};

using property_map = std::map<std::string, std::string, std::less<>>;

// A topic to create (see topics.hpp for the admin helper).
struct topic_spec {
  std::string name;
  std::int32_t partitions = 8;
  std::int16_t replication_factor = -1;  // -1 = broker default
  property_map config;                   // topic configs, e.g. {"retention.ms", "604800000"}

  void validate() const;  // name rules of bus.hpp, partitions >= 1, replication -1 or >= 1
};

struct kafka_options {
  std::string bootstrap_servers;  // required: "host:port[,host:port...]"
  std::string client_id = "eventshop";
  std::int32_t partitions = 8;           // for topics this bus creates (>= 1)
  std::int16_t replication_factor = -1;  // for topics this bus creates; -1 = broker default
  bool create_topics = true;             // create missing topics (see topic_creator)
  // How a missing topic is created when create_topics is on. Empty (default): the admin API
  // (CreateTopics); a cluster without it (librdkafka 2.0.2's mock) falls back to broker
  // auto-creation with the broker's default partition count. A mock_cluster in the same process
  // can be given [&c](const topic_spec& s) { c.create_topic(s.name, s.partitions, 1); }.
  // Called at most once per topic and bus; must be idempotent; throws to fail the publish.
  std::function<void(const topic_spec&)> topic_creator;
  content_mode mode = content_mode::binary;
  std::chrono::milliseconds redelivery_delay{100};  // before a failed handler runs again
  std::chrono::milliseconds commit_interval{100};   // at most this long between offset commits
  std::chrono::milliseconds flush_timeout{10'000};  // close(): wait for outstanding deliveries
  // Closing a subscription: how long its members may take to commit and leave their group.
  // A member still waiting for an unreachable coordinator then is left to finish on its own
  // thread (logged); what it had not committed is redelivered to the group.
  std::chrono::milliseconds leave_timeout{10'000};
  std::chrono::milliseconds admin_timeout{10'000};  // topic creation and metadata requests
  std::string dead_letter_suffix = ".dlq";          // where undecodable records are forwarded
  std::size_t max_event_bytes = 1 << 20;            // larger events fail with errc::too_large

  // Any librdkafka property (security.protocol, sasl.*, ssl.*, compression.type, ...), applied
  // to the producer and to every consumer; then producer_properties / consumer_properties on
  // top. eventshop sets bootstrap.servers, client.id, enable.idempotence=true, acks=all,
  // partitioner=murmur2_random, group.id, enable.auto.commit=false,
  // enable.auto.offset.store=false and auto.offset.reset itself; a property that would weaken
  // those guarantees (enable.idempotence=false, acks other than all/-1, enable.auto.commit=true,
  // enable.auto.offset.store=true, group.id) is rejected by validate(). Against librdkafka's
  // mock cluster (eventshop-devbroker) consumers default to session.timeout.ms=3000 and
  // heartbeat.interval.ms=500, because the mock waits session.timeout.ms - 1 s per rebalance,
  // and to fetch.wait.max.ms=20, because it answers a fetch with too little data only then.
  property_map properties;
  property_map producer_properties;
  property_map consumer_properties;

  // Throws eventshop::error(invalid_argument) naming the first field that is wrong. Property
  // names and values are checked by librdkafka when the bus is constructed.
  void validate() const;
};

// Thread safety: safe to share between threads (see the header comment).
class kafka_bus final : public bus {
 public:
  // Validates the options and creates the producer (librdkafka connects in the background).
  // Throws eventshop::error(invalid_argument) for bad options or a property librdkafka refuses.
  explicit kafka_bus(kafka_options options);
  ~kafka_bus() override;  // close(0): outstanding publishes still get flush_timeout
  kafka_bus(const kafka_bus&) = delete;
  kafka_bus& operator=(const kafka_bus&) = delete;

  using bus::publish;
  // Throws eventshop::error for an invalid topic name or an envelope that fails
  // eventshop::validate(); everything else goes to `on_ack`. Blocks while librdkafka's queue
  // (queue.buffering.max.messages) is full. The first publish to a topic may block up to
  // admin_timeout while the topic is created.
  void publish(std::string_view topic, envelope event, publish_callback on_ack) override;
  subscription subscribe(std::string_view topic, std::string_view group, handler h,
                         const subscribe_options& options = {}) override;
  // Refuses new publishes, flushes the producer for up to flush_timeout (then purges what is
  // left: those publishes fail with errc::timeout), waits up to `drain` for every subscription's
  // group to have committed the topic's end offsets, then closes every subscription.
  void close(std::chrono::milliseconds drain = std::chrono::seconds(5)) override;
  bus_features features() const noexcept override {
    return {.durable = true, .cross_process = true, .replay = true};
  }
  // From cluster metadata (creating the topic first if allowed). Throws eventshop::error
  // (not_found, timeout, backend_error) when the cluster cannot answer.
  std::int32_t partitions(std::string_view topic) override;
  // Sum over partitions of (end offset - committed offset). A group with no committed offset is
  // counted from the oldest retained record if this bus has subscribed it, else it is unknown
  // and its lag is 0.
  std::int64_t lag(std::string_view topic, std::string_view group) override;

  // Publishes not yet acknowledged.
  std::int64_t in_flight() const noexcept;
  const kafka_options& options() const noexcept;

  struct impl;  // implementation detail

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace eventshop::kafka
