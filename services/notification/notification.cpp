#include "notification/notification.hpp"

#include "eventshop/core/registry.hpp"

namespace eventshop::services::notification {

using namespace eventshop::ecommerce;

std::optional<NotificationSent> notifications::on_event(const envelope& e, timestamp now) {
  NotificationSent n;
  n.channel = "email";
  n.sent_at = now;
  if (e.type == PaymentCompleted::event_type) {
    const auto ev = decode_event<PaymentCompleted>(e);
    n.order_id = ev.order_id;
    n.kind = "order_confirmed";
    n.message = "Your order " + ev.order_id + " is confirmed: payment of $" +
                ev.amount.to_string() + " received.";
  } else if (e.type == PaymentFailed::event_type) {
    const auto ev = decode_event<PaymentFailed>(e);
    n.order_id = ev.order_id;
    n.kind = "order_failed";
    n.message = "Your order " + ev.order_id + " could not be completed: payment failed (" +
                ev.reason + ").";
  } else if (e.type == InventoryRejected::event_type) {
    const auto ev = decode_event<InventoryRejected>(e);
    n.order_id = ev.order_id;
    n.kind = "order_failed";
    n.message = "Your order " + ev.order_id + " could not be completed: " + ev.reason + " for " +
                ev.product_id + ".";
  } else if (e.type == OrderCancelled::event_type) {
    const auto ev = decode_event<OrderCancelled>(e);
    n.order_id = ev.order_id;
    n.kind = "order_cancelled";
    n.message = "Your order " + ev.order_id + " was cancelled.";
  } else if (e.type == Shipped::event_type) {
    const auto ev = decode_event<Shipped>(e);
    n.order_id = ev.order_id;
    n.kind = "order_shipped";
    n.message = "Your order " + ev.order_id + " has shipped with " + ev.carrier +
                ", tracking number " + ev.tracking_number + ".";
  } else {
    return std::nullopt;
  }
  std::lock_guard lock(mutex_);
  if (!record_locked(n)) return std::nullopt;
  return n;
}

namespace {
// The CONTRACT §2 kinds, one bit each in notifications::sent_.
constexpr std::string_view contract_kinds[] = {"order_confirmed", "order_failed", "order_cancelled",
                                               "order_shipped"};
int kind_bit(std::string_view kind) noexcept {
  for (int i = 0; i < 4; ++i)
    if (contract_kinds[i] == kind) return i;
  return -1;
}
}  // namespace

bool notifications::mark_sent_locked(const std::string& order_id, const std::string& kind) {
  const int bit = kind_bit(kind);
  if (bit < 0) return other_sent_.emplace(order_id, kind).second;
  const auto mask = static_cast<std::uint8_t>(1U << bit);
  auto [it, added] = sent_.try_emplace(inline_id(order_id), mask);  // one lookup
  if (added) return true;
  if (it->second & mask) return false;
  it->second |= mask;
  return true;
}

void notifications::unmark_sent_locked(const std::string& order_id, const std::string& kind) {
  const int bit = kind_bit(kind);
  if (bit < 0) {
    other_sent_.erase({order_id, kind});
    return;
  }
  auto it = sent_.find(order_id);
  if (it == sent_.end()) return;
  it->second &= static_cast<std::uint8_t>(~(1U << bit));
  if (it->second == 0) sent_.erase(it);
}

NotificationSent notifications::to_event(const kept& k) {
  return {std::string(k.order_id.view()), k.kind, k.channel, std::string(k.message.view()),
          k.sent_at};
}

bool notifications::record_locked(const NotificationSent& n) {
  if (!mark_sent_locked(n.order_id, n.kind)) return false;
  kept_.push_back({inline_id(n.order_id), n.kind, n.channel, shared_text(n.message), n.sent_at});
  while (kept_.size() > capacity_)
    kept_.pop_front();
  return true;
}

void notifications::rollback(const std::string& order_id, const std::string& kind) {
  std::lock_guard lock(mutex_);
  unmark_sent_locked(order_id, kind);
  for (auto it = kept_.rbegin(); it != kept_.rend(); ++it)
    if (it->order_id == order_id && it->kind == kind) {
      kept_.erase(std::next(it).base());
      break;
    }
}

void notifications::apply(const envelope& e) {
  if (e.type != NotificationSent::event_type) return;
  const auto n = decode_event<NotificationSent>(e);
  std::lock_guard lock(mutex_);
  record_locked(n);
}

std::vector<NotificationSent> notifications::list(const std::string& order_id,
                                                  std::size_t limit) const {
  std::lock_guard lock(mutex_);
  std::vector<NotificationSent> out;
  for (auto it = kept_.rbegin(); it != kept_.rend() && out.size() < limit; ++it)
    if (order_id.empty() || it->order_id == order_id) out.push_back(to_event(*it));
  return out;
}

std::size_t notifications::size() const {
  std::lock_guard lock(mutex_);
  return kept_.size();
}

}  // namespace eventshop::services::notification
