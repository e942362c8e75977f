// The read model's JSON (CONTRACT §4), pinned byte for byte: seed_order_json and v1_order_json
// of orders built from fixed events (ids, times, positions), whatever the projection's internal
// representation - a successful saga applied out of order with a late bus position, a cancelled
// and refunded one with an idempotency key, ids of unusual lengths and a topic outside the
// catalog, a rejected one, and one seen only through a later event.
#include <gtest/gtest.h>

#include "common/order_projection.hpp"
#include "eventshop/core/registry.hpp"

namespace es = eventshop;
namespace ec = eventshop::ecommerce;
using namespace eventshop::services;

namespace {

// 2026-01-02T03:04:05.678Z plus `ms`.
es::timestamp at(std::int64_t ms) {
  return es::timestamp(std::chrono::milliseconds(1'767'323'045'678LL + ms));
}

template <class T>
es::envelope fixed(const T& data, std::string id, const std::string& subject, std::int64_t ms) {
  es::envelope e;
  e.id = std::move(id);
  e.source = "/eventshop/test";
  e.type = std::string(T::event_type);
  e.subject = subject;
  e.time = at(ms);
  e.dataschemaversion = T::schema_version;
  e.data = es::encode_data(data);
  return e;
}

ec::OrderCreated created(const std::string& id, int qty) {
  return {id,
          "customer \"7\"",
          {{"product-1", qty, es::money{2999}}, {"product-2", 1, es::money{150}}},
          es::money{2999 * qty + 150},
          "USD",
          "product-1",
          qty};
}

std::string both(const order_view& v) {
  return seed_order_json(v) + "\n" + v1_order_json(v);
}

// A successful saga, applied out of order; OrderCreated first without its bus position (as the
// order service adds it), which the receipt fills in afterwards.
std::string shipped_order() {
  const std::string o = "019a0000-0000-7000-8000-000000000001";
  order_projection p;
  const auto c = fixed(created(o, 2), "019a0000-0000-7000-8000-0000000000c1", o, 0);
  p.apply("orders", -1, -1, c, /*notify=*/false);
  p.apply("payment", 2, 7,
          fixed(ec::PaymentCompleted{o, "pay_1", es::money{6148}, "USD", at(20)},
                "019a0000-0000-7000-8000-0000000000c3", o, 20));
  p.apply("inventory", 1, 5,
          fixed(ec::InventoryConfirmed{o, {{"product-1", 2}, {"product-2", 1}}, "r-1"},
                "019a0000-0000-7000-8000-0000000000c2", o, 10));
  p.apply("shipping", 0, 3,
          fixed(ec::Shipped{o, "TRK0A1B2C3D", "UPS", 4, at(40)},
                "019a0000-0000-7000-8000-0000000000c5", o, 40));
  p.apply("notification", 4, 11,
          fixed(ec::NotificationSent{o, "order_confirmed", "email",
                                     "Your order is confirmed: \"$61.48\"\n", at(30)},
                "019a0000-0000-7000-8000-0000000000c4", o, 30));
  p.apply("notification", 4, 12,
          fixed(ec::NotificationSent{o, "order_shipped", "email", "shipped", at(50)},
                "019a0000-0000-7000-8000-0000000000c6", o, 50));
  p.set_position(o, c.id, 6, 42);
  return both(*p.get(o));
}

// Cancelled after its charge: refunded, stock released; ids of 1 and 70 characters, a topic
// outside the catalog, two events at the same time (kept in arrival order).
std::string cancelled_order() {
  const std::string o = "o-2";
  order_projection p;
  auto c = fixed(created(o, 1), "e", o, 0);
  c.extensions["idempotencykey"] = "key-1";
  p.apply("orders", 0, 1, c);
  p.apply("inventory", 0, 2,
          fixed(ec::InventoryConfirmed{o, {{"product-1", 1}}, "r-2"}, std::string(70, 'x'), o, 5));
  p.apply("payment", 1, 3,
          fixed(ec::PaymentCompleted{o, "pay_2", es::money{3149}, "USD", at(9)}, "p2", o, 9));
  p.apply("orders-archive", 3, 4,
          fixed(ec::OrderCancellationRequested{o, "changed my mind"}, "cr", o, 12));
  p.apply("orders", 0, 5, fixed(ec::OrderCancelled{o, "changed my mind"}, "cc", o, 15));
  p.apply("payment", 1, 6,
          fixed(ec::PaymentRefunded{o, "pay_2", es::money{3149}, "order cancelled"}, "pr", o, 15));
  p.apply("inventory", 0, 7,
          fixed(ec::InventoryReleased{o, {{"product-1", 1}}, "order cancelled"}, "ir", o, 16));
  return both(*p.get(o)) + "\n" + both(*p.find_by_idempotency_key("key-1"));
}

std::string rejected_order() {
  const std::string o = "o-3";
  order_projection p;
  p.apply("orders", 0, 0, fixed(created(o, 9), "r1", o, 0));
  p.apply("inventory", 0, 1,
          fixed(ec::InventoryRejected{o, "product-1", 9, 3, "Insufficient stock"}, "r2", o, 3));
  p.apply("notification", 0, 2,
          fixed(ec::NotificationSent{o, "order_failed", "email", "sorry", at(4)}, "r3", o, 4));
  return both(*p.get(o));
}

// Seen through a later event only: not known yet.
std::string unknown_order() {
  const std::string o = "o-4";
  order_projection p;
  p.apply("payment", 0, 0,
          fixed(ec::PaymentFailed{o, es::money{500000}, "amount exceeds limit"}, "u1", o, 1));
  return both(*p.get(o));
}

}  // namespace

TEST(OrderJson, ASuccessfulSagaAppliedOutOfOrder) {
  EXPECT_EQ(
      shipped_order(),
      R"json({"order_id":"019a0000-0000-7000-8000-000000000001","product_id":"product-1","quantity":2,"status":"shipped","events":[{"event_type":"OrderCreated","data":"{\"order_id\":\"019a0000-0000-7000-8000-000000000001\",\"customer_id\":\"customer \\\"7\\\"\",\"items\":[{\"product_id\":\"product-1\",\"quantity\":2,\"unit_price\":29.99},{\"product_id\":\"product-2\",\"quantity\":1,\"unit_price\":1.50}],\"total\":61.48,\"currency\":\"USD\",\"product_id\":\"product-1\",\"quantity\":2}","timestamp":"2026-01-02T03:04:05.678Z"},{"event_type":"InventoryConfirmed","data":"{\"order_id\":\"019a0000-0000-7000-8000-000000000001\",\"items\":[{\"product_id\":\"product-1\",\"quantity\":2},{\"product_id\":\"product-2\",\"quantity\":1}],\"reservation_id\":\"r-1\"}","timestamp":"2026-01-02T03:04:05.688Z"},{"event_type":"PaymentCompleted","data":"{\"order_id\":\"019a0000-0000-7000-8000-000000000001\",\"payment_id\":\"pay_1\",\"amount\":61.48,\"currency\":\"USD\",\"processed_at\":\"2026-01-02T03:04:05.698Z\"}","timestamp":"2026-01-02T03:04:05.698Z"},{"event_type":"NotificationSent","data":"{\"order_id\":\"019a0000-0000-7000-8000-000000000001\",\"kind\":\"order_confirmed\",\"channel\":\"email\",\"message\":\"Your order is confirmed: \\\"$61.48\\\"\\n\",\"sent_at\":\"2026-01-02T03:04:05.708Z\"}","timestamp":"2026-01-02T03:04:05.708Z"},{"event_type":"Shipped","data":"{\"order_id\":\"019a0000-0000-7000-8000-000000000001\",\"tracking_number\":\"TRK0A1B2C3D\",\"carrier\":\"UPS\",\"estimated_delivery_days\":4,\"shipped_at\":\"2026-01-02T03:04:05.718Z\"}","timestamp":"2026-01-02T03:04:05.718Z"},{"event_type":"NotificationSent","data":"{\"order_id\":\"019a0000-0000-7000-8000-000000000001\",\"kind\":\"order_shipped\",\"channel\":\"email\",\"message\":\"shipped\",\"sent_at\":\"2026-01-02T03:04:05.728Z\"}","timestamp":"2026-01-02T03:04:05.728Z"}],"last_updated":"2026-01-02T03:04:05.728Z","tracking_number":"TRK0A1B2C3D","payment_amount":61.48}
{"order_id":"019a0000-0000-7000-8000-000000000001","customer_id":"customer \"7\"","product_id":"product-1","quantity":2,"status":"shipped","items":[{"product_id":"product-1","quantity":2,"unit_price":29.99},{"product_id":"product-2","quantity":1,"unit_price":1.50}],"total":61.48,"currency":"USD","tracking_number":"TRK0A1B2C3D","carrier":"UPS","estimated_delivery_days":4,"payment_amount":61.48,"refunded":false,"stock_released":false,"created_at":"2026-01-02T03:04:05.678Z","last_updated":"2026-01-02T03:04:05.728Z","completed_at":"2026-01-02T03:04:05.718Z","cancellable":false,"events":[{"id":"019a0000-0000-7000-8000-0000000000c1","event_type":"OrderCreated","topic":"orders","partition":6,"offset":42,"data":"{\"order_id\":\"019a0000-0000-7000-8000-000000000001\",\"customer_id\":\"customer \\\"7\\\"\",\"items\":[{\"product_id\":\"product-1\",\"quantity\":2,\"unit_price\":29.99},{\"product_id\":\"product-2\",\"quantity\":1,\"unit_price\":1.50}],\"total\":61.48,\"currency\":\"USD\",\"product_id\":\"product-1\",\"quantity\":2}","timestamp":"2026-01-02T03:04:05.678Z"},{"id":"019a0000-0000-7000-8000-0000000000c2","event_type":"InventoryConfirmed","topic":"inventory","partition":1,"offset":5,"data":"{\"order_id\":\"019a0000-0000-7000-8000-000000000001\",\"items\":[{\"product_id\":\"product-1\",\"quantity\":2},{\"product_id\":\"product-2\",\"quantity\":1}],\"reservation_id\":\"r-1\"}","timestamp":"2026-01-02T03:04:05.688Z"},{"id":"019a0000-0000-7000-8000-0000000000c3","event_type":"PaymentCompleted","topic":"payment","partition":2,"offset":7,"data":"{\"order_id\":\"019a0000-0000-7000-8000-000000000001\",\"payment_id\":\"pay_1\",\"amount\":61.48,\"currency\":\"USD\",\"processed_at\":\"2026-01-02T03:04:05.698Z\"}","timestamp":"2026-01-02T03:04:05.698Z"},{"id":"019a0000-0000-7000-8000-0000000000c4","event_type":"NotificationSent","topic":"notification","partition":4,"offset":11,"data":"{\"order_id\":\"019a0000-0000-7000-8000-000000000001\",\"kind\":\"order_confirmed\",\"channel\":\"email\",\"message\":\"Your order is confirmed: \\\"$61.48\\\"\\n\",\"sent_at\":\"2026-01-02T03:04:05.708Z\"}","timestamp":"2026-01-02T03:04:05.708Z"},{"id":"019a0000-0000-7000-8000-0000000000c5","event_type":"Shipped","topic":"shipping","partition":0,"offset":3,"data":"{\"order_id\":\"019a0000-0000-7000-8000-000000000001\",\"tracking_number\":\"TRK0A1B2C3D\",\"carrier\":\"UPS\",\"estimated_delivery_days\":4,\"shipped_at\":\"2026-01-02T03:04:05.718Z\"}","timestamp":"2026-01-02T03:04:05.718Z"},{"id":"019a0000-0000-7000-8000-0000000000c6","event_type":"NotificationSent","topic":"notification","partition":4,"offset":12,"data":"{\"order_id\":\"019a0000-0000-7000-8000-000000000001\",\"kind\":\"order_shipped\",\"channel\":\"email\",\"message\":\"shipped\",\"sent_at\":\"2026-01-02T03:04:05.728Z\"}","timestamp":"2026-01-02T03:04:05.728Z"}]})json");
}

TEST(OrderJson, ACancelledAndRefundedOrderWithUnusualIdsAndTopic) {
  EXPECT_EQ(
      cancelled_order(),
      R"json({"order_id":"o-2","product_id":"product-1","quantity":1,"status":"cancelled","events":[{"event_type":"OrderCreated","data":"{\"order_id\":\"o-2\",\"customer_id\":\"customer \\\"7\\\"\",\"items\":[{\"product_id\":\"product-1\",\"quantity\":1,\"unit_price\":29.99},{\"product_id\":\"product-2\",\"quantity\":1,\"unit_price\":1.50}],\"total\":31.49,\"currency\":\"USD\",\"product_id\":\"product-1\",\"quantity\":1}","timestamp":"2026-01-02T03:04:05.678Z"},{"event_type":"InventoryConfirmed","data":"{\"order_id\":\"o-2\",\"items\":[{\"product_id\":\"product-1\",\"quantity\":1}],\"reservation_id\":\"r-2\"}","timestamp":"2026-01-02T03:04:05.683Z"},{"event_type":"PaymentCompleted","data":"{\"order_id\":\"o-2\",\"payment_id\":\"pay_2\",\"amount\":31.49,\"currency\":\"USD\",\"processed_at\":\"2026-01-02T03:04:05.687Z\"}","timestamp":"2026-01-02T03:04:05.687Z"},{"event_type":"OrderCancellationRequested","data":"{\"order_id\":\"o-2\",\"reason\":\"changed my mind\"}","timestamp":"2026-01-02T03:04:05.690Z"},{"event_type":"OrderCancelled","data":"{\"order_id\":\"o-2\",\"reason\":\"changed my mind\"}","timestamp":"2026-01-02T03:04:05.693Z"},{"event_type":"PaymentRefunded","data":"{\"order_id\":\"o-2\",\"payment_id\":\"pay_2\",\"amount\":31.49,\"reason\":\"order cancelled\"}","timestamp":"2026-01-02T03:04:05.693Z"},{"event_type":"InventoryReleased","data":"{\"order_id\":\"o-2\",\"items\":[{\"product_id\":\"product-1\",\"quantity\":1}],\"reason\":\"order cancelled\"}","timestamp":"2026-01-02T03:04:05.694Z"}],"last_updated":"2026-01-02T03:04:05.694Z","payment_amount":31.49}
{"order_id":"o-2","customer_id":"customer \"7\"","product_id":"product-1","quantity":1,"status":"cancelled","items":[{"product_id":"product-1","quantity":1,"unit_price":29.99},{"product_id":"product-2","quantity":1,"unit_price":1.50}],"total":31.49,"currency":"USD","tracking_number":null,"carrier":null,"payment_amount":31.49,"refunded":true,"stock_released":true,"failure_reason":"changed my mind","created_at":"2026-01-02T03:04:05.678Z","last_updated":"2026-01-02T03:04:05.694Z","completed_at":"2026-01-02T03:04:05.693Z","cancellable":false,"events":[{"id":"e","event_type":"OrderCreated","topic":"orders","partition":0,"offset":1,"data":"{\"order_id\":\"o-2\",\"customer_id\":\"customer \\\"7\\\"\",\"items\":[{\"product_id\":\"product-1\",\"quantity\":1,\"unit_price\":29.99},{\"product_id\":\"product-2\",\"quantity\":1,\"unit_price\":1.50}],\"total\":31.49,\"currency\":\"USD\",\"product_id\":\"product-1\",\"quantity\":1}","timestamp":"2026-01-02T03:04:05.678Z"},{"id":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx","event_type":"InventoryConfirmed","topic":"inventory","partition":0,"offset":2,"data":"{\"order_id\":\"o-2\",\"items\":[{\"product_id\":\"product-1\",\"quantity\":1}],\"reservation_id\":\"r-2\"}","timestamp":"2026-01-02T03:04:05.683Z"},{"id":"p2","event_type":"PaymentCompleted","topic":"payment","partition":1,"offset":3,"data":"{\"order_id\":\"o-2\",\"payment_id\":\"pay_2\",\"amount\":31.49,\"currency\":\"USD\",\"processed_at\":\"2026-01-02T03:04:05.687Z\"}","timestamp":"2026-01-02T03:04:05.687Z"},{"id":"cr","event_type":"OrderCancellationRequested","topic":"orders-archive","partition":3,"offset":4,"data":"{\"order_id\":\"o-2\",\"reason\":\"changed my mind\"}","timestamp":"2026-01-02T03:04:05.690Z"},{"id":"cc","event_type":"OrderCancelled","topic":"orders","partition":0,"offset":5,"data":"{\"order_id\":\"o-2\",\"reason\":\"changed my mind\"}","timestamp":"2026-01-02T03:04:05.693Z"},{"id":"pr","event_type":"PaymentRefunded","topic":"payment","partition":1,"offset":6,"data":"{\"order_id\":\"o-2\",\"payment_id\":\"pay_2\",\"amount\":31.49,\"reason\":\"order cancelled\"}","timestamp":"2026-01-02T03:04:05.693Z"},{"id":"ir","event_type":"InventoryReleased","topic":"inventory","partition":0,"offset":7,"data":"{\"order_id\":\"o-2\",\"items\":[{\"product_id\":\"product-1\",\"quantity\":1}],\"reason\":\"order cancelled\"}","timestamp":"2026-01-02T03:04:05.694Z"}]}
{"order_id":"o-2","product_id":"product-1","quantity":1,"status":"cancelled","events":[{"event_type":"OrderCreated","data":"{\"order_id\":\"o-2\",\"customer_id\":\"customer \\\"7\\\"\",\"items\":[{\"product_id\":\"product-1\",\"quantity\":1,\"unit_price\":29.99},{\"product_id\":\"product-2\",\"quantity\":1,\"unit_price\":1.50}],\"total\":31.49,\"currency\":\"USD\",\"product_id\":\"product-1\",\"quantity\":1}","timestamp":"2026-01-02T03:04:05.678Z"},{"event_type":"InventoryConfirmed","data":"{\"order_id\":\"o-2\",\"items\":[{\"product_id\":\"product-1\",\"quantity\":1}],\"reservation_id\":\"r-2\"}","timestamp":"2026-01-02T03:04:05.683Z"},{"event_type":"PaymentCompleted","data":"{\"order_id\":\"o-2\",\"payment_id\":\"pay_2\",\"amount\":31.49,\"currency\":\"USD\",\"processed_at\":\"2026-01-02T03:04:05.687Z\"}","timestamp":"2026-01-02T03:04:05.687Z"},{"event_type":"OrderCancellationRequested","data":"{\"order_id\":\"o-2\",\"reason\":\"changed my mind\"}","timestamp":"2026-01-02T03:04:05.690Z"},{"event_type":"OrderCancelled","data":"{\"order_id\":\"o-2\",\"reason\":\"changed my mind\"}","timestamp":"2026-01-02T03:04:05.693Z"},{"event_type":"PaymentRefunded","data":"{\"order_id\":\"o-2\",\"payment_id\":\"pay_2\",\"amount\":31.49,\"reason\":\"order cancelled\"}","timestamp":"2026-01-02T03:04:05.693Z"},{"event_type":"InventoryReleased","data":"{\"order_id\":\"o-2\",\"items\":[{\"product_id\":\"product-1\",\"quantity\":1}],\"reason\":\"order cancelled\"}","timestamp":"2026-01-02T03:04:05.694Z"}],"last_updated":"2026-01-02T03:04:05.694Z","payment_amount":31.49}
{"order_id":"o-2","customer_id":"customer \"7\"","product_id":"product-1","quantity":1,"status":"cancelled","items":[{"product_id":"product-1","quantity":1,"unit_price":29.99},{"product_id":"product-2","quantity":1,"unit_price":1.50}],"total":31.49,"currency":"USD","tracking_number":null,"carrier":null,"payment_amount":31.49,"refunded":true,"stock_released":true,"failure_reason":"changed my mind","created_at":"2026-01-02T03:04:05.678Z","last_updated":"2026-01-02T03:04:05.694Z","completed_at":"2026-01-02T03:04:05.693Z","cancellable":false,"events":[{"id":"e","event_type":"OrderCreated","topic":"orders","partition":0,"offset":1,"data":"{\"order_id\":\"o-2\",\"customer_id\":\"customer \\\"7\\\"\",\"items\":[{\"product_id\":\"product-1\",\"quantity\":1,\"unit_price\":29.99},{\"product_id\":\"product-2\",\"quantity\":1,\"unit_price\":1.50}],\"total\":31.49,\"currency\":\"USD\",\"product_id\":\"product-1\",\"quantity\":1}","timestamp":"2026-01-02T03:04:05.678Z"},{"id":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx","event_type":"InventoryConfirmed","topic":"inventory","partition":0,"offset":2,"data":"{\"order_id\":\"o-2\",\"items\":[{\"product_id\":\"product-1\",\"quantity\":1}],\"reservation_id\":\"r-2\"}","timestamp":"2026-01-02T03:04:05.683Z"},{"id":"p2","event_type":"PaymentCompleted","topic":"payment","partition":1,"offset":3,"data":"{\"order_id\":\"o-2\",\"payment_id\":\"pay_2\",\"amount\":31.49,\"currency\":\"USD\",\"processed_at\":\"2026-01-02T03:04:05.687Z\"}","timestamp":"2026-01-02T03:04:05.687Z"},{"id":"cr","event_type":"OrderCancellationRequested","topic":"orders-archive","partition":3,"offset":4,"data":"{\"order_id\":\"o-2\",\"reason\":\"changed my mind\"}","timestamp":"2026-01-02T03:04:05.690Z"},{"id":"cc","event_type":"OrderCancelled","topic":"orders","partition":0,"offset":5,"data":"{\"order_id\":\"o-2\",\"reason\":\"changed my mind\"}","timestamp":"2026-01-02T03:04:05.693Z"},{"id":"pr","event_type":"PaymentRefunded","topic":"payment","partition":1,"offset":6,"data":"{\"order_id\":\"o-2\",\"payment_id\":\"pay_2\",\"amount\":31.49,\"reason\":\"order cancelled\"}","timestamp":"2026-01-02T03:04:05.693Z"},{"id":"ir","event_type":"InventoryReleased","topic":"inventory","partition":0,"offset":7,"data":"{\"order_id\":\"o-2\",\"items\":[{\"product_id\":\"product-1\",\"quantity\":1}],\"reason\":\"order cancelled\"}","timestamp":"2026-01-02T03:04:05.694Z"}]})json");
}

TEST(OrderJson, ARejectedOrder) {
  EXPECT_EQ(
      rejected_order(),
      R"json({"order_id":"o-3","product_id":"product-1","quantity":9,"status":"inventory_rejected","events":[{"event_type":"OrderCreated","data":"{\"order_id\":\"o-3\",\"customer_id\":\"customer \\\"7\\\"\",\"items\":[{\"product_id\":\"product-1\",\"quantity\":9,\"unit_price\":29.99},{\"product_id\":\"product-2\",\"quantity\":1,\"unit_price\":1.50}],\"total\":271.41,\"currency\":\"USD\",\"product_id\":\"product-1\",\"quantity\":9}","timestamp":"2026-01-02T03:04:05.678Z"},{"event_type":"InventoryRejected","data":"{\"order_id\":\"o-3\",\"product_id\":\"product-1\",\"requested\":9,\"available\":3,\"reason\":\"Insufficient stock\"}","timestamp":"2026-01-02T03:04:05.681Z"},{"event_type":"NotificationSent","data":"{\"order_id\":\"o-3\",\"kind\":\"order_failed\",\"channel\":\"email\",\"message\":\"sorry\",\"sent_at\":\"2026-01-02T03:04:05.682Z\"}","timestamp":"2026-01-02T03:04:05.682Z"}],"last_updated":"2026-01-02T03:04:05.682Z"}
{"order_id":"o-3","customer_id":"customer \"7\"","product_id":"product-1","quantity":9,"status":"inventory_rejected","items":[{"product_id":"product-1","quantity":9,"unit_price":29.99},{"product_id":"product-2","quantity":1,"unit_price":1.50}],"total":271.41,"currency":"USD","tracking_number":null,"carrier":null,"payment_amount":null,"refunded":false,"stock_released":false,"failure_reason":"Insufficient stock (product-1: requested 9, available 3)","created_at":"2026-01-02T03:04:05.678Z","last_updated":"2026-01-02T03:04:05.682Z","completed_at":"2026-01-02T03:04:05.681Z","cancellable":false,"events":[{"id":"r1","event_type":"OrderCreated","topic":"orders","partition":0,"offset":0,"data":"{\"order_id\":\"o-3\",\"customer_id\":\"customer \\\"7\\\"\",\"items\":[{\"product_id\":\"product-1\",\"quantity\":9,\"unit_price\":29.99},{\"product_id\":\"product-2\",\"quantity\":1,\"unit_price\":1.50}],\"total\":271.41,\"currency\":\"USD\",\"product_id\":\"product-1\",\"quantity\":9}","timestamp":"2026-01-02T03:04:05.678Z"},{"id":"r2","event_type":"InventoryRejected","topic":"inventory","partition":0,"offset":1,"data":"{\"order_id\":\"o-3\",\"product_id\":\"product-1\",\"requested\":9,\"available\":3,\"reason\":\"Insufficient stock\"}","timestamp":"2026-01-02T03:04:05.681Z"},{"id":"r3","event_type":"NotificationSent","topic":"notification","partition":0,"offset":2,"data":"{\"order_id\":\"o-3\",\"kind\":\"order_failed\",\"channel\":\"email\",\"message\":\"sorry\",\"sent_at\":\"2026-01-02T03:04:05.682Z\"}","timestamp":"2026-01-02T03:04:05.682Z"}]})json");
}

TEST(OrderJson, AnOrderSeenOnlyThroughALaterEvent) {
  EXPECT_EQ(
      unknown_order(),
      R"json({"order_id":"o-4","product_id":"","quantity":0,"status":"payment_failed","events":[{"event_type":"PaymentFailed","data":"{\"order_id\":\"o-4\",\"amount\":5000.00,\"reason\":\"amount exceeds limit\"}","timestamp":"2026-01-02T03:04:05.679Z"}],"last_updated":"2026-01-02T03:04:05.679Z"}
{"order_id":"o-4","customer_id":"","product_id":"","quantity":0,"status":"payment_failed","items":[],"total":0.00,"currency":"USD","tracking_number":null,"carrier":null,"payment_amount":null,"refunded":false,"stock_released":false,"failure_reason":"amount exceeds limit","created_at":"1970-01-01T00:00:00.000Z","last_updated":"2026-01-02T03:04:05.679Z","completed_at":"2026-01-02T03:04:05.679Z","cancellable":false,"events":[{"id":"u1","event_type":"PaymentFailed","topic":"payment","partition":0,"offset":0,"data":"{\"order_id\":\"o-4\",\"amount\":5000.00,\"reason\":\"amount exceeds limit\"}","timestamp":"2026-01-02T03:04:05.679Z"}]})json");
}
