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
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "common/compact_text.hpp"
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
  // True only for a bus that writes what a handler published no later than the acknowledgement
  // of the event being handled - sqlite_bus, whose one writer thread commits queued publishes
  // and offset commits together in queue order (with max_commit_batch >= max_pending, see
  // bus_factory.cpp). Handlers then queue their output events without waiting for each one's
  // fsync (publish_output); every other bus waits for each acknowledgement.
  bool ordered_handler_acks = false;
};

// Publishes `e` to `topic` and waits for the acknowledgement. Throws eventshop::error (the
// backend's error, or errc::timeout). A bus that acknowledges on the publishing thread (memory)
// costs no wait and no thread hand-off.
publish_receipt publish_and_wait(bus& b, std::string_view topic, envelope e,
                                 std::chrono::milliseconds timeout);

// Publishes an event a handler produced, after the handler changed its in-memory state, so that
// the input event is acknowledged only once the output is safe:
// - without env.ordered_handler_acks: waits for the acknowledgement; on failure calls `undo` and
//   rethrows (the input is redelivered and handled again);
// - with it: returns once the bus queued the event (the bus commits it with or before the
//   input's offset); a failure reported at once undoes and throws as above. A failure reported
//   later (the bus's write transaction failed for good, after its retries) calls `undo` and
//   logs an error: the input may already count as consumed, so that order's saga stalls and the
//   order service's saga timeout compensates it - it still ends in a terminal state, with its
//   stock and payment restored.
void publish_output(const service_env& env, std::string_view topic, envelope e,
                    const std::function<void()>& undo);
// The same with any callable `undo`: without env.ordered_handler_acks, where `undo` can only run
// before this returns, it is called as it is - no std::function made (a heap block per output
// event for any capture over 16 bytes, such as an order id); with them it is kept as one.
template <class Undo>
requires std::is_invocable_v<Undo&>
void publish_output(const service_env& env, std::string_view topic, envelope e, Undo&& undo) {
  if (env.ordered_handler_acks) {
    const std::function<void()> kept(std::forward<Undo>(undo));
    publish_output(env, topic, std::move(e), kept);  // the overload above (non-template wins)
    return;
  }
  try {
    publish_and_wait(*env.bus, topic, std::move(e), env.publish_timeout);
  } catch (...) {
    undo();
    throw;
  }
}

// event_registry::global().contains(type), remembered per thread: types are only ever added to
// a registry, so a type found once stays known (the registry's lookup takes a shared lock and
// compares strings in a tree, for every event every consumer handles).
bool known_event_type(std::string_view type);

// make_event with source "/eventshop/<service>", built in place (no temporary strings). The
// payload is copied out of the thread's JSON writer at its exact size: encode_data() moves out the
// writer's buffer, whose capacity (256 bytes or more) then stays with the event for as long as
// the bus retains it - ~80-100 unused bytes per event. The same one allocation per payload.
template <typed_event T>
envelope make_service_event(const T& data, std::string_view service, std::string subject) {
  std::string payload;
  {
    json_writer w;
    write_json(w, data);
    payload = w.str();
  }
  envelope e = make_envelope(T::event_type, T::schema_version, std::move(payload), event_options{});
  constexpr std::string_view prefix = "/eventshop/";
  e.source.reserve(prefix.size() + service.size());
  e.source.assign(prefix).append(service);
  e.subject = std::move(subject);
  return e;
}

// Calls `h` for every event now in `topics` (oldest first per partition) through a fresh
// consumer group named "<service>-replay-<random>", and returns when that group has caught up
// on all of them. Throws errc::timeout after `timeout`. Returns the number of events seen.
std::size_t replay(bus& b, const std::vector<std::string_view>& topics, std::string_view service,
                   const handler& h, std::chrono::milliseconds timeout);

// Waits until `group` has no lag on any of `topics`; false after `timeout`.
bool wait_caught_up(bus& b, const std::vector<std::string_view>& topics, std::string_view group,
                    std::chrono::milliseconds timeout);

// The consumer middleware of a worker: dead-letter (outermost), retry, correlation. (The
// handled/failed/duration metrics of middleware::metrics are added by service_base::subscribe
// with their instruments resolved once per subscription.)
std::vector<middleware::middleware> worker_middleware(bus& b);

// FNV-1a 64 and a splitmix64 finaliser: stable across runs and platforms (used for decisions that
// must come out the same when an event is redelivered or replayed).
std::uint64_t fnv1a64(std::string_view text) noexcept;
std::uint64_t mix64(std::uint64_t x) noexcept;

// Process-wide allocator settings for a service program (call first thing in main, before any
// thread starts): glibc grows each thread's arena in small steps (a sysmalloc, an mprotect and
// fresh page faults each) and hands freed memory back to the kernel just to fault it in again on
// the next burst; a 64 MiB growth step and a 512 MiB trim threshold took about 40 % off the CPU
// time per order of BM_OrderPipeline/memory. Then, where the kernel gives transparent huge pages
// only on request (THP "madvise", Debian's default), the program is executed again (same pid,
// arguments, environment and descriptors) with GLIBC_TUNABLES=glibc.malloc.hugetlb=1 so that
// malloc's memory is backed by 2 MiB pages: page faults were a third of the pipeline's CPU, and
// this took another ~45 % off. EVENTSHOP_MALLOC_HUGEPAGES=0, or a glibc.malloc.hugetlb of your
// own in GLIBC_TUNABLES, turns the restart off. No effect outside glibc.
void tune_allocator() noexcept;

// Sleeps `d` unless it is zero (the demo's step delay; never used in tests for waiting).
void step_pause(std::chrono::milliseconds d);

}  // namespace eventshop::services
