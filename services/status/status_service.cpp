#include "status/status_service.hpp"

#include <pthread.h>

#include "eventshop/core/clock.hpp"
#include "eventshop/core/uuid.hpp"

namespace eventshop::services::status {

using namespace eventshop::ecommerce;

status_service::status_service(service_env env, status_config config)
    : service_base("status", env), config_(config), group_("status-" + random_hex(12)) {}

status_service::~status_service() {
  {
    std::lock_guard lock(stats_mutex_);
    stopping_ = true;
  }
  stats_cv_.notify_all();
  if (stats_thread_.joinable()) stats_thread_.join();
  stop();
}

void status_service::on_start() {
  // Without listeners the projection need not copy each changed order.
  if (on_order_ || on_stats_)
    view_.set_listener([this](const order_view& v) {
      applied_.fetch_add(1, std::memory_order_relaxed);
      if (on_order_) on_order_(v);
      if (on_stats_) mark_stats_dirty();
    });
  if (on_stats_)
    stats_thread_ = std::thread([this] {
      ::pthread_setname_np(::pthread_self(), "status-stats");
      stats_loop();
    });
  // The group is new on every start: it reads all topics from the beginning (replay), then
  // follows them live. Its lag is what /ready reports.
  for (auto topic : topics::all)
    subscribe(
        topic, group_, [this](const message& m) { view_.apply(m); }, 1, start_position::earliest,
        false);
}

void status_service::mark_stats_dirty() {
  // Once per stats_interval at most: later changes find the flag set and cost nothing. The
  // thread is woken only while it waits for a change; during its interval pause it finds the
  // flag when the pause ends. (Notifying on every change woke the paused thread for nothing -
  // a futex wake and two context switches per status change.)
  if (stats_dirty_.exchange(true, std::memory_order_acq_rel)) return;
  std::lock_guard lock(stats_mutex_);
  if (stats_waiting_) stats_cv_.notify_one();
}

void status_service::stats_loop() {
  std::unique_lock lock(stats_mutex_);
  while (!stopping_) {
    stats_waiting_ = true;
    stats_cv_.wait(lock, [&] { return stopping_ || stats_dirty_.load(); });
    stats_waiting_ = false;
    if (stopping_) break;
    stats_dirty_.store(false);
    lock.unlock();
    on_stats_(view_.stats(clock::system().now()));
    lock.lock();
    stats_cv_.wait_for(lock, config_.stats_interval, [&] { return stopping_; });
  }
}

}  // namespace eventshop::services::status
