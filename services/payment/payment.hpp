// services/payment/payment.hpp - the payment domain: charge an order's total, decline by rule,
// refund, and never charge twice. No transport in here.
//
// Rules (CONTRACT §3): a total over `limit` (default 2,000.00) is declined with reason "amount
// exceeds limit"; otherwise, with `decline_rate` > 0, an order is declined ("declined by card
// issuer") when a hash of (seed, order id) falls under the rate - deterministic, so a redelivered
// or replayed event gets the same answer. The amount is computed in integer cents from the
// catalog's prices. An order is charged at most once and refunded at most once, and only if it
// was charged; an order cancelled before its charge is never charged.
//
// State is a fold over the payment topic plus OrderCancelled (apply()), which is how the service
// recovers after a restart. Thread safety: safe (one mutex).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/catalog.hpp"
#include "common/compact_text.hpp"
#include "eventshop/core/envelope.hpp"
#include "eventshop/ecommerce/events.hpp"

namespace eventshop::services::payment {

struct payment_config {
  money limit{200'000};       // totals above this are declined
  double decline_rate = 0.0;  // 0..1, random (seeded) declines for demos
  std::uint64_t seed = 0;

  void validate() const;  // throws eventshop::error(invalid_argument)
};

struct payment_record {
  std::string order_id;
  std::string payment_id;  // "" when declined
  money amount;
  std::string currency = "USD";
  std::string status;  // "completed", "failed", "refunded", "cancelled"
  std::string reason;  // decline or refund reason
  timestamp processed_at{};
  std::optional<timestamp> refunded_at;
};

class payments {
 public:
  payments(const catalog& prices, payment_config config);

  using charge_result =
      std::variant<std::monostate, ecommerce::PaymentCompleted, ecommerce::PaymentFailed>;
  // Charges the items of a confirmed reservation. monostate when nothing is to be done: charged
  // or declined before, or cancelled first.
  charge_result charge(const std::string& order_id, const std::vector<ecommerce::StockItem>& items,
                       const std::string& payment_id, timestamp now);

  // The order was cancelled: refund if charged (once); otherwise remember it so that a later
  // charge() does nothing.
  std::optional<ecommerce::PaymentRefunded> cancel(const std::string& order_id,
                                                   const std::string& reason, timestamp now);

  // Undoes a charge()/cancel() whose event could not be published.
  void rollback(const std::string& order_id, const std::optional<payment_record>& before);

  void apply(const envelope& e);  // replay

  std::optional<payment_record> find(const std::string& order_id) const;
  money amount_for(const std::vector<ecommerce::StockItem>& items) const;  // throws not_found
  const catalog& prices() const noexcept { return prices_; }
  const payment_config& config() const noexcept { return config_; }
  bool random_decline(const std::string& order_id) const noexcept;

 private:
  // The record of `order_id`, added (with only its order id) when there is none.
  payment_record& record_locked(const std::string& order_id);

  catalog prices_;
  payment_config config_;
  mutable std::mutex mutex_;
  // Keyed by the order id inline in the tree node: comparisons do not leave the node (through
  // the record's heap-allocated id, a second cache miss per tree level).
  std::map<inline_id, payment_record, text_less> records_;
};

}  // namespace eventshop::services::payment
