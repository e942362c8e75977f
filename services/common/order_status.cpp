#include "common/order_status.hpp"

#include <array>
#include <utility>

namespace eventshop::services {
namespace {
constexpr std::array<std::pair<order_status, std::string_view>, 8> names = {{
    {order_status::created, "created"},
    {order_status::inventory_confirmed, "inventory_confirmed"},
    {order_status::payment_completed, "payment_completed"},
    {order_status::notification_sent, "notification_sent"},
    {order_status::shipped, "shipped"},
    {order_status::inventory_rejected, "inventory_rejected"},
    {order_status::payment_failed, "payment_failed"},
    {order_status::cancelled, "cancelled"},
}};

order_status advance(order_status current, order_status to) noexcept {
  // Progress states are declared in order, so the larger one wins.
  return static_cast<int>(to) > static_cast<int>(current) ? to : current;
}
}  // namespace

std::string_view to_string(order_status s) noexcept {
  for (const auto& [v, n] : names)
    if (v == s) return n;
  return "unknown";
}

std::optional<order_status> parse_order_status(std::string_view text) noexcept {
  for (const auto& [v, n] : names)
    if (n == text) return v;
  return std::nullopt;
}

bool is_terminal(order_status s) noexcept {
  return s == order_status::shipped || is_failure(s);
}

bool is_failure(order_status s) noexcept {
  return s == order_status::inventory_rejected || s == order_status::payment_failed ||
         s == order_status::cancelled;
}

order_status next_status(order_status current, std::string_view event_type,
                         std::string_view notification_kind) noexcept {
  if (is_terminal(current)) return current;
  if (event_type == "InventoryConfirmed")
    return advance(current, order_status::inventory_confirmed);
  if (event_type == "PaymentCompleted") return advance(current, order_status::payment_completed);
  if (event_type == "NotificationSent") {
    if (notification_kind == "order_confirmed")
      return advance(current, order_status::notification_sent);
    return current;
  }
  if (event_type == "Shipped") return order_status::shipped;
  if (event_type == "InventoryRejected") return order_status::inventory_rejected;
  if (event_type == "PaymentFailed") return order_status::payment_failed;
  if (event_type == "OrderCancelled") return order_status::cancelled;
  return current;
}

}  // namespace eventshop::services
