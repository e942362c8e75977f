// services/common/runtime.hpp - what every reference service needs around the bus: publishing a
// typed event and waiting for its acknowledgement, rebuilding state by replaying topics, the
// middleware stack of a consumer, and small deterministic hashes.
//
// Rebuilding by replay is how the services keep their state durable without a database of their
// own: a service's state is a fold over the events it published (and the few it consumed), so
// on start it reads those topics from the beginning through a throw-away consumer group, then
// joins its real groups. A handler acknowledges its input only after its output event was
// acknowledged by the bus, so after a crash the input comes again, the replayed state shows the
// work as done, and nothing is applied twice.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "eventshop/core/bus.hpp"
#include "eventshop/core/logging.hpp"
#include "eventshop/core/metrics.hpp"
#include "eventshop/core/middleware.hpp"
#include "eventshop/core/registry.hpp"

namespace eventshop::services {

// What a service is given by the process that runs it. The bus and metrics registry outlive it.
struct service_env {
  eventshop::bus* bus = nullptr;
  metrics_registry* metrics = &metrics_registry::global();
  std::chrono::milliseconds step_delay{0};  // pause before each saga step (demos)
  int concurrency = 4;                      // dispatch threads per worker subscription
  std::chrono::milliseconds publish_timeout{10'000};
  std::chrono::milliseconds replay_timeout{120'000};
};

// Publishes `e` to `topic` and waits for the acknowledgement. Throws eventshop::error (the
// backend's error, or errc::timeout).
publish_receipt publish_and_wait(bus& b, std::string_view topic, envelope e,
                                 std::chrono::milliseconds timeout);

template <typed_event T>
envelope make_service_event(const T& data, std::string_view service, std::string subject) {
  return make_event(
      data, {.source = "/eventshop/" + std::string(service), .subject = std::move(subject)});
}

// Calls `h` for every event now in `topics` (oldest first per partition) through a fresh
// consumer group named "<service>-replay-<random>", and returns when that group has caught up
// on all of them. Throws errc::timeout after `timeout`. Returns the number of events seen.
std::size_t replay(bus& b, const std::vector<std::string_view>& topics, std::string_view service,
                   const handler& h, std::chrono::milliseconds timeout);

// Waits until `group` has no lag on any of `topics`; false after `timeout`.
bool wait_caught_up(bus& b, const std::vector<std::string_view>& topics, std::string_view group,
                    std::chrono::milliseconds timeout);

// The consumer middleware of a worker: dead-letter (outermost), retry, metrics, correlation.
std::vector<middleware::middleware> worker_middleware(bus& b, metrics_registry& metrics);

// FNV-1a 64 and a splitmix64 finaliser: stable across runs and platforms (used for decisions that
// must come out the same when an event is redelivered or replayed).
std::uint64_t fnv1a64(std::string_view text) noexcept;
std::uint64_t mix64(std::uint64_t x) noexcept;

// Sleeps `d` unless it is zero (the demo's step delay; never used in tests for waiting).
void step_pause(std::chrono::milliseconds d);

}  // namespace eventshop::services
