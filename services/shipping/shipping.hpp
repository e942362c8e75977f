// services/shipping/shipping.hpp - the shipping domain: ship paid orders with a tracking number,
// a carrier and a delivery estimate, look shipments up, and decide cancellations. No transport.
//
// Shipping is where an order's fate is sealed, so it is also the one place that decides a
// cancellation request: before the shipment it answers OrderCancelled (and never ships that
// order), after it OrderCancellationRejected("already shipped"). That removes the race between
// "cancel" and "ship" that two deciders would have.
//
// Tracking numbers are "TRK" + 8 upper-case hex digits, unique within the service; the carrier
// (FedEx, UPS, DHL, USPS) and the estimate (2..7 days) are derived from a hash of the order id.
// State is a fold over the shipping topic and the cancellation decisions on `orders` (apply()).
// Thread safety: safe (one mutex).
#pragma once

#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "common/compact_text.hpp"
#include "eventshop/core/envelope.hpp"
#include "eventshop/ecommerce/events.hpp"

namespace eventshop::services::shipping {

inline constexpr const char* carriers[] = {"FedEx", "UPS", "DHL", "USPS"};

struct shipment {
  std::string order_id;
  std::string tracking_number;
  std::string carrier;
  int estimated_delivery_days = 0;
  timestamp shipped_at{};
  timestamp estimated_delivery{};
};

class shipping {
 public:
  explicit shipping(std::uint64_t seed = 0) : seed_(seed) {}

  // Ships `order_id` unless it was shipped or cancelled before (then nullopt).
  std::optional<ecommerce::Shipped> ship(const std::string& order_id, timestamp now);

  using cancel_answer =
      std::variant<std::monostate, ecommerce::OrderCancelled, ecommerce::OrderCancellationRejected>;
  // Decides a cancellation request: OrderCancelled if not shipped (the order is then never
  // shipped), OrderCancellationRejected if shipped, nothing if it was cancelled before.
  cancel_answer request_cancel(const std::string& order_id, const std::string& reason);
  // Records a cancellation decided elsewhere (replay, or another publisher).
  void mark_cancelled(const std::string& order_id);

  // Undo a ship()/request_cancel() whose event could not be published.
  void rollback_ship(const std::string& order_id);
  void rollback_cancel(const std::string& order_id);

  void apply(const envelope& e);  // replay

  std::optional<shipment> find(const std::string& order_id) const;
  std::optional<shipment> find_by_tracking(const std::string& tracking_number) const;
  std::vector<shipment> list() const;  // in shipping order
  bool cancelled(const std::string& order_id) const;

  static bool valid_tracking_number(std::string_view tn) noexcept;

 private:
  std::string new_tracking_locked(const std::string& order_id);

  const shipment* find_locked(std::string_view order_id) const;
  void add_locked(shipment s);

  std::uint64_t seed_;
  mutable std::mutex mutex_;
  // Every shipment once, in shipping order (a deque never moves its elements); the indexes map
  // the order id (inline) and the tracking number (11 characters: inline in std::string) to its
  // position - no heap copies of the order id, and keys compared without leaving the map's node.
  // Tracking numbers are random: hashed (an ordered map walked ~17 cold nodes per lookup - 2.3 %
  // of the pipeline's CPU in perf); order ids (UUIDv7) arrive in time order, so an ordered map's
  // lookups of recent orders stay on hot nodes. A rolled-back shipment stays, unindexed (list()
  // skips it).
  std::deque<shipment> shipments_;
  std::map<inline_id, std::size_t, text_less> by_order_;
  struct text_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, std::size_t, text_hash, std::equal_to<>> by_tracking_;
  std::set<std::string, std::less<>> cancelled_;
};

}  // namespace eventshop::services::shipping
