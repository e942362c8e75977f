// eventshop/core/memory_bus.hpp - the in-memory bus backend.
//
// For tests, examples and single-process systems that can afford to lose events on a crash.
// What it promises: everything in bus.hpp - ordering per key, consumer groups, load sharing,
// at-least-once delivery to handlers, replay for new groups, drain on close - within one process.
// What it does not promise: durability. A publish is acknowledged when the event is in memory;
// a crash or exit loses every event and every group position. Use eventshop::sqlite for that.
//
// Memory is bounded: each partition retains at most `retention` events. Events that every active
// group has consumed are dropped oldest-first beyond that bound (so a group that joins later
// replays only what is retained). Events some active group has not consumed are never dropped:
// publish() blocks instead until that group catches up (back-pressure) or the bus closes. A group
// with no active member does not hold events back; when it rejoins after the bound was passed it
// resumes from the oldest retained event, and the skipped count is logged.
//
// Threads: by default one dispatch thread per subscription member (subscribe_options::
// concurrency). With `dispatch_threads` = N > 0 the bus runs N dispatch threads that every member
// shares (assigned round robin): a process with many subscriptions then hands events between
// few threads - each hand-off to a sleeping thread is a futex wake and a context switch - at the
// price that a handler which blocks holds up the other members of its thread. Handlers of one
// partition of a group never run concurrently either way. The acknowledgement callback runs on
// the publishing thread before publish() returns.
//
// A handler that publishes to a partition at its retention bound does not wait for room (the
// group it would wait for may be run by its own thread): the partition goes over its bound by
// what handlers publish while it is full. Other publishers wait as described above.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "eventshop/core/bus.hpp"

namespace eventshop {

struct memory_bus_options {
  std::int32_t partitions = 8;                     // per topic
  std::size_t retention = 100'000;                 // events kept per partition
  std::chrono::milliseconds redelivery_delay{50};  // after a handler threw
  std::size_t max_batch = 256;                     // events handed to a member per wake-up
  std::size_t dispatch_threads = 0;  // 0: a thread per member; N (<= 256): N threads shared by all

  void validate() const;  // throws eventshop::error(invalid_argument)
};

class memory_bus final : public bus {
 public:
  explicit memory_bus(memory_bus_options options = {});
  ~memory_bus() override;  // close(0)
  memory_bus(const memory_bus&) = delete;
  memory_bus& operator=(const memory_bus&) = delete;

  using bus::publish;
  void publish(std::string_view topic, envelope event, publish_callback on_ack) override;
  subscription subscribe(std::string_view topic, std::string_view group, handler h,
                         const subscribe_options& options = {}) override;
  void close(std::chrono::milliseconds drain = std::chrono::seconds(5)) override;
  bus_features features() const noexcept override { return {false, false, true}; }
  std::int32_t partitions(std::string_view topic) override;
  std::int64_t lag(std::string_view topic, std::string_view group) override;

  struct impl;  // implementation detail (public only so the source file's helpers can name it)

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace eventshop
