// eventshop/saga/order_saga.hpp - the order saga of CONTRACT §3, declared with eventshop::saga.
//
// Two layers, usable separately:
// - The status rule (pure functions): `next_status` folds the events of one order into its
//   seed-compatible status. It is monotonic - created → inventory_confirmed → payment_completed
//   → notification_sent → shipped, with the terminal failures inventory_rejected, payment_failed
//   and cancelled - and order-independent for the events of one order: a status never moves
//   backwards, a failure or `shipped` never changes again, and `Shipped` before
//   `NotificationSent` gives `shipped`, which stays.
// - `order_saga`, the process manager: one saga per order id tracking reserve → pay →
//   (notify ∥ ship), with a deadline per waiting state (default 30 s). It decides cancellations
//   (accepted unless shipped), and emits the compensations the participants must run: release the
//   reservation on payment failure, timeout or cancellation; refund when the order was charged
//   (also when a charge arrives after the order was already cancelled or timed out). Duplicates
//   (same event id) change nothing; events that arrive before the ones they depend on are held
//   and applied in causal order, so the outcome does not depend on delivery order across topics.
//
// The saga itself publishes nothing and moves no stock or money: it returns `order_action`s.
// Execute them with the owning service (inventory releases, payment refunds, the order service
// publishes OrderCancelled / OrderCancellationRejected) - each action is idempotent per order -
// then call `acknowledge(order_id)`; unacknowledged actions survive restarts (`pending_actions`).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "eventshop/core/clock.hpp"
#include "eventshop/core/envelope.hpp"
#include "eventshop/core/time.hpp"

namespace eventshop::saga {

class saga_definition;
class saga_store;
class saga_tracker;

// ---- the status rule ------------------------------------------------------------------------

enum class order_status : std::uint8_t {
  created,
  inventory_confirmed,
  payment_completed,
  notification_sent,
  shipped,
  inventory_rejected,  // terminal failure
  payment_failed,      // terminal failure
  cancelled,           // terminal failure (also after a step timed out)
};

// "created", "inventory_confirmed", ... (the seed's strings).
std::string_view to_string(order_status s) noexcept;
// The inverse of to_string; nullopt for anything else.
std::optional<order_status> parse_order_status(std::string_view text) noexcept;
// inventory_rejected, payment_failed, cancelled.
bool is_failure(order_status s) noexcept;
// A failure or shipped: no later event changes the status.
bool is_final(order_status s) noexcept;

// The status after an event of `event_type` arrives for an order whose status is `current`.
// `notification_kind` is NotificationSent's `kind` (only "order_confirmed" moves the status).
// Events that do not move the status (InventoryReleased, PaymentRefunded,
// OrderCancellationRequested, OrderCancellationRejected, unknown types) return `current`.
order_status next_status(order_status current, std::string_view event_type,
                         std::string_view notification_kind = "order_confirmed") noexcept;

// The same for a whole envelope (reads `kind` from a NotificationSent payload).
order_status next_status(order_status current, const envelope& event);

// ---- the process manager --------------------------------------------------------------------

struct order_saga_options {
  // How long the saga waits for inventory, for payment, and for shipping; past it the step is
  // treated as failed: the order is cancelled and compensated. Default 30 s (CONTRACT §3).
  std::chrono::milliseconds step_timeout{30'000};

  void validate() const;  // throws eventshop::error(invalid_argument): step_timeout must be > 0
};

enum class order_action_kind : std::uint8_t {
  release_stock,        // inventory: release the reservation made for the order
  refund_payment,       // payment: refund the order's charge
  cancel_order,         // order service: publish OrderCancelled{order_id, reason}
  reject_cancellation,  // order service: publish OrderCancellationRejected{order_id, reason}
};
std::string_view to_string(order_action_kind k) noexcept;

struct order_action {
  order_action_kind kind{};
  std::string order_id;
  std::string reason;  // e.g. "payment failed", "payment timed out", "already shipped"
  friend bool operator==(const order_action&, const order_action&) = default;
};

// What the saga knows about one order.
struct order_snapshot {
  std::string order_id;
  order_status status = order_status::created;
  std::string state;  // the saga state (see order_saga::definition())
  bool terminal = false;
  bool reserved = false;           // InventoryConfirmed seen
  bool charged = false;            // PaymentCompleted seen
  bool notified = false;           // NotificationSent(order_confirmed) seen
  bool shipped = false;            // Shipped seen
  bool release_requested = false;  // a release_stock action was emitted
  bool refund_requested = false;   // a refund_payment action was emitted
  timestamp started_at{};
  timestamp updated_at{};
  std::optional<timestamp> deadline;  // when the current state times out
};

// What handling one event did.
struct order_result {
  enum class outcome : std::uint8_t {
    applied,    // moved the saga (or recorded a late step and compensated it)
    duplicate,  // this event id was seen before: nothing changed
    held,       // arrived before the events it depends on; applied when they arrive
    ignored,    // not relevant in the current state (e.g. a second InventoryConfirmed)
  };
  outcome result = outcome::ignored;
  order_status status = order_status::created;
  bool status_changed = false;
  std::vector<order_action> actions;  // to execute now (also kept until acknowledge())
  std::size_t transitions = 0;        // saga transitions fired (held events and joins count)
};

// Result of asking whether a cancellation would be accepted now (for HTTP 202 / 409).
struct cancellation_check {
  bool accepted = false;
  std::string reason;  // why not ("already shipped", "order already cancelled", ...)
};

// Thread safety: safe; calls are serialised by an internal mutex (subscriptions to the five
// topics may call handle() concurrently).
class order_saga {
 public:
  // `store` and `clk` must outlive the saga. Recovers in-flight sagas' deadlines from `store`.
  explicit order_saga(saga_store& store, const clock& clk = clock::system(),
                      order_saga_options options = {});
  ~order_saga();
  order_saga(const order_saga&) = delete;
  order_saga& operator=(const order_saga&) = delete;

  // Feeds one catalog event (any of the five topics); the order id is the event's subject, or
  // its payload's order_id. Events without an order (StockReplenished, LowStockDetected) are
  // ignored. Throws eventshop::error for an event without a usable order id or a malformed
  // NotificationSent payload; nothing changes then.
  order_result handle(const envelope& event);

  // Times out every saga whose deadline is at or before the clock's now(); returns the actions
  // to execute (cancel_order + compensations), in deadline order.
  std::vector<order_action> fire_due();

  // Would OrderCancellationRequested be accepted now? Changes nothing.
  cancellation_check check_cancellation(std::string_view order_id) const;

  std::optional<order_snapshot> get(std::string_view order_id) const;
  // Sagas not yet in a terminal state, oldest first (at most `limit`).
  std::vector<order_snapshot> in_flight(std::size_t limit = 1000) const;
  // Actions emitted but not yet acknowledged (e.g. after a restart), per order.
  std::vector<order_action> pending_actions() const;
  // The same for one order.
  std::vector<order_action> pending_actions(std::string_view order_id) const;
  // Marks the actions emitted so far for `order_id` as executed.
  void acknowledge(std::string_view order_id);

  // The underlying generic tracker (introspection, scheduler).
  saga_tracker& tracker() noexcept;

  // The order saga as a saga_definition (the one docs/sagas.md draws).
  static const saga_definition& definition();
  // Its Mermaid state diagram.
  static std::string mermaid();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace eventshop::saga
