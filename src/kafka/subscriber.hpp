// Private: a kafka_bus subscription - one Kafka consumer (group member) and one dispatch thread
// per subscribe_options::concurrency.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "bus_impl.hpp"

namespace eventshop::kafka::detail {

// Notified whenever a member of the subscription committed offsets (close() waits on it).
struct commit_signal {
  std::mutex mutex;
  std::condition_variable cv;
  std::uint64_t commits = 0;
};

class member;

class subscription_impl final : public eventshop::detail::subscription_state {
 public:
  static std::shared_ptr<subscription_impl> start(std::shared_ptr<kafka_bus::impl> bus,
                                                  std::string topic, std::string group, handler h,
                                                  const subscribe_options& options);
  subscription_impl(std::shared_ptr<kafka_bus::impl> bus, std::string topic, std::string group);
  ~subscription_impl() override;

  // Stops handling and commits what is done, without leaving the group yet (close() leaves).
  void quiesce();
  void close() override;
  bool closed() const noexcept override { return closed_.load(); }

  const std::string& topic() const noexcept { return topic_; }
  const std::string& group() const noexcept { return group_; }

  // The group's committed offset per partition (-1: none), asked from the group coordinator.
  std::vector<std::int64_t> committed(std::chrono::milliseconds timeout);
  static std::vector<std::int64_t> committed_by_group(kafka_bus::impl& bus,
                                                      const std::string& topic,
                                                      const std::string& group,
                                                      std::int32_t partitions);

  // Returns once the group committed every partition's end offset (as of the call), or at
  // `deadline`.
  void wait_drained(std::chrono::steady_clock::time_point deadline);

 private:
  std::shared_ptr<kafka_bus::impl> bus_;
  std::string topic_;
  std::string group_;
  std::shared_ptr<commit_signal> signal_ = std::make_shared<commit_signal>();
  std::vector<std::shared_ptr<member>> members_;
  std::atomic<bool> closed_{false};
  std::mutex close_mutex_;
};

}  // namespace eventshop::kafka::detail
