// services/common/order_status.hpp - the seed-compatible order status and its one rule: it is
// monotonic (CONTRACT §3).
//
//   created -> inventory_confirmed -> payment_completed -> notification_sent -> shipped
//   terminal failures: inventory_rejected, payment_failed, cancelled
//
// `next_status` is the only place that decides how an event moves a status, so the status read
// model and the order service's own view agree. Events may arrive in any order across topics:
// a progress event never moves a status backwards, a terminal status never changes, and a
// `Shipped` that overtakes `NotificationSent` leaves the order `shipped`.
#pragma once

#include <optional>
#include <string_view>

namespace eventshop::services {

enum class order_status {
  created,
  inventory_confirmed,
  payment_completed,
  notification_sent,
  shipped,
  inventory_rejected,
  payment_failed,
  cancelled,
};

std::string_view to_string(order_status s) noexcept;
std::optional<order_status> parse_order_status(std::string_view text) noexcept;

// shipped and the three failures.
bool is_terminal(order_status s) noexcept;
// The failures (inventory_rejected, payment_failed, cancelled).
bool is_failure(order_status s) noexcept;
// Not terminal: a cancellation may still stop it.
inline bool is_cancellable(order_status s) noexcept {
  return !is_terminal(s);
}

// The status after an event of `event_type` (with NotificationSent's `kind`), from `current`.
order_status next_status(order_status current, std::string_view event_type,
                         std::string_view notification_kind = {}) noexcept;

}  // namespace eventshop::services
