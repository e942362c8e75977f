// The order saga of CONTRACT §3 declared with saga_definition, and its process manager.
#include "eventshop/saga/order_saga.hpp"

#include <mutex>

#include "eventshop/core/error.hpp"
#include "eventshop/core/json.hpp"
#include "eventshop/saga/definition.hpp"
#include "eventshop/saga/store.hpp"
#include "eventshop/saga/tracker.hpp"

namespace eventshop::saga {

namespace {

// Step indices in the definition below (completed_before/after bit masks).
constexpr std::uint64_t reserve_bit = 1U << 0U;
constexpr std::uint64_t charge_bit = 1U << 1U;
constexpr std::uint64_t notify_bit = 1U << 2U;
constexpr std::uint64_t ship_bit = 1U << 3U;

std::string string_field(std::string_view data, std::string_view name) {
  if (data.empty()) return {};
  const json_document doc(data);
  const json_view v = doc.root()[name];
  return v.is_string() ? std::string(v.as_string()) : std::string();
}

bool confirmed_notification(const saga_record&, const saga_event& ev) {
  return string_field(ev.data, "kind") == "order_confirmed";
}
// Shipped: the ship step is complete, or its event arrived early and is held.
bool shipped(const saga_record& r, const saga_event&) {
  if (r.has_completed("ship")) return true;
  for (const auto& h : r.held)
    if (h.type == "Shipped") return true;
  return false;
}
bool not_shipped(const saga_record& r, const saga_event& e) {
  return !shipped(r, e);
}

std::string requested_reason(const saga_record&, const saga_event& ev) {
  std::string reason = string_field(ev.data, "reason");
  return reason.empty() ? std::string("cancellation requested") : reason;
}

saga_definition make_definition(std::chrono::milliseconds timeout) {
  using namespace std::string_literals;
  saga_definition d("order");
  const auto cancel = [](std::string reason) {
    return action_spec{"cancel_order", std::move(reason), {}};
  };
  const auto reject = [](std::string reason) {
    return action_spec{"reject_cancellation", std::move(reason), {}};
  };
  const action_spec cancel_as_requested{"cancel_order", {}, requested_reason};

  d.initial("new", {.description = "waiting for OrderCreated"})
      .state("reserving", {.deadline = timeout, .description = "inventory reserves every item"})
      .state("paying", {.deadline = timeout, .description = "payment charges the total"})
      .state("fulfilling", {.deadline = timeout,
                            .branches = {"notify", "ship"},
                            .join = "completed",
                            .description = "notification and shipping in parallel"})
      .state("completed", {.terminal = true, .description = "shipped and notified"})
      .state("inventory_rejected", {.terminal = true})
      .state("payment_failed", {.terminal = true})
      .state("cancelled", {.terminal = true});

  d.step("reserve", "InventoryConfirmed", "release_stock")
      .step("charge", "PaymentCompleted", "refund_payment")
      .step("notify", "NotificationSent")
      .step("ship", "Shipped");

  d.on("new", "OrderCreated", "reserving");

  // Before fulfilment the order can still be cancelled or time out - unless a Shipped event
  // already arrived early (held): shipping is irreversible, so then the saga keeps waiting for
  // the events it misses and rejects cancellations.
  for (const char* from : {"reserving", "paying"}) {
    const std::string waiting_for = from == "reserving"s ? "inventory" : "payment";
    d.on(from, "OrderCancellationRequested", "cancelled",
         {.guard_name = "not shipped",
          .guard = not_shipped,
          .compensate = true,
          .reason = "order cancelled",
          .emit = {cancel_as_requested}})
        .on(from, "OrderCancellationRequested", from,
            {.guard_name = "shipped", .guard = shipped, .emit = {reject("already shipped")}})
        .on(from, "OrderCancelled", "cancelled",
            {.guard_name = "not shipped",
             .guard = not_shipped,
             .compensate = true,
             .reason = "order cancelled"})
        .on_timeout(from, "cancelled",
                    {.guard_name = "not shipped",
                     .guard = not_shipped,
                     .compensate = true,
                     .reason = waiting_for + " timed out",
                     .emit = {cancel(waiting_for + " timed out")}});
  }
  d.on("reserving", "InventoryConfirmed", "paying")
      .on("reserving", "InventoryRejected", "inventory_rejected");
  d.on("paying", "PaymentCompleted", "fulfilling")
      .on("paying", "PaymentFailed", "payment_failed",
          {.compensate = true, .reason = "payment failed"});

  d.on("fulfilling", "NotificationSent", "fulfilling",
       {.guard_name = "order_confirmed", .guard = confirmed_notification})
      .on("fulfilling", "Shipped", "fulfilling")
      .on("fulfilling", "OrderCancellationRequested", "cancelled",
          {.guard_name = "not shipped",
           .guard = not_shipped,
           .compensate = true,
           .reason = "order cancelled",
           .emit = {cancel_as_requested}})
      .on("fulfilling", "OrderCancellationRequested", "fulfilling",
          {.guard_name = "shipped", .guard = shipped, .emit = {reject("already shipped")}})
      .on("fulfilling", "OrderCancelled", "cancelled",
          {.guard_name = "not shipped",
           .guard = not_shipped,
           .compensate = true,
           .reason = "order cancelled"})
      .on_timeout("fulfilling", "cancelled",
                  {.guard_name = "not shipped",
                   .guard = not_shipped,
                   .compensate = true,
                   .reason = "shipping timed out",
                   .emit = {cancel("shipping timed out")}})
      .on_timeout("fulfilling", "completed", {.guard_name = "shipped", .guard = shipped});

  d.on("completed", "OrderCancellationRequested", "completed",
       {.emit = {reject("already shipped")}})
      .on("inventory_rejected", "OrderCancellationRequested", "inventory_rejected",
          {.emit = {reject("order already failed: inventory rejected")}})
      .on("payment_failed", "OrderCancellationRequested", "payment_failed",
          {.emit = {reject("order already failed: payment failed")}})
      .on("cancelled", "OrderCancellationRequested", "cancelled",
          {.emit = {reject("order already cancelled")}});
  d.validate();
  return d;
}

order_status status_of(std::string_view state, std::uint64_t done) {
  if (state == "paying") return order_status::inventory_confirmed;
  if (state == "fulfilling") {
    if (done & ship_bit) return order_status::shipped;
    if (done & notify_bit) return order_status::notification_sent;
    return order_status::payment_completed;
  }
  if (state == "completed") return order_status::shipped;
  if (state == "inventory_rejected") return order_status::inventory_rejected;
  if (state == "payment_failed") return order_status::payment_failed;
  if (state == "cancelled") return order_status::cancelled;
  return order_status::created;  // new, reserving
}

std::uint64_t done_mask(const saga_record& r) {
  std::uint64_t m = 0;
  if (r.has_completed("reserve")) m |= reserve_bit;
  if (r.has_completed("charge")) m |= charge_bit;
  if (r.has_completed("notify")) m |= notify_bit;
  if (r.has_completed("ship")) m |= ship_bit;
  return m;
}

order_action_kind kind_of(std::string_view name) {
  if (name == "release_stock") return order_action_kind::release_stock;
  if (name == "refund_payment") return order_action_kind::refund_payment;
  if (name == "cancel_order") return order_action_kind::cancel_order;
  if (name == "reject_cancellation") return order_action_kind::reject_cancellation;
  throw error(errc::invalid_argument, "order saga: unknown action '" + std::string(name) + "'");
}

order_action to_order_action(std::string_view order_id, const emitted_action& a) {
  return {kind_of(a.name), std::string(order_id), a.detail};
}

// Catalog events the order saga takes; all others are ignored without touching a saga.
bool relevant(std::string_view type) {
  return type == "OrderCreated" || type == "InventoryConfirmed" || type == "InventoryRejected" ||
         type == "PaymentCompleted" || type == "PaymentFailed" || type == "NotificationSent" ||
         type == "Shipped" || type == "OrderCancellationRequested" || type == "OrderCancelled";
}

order_snapshot snapshot_of(const saga_record& r) {
  order_snapshot s;
  s.order_id = r.key;
  const std::uint64_t done = done_mask(r);
  s.status = status_of(r.state, done);
  s.state = r.state;
  s.terminal = r.terminal;
  s.reserved = (done & reserve_bit) != 0;
  s.charged = (done & charge_bit) != 0;
  s.notified = (done & notify_bit) != 0;
  s.shipped = (done & ship_bit) != 0;
  s.release_requested = r.has_compensated("reserve");
  s.refund_requested = r.has_compensated("charge");
  s.started_at = r.started_at;
  s.updated_at = r.updated_at;
  s.deadline = r.deadline;
  return s;
}

}  // namespace

struct order_saga::impl {
  order_saga_options options;
  saga_definition def;
  saga_tracker tracker;

  impl(saga_store& store, const clock& clk, order_saga_options o)
      : options((o.validate(), o)),
        def(make_definition(o.step_timeout)),
        tracker(def, store, clk) {}
};

order_saga::order_saga(saga_store& store, const clock& clk, order_saga_options options)
    : impl_(std::make_unique<impl>(store, clk, options)) {}

order_saga::~order_saga() = default;

order_result order_saga::handle(const envelope& event) {
  order_result out;
  if (!relevant(event.type)) {
    out.result = order_result::outcome::ignored;
    if (!event.subject.empty())
      if (auto r = impl_->tracker.get(event.subject))
        out.status = status_of(r->state, done_mask(*r));
    return out;
  }
  std::string from_payload;
  std::string_view order_id = event.subject;
  if (order_id.empty()) {
    from_payload = string_field(event.data, "order_id");
    order_id = from_payload;
  }
  if (order_id.empty())
    throw error(errc::missing_attribute,
                event.type + " " + event.id + ": no order id (empty subject and data.order_id)");
  const handle_result r = impl_->tracker.handle(order_id, {event.type, event.id, event.data});
  switch (r.outcome) {
    case handle_outcome::applied:
      out.result = order_result::outcome::applied;
      break;
    case handle_outcome::duplicate:
      out.result = order_result::outcome::duplicate;
      break;
    case handle_outcome::held:
      out.result = order_result::outcome::held;
      break;
    case handle_outcome::ignored:
      out.result = order_result::outcome::ignored;
      break;
  }
  const order_status before = status_of(r.from_state, r.completed_before);
  out.status = status_of(r.to_state, r.completed_after);
  out.status_changed = before != out.status;
  out.transitions = r.transitions;
  out.actions.reserve(r.actions.size());
  for (const auto& a : r.actions)
    out.actions.push_back(to_order_action(order_id, a));
  return out;
}

std::vector<order_action> order_saga::fire_due() {
  std::vector<order_action> out;
  for (const auto& [key, r] : impl_->tracker.fire_due())
    for (const auto& a : r.actions)
      out.push_back(to_order_action(key, a));
  return out;
}

cancellation_check order_saga::check_cancellation(std::string_view order_id) const {
  if (order_id.empty()) throw error(errc::invalid_argument, "check_cancellation: empty order id");
  const handle_result r = impl_->tracker.preview(
      order_id, {"OrderCancellationRequested", "check-cancellation", R"({"reason":""})"});
  cancellation_check c;
  if (r.outcome == handle_outcome::held) {
    c.accepted = true;  // the order is not known yet: the request waits for it
    return c;
  }
  for (const auto& a : r.actions) {
    if (a.name == "cancel_order") c.accepted = true;
    if (a.name == "reject_cancellation") c.reason = a.detail;
  }
  if (!c.accepted && c.reason.empty())
    c.reason = "order cannot be cancelled in state " + r.from_state;
  return c;
}

std::optional<order_snapshot> order_saga::get(std::string_view order_id) const {
  auto r = impl_->tracker.get(order_id);
  if (!r) return std::nullopt;
  return snapshot_of(*r);
}

std::vector<order_snapshot> order_saga::in_flight(std::size_t limit) const {
  std::vector<order_snapshot> out;
  for (const auto& i : impl_->tracker.in_flight(limit))
    if (auto s = get(i.key)) out.push_back(std::move(*s));
  return out;
}

std::vector<order_action> order_saga::pending_actions() const {
  std::vector<order_action> out;
  for (const auto& [key, acts] : impl_->tracker.pending_actions())
    for (const auto& a : acts)
      out.push_back(to_order_action(key, a));
  return out;
}

std::vector<order_action> order_saga::pending_actions(std::string_view order_id) const {
  std::vector<order_action> out;
  if (auto r = impl_->tracker.get(order_id))
    for (const auto& a : r->outbox)
      out.push_back({kind_of(a.name), r->key, a.detail});
  return out;
}

void order_saga::acknowledge(std::string_view order_id) {
  impl_->tracker.acknowledge(order_id);
}

saga_tracker& order_saga::tracker() noexcept {
  return impl_->tracker;
}

const saga_definition& order_saga::definition() {
  static const saga_definition d = make_definition(order_saga_options{}.step_timeout);
  return d;
}

std::string order_saga::mermaid() {
  return to_mermaid(definition());
}

}  // namespace eventshop::saga
