// The order read model: out-of-order events, duplicates, JSON shapes, statistics.
#include <gtest/gtest.h>

#include "common/order_projection.hpp"
#include "eventshop/core/json.hpp"
#include "eventshop/core/registry.hpp"

namespace es = eventshop;
namespace ec = eventshop::ecommerce;
using namespace eventshop::services;

namespace {
es::manual_clock clk;

template <class T>
es::envelope ev(const T& data, const std::string& subject) {
  clk.advance(std::chrono::milliseconds(5));
  return es::make_event(data, {.source = "/eventshop/test", .subject = subject, .clk = &clk});
}

ec::OrderCreated created(const std::string& id) {
  return {id, "c1", {{"product-1", 2, es::money{2999}}}, es::money{5998}, "USD", "product-1", 2};
}
}  // namespace

TEST(Projection, FollowsTheHappyPathAndBuildsSeedJson) {
  order_projection p;
  const auto c = ev(created("o1"), "o1");
  const auto inv = ev(ec::InventoryConfirmed{"o1", {{"product-1", 2}}, "r"}, "o1");
  const auto pay = ev(ec::PaymentCompleted{"o1", "pay", es::money{5998}, "USD", clk.now()}, "o1");
  const auto ship = ev(ec::Shipped{"o1", "TRK0A1B2C3D", "UPS", 3, clk.now()}, "o1");
  const auto note =
      ev(ec::NotificationSent{"o1", "order_confirmed", "email", "hi", clk.now()}, "o1");
  EXPECT_TRUE(p.apply("orders", 0, 0, c));
  EXPECT_TRUE(p.apply("payment", 0, 0, pay));    // before inventory: still moves forward
  EXPECT_TRUE(p.apply("inventory", 0, 0, inv));  // does not move it back
  EXPECT_EQ(p.get("o1")->status, order_status::payment_completed);
  EXPECT_TRUE(p.apply("shipping", 0, 0, ship));
  EXPECT_TRUE(p.apply("notification", 0, 0, note));  // shipped overtook the notification
  EXPECT_FALSE(p.apply("shipping", 0, 0, ship));     // duplicate
  const auto v = *p.get("o1");
  EXPECT_EQ(v.status, order_status::shipped);
  EXPECT_EQ(v.events.size(), 5u);
  EXPECT_EQ(v.events.front().type, "OrderCreated");
  EXPECT_EQ(v.events[1].type, "InventoryConfirmed");  // sorted by event time
  const es::json_document doc(seed_order_json(v));
  const auto root = doc.root();
  EXPECT_EQ(root["order_id"].as_string(), "o1");
  EXPECT_EQ(root["product_id"].as_string(), "product-1");
  EXPECT_EQ(root["quantity"].as_int64(), 2);
  EXPECT_EQ(root["status"].as_string(), "shipped");
  EXPECT_EQ(root["tracking_number"].as_string(), "TRK0A1B2C3D");
  EXPECT_DOUBLE_EQ(root["payment_amount"].as_double(), 59.98);
  ASSERT_EQ(root["events"].size(), 5u);
  EXPECT_EQ(root["events"].at(0)["event_type"].as_string(), "OrderCreated");
  EXPECT_TRUE(root["events"].at(0)["data"].is_string());
  EXPECT_TRUE(es::parse_rfc3339(root["events"].at(0)["timestamp"].as_string()));
  EXPECT_TRUE(es::parse_rfc3339(root["last_updated"].as_string()));

  const es::json_document v1(v1_order_json(v));
  EXPECT_EQ(v1.root()["carrier"].as_string(), "UPS");
  EXPECT_DOUBLE_EQ(v1.root()["total"].as_double(), 59.98);
  EXPECT_EQ(v1.root()["currency"].as_string(), "USD");
  EXPECT_FALSE(v1.root()["cancellable"].as_bool());
  EXPECT_TRUE(v1.root()["completed_at"].is_string());
  EXPECT_EQ(v1.root()["events"].at(0)["topic"].as_string(), "orders");
  EXPECT_TRUE(v1.root()["events"].at(0)["offset"].is_integer());
  EXPECT_TRUE(v1.root()["events"].at(0)["id"].is_string());
}

TEST(Projection, FailuresAreTerminalAndCounted) {
  order_projection p;
  p.apply("orders", 0, 0, ev(created("a"), "a"));
  p.apply("orders", 0, 1, ev(created("b"), "b"));
  p.apply("orders", 0, 2, ev(created("c"), "c"));
  p.apply("inventory", 0, 0,
          ev(ec::InventoryRejected{"a", "product-1", 2, 1, "Insufficient stock"}, "a"));
  p.apply("inventory", 0, 1, ev(ec::InventoryConfirmed{"b", {{"product-1", 2}}, "r"}, "b"));
  p.apply("payment", 0, 0,
          ev(ec::PaymentFailed{"b", es::money{5998}, "amount exceeds limit"}, "b"));
  p.apply("payment", 0, 1,
          ev(ec::PaymentCompleted{"b", "x", es::money{5998}, "USD", clk.now()}, "b"));
  p.apply("orders", 0, 3, ev(ec::OrderCancelled{"c", "customer"}, "c"));
  EXPECT_EQ(p.get("a")->status, order_status::inventory_rejected);
  EXPECT_EQ(p.get("b")->status, order_status::payment_failed);
  EXPECT_EQ(p.get("c")->status, order_status::cancelled);
  const auto s = p.stats(clk.now());
  EXPECT_EQ(s.total_orders, 3);
  EXPECT_EQ(s.failed, 2);
  EXPECT_EQ(s.cancelled, 1);
  EXPECT_EQ(s.in_progress, 0);
  std::size_t total = 0;
  EXPECT_EQ(p.list(order_status::cancelled, 10, 0, &total).size(), 1u);
  EXPECT_EQ(total, 1u);
  EXPECT_EQ(p.list(std::nullopt, 2, 0, &total).size(), 2u);
  EXPECT_EQ(total, 3u);
  EXPECT_EQ(p.list(std::nullopt, 2, 2, &total).size(), 1u);
}

TEST(Projection, AnOrderSeenFirstThroughALaterEventIsFilledIn) {
  order_projection p;
  const auto c = ev(created("late"), "late");
  p.apply("inventory", 0, 0, ev(ec::InventoryConfirmed{"late", {{"product-1", 2}}, "r"}, "late"));
  EXPECT_FALSE(p.get("late")->known);
  EXPECT_EQ(p.stats(clk.now()).total_orders, 0);
  p.apply("orders", 0, 0, c);
  EXPECT_TRUE(p.get("late")->known);
  EXPECT_EQ(p.get("late")->status, order_status::inventory_confirmed);
  EXPECT_EQ(p.get("late")->events.front().type, "OrderCreated");
  EXPECT_EQ(p.stats(clk.now()).in_progress, 1);
}

// The order service adds an order it creates before publishing it (notify=false, position -1);
// the listener hears of the order exactly once, with its bus position, whichever comes first:
// the bus delivering the event again, or the creator filling in the receipt.
TEST(Projection, AnOrderAddedBeforeItsPublishIsAnnouncedOnceWithItsPosition) {
  for (const bool bus_first : {true, false}) {
    order_projection p;
    std::vector<order_view> heard;
    p.set_listener([&](const order_view& v) { heard.push_back(v); });
    const auto c = ev(created("o1"), "o1");
    EXPECT_TRUE(p.apply("orders", -1, -1, c, /*notify=*/false));
    EXPECT_TRUE(heard.empty());
    ASSERT_TRUE(p.get("o1"));
    EXPECT_TRUE(p.get("o1")->known);
    if (bus_first) {
      EXPECT_TRUE(p.apply("orders", 3, 41, c));  // the position is new, nothing else
      p.set_position("o1", c.id, 3, 41);         // the receipt, afterwards: nothing to do
    } else {
      p.set_position("o1", c.id, 3, 41);
      EXPECT_FALSE(p.apply("orders", 3, 41, c));  // a plain duplicate now
    }
    ASSERT_EQ(heard.size(), 1u) << "bus first: " << bus_first;
    ASSERT_EQ(heard[0].events.size(), 1u);
    EXPECT_EQ(heard[0].events[0].partition, 3);
    EXPECT_EQ(heard[0].events[0].offset, 41);
    const auto v = *p.get("o1");
    EXPECT_EQ(v.events.size(), 1u);
    EXPECT_EQ(v.version, 1u);
    EXPECT_EQ(p.stats(clk.now()).total_orders, 1);  // counted once
  }
}

// orders_per_minute counts orders by their creation time: those of the last minute, not older
// ones (a replay of old orders adds none), and a forgotten order no more.
TEST(Projection, OrdersPerMinuteCountsTheLastMinutesCreations) {
  order_projection p;
  es::manual_clock at;
  const auto create = [&](const std::string& id) {
    p.apply("orders", 0, 0,
            es::make_event(created(id), {.source = "/eventshop/test", .subject = id, .clk = &at}));
  };
  create("old-1");  // two minutes before the rest
  create("old-2");
  at.advance(std::chrono::seconds(120));
  create("a");
  at.advance(std::chrono::seconds(30));
  create("b");
  create("c");
  EXPECT_EQ(p.stats(at.now()).orders_per_minute, 3.0);
  EXPECT_EQ(p.stats(at.now()).total_orders, 5);
  p.forget("c");
  EXPECT_EQ(p.stats(at.now()).orders_per_minute, 2.0);
  at.advance(std::chrono::seconds(45));  // "a" is now 75 s old
  EXPECT_EQ(p.stats(at.now()).orders_per_minute, 1.0);
  // An order created long ago, applied now (a replay), is not recent.
  es::manual_clock long_ago;
  p.apply("orders", 0, 1,
          es::make_event(created("replayed"),
                         {.source = "/eventshop/test", .subject = "replayed", .clk = &long_ago}));
  EXPECT_EQ(p.stats(at.now()).orders_per_minute, 1.0);
  at.advance(std::chrono::seconds(3600));
  EXPECT_EQ(p.stats(at.now()).orders_per_minute, 0.0);
}

// The read model takes only the fields it needs from PaymentCompleted, NotificationSent and
// Shipped; the schema version is still checked (a newer one is refused, nothing changes).
TEST(Projection, ReadsTheFieldsItNeedsAndChecksTheSchemaVersion) {
  order_projection p;
  p.apply("orders", 0, 0, ev(created("o1"), "o1"));
  p.apply("payment", 0, 0,
          ev(ec::PaymentCompleted{"o1", "pay", es::money{5998}, "USD", clk.now()}, "o1"));
  EXPECT_EQ(p.get("o1")->payment_amount->cents, 5998);
  EXPECT_EQ(p.stats(clk.now()).revenue.cents, 5998);
  auto newer = ev(ec::NotificationSent{"o1", "order_confirmed", "email", "hi", clk.now()}, "o1");
  newer.dataschemaversion = 2;
  EXPECT_THROW(p.apply("notification", 0, 0, newer), es::error);
  EXPECT_EQ(p.get("o1")->status, order_status::payment_completed);
  EXPECT_EQ(p.get("o1")->events.size(), 2u);
  p.apply("notification", 0, 1,
          ev(ec::NotificationSent{"o1", "order_confirmed", "email", "hi", clk.now()}, "o1"));
  EXPECT_EQ(p.get("o1")->status, order_status::notification_sent);
  p.apply("shipping", 0, 0, ev(ec::Shipped{"o1", "TRK0A1B2C3D", "DHL", 5, clk.now()}, "o1"));
  const auto v = *p.get("o1");
  EXPECT_EQ(v.status, order_status::shipped);
  EXPECT_EQ(v.tracking_number, "TRK0A1B2C3D");
  EXPECT_EQ(v.carrier, "DHL");
  EXPECT_EQ(v.estimated_delivery_days, 5);
  EXPECT_EQ(v.events.size(), 4u);
}
