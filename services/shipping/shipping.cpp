#include "shipping/shipping.hpp"

#include <algorithm>

#include "common/runtime.hpp"
#include "eventshop/core/registry.hpp"

namespace eventshop::services::shipping {

using namespace eventshop::ecommerce;

bool shipping::valid_tracking_number(std::string_view tn) noexcept {
  if (tn.size() != 11 || tn.substr(0, 3) != "TRK") return false;
  return std::all_of(tn.begin() + 3, tn.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'); });
}

std::string shipping::new_tracking_locked(const std::string& order_id) {
  std::uint64_t h = mix64(seed_ ^ fnv1a64(order_id));
  for (;;) {
    // "TRK" + the low 32 bits as 8 upper-case hex digits (as "TRK%08X", without snprintf).
    char buf[11] = {'T', 'R', 'K'};
    for (int d = 0; d < 8; ++d)
      buf[3 + d] = "0123456789ABCDEF"[(h >> (28 - 4 * d)) & 0xF];
    const std::string_view tn(buf, sizeof buf);
    if (!by_tracking_.contains(tn)) return std::string(tn);
    h = mix64(h);
  }
}

const shipment* shipping::find_locked(std::string_view order_id) const {
  auto it = by_order_.find(order_id);
  return it == by_order_.end() ? nullptr : &shipments_[it->second];
}

void shipping::add_locked(shipment s) {
  const std::size_t i = shipments_.size();
  const shipment& kept = shipments_.emplace_back(std::move(s));
  by_order_.emplace(inline_id(kept.order_id), i);
  by_tracking_.emplace(kept.tracking_number, i);
}

std::optional<Shipped> shipping::ship(const std::string& order_id, timestamp now) {
  std::lock_guard lock(mutex_);
  if (by_order_.contains(order_id) || cancelled_.contains(order_id)) return std::nullopt;
  const std::uint64_t h = mix64(fnv1a64(order_id) + 0x5157);
  shipment s;
  s.order_id = order_id;
  s.tracking_number = new_tracking_locked(order_id);
  s.carrier = carriers[h % 4];
  s.estimated_delivery_days = 2 + static_cast<int>(h % 4) + static_cast<int>((h >> 8) % 3);
  s.shipped_at = now;
  s.estimated_delivery = now + std::chrono::hours(24 * s.estimated_delivery_days);
  Shipped ev{order_id, s.tracking_number, s.carrier, s.estimated_delivery_days, now};
  add_locked(std::move(s));
  return ev;
}

shipping::cancel_answer shipping::request_cancel(const std::string& order_id,
                                                 const std::string& reason) {
  std::lock_guard lock(mutex_);
  if (by_order_.contains(order_id)) return OrderCancellationRejected{order_id, "already shipped"};
  if (!cancelled_.insert(order_id).second) return std::monostate{};
  return OrderCancelled{order_id, reason.empty() ? std::string("cancelled by customer") : reason};
}

void shipping::mark_cancelled(const std::string& order_id) {
  std::lock_guard lock(mutex_);
  if (!by_order_.contains(order_id)) cancelled_.insert(order_id);
}

void shipping::rollback_ship(const std::string& order_id) {
  std::lock_guard lock(mutex_);
  auto it = by_order_.find(order_id);
  if (it == by_order_.end()) return;
  by_tracking_.erase(shipments_[it->second].tracking_number);
  by_order_.erase(it);  // the shipment stays, unindexed: list() skips it
}

void shipping::rollback_cancel(const std::string& order_id) {
  std::lock_guard lock(mutex_);
  cancelled_.erase(order_id);
}

void shipping::apply(const envelope& e) {
  if (e.type == Shipped::event_type) {
    const auto ev = decode_event<Shipped>(e);
    std::lock_guard lock(mutex_);
    if (by_order_.contains(ev.order_id)) return;
    add_locked({ev.order_id, ev.tracking_number, ev.carrier, ev.estimated_delivery_days,
                ev.shipped_at,
                ev.shipped_at + std::chrono::hours(24 * ev.estimated_delivery_days)});
  } else if (e.type == OrderCancelled::event_type) {
    mark_cancelled(decode_event<OrderCancelled>(e).order_id);
  }
}

std::optional<shipment> shipping::find(const std::string& order_id) const {
  std::lock_guard lock(mutex_);
  const shipment* s = find_locked(order_id);
  if (!s) return std::nullopt;
  return *s;
}

std::optional<shipment> shipping::find_by_tracking(const std::string& tracking_number) const {
  std::lock_guard lock(mutex_);
  auto it = by_tracking_.find(tracking_number);
  if (it == by_tracking_.end()) return std::nullopt;
  return shipments_[it->second];
}

std::vector<shipment> shipping::list() const {
  std::lock_guard lock(mutex_);
  std::vector<shipment> out;
  out.reserve(by_order_.size());
  for (std::size_t i = 0; i < shipments_.size(); ++i) {
    auto it = by_order_.find(shipments_[i].order_id);
    if (it != by_order_.end() && it->second == i) out.push_back(shipments_[i]);
  }
  return out;
}

bool shipping::cancelled(const std::string& order_id) const {
  std::lock_guard lock(mutex_);
  return cancelled_.contains(order_id);
}

}  // namespace eventshop::services::shipping
