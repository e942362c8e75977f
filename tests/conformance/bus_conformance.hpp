// The bus conformance suite: one set of tests every backend runs (Watermill's pubsub/tests idea).
//
// A backend's test program provides a `bus_backend` describing how to make a fresh, isolated
// bus and what the backend can do (its feature table), and instantiates the suites it qualifies
// for:
//   INSTANTIATE_TEST_SUITE_P(memory, bus_conformance, testing::Values(memory_backend()),
//                            backend_name);
//   // only for backends with features.durable:
//   INSTANTIATE_TEST_SUITE_P(sqlite, durable_bus_conformance, testing::Values(sqlite_backend()),
//                            backend_name);
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <ostream>
#include <string>
#include <vector>

#include "eventshop/core/bus.hpp"

namespace eventshop::conformance {

struct bus_config {
  std::int32_t partitions = 4;
  std::chrono::milliseconds redelivery_delay{10};
};

struct bus_backend {
  std::string name;
  // A new bus on fresh, isolated storage. `storage_id` names that storage so `reopen` can open
  // the same one again (durable backends); each call to make_storage_id gives a new one.
  std::function<std::string()> make_storage_id = [] { return std::string(); };
  std::function<std::unique_ptr<bus>(const std::string& storage_id, const bus_config&)> open;
  bus_features features;
  // Scales event counts for slow backends (Kafka's mock cluster consumes a few thousand/s).
  int scale_percent = 100;
  std::chrono::milliseconds timeout{20'000};
};

inline void PrintTo(const bus_backend& b, std::ostream* os) {
  *os << b.name;
}

inline std::string backend_name(const testing::TestParamInfo<bus_backend>& info) {
  return info.param.name;
}

// Collects what handlers saw, and lets a test wait for a condition without sleeping.
template <class T>
class collector {
 public:
  void add(T value) {
    {
      std::lock_guard lock(mutex_);
      items_.push_back(std::move(value));
    }
    cv_.notify_all();
  }
  template <class Pred>
  bool wait_until(Pred pred, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] { return pred(items_); });
  }
  bool wait_for_count(std::size_t n, std::chrono::milliseconds timeout) {
    return wait_until([n](const std::vector<T>& v) { return v.size() >= n; }, timeout);
  }
  std::vector<T> snapshot() const {
    std::lock_guard lock(mutex_);
    return items_;
  }
  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return items_.size();
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<T> items_;
};

class bus_conformance : public testing::TestWithParam<bus_backend> {};
class durable_bus_conformance : public testing::TestWithParam<bus_backend> {};

}  // namespace eventshop::conformance
