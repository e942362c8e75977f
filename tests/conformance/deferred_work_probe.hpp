// A handler for the buses that run handlers inside an eventshop::batch_scope (memory, SQLite):
// each event defers one piece of work; the probe records whether the handler ran inside a scope,
// whether the work ran on the handler's thread, and how many pieces found events to cover - for
// a backlog delivered in few passes, far fewer than there are events.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "eventshop/core/batch_scope.hpp"
#include "eventshop/core/bus.hpp"

namespace eventshop::conformance {

class deferred_work_probe {
 public:
  handler make() {
    return [this](const message&) {
      const auto self = std::this_thread::get_id();
      std::lock_guard lock(mutex_);
      inside_scope_ = inside_scope_ && batch_scope::active();
      ++handled_;
      ++pending_;
      defer_to_batch_end([this, self] {
        std::lock_guard l(mutex_);
        same_thread_ = same_thread_ && std::this_thread::get_id() == self;
        if (pending_ > 0) ++flushes_;
        pending_ = 0;
        cv_.notify_all();
      });
    };
  }

  // Waits until `total` events were handled and the work deferred for them ran.
  bool wait_all(int total, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] { return handled_ == total && pending_ == 0; });
  }

  bool inside_scope() const {
    std::lock_guard lock(mutex_);
    return inside_scope_;
  }
  bool same_thread() const {
    std::lock_guard lock(mutex_);
    return same_thread_;
  }
  int flushes() const {
    std::lock_guard lock(mutex_);
    return flushes_;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  int handled_ = 0;
  int pending_ = 0;  // handled, not yet covered by deferred work
  int flushes_ = 0;  // deferred work that found something pending
  bool inside_scope_ = true;
  bool same_thread_ = true;
};

}  // namespace eventshop::conformance
