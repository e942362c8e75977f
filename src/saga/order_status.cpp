// The status rule of the order saga (CONTRACT §3): pure functions, no saga state.
#include <array>

#include "eventshop/core/error.hpp"
#include "eventshop/core/json.hpp"
#include "eventshop/saga/order_saga.hpp"

namespace eventshop::saga {

namespace {
constexpr std::array<std::string_view, 8> status_names = {
    "created", "inventory_confirmed", "payment_completed", "notification_sent",
    "shipped", "inventory_rejected",  "payment_failed",    "cancelled",
};

// Rank of the progress statuses; failures are handled apart.
constexpr int rank(order_status s) noexcept {
  return static_cast<int>(s);
}
}  // namespace

std::string_view to_string(order_status s) noexcept {
  const auto i = static_cast<std::size_t>(s);
  return i < status_names.size() ? status_names[i] : std::string_view("unknown");
}

std::optional<order_status> parse_order_status(std::string_view text) noexcept {
  for (std::size_t i = 0; i < status_names.size(); ++i)
    if (status_names[i] == text) return static_cast<order_status>(i);
  return std::nullopt;
}

bool is_failure(order_status s) noexcept {
  return s == order_status::inventory_rejected || s == order_status::payment_failed ||
         s == order_status::cancelled;
}

bool is_final(order_status s) noexcept {
  return is_failure(s) || s == order_status::shipped;
}

order_status next_status(order_status current, std::string_view event_type,
                         std::string_view notification_kind) noexcept {
  if (is_final(current)) return current;
  std::optional<order_status> target;
  if (event_type == "InventoryConfirmed")
    target = order_status::inventory_confirmed;
  else if (event_type == "PaymentCompleted")
    target = order_status::payment_completed;
  else if (event_type == "Shipped")
    target = order_status::shipped;
  else if (event_type == "NotificationSent" && notification_kind == "order_confirmed")
    target = order_status::notification_sent;
  else if (event_type == "InventoryRejected")
    return order_status::inventory_rejected;
  else if (event_type == "PaymentFailed")
    return order_status::payment_failed;
  else if (event_type == "OrderCancelled")
    return order_status::cancelled;
  if (target && rank(*target) > rank(current)) return *target;
  return current;
}

order_status next_status(order_status current, const envelope& event) {
  if (event.type != "NotificationSent") return next_status(current, event.type, {});
  const json_document doc(event.data);
  const json_view kind = doc.root()["kind"];
  if (!kind.is_string())
    throw error(errc::missing_attribute, "NotificationSent data.kind: expected a string");
  return next_status(current, event.type, kind.as_string());
}

std::string_view to_string(order_action_kind k) noexcept {
  switch (k) {
    case order_action_kind::release_stock:
      return "release_stock";
    case order_action_kind::refund_payment:
      return "refund_payment";
    case order_action_kind::cancel_order:
      return "cancel_order";
    case order_action_kind::reject_cancellation:
      return "reject_cancellation";
  }
  return "unknown";
}

void order_saga_options::validate() const {
  if (step_timeout.count() <= 0)
    throw error(errc::invalid_argument, "order_saga_options.step_timeout: must be > 0, got " +
                                            std::to_string(step_timeout.count()) + " ms");
}

}  // namespace eventshop::saga
