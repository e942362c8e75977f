// eventshop/saga/definition.hpp - a saga (process manager) declared once: its states, the events
// that move it, the steps it completes and how each is compensated, a deadline per state, and
// parallel branches that join.
//
//   saga_definition d("order");
//   d.initial("new")
//    .state("reserving", {.deadline = 30s})
//    .step("reserve", "InventoryConfirmed", "release_stock")   // completed by, compensation
//    .on("new", "OrderCreated", "reserving")
//    .on("reserving", "InventoryConfirmed", "paying")
//    .on("paying", "PaymentFailed", "payment_failed", {.compensate = true})
//    .on_timeout("paying", "cancelled", {.compensate = true, .emit = {{"cancel_order", "..."}}});
//
// Semantics (what saga_tracker does with it):
// - A transition fires when the saga is in `from`, an event of type `event` arrives and its
//   guard (if any) holds. The first matching transition in declaration order wins. `to == from`
//   is an internal transition: actions run, the state (and its deadline) stays.
// - A step is completed when a transition fires on the step's `completed_by` event. Entering a
//   transition with `compensate` emits, newest first, the compensation of every completed step
//   that has one and was not compensated yet. A step completed late - its event arrives when the
//   saga is already terminal - is compensated at once.
// - A parallel state lists steps as branches; when every branch step is complete the saga moves
//   to the state's `join` target.
// - An event with no transition in the current state is held if some state reachable from here
//   has a transition for its type (it arrived early), and otherwise ignored.
// - Deadlines: entering a state with a deadline sets `now + deadline`; when it passes, the
//   synthetic event "timeout" is applied (declare it with on_timeout).
//
// Thread safety: build a definition once, then share it read-only (const use is safe).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace eventshop::saga {

struct saga_record;

// The event a saga is fed: only what the tracker needs. Views valid during the call.
struct saga_event {
  std::string_view type;  // event type, or "timeout"
  std::string_view id;    // unique event id (dedup)
  std::string_view data;  // JSON payload, for guards that look into it ("" when none)
};

inline constexpr std::string_view timeout_event = "timeout";

using guard_fn = std::function<bool(const saga_record&, const saga_event&)>;
using detail_fn = std::function<std::string(const saga_record&, const saga_event&)>;

// An action a transition asks the host to perform (a command; compensations come from steps).
struct action_spec {
  std::string name;    // e.g. "cancel_order"
  std::string detail;  // free text for the host, e.g. a reason ("payment timed out")
  detail_fn describe;  // when set, computes the detail from the event instead
};

struct state_options {
  std::chrono::milliseconds deadline{0};  // 0 = no deadline
  bool terminal = false;                  // the saga ends here
  std::vector<std::string> branches;      // parallel state: steps that must all complete
  std::string join;                       // where a parallel state goes when they have
  std::string description;                // shown in introspection and diagrams
};

struct transition_options {
  std::string guard_name;         // shown in diagrams, e.g. "not shipped"
  guard_fn guard;                 // empty = always
  bool compensate = false;        // compensate completed steps (newest first)
  std::string reason;             // detail given to those compensation actions
  std::vector<action_spec> emit;  // actions after the compensations
};

struct state_def {
  std::string name;
  state_options options;
};

struct step_def {
  std::string name;
  std::string completed_by;  // event type that completes it
  std::string compensation;  // action name; "" = irreversible (nothing to undo)
};

struct transition_def {
  std::string from;
  std::string event;
  std::string to;
  transition_options options;
};

class saga_definition {
 public:
  explicit saga_definition(std::string name);

  // The state a new saga starts in (declared as a state too). Required, exactly once.
  saga_definition& initial(std::string name, state_options options = {});
  saga_definition& state(std::string name, state_options options = {});
  saga_definition& step(std::string name, std::string completed_by, std::string compensation = {});
  saga_definition& on(std::string from, std::string event, std::string to,
                      transition_options options = {});
  saga_definition& on_timeout(std::string from, std::string to, transition_options options = {});

  // Checks the declaration: an initial state, unique names, transitions and joins between
  // declared states, branches naming declared steps, terminal states with internal transitions
  // only, and a timeout transition for every deadline. Throws eventshop::error(invalid_argument)
  // naming the problem.
  void validate() const;

  const std::string& name() const noexcept { return name_; }
  const std::string& initial_state() const noexcept { return initial_; }
  const std::vector<state_def>& states() const noexcept { return states_; }
  const std::vector<step_def>& steps() const noexcept { return steps_; }
  const std::vector<transition_def>& transitions() const noexcept { return transitions_; }

  // nullptr when unknown.
  const state_def* find_state(std::string_view name) const noexcept;
  const step_def* find_step(std::string_view name) const noexcept;

 private:
  std::string name_;
  std::string initial_;
  std::vector<state_def> states_;
  std::vector<step_def> steps_;
  std::vector<transition_def> transitions_;
};

// The definition as a Mermaid `stateDiagram-v2` (deterministic text, ends with a newline).
std::string to_mermaid(const saga_definition& definition);

}  // namespace eventshop::saga
