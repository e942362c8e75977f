// The order saga of CONTRACT §3: the status rule, each transition and each compensation.
#include <gtest/gtest.h>

#include "eventshop/core/clock.hpp"
#include "eventshop/core/registry.hpp"
#include "eventshop/ecommerce/events.hpp"
#include "eventshop/saga/order_saga.hpp"
#include "eventshop/saga/store.hpp"
#include "eventshop/saga/tracker.hpp"

namespace es = eventshop;
namespace ec = eventshop::ecommerce;
using namespace std::chrono_literals;
using es::saga::order_action;
using es::saga::order_action_kind;
using es::saga::order_result;
using es::saga::order_status;

namespace {

class order_saga_test : public ::testing::Test {
 protected:
  es::manual_clock clk;
  es::saga::memory_saga_store store;
  std::unique_ptr<es::saga::order_saga> saga =
      std::make_unique<es::saga::order_saga>(store, clk, es::saga::order_saga_options{10s});
  std::string id = "order-1";

  template <class T>
  es::envelope ev(T data) {
    data.order_id = id;
    return es::make_event(data, {"/eventshop/test", id, &clk});
  }
  es::envelope created() { return ev(ec::OrderCreated{.customer_id = "c1", .total = {5998}}); }
  es::envelope confirmed() { return ev(ec::InventoryConfirmed{.reservation_id = "r1"}); }
  es::envelope rejected() { return ev(ec::InventoryRejected{.reason = "Insufficient stock"}); }
  es::envelope paid() { return ev(ec::PaymentCompleted{.payment_id = "p1", .amount = {5998}}); }
  es::envelope declined() { return ev(ec::PaymentFailed{.reason = "amount exceeds limit"}); }
  es::envelope notified(std::string kind = "order_confirmed") {
    return ev(ec::NotificationSent{.kind = std::move(kind), .message = "hi"});
  }
  es::envelope shipped() {
    return ev(ec::Shipped{.tracking_number = "TRK0000ABCD", .carrier = "UPS"});
  }
  es::envelope cancel(std::string reason = "changed my mind") {
    return ev(ec::OrderCancellationRequested{.reason = std::move(reason)});
  }

  order_status status() { return saga->get(id).value().status; }
  std::string state() { return saga->get(id).value().state; }
};

order_action act(order_action_kind k, std::string id, std::string reason) {
  return {k, std::move(id), std::move(reason)};
}

}  // namespace

// ---- the status rule ----------------------------------------------------------------------

TEST(order_status_rule, strings_round_trip) {
  for (auto s :
       {order_status::created, order_status::inventory_confirmed, order_status::payment_completed,
        order_status::notification_sent, order_status::shipped, order_status::inventory_rejected,
        order_status::payment_failed, order_status::cancelled})
    EXPECT_EQ(es::saga::parse_order_status(es::saga::to_string(s)), s);
  EXPECT_EQ(es::saga::to_string(order_status::notification_sent), "notification_sent");
  EXPECT_FALSE(es::saga::parse_order_status("Shipped").has_value());
}

TEST(order_status_rule, happy_path_moves_forward) {
  auto s = order_status::created;
  s = es::saga::next_status(s, "InventoryConfirmed");
  EXPECT_EQ(s, order_status::inventory_confirmed);
  s = es::saga::next_status(s, "PaymentCompleted");
  EXPECT_EQ(s, order_status::payment_completed);
  s = es::saga::next_status(s, "NotificationSent", "order_confirmed");
  EXPECT_EQ(s, order_status::notification_sent);
  s = es::saga::next_status(s, "Shipped");
  EXPECT_EQ(s, order_status::shipped);
}

TEST(order_status_rule, never_moves_backwards) {
  EXPECT_EQ(es::saga::next_status(order_status::payment_completed, "InventoryConfirmed"),
            order_status::payment_completed);
  // Shipped before NotificationSent: shipped, and it stays.
  const auto s = es::saga::next_status(order_status::payment_completed, "Shipped");
  EXPECT_EQ(s, order_status::shipped);
  EXPECT_EQ(es::saga::next_status(s, "NotificationSent", "order_confirmed"), order_status::shipped);
  EXPECT_EQ(es::saga::next_status(s, "OrderCancelled"), order_status::shipped);
}

TEST(order_status_rule, failures_are_terminal) {
  EXPECT_EQ(es::saga::next_status(order_status::created, "InventoryRejected"),
            order_status::inventory_rejected);
  EXPECT_EQ(es::saga::next_status(order_status::inventory_confirmed, "PaymentFailed"),
            order_status::payment_failed);
  EXPECT_EQ(es::saga::next_status(order_status::notification_sent, "OrderCancelled"),
            order_status::cancelled);
  for (auto f :
       {order_status::inventory_rejected, order_status::payment_failed, order_status::cancelled}) {
    EXPECT_TRUE(es::saga::is_failure(f));
    EXPECT_TRUE(es::saga::is_final(f));
    for (auto t : {"InventoryConfirmed", "PaymentCompleted", "Shipped", "OrderCancelled"})
      EXPECT_EQ(es::saga::next_status(f, t), f) << t;
  }
  EXPECT_TRUE(es::saga::is_final(order_status::shipped));
  EXPECT_FALSE(es::saga::is_final(order_status::notification_sent));
}

TEST(order_status_rule, other_events_and_notification_kinds_do_not_move_it) {
  for (auto t : {"InventoryReleased", "PaymentRefunded", "OrderCancellationRequested",
                 "OrderCancellationRejected", "StockReplenished", "Bogus"})
    EXPECT_EQ(es::saga::next_status(order_status::payment_completed, t),
              order_status::payment_completed)
        << t;
  EXPECT_EQ(
      es::saga::next_status(order_status::payment_completed, "NotificationSent", "order_failed"),
      order_status::payment_completed);
}

TEST(order_status_rule, reads_notification_kind_from_envelope) {
  es::manual_clock clk;
  auto e = es::make_event(ec::NotificationSent{.order_id = "o", .kind = "order_confirmed"},
                          {"/t", "o", &clk});
  EXPECT_EQ(es::saga::next_status(order_status::payment_completed, e),
            order_status::notification_sent);
  e.data = R"({"order_id":"o"})";
  EXPECT_THROW(es::saga::next_status(order_status::payment_completed, e), es::error);
}

// ---- the process manager: transitions --------------------------------------------------------

TEST_F(order_saga_test, happy_path_reaches_completed_without_actions) {
  auto r = saga->handle(created());
  EXPECT_EQ(r.result, order_result::outcome::applied);
  EXPECT_EQ(r.status, order_status::created);
  EXPECT_EQ(state(), "reserving");
  r = saga->handle(confirmed());
  EXPECT_EQ(r.status, order_status::inventory_confirmed);
  EXPECT_TRUE(r.status_changed);
  EXPECT_EQ(state(), "paying");
  r = saga->handle(paid());
  EXPECT_EQ(r.status, order_status::payment_completed);
  EXPECT_EQ(state(), "fulfilling");
  r = saga->handle(notified());
  EXPECT_EQ(r.status, order_status::notification_sent);
  EXPECT_EQ(state(), "fulfilling");
  r = saga->handle(shipped());
  EXPECT_EQ(r.status, order_status::shipped);
  EXPECT_TRUE(r.actions.empty());
  const auto snap = saga->get(id).value();
  EXPECT_EQ(snap.state, "completed");
  EXPECT_TRUE(snap.terminal);
  EXPECT_TRUE(snap.reserved && snap.charged && snap.notified && snap.shipped);
  EXPECT_FALSE(snap.release_requested || snap.refund_requested);
  EXPECT_FALSE(snap.deadline.has_value());
  EXPECT_TRUE(saga->in_flight().empty());
}

TEST_F(order_saga_test, shipped_before_notification_is_shipped_and_stays) {
  saga->handle(created());
  saga->handle(confirmed());
  saga->handle(paid());
  auto r = saga->handle(shipped());
  EXPECT_EQ(r.status, order_status::shipped);
  EXPECT_EQ(state(), "fulfilling");  // still waiting for the notification branch
  r = saga->handle(notified());
  EXPECT_EQ(r.status, order_status::shipped);
  EXPECT_FALSE(r.status_changed);
  EXPECT_EQ(state(), "completed");
}

TEST_F(order_saga_test, other_notification_kinds_do_not_complete_the_branch) {
  saga->handle(created());
  saga->handle(confirmed());
  saga->handle(paid());
  const auto r = saga->handle(notified("order_shipped"));
  EXPECT_EQ(r.result, order_result::outcome::ignored);
  EXPECT_EQ(status(), order_status::payment_completed);
}

TEST_F(order_saga_test, inventory_rejected_ends_without_compensation) {
  saga->handle(created());
  const auto r = saga->handle(rejected());
  EXPECT_EQ(r.status, order_status::inventory_rejected);
  EXPECT_TRUE(r.actions.empty());
  EXPECT_TRUE(saga->get(id)->terminal);
}

TEST_F(order_saga_test, payment_failure_releases_stock) {
  saga->handle(created());
  saga->handle(confirmed());
  const auto r = saga->handle(declined());
  EXPECT_EQ(r.status, order_status::payment_failed);
  ASSERT_EQ(r.actions.size(), 1U);
  EXPECT_EQ(r.actions[0], act(order_action_kind::release_stock, id, "payment failed"));
  EXPECT_TRUE(saga->get(id)->release_requested);
}

TEST_F(order_saga_test, cancellation_while_reserving_cancels_without_compensation) {
  saga->handle(created());
  const auto r = saga->handle(cancel("too slow"));
  EXPECT_EQ(r.status, order_status::cancelled);
  ASSERT_EQ(r.actions.size(), 1U);
  EXPECT_EQ(r.actions[0], act(order_action_kind::cancel_order, id, "too slow"));
}

TEST_F(order_saga_test, cancellation_while_paying_releases_stock) {
  saga->handle(created());
  saga->handle(confirmed());
  const auto r = saga->handle(cancel());
  ASSERT_EQ(r.actions.size(), 2U);
  EXPECT_EQ(r.actions[0], act(order_action_kind::release_stock, id, "order cancelled"));
  EXPECT_EQ(r.actions[1], act(order_action_kind::cancel_order, id, "changed my mind"));
  EXPECT_EQ(r.status, order_status::cancelled);
}

TEST_F(order_saga_test, cancellation_after_charge_refunds_then_releases) {
  saga->handle(created());
  saga->handle(confirmed());
  saga->handle(paid());
  saga->handle(notified());
  EXPECT_TRUE(saga->check_cancellation(id).accepted);
  const auto r = saga->handle(cancel());
  ASSERT_EQ(r.actions.size(), 3U);
  // Newest step first: the charge, then the reservation.
  EXPECT_EQ(r.actions[0], act(order_action_kind::refund_payment, id, "order cancelled"));
  EXPECT_EQ(r.actions[1], act(order_action_kind::release_stock, id, "order cancelled"));
  EXPECT_EQ(r.actions[2].kind, order_action_kind::cancel_order);
  EXPECT_EQ(status(), order_status::cancelled);
}

TEST_F(order_saga_test, cancellation_is_rejected_once_shipped) {
  saga->handle(created());
  saga->handle(confirmed());
  saga->handle(paid());
  saga->handle(shipped());
  const auto check = saga->check_cancellation(id);
  EXPECT_FALSE(check.accepted);
  EXPECT_EQ(check.reason, "already shipped");
  const auto r = saga->handle(cancel());
  ASSERT_EQ(r.actions.size(), 1U);
  EXPECT_EQ(r.actions[0], act(order_action_kind::reject_cancellation, id, "already shipped"));
  EXPECT_EQ(status(), order_status::shipped);
  // And after completion.
  saga->handle(notified());
  const auto again = saga->handle(cancel());
  ASSERT_EQ(again.actions.size(), 1U);
  EXPECT_EQ(again.actions[0].kind, order_action_kind::reject_cancellation);
  EXPECT_EQ(status(), order_status::shipped);
}

TEST_F(order_saga_test, cancellation_of_a_failed_order_is_rejected) {
  saga->handle(created());
  saga->handle(rejected());
  EXPECT_FALSE(saga->check_cancellation(id).accepted);
  const auto r = saga->handle(cancel());
  ASSERT_EQ(r.actions.size(), 1U);
  EXPECT_EQ(r.actions[0].kind, order_action_kind::reject_cancellation);
  EXPECT_EQ(status(), order_status::inventory_rejected);
}

TEST_F(order_saga_test, check_cancellation_changes_nothing) {
  saga->handle(created());
  saga->handle(confirmed());
  const auto before = store.load("order", id).value();
  EXPECT_TRUE(saga->check_cancellation(id).accepted);
  EXPECT_EQ(store.load("order", id).value(), before);
  EXPECT_TRUE(saga->check_cancellation("unknown-order").accepted);  // waits for the order
  EXPECT_FALSE(store.load("order", "unknown-order").has_value());
}

TEST_F(order_saga_test, external_order_cancelled_compensates_without_a_second_cancel) {
  saga->handle(created());
  saga->handle(confirmed());
  saga->handle(paid());
  const auto r = saga->handle(ev(ec::OrderCancelled{.reason = "by admin"}));
  ASSERT_EQ(r.actions.size(), 2U);
  EXPECT_EQ(r.actions[0].kind, order_action_kind::refund_payment);
  EXPECT_EQ(r.actions[1].kind, order_action_kind::release_stock);
}

// ---- compensation of late steps ------------------------------------------------------------

TEST_F(order_saga_test, charge_after_cancellation_is_refunded) {
  saga->handle(created());
  saga->handle(confirmed());
  saga->handle(cancel());  // releases stock
  const auto r = saga->handle(paid());
  EXPECT_EQ(r.result, order_result::outcome::applied);
  ASSERT_EQ(r.actions.size(), 1U);
  EXPECT_EQ(r.actions[0].kind, order_action_kind::refund_payment);
  EXPECT_EQ(status(), order_status::cancelled);
  // A second charge event for the same order (another id) is not refunded twice.
  EXPECT_TRUE(saga->handle(paid()).actions.empty());
}

TEST_F(order_saga_test, reservation_after_cancellation_is_released) {
  saga->handle(created());
  saga->handle(cancel());
  const auto r = saga->handle(confirmed());
  ASSERT_EQ(r.actions.size(), 1U);
  EXPECT_EQ(r.actions[0].kind, order_action_kind::release_stock);
}

// ---- duplicates and out-of-order ----------------------------------------------------------

TEST_F(order_saga_test, duplicate_event_ids_change_nothing) {
  const auto c = created();
  const auto i = confirmed();
  saga->handle(c);
  saga->handle(i);
  const auto before = store.load("order", id).value();
  EXPECT_EQ(saga->handle(c).result, order_result::outcome::duplicate);
  EXPECT_EQ(saga->handle(i).result, order_result::outcome::duplicate);
  EXPECT_EQ(store.load("order", id).value(), before);
  const auto d = declined();
  EXPECT_EQ(saga->handle(d).actions.size(), 1U);
  const auto again = saga->handle(d);
  EXPECT_EQ(again.result, order_result::outcome::duplicate);
  EXPECT_TRUE(again.actions.empty());
}

TEST_F(order_saga_test, early_events_are_held_and_applied_in_causal_order) {
  auto r = saga->handle(shipped());
  EXPECT_EQ(r.result, order_result::outcome::held);
  EXPECT_EQ(saga->handle(paid()).result, order_result::outcome::held);
  EXPECT_EQ(saga->handle(notified()).result, order_result::outcome::held);
  EXPECT_EQ(saga->handle(confirmed()).result, order_result::outcome::held);
  EXPECT_EQ(state(), "new");
  r = saga->handle(created());
  EXPECT_EQ(r.result, order_result::outcome::applied);
  EXPECT_EQ(r.status, order_status::shipped);
  EXPECT_EQ(state(), "completed");
  EXPECT_TRUE(r.actions.empty());
}

TEST_F(order_saga_test, cancellation_before_the_order_is_known_waits_for_it) {
  EXPECT_EQ(saga->handle(cancel("early")).result, order_result::outcome::held);
  const auto r = saga->handle(created());
  EXPECT_EQ(r.status, order_status::cancelled);
  ASSERT_EQ(r.actions.size(), 1U);
  EXPECT_EQ(r.actions[0], act(order_action_kind::cancel_order, id, "early"));
}

TEST_F(order_saga_test, second_result_of_a_step_is_ignored) {
  saga->handle(created());
  saga->handle(confirmed());
  EXPECT_EQ(saga->handle(confirmed()).result, order_result::outcome::ignored);
  EXPECT_EQ(saga->handle(rejected()).result, order_result::outcome::ignored);
  EXPECT_EQ(status(), order_status::inventory_confirmed);
}

TEST_F(order_saga_test, events_without_order_are_ignored_and_bad_ones_rejected) {
  auto e = es::make_event(ec::StockReplenished{.product_id = "product-1", .quantity = 5},
                          {"/t", "product-1", &clk});
  EXPECT_EQ(saga->handle(e).result, order_result::outcome::ignored);
  EXPECT_EQ(store.size(), 0U);
  auto bad = created();
  bad.subject.clear();
  bad.data = R"({"customer_id":"x"})";
  EXPECT_THROW(saga->handle(bad), es::error);
  // The order id may come from the payload when the subject is missing.
  auto ok = created();
  ok.subject.clear();
  EXPECT_EQ(saga->handle(ok).result, order_result::outcome::applied);
  EXPECT_EQ(state(), "reserving");
}

// ---- deadlines ------------------------------------------------------------------------------

TEST_F(order_saga_test, inventory_timeout_cancels) {
  saga->handle(created());
  clk.advance(9s);
  EXPECT_TRUE(saga->fire_due().empty());
  clk.advance(1s);
  const auto acts = saga->fire_due();
  ASSERT_EQ(acts.size(), 1U);
  EXPECT_EQ(acts[0], act(order_action_kind::cancel_order, id, "inventory timed out"));
  EXPECT_EQ(status(), order_status::cancelled);
  EXPECT_TRUE(saga->fire_due().empty());
}

TEST_F(order_saga_test, payment_timeout_releases_stock_and_cancels) {
  saga->handle(created());
  clk.advance(5s);
  saga->handle(confirmed());  // the deadline restarts in the new state
  clk.advance(9s);
  EXPECT_TRUE(saga->fire_due().empty());
  clk.advance(1s);
  const auto acts = saga->fire_due();
  ASSERT_EQ(acts.size(), 2U);
  EXPECT_EQ(acts[0], act(order_action_kind::release_stock, id, "payment timed out"));
  EXPECT_EQ(acts[1], act(order_action_kind::cancel_order, id, "payment timed out"));
  // A charge that arrives afterwards is refunded.
  const auto late = saga->handle(paid());
  ASSERT_EQ(late.actions.size(), 1U);
  EXPECT_EQ(late.actions[0].kind, order_action_kind::refund_payment);
}

TEST_F(order_saga_test, fulfilment_timeout_after_shipping_completes) {
  saga->handle(created());
  saga->handle(confirmed());
  saga->handle(paid());
  saga->handle(shipped());
  clk.advance(10s);
  EXPECT_TRUE(saga->fire_due().empty());  // no actions: notification is best effort
  EXPECT_EQ(state(), "completed");
  EXPECT_EQ(status(), order_status::shipped);
}

TEST_F(order_saga_test, fulfilment_timeout_before_shipping_cancels_and_compensates) {
  saga->handle(created());
  saga->handle(confirmed());
  saga->handle(paid());
  clk.advance(10s);
  const auto acts = saga->fire_due();
  ASSERT_EQ(acts.size(), 3U);
  EXPECT_EQ(acts[0].kind, order_action_kind::refund_payment);
  EXPECT_EQ(acts[1].kind, order_action_kind::release_stock);
  EXPECT_EQ(acts[2], act(order_action_kind::cancel_order, id, "shipping timed out"));
}

TEST_F(order_saga_test, deadlines_fire_after_a_restart) {
  saga->handle(created());
  saga->handle(confirmed());
  saga.reset();  // "crash"
  clk.advance(11s);
  saga = std::make_unique<es::saga::order_saga>(store, clk, es::saga::order_saga_options{10s});
  EXPECT_EQ(saga->tracker().stuck().size(), 1U);
  const auto acts = saga->fire_due();
  ASSERT_EQ(acts.size(), 2U);
  EXPECT_EQ(acts[0].kind, order_action_kind::release_stock);
  EXPECT_TRUE(saga->tracker().stuck().empty());
}

// ---- actions survive until acknowledged -------------------------------------------------------

TEST_F(order_saga_test, actions_stay_pending_until_acknowledged_across_restarts) {
  saga->handle(created());
  saga->handle(confirmed());
  saga->handle(declined());
  saga.reset();
  saga = std::make_unique<es::saga::order_saga>(store, clk, es::saga::order_saga_options{10s});
  auto pending = saga->pending_actions();
  ASSERT_EQ(pending.size(), 1U);
  EXPECT_EQ(pending[0], act(order_action_kind::release_stock, id, "payment failed"));
  saga->acknowledge(id);
  EXPECT_TRUE(saga->pending_actions().empty());
  EXPECT_EQ(status(), order_status::payment_failed);
}

TEST_F(order_saga_test, in_flight_lists_state_and_age) {
  saga->handle(created());
  clk.advance(3s);
  id = "order-2";
  saga->handle(created());
  saga->handle(confirmed());
  const auto list = saga->tracker().in_flight();
  ASSERT_EQ(list.size(), 2U);
  EXPECT_EQ(list[0].key, "order-1");
  EXPECT_EQ(list[0].state, "reserving");
  EXPECT_EQ(list[0].age, 3s);
  EXPECT_EQ(list[1].key, "order-2");
  EXPECT_EQ(list[1].state, "paying");
  EXPECT_EQ(saga->in_flight().size(), 2U);
}

TEST(order_saga_options, validate_rejects_non_positive_timeout) {
  es::saga::order_saga_options o;
  o.step_timeout = 0ms;
  EXPECT_THROW(o.validate(), es::error);
  es::saga::memory_saga_store store;
  EXPECT_THROW(es::saga::order_saga(store, es::clock::system(), o), es::error);
}

TEST_F(order_saga_test, early_shipment_blocks_cancellation_and_timeout) {
  saga->handle(created());
  saga->handle(confirmed());
  EXPECT_EQ(saga->handle(shipped()).result, order_result::outcome::held);  // PaymentCompleted late
  EXPECT_FALSE(saga->check_cancellation(id).accepted);
  const auto r = saga->handle(cancel());
  ASSERT_EQ(r.actions.size(), 1U);
  EXPECT_EQ(r.actions[0], act(order_action_kind::reject_cancellation, id, "already shipped"));
  clk.advance(10s);
  EXPECT_TRUE(saga->fire_due().empty());  // no cancellation: it waits, and shows as stuck
  EXPECT_EQ(saga->tracker().stuck().size(), 1U);
  saga->handle(paid());
  saga->handle(notified());
  EXPECT_EQ(state(), "completed");
  EXPECT_TRUE(saga->tracker().stuck().empty());
}
