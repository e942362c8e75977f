// services/status/status_service.hpp - the status service: the CQRS read model of every order
// (order_projection), fed by all five topics through a consumer group of its own that starts
// from the beginning on every start (so the model is rebuilt by replay), and the change feed the
// realtime layer broadcasts.
//
// Listeners: `on_order` gets each changed order (after the change, outside any lock); `on_stats`
// gets the statistics at most every `stats_interval` while orders change (a trailing call makes
// sure the last change is reported). Thread safety: safe.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "common/order_projection.hpp"
#include "common/service_base.hpp"

namespace eventshop::services::status {

struct status_config {
  std::chrono::milliseconds stats_interval{250};
};

class status_service final : public service_base {
 public:
  explicit status_service(service_env env, status_config config = {});
  ~status_service() override;

  order_projection& view() noexcept { return view_; }
  const order_projection& view() const noexcept { return view_; }
  const std::string& group() const noexcept { return group_; }

  // Set before start().
  void on_order(std::function<void(const order_view&)> f) { on_order_ = std::move(f); }
  void on_stats(std::function<void(const order_stats&)> f) { on_stats_ = std::move(f); }

  // Events applied since start (timeline entries added).
  std::uint64_t events_applied() const noexcept { return applied_.load(); }

 private:
  void on_start() override;
  void stats_loop();

  status_config config_;
  order_projection view_;
  std::string group_;
  std::function<void(const order_view&)> on_order_;
  std::function<void(const order_stats&)> on_stats_;
  std::atomic<std::uint64_t> applied_{0};

  void mark_stats_dirty();

  std::mutex stats_mutex_;
  std::condition_variable stats_cv_;
  std::atomic<bool> stats_dirty_{false};  // a change since the last on_stats call
  bool stats_waiting_ = false;            // the thread waits for a change (guarded by the mutex)
  bool stopping_ = false;
  std::thread stats_thread_;
};

}  // namespace eventshop::services::status
