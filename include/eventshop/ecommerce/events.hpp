// eventshop/ecommerce/events.hpp - the event catalog of the reference e-commerce system
// (CONTRACT §2), declared as typed events. Including this header registers the catalog in
// event_registry::global(); call register_catalog(r) to add it to another registry.
//
// Money fields are eventshop::money (integer cents, two decimals on the wire).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "eventshop/core/event.hpp"
#include "eventshop/core/registry.hpp"

namespace eventshop::ecommerce {

namespace topics {
inline constexpr std::string_view orders = "orders";
inline constexpr std::string_view inventory = "inventory";
inline constexpr std::string_view payment = "payment";
inline constexpr std::string_view notification = "notification";
inline constexpr std::string_view shipping = "shipping";
inline constexpr std::string_view all[] = {orders, inventory, payment, notification, shipping};
}  // namespace topics

// One line of an order.
struct OrderItem {
  std::string product_id;
  int quantity = 0;
  money unit_price;
};
EVENTSHOP_FIELDS(OrderItem, product_id, quantity, unit_price)

// A quantity of one product reserved or released by inventory.
struct StockItem {
  std::string product_id;
  int quantity = 0;
};
EVENTSHOP_FIELDS(StockItem, product_id, quantity)

// ---- orders ------------------------------------------------------------------------------
struct OrderCreated {
  EVENTSHOP_EVENT_TYPE("OrderCreated", 1);
  static constexpr std::string_view topic = topics::orders;
  std::string order_id;
  std::string customer_id;
  std::vector<OrderItem> items;
  money total;
  std::string currency = "USD";
  std::string product_id;  // the first item's, for the original system's clients
  int quantity = 0;        // the first item's
};
EVENTSHOP_FIELDS(OrderCreated, order_id, customer_id, items, total, currency, product_id, quantity)

struct OrderCancellationRequested {
  EVENTSHOP_EVENT_TYPE("OrderCancellationRequested", 1);
  static constexpr std::string_view topic = topics::orders;
  std::string order_id;
  std::string reason;
};
EVENTSHOP_FIELDS(OrderCancellationRequested, order_id, reason)

struct OrderCancelled {
  EVENTSHOP_EVENT_TYPE("OrderCancelled", 1);
  static constexpr std::string_view topic = topics::orders;
  std::string order_id;
  std::string reason;
};
EVENTSHOP_FIELDS(OrderCancelled, order_id, reason)

struct OrderCancellationRejected {
  EVENTSHOP_EVENT_TYPE("OrderCancellationRejected", 1);
  static constexpr std::string_view topic = topics::orders;
  std::string order_id;
  std::string reason;  // e.g. "already shipped"
};
EVENTSHOP_FIELDS(OrderCancellationRejected, order_id, reason)

// ---- inventory ---------------------------------------------------------------------------
struct InventoryConfirmed {
  EVENTSHOP_EVENT_TYPE("InventoryConfirmed", 1);
  static constexpr std::string_view topic = topics::inventory;
  std::string order_id;
  std::vector<StockItem> items;
  std::string reservation_id;
};
EVENTSHOP_FIELDS(InventoryConfirmed, order_id, items, reservation_id)

struct InventoryRejected {
  EVENTSHOP_EVENT_TYPE("InventoryRejected", 1);
  static constexpr std::string_view topic = topics::inventory;
  std::string order_id;
  std::string product_id;
  int requested = 0;
  int available = 0;
  std::string reason;  // "Insufficient stock" or "Unknown product"
};
EVENTSHOP_FIELDS(InventoryRejected, order_id, product_id, requested, available, reason)

struct InventoryReleased {
  EVENTSHOP_EVENT_TYPE("InventoryReleased", 1);
  static constexpr std::string_view topic = topics::inventory;
  std::string order_id;
  std::vector<StockItem> items;
  std::string reason;
};
EVENTSHOP_FIELDS(InventoryReleased, order_id, items, reason)

struct StockReplenished {
  EVENTSHOP_EVENT_TYPE("StockReplenished", 1);
  static constexpr std::string_view topic = topics::inventory;
  std::string product_id;
  int quantity = 0;
  int stock = 0;
};
EVENTSHOP_FIELDS(StockReplenished, product_id, quantity, stock)

struct LowStockDetected {
  EVENTSHOP_EVENT_TYPE("LowStockDetected", 1);
  static constexpr std::string_view topic = topics::inventory;
  std::string product_id;
  int stock = 0;
  int alert_level = 0;
};
EVENTSHOP_FIELDS(LowStockDetected, product_id, stock, alert_level)

// ---- payment -----------------------------------------------------------------------------
struct PaymentCompleted {
  EVENTSHOP_EVENT_TYPE("PaymentCompleted", 1);
  static constexpr std::string_view topic = topics::payment;
  std::string order_id;
  std::string payment_id;
  money amount;
  std::string currency = "USD";
  timestamp processed_at{};
};
EVENTSHOP_FIELDS(PaymentCompleted, order_id, payment_id, amount, currency, processed_at)

struct PaymentFailed {
  EVENTSHOP_EVENT_TYPE("PaymentFailed", 1);
  static constexpr std::string_view topic = topics::payment;
  std::string order_id;
  money amount;
  std::string reason;  // e.g. "amount exceeds limit"
};
EVENTSHOP_FIELDS(PaymentFailed, order_id, amount, reason)

struct PaymentRefunded {
  EVENTSHOP_EVENT_TYPE("PaymentRefunded", 1);
  static constexpr std::string_view topic = topics::payment;
  std::string order_id;
  std::string payment_id;
  money amount;
  std::string reason;
};
EVENTSHOP_FIELDS(PaymentRefunded, order_id, payment_id, amount, reason)

// ---- notification ------------------------------------------------------------------------
struct NotificationSent {
  EVENTSHOP_EVENT_TYPE("NotificationSent", 1);
  static constexpr std::string_view topic = topics::notification;
  std::string order_id;
  std::string kind;  // order_confirmed, order_failed, order_cancelled, order_shipped
  std::string channel = "email";
  std::string message;
  timestamp sent_at{};
};
EVENTSHOP_FIELDS(NotificationSent, order_id, kind, channel, message, sent_at)

// ---- shipping ----------------------------------------------------------------------------
struct Shipped {
  EVENTSHOP_EVENT_TYPE("Shipped", 1);
  static constexpr std::string_view topic = topics::shipping;
  std::string order_id;
  std::string tracking_number;  // "TRK" + 8 upper-case hex digits
  std::string carrier;          // FedEx, UPS, DHL or USPS
  int estimated_delivery_days = 0;
  timestamp shipped_at{};
};
EVENTSHOP_FIELDS(Shipped, order_id, tracking_number, carrier, estimated_delivery_days, shipped_at)

// Adds every catalog type to `r`. Idempotent.
inline void register_catalog(event_registry& r = event_registry::global()) {
  r.add<OrderCreated>();
  r.add<OrderCancellationRequested>();
  r.add<OrderCancelled>();
  r.add<OrderCancellationRejected>();
  r.add<InventoryConfirmed>();
  r.add<InventoryRejected>();
  r.add<InventoryReleased>();
  r.add<StockReplenished>();
  r.add<LowStockDetected>();
  r.add<PaymentCompleted>();
  r.add<PaymentFailed>();
  r.add<PaymentRefunded>();
  r.add<NotificationSent>();
  r.add<Shipped>();
}

namespace detail {
inline const bool catalog_registered = (register_catalog(), true);
}  // namespace detail

}  // namespace eventshop::ecommerce
