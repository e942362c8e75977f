#include "payment/payment.hpp"

#include "common/runtime.hpp"
#include "eventshop/core/error.hpp"
#include "eventshop/core/registry.hpp"

namespace eventshop::services::payment {

using namespace eventshop::ecommerce;

void payment_config::validate() const {
  if (limit.cents < 0) throw error(errc::invalid_argument, "payment limit must not be negative");
  if (!(decline_rate >= 0.0 && decline_rate <= 1.0))
    throw error(errc::invalid_argument, "payment decline rate must be between 0 and 1");
}

payments::payments(const catalog& prices, payment_config config)
    : prices_(prices), config_(config) {
  config_.validate();
}

money payments::amount_for(const std::vector<StockItem>& items) const {
  money total{0};
  for (const auto& it : items) {
    const product_info* p = prices_.find(it.product_id);
    if (!p) throw error(errc::not_found, "no price for product '" + it.product_id + "'");
    total = total + p->price * it.quantity;
  }
  return total;
}

bool payments::random_decline(const std::string& order_id) const noexcept {
  if (config_.decline_rate <= 0.0) return false;
  const std::uint64_t h = mix64(config_.seed ^ fnv1a64(order_id));
  const double u = static_cast<double>(h >> 11) / 9007199254740992.0;  // [0, 1)
  return u < config_.decline_rate;
}

payment_record& payments::record_locked(const std::string& order_id) {
  auto it = records_.lower_bound(order_id);
  if (it == records_.end() || it->first != order_id) {
    it = records_.emplace_hint(it, inline_id(order_id), payment_record{});
    it->second.order_id = order_id;
  }
  return it->second;
}

payments::charge_result payments::charge(const std::string& order_id,
                                         const std::vector<StockItem>& items,
                                         const std::string& payment_id, timestamp now) {
  const money amount = amount_for(items);
  std::lock_guard lock(mutex_);
  const auto at = records_.lower_bound(order_id);
  if (at != records_.end() && at->first == order_id) return std::monostate{};
  payment_record r;
  r.order_id = order_id;
  r.amount = amount;
  r.processed_at = now;
  if (amount > config_.limit || random_decline(order_id)) {
    r.status = "failed";
    r.reason = amount > config_.limit ? "amount exceeds limit" : "declined by card issuer";
    PaymentFailed failed{order_id, amount, r.reason};
    records_.emplace_hint(at, inline_id(order_id), std::move(r));
    return failed;
  }
  r.status = "completed";
  r.payment_id = payment_id;
  records_.emplace_hint(at, inline_id(order_id), std::move(r));
  return PaymentCompleted{order_id, payment_id, amount, "USD", now};
}

std::optional<PaymentRefunded> payments::cancel(const std::string& order_id,
                                                const std::string& reason, timestamp now) {
  std::lock_guard lock(mutex_);
  auto it = records_.find(order_id);
  if (it == records_.end()) {
    payment_record r;
    r.order_id = order_id;
    r.status = "cancelled";
    r.reason = reason;
    r.processed_at = now;
    records_.emplace(inline_id(order_id), std::move(r));
    return std::nullopt;
  }
  if (it->second.status != "completed") return std::nullopt;
  auto& charged = it->second;
  charged.status = "refunded";
  charged.reason = reason;
  charged.refunded_at = now;
  return PaymentRefunded{order_id, charged.payment_id, charged.amount, reason};
}

void payments::rollback(const std::string& order_id, const std::optional<payment_record>& before) {
  std::lock_guard lock(mutex_);
  if (auto it = records_.find(order_id); it != records_.end()) records_.erase(it);
  if (before) records_.emplace(inline_id(order_id), *before);
}

void payments::apply(const envelope& e) {
  std::lock_guard lock(mutex_);
  if (e.type == PaymentCompleted::event_type) {
    const auto ev = decode_event<PaymentCompleted>(e);
    auto& r = record_locked(ev.order_id);
    if (r.status == "refunded") return;
    r.payment_id = ev.payment_id;
    r.amount = ev.amount;
    r.currency = ev.currency;
    r.status = "completed";
    r.processed_at = ev.processed_at;
  } else if (e.type == PaymentFailed::event_type) {
    const auto ev = decode_event<PaymentFailed>(e);
    auto& r = record_locked(ev.order_id);
    r.amount = ev.amount;
    r.status = "failed";
    r.reason = ev.reason;
    r.processed_at = e.time;
  } else if (e.type == PaymentRefunded::event_type) {
    const auto ev = decode_event<PaymentRefunded>(e);
    auto& r = record_locked(ev.order_id);
    r.payment_id = ev.payment_id;
    r.amount = ev.amount;
    r.status = "refunded";
    r.reason = ev.reason;
    r.refunded_at = e.time;
  } else if (e.type == OrderCancelled::event_type) {
    // Cancelled before any charge: remember it. After a charge, the refund event (replayed too)
    // carries the outcome, so a cancellation seen first must not hide a later charge record.
    const auto ev = decode_event<OrderCancelled>(e);
    if (!records_.contains(ev.order_id)) {
      payment_record r;
      r.order_id = ev.order_id;
      r.status = "cancelled";
      r.reason = ev.reason;
      r.processed_at = e.time;
      records_.emplace(inline_id(ev.order_id), std::move(r));
    }
  }
}

std::optional<payment_record> payments::find(const std::string& order_id) const {
  std::lock_guard lock(mutex_);
  auto it = records_.find(order_id);
  if (it == records_.end()) return std::nullopt;
  return it->second;
}

}  // namespace eventshop::services::payment
