// The order saga on the in-memory bus: events from the five topics drive it, its decisions are
// published, compensations reach the callback, timeouts fire from the runner's thread.
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>

#include "eventshop/core/clock.hpp"
#include "eventshop/core/memory_bus.hpp"
#include "eventshop/ecommerce/events.hpp"
#include "eventshop/saga/order_saga_runner.hpp"
#include "eventshop/saga/store.hpp"

namespace es = eventshop;
namespace ec = eventshop::ecommerce;
namespace sg = eventshop::saga;
using namespace std::chrono_literals;

namespace {

template <class T>
class collector {
 public:
  void add(T v) {
    {
      std::lock_guard lock(mu_);
      items_.push_back(std::move(v));
    }
    cv_.notify_all();
  }
  bool wait_for_count(std::size_t n, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return items_.size() >= n; });
  }
  std::vector<T> snapshot() const {
    std::lock_guard lock(mu_);
    return items_;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<T> items_;
};

template <class T>
es::envelope ev(T data, const std::string& id, const es::clock& clk) {
  data.order_id = id;
  return es::make_event(data, {"/eventshop/test", id, &clk});
}

struct fixture {
  es::manual_clock clk;
  es::memory_bus bus;
  sg::memory_saga_store store;
  sg::order_saga saga{store, clk, sg::order_saga_options{10s}};
  collector<sg::order_action> compensations;
  collector<es::envelope> orders_topic;
  es::subscription observer = bus.subscribe("orders", "observer", [this](const es::message& m) {
    if (m.event.type != "OrderCreated" && m.event.type != "OrderCancellationRequested")
      orders_topic.add(m.event);
  });
  sg::order_saga_runner runner{bus,
                               saga,
                               [this](const sg::order_action& a) { compensations.add(a); },
                               {.deadline_poll = 20ms}};
};

}  // namespace

TEST(order_saga_runner, compensates_and_answers_cancellations_on_the_bus) {
  fixture f;
  f.runner.start();
  const auto created = ev(ec::OrderCreated{}, "o1", f.clk);
  f.bus.publish("orders", created).get();
  f.bus.publish("inventory", ev(ec::InventoryConfirmed{}, "o1", f.clk)).get();
  f.bus.publish("payment", ev(ec::PaymentFailed{.reason = "declined"}, "o1", f.clk)).get();
  ASSERT_TRUE(f.compensations.wait_for_count(1, 10s));
  EXPECT_EQ(f.compensations.snapshot()[0],
            (sg::order_action{sg::order_action_kind::release_stock, "o1", "payment failed"}));

  const auto cancel = ev(ec::OrderCancellationRequested{.reason = "no longer needed"}, "o1", f.clk);
  f.bus.publish("orders", cancel).get();
  ASSERT_TRUE(f.orders_topic.wait_for_count(1, 10s));
  const auto answer = f.orders_topic.snapshot()[0];
  EXPECT_EQ(answer.type, "OrderCancellationRejected");
  EXPECT_EQ(answer.subject, "o1");
  EXPECT_EQ(answer.causationid, cancel.id);
  EXPECT_EQ(answer.correlationid, cancel.correlationid);
  f.runner.stop();
  EXPECT_TRUE(f.saga.pending_actions().empty());
}

TEST(order_saga_runner, accepted_cancellation_publishes_order_cancelled) {
  fixture f;
  f.runner.start();
  f.bus.publish("orders", ev(ec::OrderCreated{}, "o2", f.clk)).get();
  f.bus.publish("orders", ev(ec::OrderCancellationRequested{.reason = "oops"}, "o2", f.clk)).get();
  ASSERT_TRUE(f.orders_topic.wait_for_count(1, 10s));
  const auto e = f.orders_topic.snapshot()[0];
  EXPECT_EQ(e.type, "OrderCancelled");
  EXPECT_EQ(es::decode_event<ec::OrderCancelled>(e).reason, "oops");
  f.runner.stop();
  EXPECT_EQ(f.saga.get("o2")->status, sg::order_status::cancelled);
}

TEST(order_saga_runner, timeouts_fire_from_the_runner_thread) {
  fixture f;
  f.runner.start();
  f.bus.publish("orders", ev(ec::OrderCreated{}, "o3", f.clk)).get();
  f.bus.publish("inventory", ev(ec::InventoryConfirmed{}, "o3", f.clk)).get();
  // Wait until the saga took both events, then let the payment step time out.
  for (int i = 0; i < 1000 && f.saga.get("o3").value_or(sg::order_snapshot{}).state != "paying";
       ++i)
    f.orders_topic.wait_for_count(1000, 5ms);  // a bounded wait without busy spinning
  ASSERT_EQ(f.saga.get("o3")->state, "paying");
  f.clk.advance(10s);
  f.runner.poke();
  ASSERT_TRUE(f.compensations.wait_for_count(1, 10s));
  ASSERT_TRUE(f.orders_topic.wait_for_count(1, 10s));
  EXPECT_EQ(f.compensations.snapshot()[0].kind, sg::order_action_kind::release_stock);
  const auto e = f.orders_topic.snapshot()[0];
  EXPECT_EQ(e.type, "OrderCancelled");
  EXPECT_EQ(es::decode_event<ec::OrderCancelled>(e).reason, "payment timed out");
  f.runner.stop();
}

TEST(order_saga_runner, start_runs_actions_left_unacknowledged) {
  fixture f;
  f.saga.handle(ev(ec::OrderCreated{}, "o4", f.clk));
  f.saga.handle(ev(ec::InventoryConfirmed{}, "o4", f.clk));
  f.saga.handle(ev(ec::PaymentFailed{}, "o4", f.clk));  // emitted, never executed ("crash")
  f.runner.start();
  ASSERT_TRUE(f.compensations.wait_for_count(1, 10s));
  EXPECT_EQ(f.compensations.snapshot()[0].order_id, "o4");
  f.runner.stop();
  EXPECT_TRUE(f.saga.pending_actions().empty());
}
