// eventshop/saga/tracker.hpp - the saga tracker (process manager): runs a saga_definition for
// every correlation key, persists each instance through a saga_store, and fires deadlines.
//
//   saga::memory_saga_store store;
//   saga::saga_tracker tracker(definition, store, clk);
//   auto r = tracker.handle(order_id, {"InventoryConfirmed", event_id, data});
//   for (const auto& a : r.actions) run(a);         // compensations and commands
//   tracker.acknowledge(order_id);
//   tracker.fire_due();                              // or run a deadline_runner thread
//
// Guarantees:
// - Deterministic: the result depends only on the record and the event (and the clock for
//   timestamps/deadlines). An event id seen before is a duplicate and changes nothing.
// - Early events are held in the record and applied as soon as the saga reaches a state that
//   takes them (see definition.hpp); events with no future are ignored (but remembered as seen).
// - Every change is saved before handle() returns; actions are kept in the record's outbox until
//   acknowledge(), so actions emitted before a crash are found again with pending_actions().
// - Deadlines: kept in a min-heap ordered by time; recover() (called by the constructor)
//   reschedules the deadlines of every in-flight record in the store, so they fire after a
//   restart too. fire_due() applies "timeout" to each saga whose deadline is <= clock.now().
//
// The tracker caches the records it touched (terminal ones are evicted); run one tracker per
// saga name and store (single writer). Thread safety: safe; calls are serialised by a mutex.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "eventshop/core/clock.hpp"
#include "eventshop/saga/definition.hpp"
#include "eventshop/saga/store.hpp"

namespace eventshop::saga {

struct tracker_options {
  std::size_t max_seen = 64;         // event ids remembered per saga (oldest forgotten first)
  std::size_t max_held = 32;         // early events held per saga; more are ignored
  std::size_t max_cached = 100'000;  // in-flight records kept in memory (write-through)

  void validate() const;  // throws eventshop::error(invalid_argument)
};

enum class handle_outcome : std::uint8_t {
  applied,    // a transition fired (or a late step was compensated)
  duplicate,  // the event id was seen before
  held,       // kept until the saga can take it
  ignored,    // no transition now or later
};
std::string_view to_string(handle_outcome o) noexcept;

struct emitted_action {
  std::string name;
  std::string detail;
  std::string step;  // the compensated step, "" for a command
};

struct handle_result {
  handle_outcome outcome = handle_outcome::ignored;
  std::string from_state;
  std::string to_state;
  bool terminal = false;
  std::size_t transitions = 0;          // transitions fired (held events applied count too)
  std::uint64_t completed_before = 0;   // bit i: definition step i was complete before
  std::uint64_t completed_after = 0;    // ... and after (definitions have at most 64 steps)
  std::vector<emitted_action> actions;  // in emission order
};

// In-flight saga for introspection.
struct saga_info {
  std::string key;
  std::string state;
  std::chrono::milliseconds age{0};       // since started
  std::chrono::milliseconds in_state{0};  // since it entered `state`
  std::optional<timestamp> deadline;
  bool overdue = false;  // deadline passed and not yet fired
  std::size_t held = 0;
  std::size_t pending_actions = 0;
};

class saga_tracker {
 public:
  // `definition`, `store` and `clk` must outlive the tracker. Validates the definition.
  saga_tracker(const saga_definition& definition, saga_store& store,
               const clock& clk = clock::system(), tracker_options options = {});
  ~saga_tracker();
  saga_tracker(const saga_tracker&) = delete;
  saga_tracker& operator=(const saga_tracker&) = delete;

  // Feeds `event` to the saga of `key` (created in the initial state if new). Throws
  // eventshop::error(invalid_argument) for an empty key, event type or id (nothing changes).
  handle_result handle(std::string_view key, const saga_event& event);

  // What handle() would do, without changing anything (no save, no actions kept).
  handle_result preview(std::string_view key, const saga_event& event) const;

  // Applies "timeout" to every saga whose deadline <= now. Returns (key, result) per saga.
  std::vector<std::pair<std::string, handle_result>> fire_due();
  // The earliest scheduled deadline, if any (for a runner's wait).
  std::optional<timestamp> next_deadline() const;

  // Reloads deadlines from the store (the constructor does this).
  void recover();

  // Marks the outbox of `key` as executed.
  void acknowledge(std::string_view key);
  // Every record with unacknowledged actions: (key, actions).
  std::vector<std::pair<std::string, std::vector<emitted_action>>> pending_actions() const;

  std::optional<saga_record> get(std::string_view key) const;
  // Non-terminal sagas, oldest first.
  std::vector<saga_info> in_flight(std::size_t limit = 1000) const;
  // In-flight sagas whose deadline passed (stuck: their timeout has not been processed), or -
  // when `older_than` > 0 - that have been in their state longer than that.
  std::vector<saga_info> stuck(std::chrono::milliseconds older_than = std::chrono::milliseconds{0},
                               std::size_t limit = 1000) const;

  const saga_definition& definition() const noexcept;
  const clock& clock_ref() const noexcept;

  struct impl;

 private:
  std::unique_ptr<impl> impl_;
};

// Runs tracker.fire_due() on its own thread whenever the next deadline is due, checking at
// least every `poll` (deadlines added meanwhile, clock jumps). `on_fired` receives what fired
// (exceptions it throws are logged and swallowed). Stops on destruction or stop().
// Thread safety: start/stop from one thread.
class deadline_runner {
 public:
  using callback = std::function<void(const std::vector<std::pair<std::string, handle_result>>&)>;
  deadline_runner(saga_tracker& tracker, callback on_fired,
                  std::chrono::milliseconds poll = std::chrono::milliseconds{100});
  ~deadline_runner();
  deadline_runner(const deadline_runner&) = delete;
  deadline_runner& operator=(const deadline_runner&) = delete;

  void stop();
  // Wakes the thread to check now (e.g. after a test moved a manual clock).
  void poke();
  std::size_t fired() const noexcept;  // sagas timed out so far

 private:
  void run();
  saga_tracker& tracker_;
  callback on_fired_;
  std::chrono::milliseconds poll_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool poked_ = false;
  std::size_t fired_ = 0;
  std::thread thread_;
};

}  // namespace eventshop::saga
