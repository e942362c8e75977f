// Domain logic of the services, without any bus or socket.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <regex>
#include <set>
#include <thread>

#include "common/compact_text.hpp"
#include "common/order_status.hpp"
#include "common/runtime.hpp"
#include "eventshop/core/registry.hpp"
#include "inventory/inventory.hpp"
#include "notification/notification.hpp"
#include "payment/payment.hpp"
#include "shipping/shipping.hpp"

namespace es = eventshop;
namespace ec = eventshop::ecommerce;
using namespace eventshop::services;

namespace {
const es::timestamp t0 = es::timestamp{std::chrono::milliseconds{1'790'000'000'000}};

template <class T>
es::envelope ev(const T& data, const std::string& subject) {
  return es::make_event(data, {.source = "/eventshop/test", .subject = subject});
}
}  // namespace

// ---- inventory ------------------------------------------------------------------------------

TEST(Inventory, StartsWithTheContractCatalog) {
  inventory::inventory inv{catalog{}};
  const auto s = inv.stock_levels();
  EXPECT_EQ(s.at("product-1"), 100);
  EXPECT_EQ(s.at("product-2"), 50);
  EXPECT_EQ(s.at("product-3"), 25);
}

TEST(Inventory, ReservesAllOrNothing) {
  inventory::inventory inv{catalog{}};
  auto r = inv.reserve("o1", {{"product-1", 10}, {"product-3", 26}}, "r1", t0);
  EXPECT_FALSE(r.confirmed);
  EXPECT_EQ(r.rejection.product_id, "product-3");
  EXPECT_EQ(r.rejection.requested, 26);
  EXPECT_EQ(r.rejection.available, 25);
  EXPECT_EQ(r.rejection.reason, "Insufficient stock");
  EXPECT_EQ(inv.stock_levels().at("product-1"), 100);  // nothing taken

  r = inv.reserve("o2", {{"product-1", 10}, {"product-3", 25}}, "r2", t0);
  EXPECT_TRUE(r.confirmed);
  EXPECT_EQ(inv.stock_levels().at("product-1"), 90);
  EXPECT_EQ(inv.stock_levels().at("product-3"), 0);
}

TEST(Inventory, UnknownProductIsRejectedByName) {
  inventory::inventory inv{catalog{}};
  auto r = inv.reserve("o1", {{"product-9", 1}}, "r", t0);
  EXPECT_FALSE(r.confirmed);
  EXPECT_EQ(r.rejection.reason, "Unknown product");
}

TEST(Inventory, SumsLinesOfTheSameProduct) {
  inventory::inventory inv{catalog{}};
  auto r = inv.reserve("o1", {{"product-3", 20}, {"product-3", 6}}, "r", t0);
  EXPECT_FALSE(r.confirmed);
  EXPECT_EQ(r.rejection.requested, 26);
  r = inv.reserve("o2", {{"product-3", 20}, {"product-3", 5}}, "r", t0);
  EXPECT_TRUE(r.confirmed);
  ASSERT_EQ(r.confirmation.items.size(), 1u);
  EXPECT_EQ(r.confirmation.items[0].quantity, 25);
}

TEST(Inventory, DecidesAnOrderOnce) {
  inventory::inventory inv{catalog{}};
  EXPECT_TRUE(inv.reserve("o1", {{"product-1", 5}}, "r", t0).confirmed);
  const auto again = inv.reserve("o1", {{"product-1", 5}}, "r", t0);
  EXPECT_TRUE(again.duplicate);
  EXPECT_EQ(inv.stock_levels().at("product-1"), 95);
}

TEST(Inventory, NeverOversellsUnderConcurrency) {
  inventory::inventory inv{catalog{}};
  std::atomic<int> confirmed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i)
        if (inv.reserve("o-" + std::to_string(t) + "-" + std::to_string(i), {{"product-3", 1}}, "r",
                        t0)
                .confirmed)
          ++confirmed;
    });
  for (auto& th : threads)
    th.join();
  EXPECT_EQ(confirmed.load(), 25);
  EXPECT_EQ(inv.stock_levels().at("product-3"), 0);
}

TEST(Inventory, ReleasesOnceAndOnlyWhatWasReserved) {
  inventory::inventory inv{catalog{}};
  ASSERT_TRUE(inv.reserve("o1", {{"product-2", 7}}, "r", t0).confirmed);
  EXPECT_EQ(inv.stock_levels().at("product-2"), 43);
  auto rel = inv.release("o1", "payment failed", t0);
  ASSERT_TRUE(rel);
  EXPECT_EQ(rel->items.at(0).quantity, 7);
  EXPECT_EQ(inv.stock_levels().at("product-2"), 50);
  EXPECT_FALSE(inv.release("o1", "again", t0));
  EXPECT_FALSE(inv.release("never", "x", t0));
  (void)inv.reserve("o2", {{"product-2", 51}}, "r", t0);
  EXPECT_FALSE(inv.release("o2", "rejected orders hold nothing", t0));
  EXPECT_EQ(inv.stock_levels().at("product-2"), 50);
}

TEST(Inventory, RestockValidatesAndAdds) {
  inventory::inventory inv{catalog{}};
  EXPECT_EQ(inv.restock("product-3", 5, t0).stock, 30);
  EXPECT_THROW(inv.restock("product-9", 5, t0), es::error);
  EXPECT_THROW(inv.restock("product-1", 0, t0), es::error);
  EXPECT_THROW(inv.restock("product-1", -3, t0), es::error);
  EXPECT_THROW(inv.restock("product-1", 1'000'001, t0), es::error);
  EXPECT_EQ(inv.stock_levels().at("product-1"), 100);
}

TEST(Inventory, RaisesLowStockOnceWhenCrossingTheAlertLevel) {
  inventory::inventory inv{catalog{}};
  auto r = inv.reserve("o1", {{"product-3", 19}}, "r", t0);  // 25 -> 6: above 5
  EXPECT_TRUE(r.alerts.empty());
  r = inv.reserve("o2", {{"product-3", 1}}, "r", t0);  // 6 -> 5: at the level
  ASSERT_EQ(r.alerts.size(), 1u);
  EXPECT_EQ(r.alerts[0].product_id, "product-3");
  EXPECT_EQ(r.alerts[0].stock, 5);
  EXPECT_EQ(r.alerts[0].alert_level, 5);
  r = inv.reserve("o3", {{"product-3", 1}}, "r", t0);  // still low: no new alert
  EXPECT_TRUE(r.alerts.empty());
  EXPECT_EQ(inv.low_stock().size(), 1u);
  inv.restock("product-3", 100, t0);
  EXPECT_TRUE(inv.low_stock().empty());
  EXPECT_EQ(inv.alerts().size(), 1u);
}

TEST(Inventory, ReplayOfItsEventsRebuildsTheSameState) {
  inventory::inventory live{catalog{}};
  std::vector<es::envelope> log;
  auto r1 = live.reserve("o1", {{"product-1", 3}, {"product-2", 2}}, "r1", t0);
  log.push_back(ev(r1.confirmation, "o1"));
  auto r2 = live.reserve("o2", {{"product-3", 99}}, "r2", t0);
  log.push_back(ev(r2.rejection, "o2"));
  auto r3 = live.reserve("o3", {{"product-3", 21}}, "r3", t0);
  log.push_back(ev(r3.confirmation, "o3"));
  for (auto& a : r3.alerts)
    log.push_back(ev(a, a.product_id));
  log.push_back(ev(*live.release("o1", "cancelled", t0), "o1"));
  log.push_back(ev(live.restock("product-2", 9, t0), "product-2"));

  inventory::inventory rebuilt{catalog{}};
  for (const auto& e : log)
    rebuilt.apply(e);
  EXPECT_EQ(rebuilt.stock_levels(), live.stock_levels());
  EXPECT_TRUE(rebuilt.decided("o1"));
  EXPECT_TRUE(rebuilt.decided("o2"));
  EXPECT_FALSE(rebuilt.release("o1", "again", t0));  // released before the restart
  EXPECT_TRUE(rebuilt.release("o3", "now", t0));     // still held
  EXPECT_EQ(rebuilt.alerts().size(), 1u);
}

// ---- payment --------------------------------------------------------------------------------

TEST(Payment, ChargesTheCatalogPriceInCents) {
  payment::payments p{catalog{}, {}};
  auto r = p.charge("o1", {{"product-1", 2}, {"product-3", 1}}, "pay-1", t0);
  auto* ok = std::get_if<ec::PaymentCompleted>(&r);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->amount.cents, 2 * 2999 + 9999);
  EXPECT_EQ(ok->payment_id, "pay-1");
  EXPECT_EQ(ok->currency, "USD");
}

TEST(Payment, DeclinesAboveTheLimitAndNotAtIt) {
  catalog c{{{"p", "P", es::money{100'000}, 100, 0}, {"q", "Q", es::money{1}, 100, 0}}};
  payment::payments p{c, {}};
  auto at = p.charge("o1", {{"p", 2}}, "pay", t0);  // exactly 2,000.00
  EXPECT_TRUE(std::holds_alternative<ec::PaymentCompleted>(at));
  auto over = p.charge("o2", {{"p", 2}, {"q", 1}}, "pay", t0);  // 2,000.01
  auto* f = std::get_if<ec::PaymentFailed>(&over);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->reason, "amount exceeds limit");
  EXPECT_EQ(f->amount.cents, 200'001);
}

TEST(Payment, NeverChargesTwice) {
  payment::payments p{catalog{}, {}};
  EXPECT_TRUE(
      std::holds_alternative<ec::PaymentCompleted>(p.charge("o1", {{"product-1", 1}}, "a", t0)));
  EXPECT_TRUE(std::holds_alternative<std::monostate>(p.charge("o1", {{"product-1", 1}}, "b", t0)));
  EXPECT_EQ(p.find("o1")->payment_id, "a");
}

TEST(Payment, RandomDeclinesAreSeededAndNearTheRate) {
  payment::payments a{catalog{}, {.decline_rate = 0.05, .seed = 42}};
  payment::payments b{catalog{}, {.decline_rate = 0.05, .seed = 42}};
  payment::payments c{catalog{}, {.decline_rate = 0.05, .seed = 43}};
  int declined = 0, differs = 0;
  for (int i = 0; i < 10'000; ++i) {
    const std::string id = "order-" + std::to_string(i);
    const bool da = a.random_decline(id);
    EXPECT_EQ(da, b.random_decline(id));
    declined += da;
    differs += da != c.random_decline(id);
  }
  EXPECT_GT(declined, 350);
  EXPECT_LT(declined, 650);
  EXPECT_GT(differs, 0);
  payment::payments none{catalog{}, {}};
  for (int i = 0; i < 1000; ++i)
    EXPECT_FALSE(none.random_decline("o" + std::to_string(i)));
  EXPECT_THROW((payment::payments{catalog{}, {.decline_rate = 1.5}}), es::error);
}

TEST(Payment, RefundsOnceAndOnlyWhenCharged) {
  payment::payments p{catalog{}, {}};
  (void)p.charge("o1", {{"product-1", 1}}, "pay", t0);
  auto refund = p.cancel("o1", "customer", t0);
  ASSERT_TRUE(refund);
  EXPECT_EQ(refund->amount.cents, 2999);
  EXPECT_EQ(refund->payment_id, "pay");
  EXPECT_FALSE(p.cancel("o1", "again", t0));
  // Cancelled before the charge: never charged afterwards, nothing to refund.
  EXPECT_FALSE(p.cancel("o2", "customer", t0));
  EXPECT_TRUE(std::holds_alternative<std::monostate>(p.charge("o2", {{"product-1", 1}}, "x", t0)));
  // A declined payment is not refunded.
  catalog c{{{"p", "P", es::money{300'000}, 10, 0}}};
  payment::payments q{c, {}};
  (void)q.charge("o3", {{"p", 1}}, "pay", t0);
  EXPECT_FALSE(q.cancel("o3", "customer", t0));
}

TEST(Payment, ReplayRebuildsChargesAndRefunds) {
  payment::payments live{catalog{}, {}};
  std::vector<es::envelope> log;
  auto r = live.charge("o1", {{"product-1", 1}}, "pay", t0);
  log.push_back(ev(std::get<ec::PaymentCompleted>(r), "o1"));
  log.push_back(ev(*live.cancel("o1", "c", t0), "o1"));
  log.push_back(ev(ec::OrderCancelled{"o2", "c"}, "o2"));
  payment::payments rebuilt{catalog{}, {}};
  for (const auto& e : log)
    rebuilt.apply(e);
  EXPECT_EQ(rebuilt.find("o1")->status, "refunded");
  EXPECT_FALSE(rebuilt.cancel("o1", "again", t0));
  EXPECT_TRUE(
      std::holds_alternative<std::monostate>(rebuilt.charge("o2", {{"product-1", 1}}, "x", t0)));
}

// A charge or refund whose event could not be published is undone: the record goes back to what
// it was (or away), and the next attempt decides again.
TEST(Payment, RollbackRestoresTheRecordBefore) {
  payment::payments p{catalog{}, {}};
  (void)p.charge("o1", {{"product-1", 1}}, "pay-1", t0);
  p.rollback("o1", std::nullopt);
  EXPECT_FALSE(p.find("o1"));
  ASSERT_TRUE(std::holds_alternative<ec::PaymentCompleted>(
      p.charge("o1", {{"product-1", 1}}, "pay-2", t0)));
  const auto charged = p.find("o1");
  ASSERT_TRUE(charged);
  EXPECT_EQ(charged->payment_id, "pay-2");
  ASSERT_TRUE(p.cancel("o1", "customer", t0));
  EXPECT_EQ(p.find("o1")->status, "refunded");
  p.rollback("o1", charged);
  EXPECT_EQ(p.find("o1")->status, "completed");
  EXPECT_EQ(p.find("o1")->payment_id, "pay-2");
  EXPECT_TRUE(p.cancel("o1", "customer", t0));  // refunded on the retry
  (void)p.charge("o0", {{"product-1", 1}}, "pay-0", t0);
  (void)p.charge("o2", {{"product-1", 2}}, "pay-3", t0);
  EXPECT_EQ(p.find("o0")->amount.cents, 2999);
  EXPECT_EQ(p.find("o2")->amount.cents, 5998);
  EXPECT_EQ(p.find("o1")->status, "refunded");
}

// ---- shipping -------------------------------------------------------------------------------

TEST(Shipping, TrackingNumbersCarriersAndEstimates) {
  shipping::shipping s{7};
  std::set<std::string> tracking, carriers;
  const std::regex pattern("^TRK[0-9A-F]{8}$");
  for (int i = 0; i < 2000; ++i) {
    auto shipped = s.ship("o" + std::to_string(i), t0);
    ASSERT_TRUE(shipped);
    EXPECT_TRUE(std::regex_match(shipped->tracking_number, pattern)) << shipped->tracking_number;
    EXPECT_TRUE(shipping::shipping::valid_tracking_number(shipped->tracking_number));
    EXPECT_GE(shipped->estimated_delivery_days, 2);
    EXPECT_LE(shipped->estimated_delivery_days, 7);
    tracking.insert(shipped->tracking_number);
    carriers.insert(shipped->carrier);
  }
  EXPECT_EQ(tracking.size(), 2000u);
  EXPECT_EQ(carriers, (std::set<std::string>{"DHL", "FedEx", "UPS", "USPS"}));
  EXPECT_FALSE(s.ship("o1", t0));  // once
  auto by_tn = s.find_by_tracking(s.find("o5")->tracking_number);
  ASSERT_TRUE(by_tn);
  EXPECT_EQ(by_tn->order_id, "o5");
  EXPECT_FALSE(shipping::shipping::valid_tracking_number("TRK1234567g"));
  // The first try for an order is "TRK" + the low 32 bits of mix64(seed ^ fnv1a64(id)) in hex.
  shipping::shipping fresh{7};
  char want[16];
  std::snprintf(want, sizeof want, "TRK%08X",
                static_cast<unsigned>(mix64(7 ^ fnv1a64("o5")) & 0xffffffffU));
  EXPECT_EQ(fresh.ship("o5", t0)->tracking_number, want);
}

TEST(Shipping, DecidesCancellationAgainstShipment) {
  shipping::shipping s;
  ASSERT_TRUE(s.ship("shipped", t0));
  auto no = s.request_cancel("shipped", "late");
  ASSERT_TRUE(std::holds_alternative<ec::OrderCancellationRejected>(no));
  EXPECT_EQ(std::get<ec::OrderCancellationRejected>(no).reason, "already shipped");

  auto yes = s.request_cancel("open", "changed my mind");
  ASSERT_TRUE(std::holds_alternative<ec::OrderCancelled>(yes));
  EXPECT_EQ(std::get<ec::OrderCancelled>(yes).reason, "changed my mind");
  EXPECT_TRUE(std::holds_alternative<std::monostate>(s.request_cancel("open", "again")));
  EXPECT_FALSE(s.ship("open", t0));  // a cancelled order never ships
}

// A shipment whose event could not be published is undone: gone from every lookup, its tracking
// number free again, and the order can ship again (in its new place in the shipping order).
TEST(Shipping, RollbackUndoesAShipmentEverywhere) {
  shipping::shipping s{3};
  ASSERT_TRUE(s.ship("a", t0));
  const auto b = s.ship("b", t0);
  ASSERT_TRUE(b);
  ASSERT_TRUE(s.ship("c", t0));
  s.rollback_ship("b");
  EXPECT_FALSE(s.find("b"));
  EXPECT_FALSE(s.find_by_tracking(b->tracking_number));
  ASSERT_EQ(s.list().size(), 2u);
  EXPECT_EQ(s.list()[0].order_id, "a");
  EXPECT_EQ(s.list()[1].order_id, "c");
  s.rollback_ship("b");  // nothing left to undo
  const auto again = s.ship("b", t0);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->tracking_number, b->tracking_number);  // derived from the order id and seed
  EXPECT_EQ(s.find_by_tracking(b->tracking_number)->order_id, "b");
  const auto all = s.list();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[2].order_id, "b");
  EXPECT_EQ(all[2].carrier, again->carrier);
}

TEST(Shipping, ReplayRebuildsShipmentsAndCancellations) {
  shipping::shipping s;
  s.apply(ev(ec::Shipped{"o1", "TRK0000000A", "UPS", 3, t0}, "o1"));
  s.apply(ev(ec::Shipped{"o1", "TRK0000000B", "DHL", 4, t0}, "o1"));  // a duplicate: ignored
  s.apply(ev(ec::OrderCancelled{"o2", "x"}, "o2"));
  ASSERT_TRUE(s.find("o1"));
  EXPECT_EQ(s.find("o1")->tracking_number, "TRK0000000A");
  EXPECT_EQ(s.find("o1")->estimated_delivery, t0 + std::chrono::hours(72));
  EXPECT_EQ(s.find_by_tracking("TRK0000000A")->order_id, "o1");
  EXPECT_FALSE(s.find_by_tracking("TRK0000000B"));
  EXPECT_EQ(s.list().size(), 1u);
  EXPECT_TRUE(s.cancelled("o2"));
  EXPECT_FALSE(s.ship("o2", t0));
  EXPECT_FALSE(s.ship("o1", t0));
}

// ---- notification ---------------------------------------------------------------------------

TEST(Notification, OneMessagePerOrderAndKind) {
  notification::notifications n;
  auto paid = ev(ec::PaymentCompleted{"o1", "pay", es::money{5998}, "USD", t0}, "o1");
  auto first = n.on_event(paid, t0);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->kind, "order_confirmed");
  EXPECT_EQ(first->channel, "email");
  EXPECT_NE(first->message.find("59.98"), std::string::npos);
  EXPECT_FALSE(n.on_event(paid, t0));
  EXPECT_EQ(
      n.on_event(ev(ec::PaymentFailed{"o2", es::money{1}, "amount exceeds limit"}, "o2"), t0)->kind,
      "order_failed");
  EXPECT_EQ(n.on_event(ev(ec::OrderCancelled{"o3", "x"}, "o3"), t0)->kind, "order_cancelled");
  EXPECT_EQ(n.on_event(ev(ec::Shipped{"o1", "TRK0000000A", "UPS", 3, t0}, "o1"), t0)->kind,
            "order_shipped");
  EXPECT_FALSE(n.on_event(ev(ec::InventoryConfirmed{"o1", {}, "r"}, "o1"), t0));
  EXPECT_EQ(n.list("", 100).size(), 4u);
  EXPECT_EQ(n.list("o1", 100).size(), 2u);
  EXPECT_EQ(n.list("", 1).size(), 1u);
}

// A notification that could not be published is forgotten (it is sent again on redelivery), and
// only that one; kinds outside the contract, replayed from elsewhere, are remembered too.
TEST(Notification, RollbackForgetsOnlyThatNotification) {
  notification::notifications n;
  const std::string id = "019a0000-0000-7000-8000-000000000042";
  auto paid = ev(ec::PaymentCompleted{id, "pay", es::money{100}, "USD", t0}, id);
  auto shipped = ev(ec::Shipped{id, "TRK0000000A", "UPS", 3, t0}, id);
  ASSERT_TRUE(n.on_event(paid, t0));
  ASSERT_TRUE(n.on_event(shipped, t0));
  n.rollback(id, "order_shipped");
  EXPECT_FALSE(n.on_event(paid, t0));
  EXPECT_EQ(n.list(id, 10).size(), 1u);
  ASSERT_TRUE(n.on_event(shipped, t0));
  EXPECT_FALSE(n.on_event(shipped, t0));
  n.rollback(id, "order_confirmed");
  n.rollback(id, "order_shipped");
  EXPECT_EQ(n.list(id, 10).size(), 0u);
  EXPECT_TRUE(n.on_event(paid, t0));  // both forgotten: sent again

  n.apply(ev(ec::NotificationSent{"o9", "loyalty_points", "sms", "hi", t0}, "o9"));
  n.apply(ev(ec::NotificationSent{"o9", "loyalty_points", "sms", "hi", t0}, "o9"));
  n.apply(ev(ec::NotificationSent{"o9", "order_shipped", "email", "sent", t0}, "o9"));
  EXPECT_EQ(n.list("o9", 10).size(), 2u);
  EXPECT_FALSE(n.on_event(ev(ec::Shipped{"o9", "TRK0000000B", "DHL", 2, t0}, "o9"), t0));
  n.rollback("o9", "loyalty_points");
  n.apply(ev(ec::NotificationSent{"o9", "loyalty_points", "sms", "again", t0}, "o9"));
  EXPECT_EQ(n.list("o9", 10).size(), 2u);
  EXPECT_EQ(n.list("o9", 10).front().message, "again");
}

// ---- compact text -----------------------------------------------------------------------------

// text_before orders exactly as std::string_view's operator< (bytes unsigned, then length), for
// every length around its 8-byte steps and every position of the first difference.
TEST(CompactText, TextBeforeOrdersLikeStringView) {
  const std::string base = "019a2b3c-4d5e-7f00-8123-456789abcdef0123";
  for (std::size_t n = 0; n <= base.size(); ++n) {
    const std::string a = base.substr(0, n);
    for (std::size_t m = 0; m <= base.size(); ++m) {
      const std::string b = base.substr(0, m);
      EXPECT_EQ(text_before(a, b), std::string_view(a) < std::string_view(b)) << n << " " << m;
    }
    for (std::size_t i = 0; i < n; ++i)
      for (const char c : {'\0', '0', 'f', '\x7f', '\x80', '\xff'}) {
        std::string b = a;
        b[i] = c;
        EXPECT_EQ(text_before(a, b), std::string_view(a) < std::string_view(b)) << n << " " << i;
        EXPECT_EQ(text_before(b, a), std::string_view(b) < std::string_view(a)) << n << " " << i;
      }
  }
  const inline_id long_id(std::string(70, 'z'));
  EXPECT_EQ(long_id.view(), std::string(70, 'z'));
  EXPECT_TRUE(text_less{}(inline_id("a"), long_id));
  EXPECT_EQ(inline_id(base), base);
  EXPECT_EQ(catalog_name("orders"), std::string_view("orders"));
  EXPECT_EQ(catalog_name("a-topic-of-its-own").view(), "a-topic-of-its-own");
  EXPECT_EQ(catalog_name("a-topic-of-its-own"), catalog_name("a-topic-of-its-own"));
  const shared_text t("{\"x\":1}");
  const shared_text copy = t;  // NOLINT(performance-unnecessary-copy-initialization)
  EXPECT_EQ(copy.view().data(), t.view().data());  // one block
  EXPECT_EQ(shared_text().view(), "");
}

// ---- status rules ---------------------------------------------------------------------------

TEST(OrderStatus, IsMonotonic) {
  using enum order_status;
  EXPECT_EQ(next_status(created, "InventoryConfirmed"), inventory_confirmed);
  EXPECT_EQ(next_status(payment_completed, "InventoryConfirmed"), payment_completed);
  EXPECT_EQ(next_status(payment_completed, "NotificationSent", "order_confirmed"),
            notification_sent);
  EXPECT_EQ(next_status(payment_completed, "Shipped"), shipped);
  EXPECT_EQ(next_status(shipped, "NotificationSent", "order_confirmed"), shipped);
  EXPECT_EQ(next_status(shipped, "OrderCancelled"), shipped);
  EXPECT_EQ(next_status(created, "InventoryRejected"), inventory_rejected);
  EXPECT_EQ(next_status(payment_failed, "PaymentCompleted"), payment_failed);
  EXPECT_EQ(next_status(cancelled, "Shipped"), cancelled);
  EXPECT_EQ(next_status(inventory_confirmed, "NotificationSent", "order_failed"),
            inventory_confirmed);
  EXPECT_EQ(parse_order_status("notification_sent"), notification_sent);
  EXPECT_FALSE(parse_order_status("bogus"));
}

TEST(Inventory, UnreleaseHoldsTheStockAgainForARetry) {
  inventory::inventory inv{catalog{}};
  ASSERT_TRUE(inv.reserve("o1", {{"product-1", 4}}, "r", t0).confirmed);
  ASSERT_TRUE(inv.release("o1", "x", t0));
  inv.unrelease("o1");  // the InventoryReleased could not be published
  EXPECT_EQ(inv.stock_levels().at("product-1"), 96);
  ASSERT_TRUE(inv.release("o1", "retry", t0));
  EXPECT_EQ(inv.stock_levels().at("product-1"), 100);
}

// ---- runtime helpers ------------------------------------------------------------------------

TEST(KnownEventType, IsTheGlobalRegistrysAnswer) {
  EXPECT_TRUE(known_event_type("OrderCreated"));
  EXPECT_TRUE(known_event_type("OrderCreated"));  // remembered
  EXPECT_FALSE(known_event_type("NoSuchEventType"));
  es::event_registry::global().add("DomainTestLateType", 1);
  EXPECT_TRUE(known_event_type("DomainTestLateType"));  // registered after a miss
}
