// eventshop/core/metrics.hpp - counters, gauges and histograms, rendered in the Prometheus text
// exposition format (version 0.0.4) for a /metrics route.
//
//   auto& handled = registry.counter("eventshop_events_handled_total", "Events handled",
//                                    {{"topic", "orders"}, {"group", "inventory"}});
//   handled.inc();
//
// A metric is identified by name + labels; asking again returns the same object (references
// stay valid for the registry's lifetime). Updating a metric is lock-free; creating one and
// rendering take a mutex. Thread safety: safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace eventshop {

using metric_labels = std::vector<std::pair<std::string, std::string>>;

class counter {
 public:
  void inc(double v = 1.0) noexcept { value_.fetch_add(v, std::memory_order_relaxed); }
  double value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

class gauge {
 public:
  void set(double v) noexcept { value_.store(v, std::memory_order_relaxed); }
  void inc(double v = 1.0) noexcept { value_.fetch_add(v, std::memory_order_relaxed); }
  void dec(double v = 1.0) noexcept { value_.fetch_sub(v, std::memory_order_relaxed); }
  double value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

class histogram {
 public:
  explicit histogram(std::vector<double> upper_bounds);  // sorted ascending; +Inf is implicit
  void observe(double v) noexcept;
  const std::vector<double>& bounds() const noexcept { return bounds_; }
  std::uint64_t bucket_count(std::size_t i) const noexcept {
    return counts_[i].load(std::memory_order_relaxed);
  }
  std::uint64_t count() const noexcept { return count_.load(std::memory_order_relaxed); }
  double sum() const noexcept { return sum_.load(std::memory_order_relaxed); }

  // Seconds from 100 µs to 10 s, for latencies.
  static std::vector<double> latency_buckets();

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;  // per bucket, not cumulative
  std::atomic<std::uint64_t> count_{0};
  std::atomic<double> sum_{0.0};
};

class metrics_registry {
 public:
  // Throws eventshop::error(invalid_argument) for a bad metric or label name, or a name already
  // registered as another kind.
  eventshop::counter& counter(std::string_view name, std::string_view help,
                              const metric_labels& labels = {});
  eventshop::gauge& gauge(std::string_view name, std::string_view help,
                          const metric_labels& labels = {});
  eventshop::histogram& histogram(std::string_view name, std::string_view help,
                                  const metric_labels& labels = {},
                                  std::vector<double> bounds = histogram::latency_buckets());

  // Prometheus text format, families sorted by name.
  std::string render() const;

  static metrics_registry& global();

 private:
  enum class kind { counter, gauge, histogram };
  struct family {
    kind k;
    std::string help;
    std::map<std::string, std::unique_ptr<eventshop::counter>> counters;  // key: rendered labels
    std::map<std::string, std::unique_ptr<eventshop::gauge>> gauges;
    std::map<std::string, std::unique_ptr<eventshop::histogram>> histograms;
  };
  family& get_family(std::string_view name, std::string_view help, kind k);

  mutable std::mutex mutex_;
  std::map<std::string, family, std::less<>> families_;
};

}  // namespace eventshop
