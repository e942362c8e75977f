// Private: the state behind kafka_bus, shared by the producer side (kafka_bus.cpp) and the
// consumer side (subscriber.cpp).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "eventshop/core/logging.hpp"
#include "eventshop/kafka/kafka_bus.hpp"
#include "handles.hpp"

namespace eventshop::kafka {

namespace detail {

struct string_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

const logger& log();

// librdkafka's log and error callbacks, routed to the eventshop logger.
void install_log_callbacks(rd_kafka_conf_t* conf);

class subscription_impl;

}  // namespace detail

struct kafka_bus::impl {
  struct topic_entry {
    detail::topic_ptr rkt;
    std::int32_t partitions = 0;
  };

  kafka_options options;
  detail::handle_ptr producer;
  std::thread poller;
  std::atomic<bool> stop_poller{false};
  std::atomic<bool> closed{false};
  std::atomic<std::int64_t> in_flight{0};
  std::atomic<int> space_waiters{0};
  std::mutex space_mutex;
  std::condition_variable space_cv;

  std::shared_mutex topics_mutex;
  std::unordered_map<std::string, topic_entry, detail::string_hash, std::equal_to<>> topics;
  std::mutex create_mutex;

  std::mutex subs_mutex;
  std::vector<std::weak_ptr<detail::subscription_impl>> subs;
  std::set<std::pair<std::string, std::string>> known_groups;  // (topic, group) subscribed here
  std::mutex close_mutex;
  mutable std::once_flag cluster_id_once;
  mutable bool mock = false;

  // True when the cluster is librdkafka's mock (its cluster id starts with "mockCluster").
  bool is_mock_cluster() const;

  explicit impl(kafka_options o);
  ~impl();

  // The topic's cached entry, creating/describing the topic on first use. Throws
  // eventshop::error naming the topic.
  topic_entry& topic(std::string_view name);

  // Enqueues one record; `done` is called exactly once (from the delivery report, or here on
  // an immediate failure). Blocks while the queue is full unless the bus closed.
  void produce(topic_entry& t, std::string_view key, std::string_view value,
               detail::headers_ptr headers, publish_callback done);

  // Configuration of a consumer in `group`.
  detail::conf_ptr consumer_conf(const std::string& group, const std::string& client_suffix,
                                 start_position start) const;
};

}  // namespace eventshop::kafka
