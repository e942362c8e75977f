// services/common/service_base.hpp - what the six services have in common at run time: their
// consumer subscriptions, readiness (are those consumers caught up?) and a stop that leaves the
// groups cleanly.
//
// Thread safety: start() and stop() from one thread; ready() and consumers() from any.
#pragma once

#include <atomic>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "common/runtime.hpp"

namespace eventshop::services {

class service_base {
 public:
  service_base(std::string name, service_env env);
  virtual ~service_base();
  service_base(const service_base&) = delete;
  service_base& operator=(const service_base&) = delete;

  const std::string& name() const noexcept { return name_; }
  const service_env& env() const noexcept { return env_; }
  bus& event_bus() const noexcept { return *env_.bus; }
  const logger& log() const noexcept { return log_; }

  // Rebuilds state and joins the consumer groups. Idempotent.
  void start();
  // Leaves every group (in-flight handlers finish first). Idempotent.
  void stop();
  bool started() const noexcept { return started_.load(); }

  // Started and every consumer's lag is at most `max_lag`.
  bool ready(std::int64_t max_lag = 0) const;
  // (topic, group) of every consumer, for /ready and /metrics.
  std::vector<std::pair<std::string, std::string>> consumers() const;
  // Sum of the lag of every consumer.
  std::int64_t total_lag() const;

 protected:
  virtual void on_start() = 0;  // replay state, then subscribe()
  // Subscribes `h` wrapped in worker_middleware; remembered for readiness and stop().
  void subscribe(std::string_view topic, std::string_view group, handler h, int concurrency,
                 start_position start = start_position::earliest, bool with_middleware = true);

  std::string name_;
  service_env env_;
  logger log_;

 private:
  mutable std::mutex mutex_;
  std::vector<subscription> subs_;
  std::vector<std::pair<std::string, std::string>> consumers_;
  std::atomic<bool> started_{false};
};

}  // namespace eventshop::services
