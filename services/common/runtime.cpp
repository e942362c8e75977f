#include "common/runtime.hpp"

#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include "eventshop/core/error.hpp"
#include "eventshop/core/uuid.hpp"

namespace eventshop::services {

publish_receipt publish_and_wait(bus& b, std::string_view topic, envelope e,
                                 std::chrono::milliseconds timeout) {
  auto fut = b.publish(topic, std::move(e));
  if (fut.wait_for(timeout) != std::future_status::ready)
    throw error(errc::timeout, "publish to '" + std::string(topic) + "' not acknowledged within " +
                                   std::to_string(timeout.count()) + " ms");
  return fut.get();
}

bool wait_caught_up(bus& b, const std::vector<std::string_view>& topics, std::string_view group,
                    std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto pause = std::chrono::microseconds(200);
  for (;;) {
    bool done = true;
    for (auto t : topics)
      if (b.lag(t, group) > 0) {
        done = false;
        break;
      }
    if (done) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(5000));
  }
}

std::size_t replay(bus& b, const std::vector<std::string_view>& topics, std::string_view service,
                   const handler& h, std::chrono::milliseconds timeout) {
  const std::string group = std::string(service) + "-replay-" + random_hex(12);
  std::atomic<std::size_t> seen{0};
  std::vector<subscription> subs;
  subs.reserve(topics.size());
  for (auto t : topics)
    subs.push_back(b.subscribe(
        t, group,
        [&](const message& m) {
          try {
            h(m);
          } catch (const std::exception& e) {
            // A replayed event the state cannot take is logged, not retried forever.
            logger(std::string(service))
                .warn("replay skipped an event",
                      {{"event_id", m.event.id}, {"type", m.event.type}, {"error", e.what()}});
          }
          seen.fetch_add(1, std::memory_order_relaxed);
        },
        {.concurrency = 1, .start = start_position::earliest}));
  const bool ok = wait_caught_up(b, topics, group, timeout);
  for (auto& s : subs)
    s.close();
  if (!ok)
    throw error(errc::timeout, "replay of " + std::string(service) +
                                   " state did not catch up within " +
                                   std::to_string(timeout.count()) + " ms");
  return seen.load();
}

std::vector<middleware::middleware> worker_middleware(bus& b, metrics_registry& metrics) {
  return {middleware::dead_letter(b), middleware::retry({.max_attempts = 5}),
          middleware::metrics(metrics), middleware::correlate()};
}

std::uint64_t fnv1a64(std::string_view text) noexcept {
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

std::uint64_t mix64(std::uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

void step_pause(std::chrono::milliseconds d) {
  if (d.count() > 0) std::this_thread::sleep_for(d);
}

}  // namespace eventshop::services
