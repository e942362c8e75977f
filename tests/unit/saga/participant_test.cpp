// Choreography participants on the in-memory bus: declarative reactions, exactly-once effects
// under redelivery, failure events, and no lost outgoing events when a publish fails.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>

#include "eventshop/core/error.hpp"
#include "eventshop/core/memory_bus.hpp"
#include "eventshop/ecommerce/events.hpp"
#include "eventshop/saga/participant.hpp"

namespace es = eventshop;
namespace ec = eventshop::ecommerce;
namespace sg = eventshop::saga;
using namespace std::chrono_literals;

namespace {

class collector {
 public:
  void add(es::envelope e) {
    {
      std::lock_guard lock(mutex_);
      items_.push_back(std::move(e));
    }
    cv_.notify_all();
  }
  bool wait_for_count(std::size_t n, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] { return items_.size() >= n; });
  }
  std::vector<es::envelope> snapshot() const {
    std::lock_guard lock(mutex_);
    return items_;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<es::envelope> items_;
};

// Fails the first `failures` publishes to `topic` (a backend outage), forwards everything else.
class flaky_bus final : public es::bus {
 public:
  flaky_bus(es::bus& inner, std::string topic, int failures)
      : inner_(inner), topic_(std::move(topic)), failures_(failures) {}
  using es::bus::publish;
  void publish(std::string_view topic, es::envelope event, es::publish_callback on_ack) override {
    if (topic == topic_ && failures_.fetch_sub(1) > 0) {
      if (on_ack) on_ack(es::make_error_code(es::errc::backend_error), {});
      return;
    }
    inner_.publish(topic, std::move(event), std::move(on_ack));
  }
  es::subscription subscribe(std::string_view topic, std::string_view group, es::handler h,
                             const es::subscribe_options& o = {}) override {
    return inner_.subscribe(topic, group, std::move(h), o);
  }
  void close(std::chrono::milliseconds drain) override { inner_.close(drain); }
  es::bus_features features() const noexcept override { return inner_.features(); }
  std::int32_t partitions(std::string_view topic) override { return inner_.partitions(topic); }
  std::int64_t lag(std::string_view topic, std::string_view group) override {
    return inner_.lag(topic, group);
  }

 private:
  es::bus& inner_;
  std::string topic_;
  std::atomic<int> failures_;
};

es::memory_bus_options fast() {
  es::memory_bus_options o;
  o.redelivery_delay = 5ms;
  return o;
}

es::envelope order(const std::string& id, int quantity) {
  ec::OrderCreated oc{.order_id = id, .customer_id = "c"};
  oc.items = {{"product-1", quantity, {2999}}};
  return es::make_event(oc, {"/eventshop/order", id});
}

struct inventory_service {
  std::mutex mu;
  int stock = 10;
  int reservations = 0;

  ec::InventoryConfirmed reserve(const ec::OrderCreated& o) {
    std::lock_guard lock(mu);
    const int q = o.items.at(0).quantity;
    if (q > stock) throw sg::step_failed("Insufficient stock");
    stock -= q;
    ++reservations;
    return {
        .order_id = o.order_id, .items = {{"product-1", q}}, .reservation_id = "r-" + o.order_id};
  }
};

void declare(sg::participant& p, inventory_service& inv) {
  p.on<ec::OrderCreated, ec::InventoryConfirmed, ec::InventoryRejected>(
      ec::topics::orders, [&](const ec::OrderCreated& o) { return inv.reserve(o); },
      [](const ec::OrderCreated& o, const sg::step_failed& why) {
        return ec::InventoryRejected{.order_id = o.order_id,
                                     .product_id = "product-1",
                                     .requested = o.items.at(0).quantity,
                                     .reason = why.what()};
      });
}

}  // namespace

TEST(participant, publishes_the_result_or_the_failure_once_per_event) {
  es::memory_bus bus(fast());
  sg::memory_participant_ledger ledger;
  inventory_service inv;
  collector out;
  auto observer =
      bus.subscribe("inventory", "observer", [&](const es::message& m) { out.add(m.event); });
  sg::participant p(bus, ledger, {.group = "inventory", .source = "/eventshop/inventory"});
  declare(p, inv);
  p.start();

  const auto ok = order("o1", 4);
  bus.publish("orders", ok).get();
  bus.publish("orders", ok).get();  // a redelivery of the same event
  const auto too_big = order("o2", 50);
  bus.publish("orders", too_big).get();
  ASSERT_TRUE(out.wait_for_count(2, 10s));
  bus.close(5s);

  const auto events = out.snapshot();
  ASSERT_EQ(events.size(), 2U);
  EXPECT_EQ(inv.reservations, 1);
  EXPECT_EQ(inv.stock, 6);
  const auto& confirmed = events[0].type == "InventoryConfirmed" ? events[0] : events[1];
  const auto& rejected = events[0].type == "InventoryConfirmed" ? events[1] : events[0];
  EXPECT_EQ(confirmed.type, "InventoryConfirmed");
  EXPECT_EQ(confirmed.subject, "o1");
  EXPECT_EQ(confirmed.source, "/eventshop/inventory");
  EXPECT_EQ(confirmed.correlationid, ok.correlationid);
  EXPECT_EQ(confirmed.causationid, ok.id);
  EXPECT_EQ(es::decode_event<ec::InventoryConfirmed>(confirmed).reservation_id, "r-o1");
  EXPECT_EQ(rejected.type, "InventoryRejected");
  EXPECT_EQ(rejected.causationid, too_big.id);
  EXPECT_EQ(es::decode_event<ec::InventoryRejected>(rejected).reason, "Insufficient stock");
  EXPECT_EQ(ledger.handled(), 2U);
}

TEST(participant, a_failing_reaction_commits_nothing_and_is_redelivered) {
  es::memory_bus bus(fast());
  sg::memory_participant_ledger ledger;
  collector out;
  auto observer =
      bus.subscribe("payment", "observer", [&](const es::message& m) { out.add(m.event); });
  std::atomic<int> attempts{0};
  std::atomic<int> charges{0};
  sg::participant p(bus, ledger, {.group = "payment", .source = "/eventshop/payment"});
  p.on<ec::InventoryConfirmed>(ec::topics::inventory, [&](const ec::InventoryConfirmed& e,
                                                          sg::reaction& r) {
    if (attempts.fetch_add(1) == 0) throw es::error(es::errc::timeout, "bank did not answer");
    charges.fetch_add(1);
    r.publish(ec::PaymentCompleted{.order_id = e.order_id, .payment_id = "p1", .amount = {2999}});
  });
  p.start();
  bus.publish("inventory", es::make_event(ec::InventoryConfirmed{.order_id = "o1"},
                                          {"/eventshop/inventory", "o1"}))
      .get();
  ASSERT_TRUE(out.wait_for_count(1, 10s));
  bus.close(5s);
  EXPECT_EQ(attempts.load(), 2);
  EXPECT_EQ(charges.load(), 1);
  EXPECT_EQ(out.snapshot().size(), 1U);
}

TEST(participant, outgoing_events_survive_a_failed_publish) {
  es::memory_bus inner(fast());
  flaky_bus bus(inner, "inventory", 2);
  sg::memory_participant_ledger ledger;
  inventory_service inv;
  collector out;
  auto observer =
      inner.subscribe("inventory", "observer", [&](const es::message& m) { out.add(m.event); });
  sg::participant p(bus, ledger, {.group = "inventory", .source = "/eventshop/inventory"});
  declare(p, inv);
  p.start();
  inner.publish("orders", order("o1", 3)).get();
  ASSERT_TRUE(out.wait_for_count(1, 10s));
  inner.close(5s);
  EXPECT_EQ(out.snapshot().size(), 1U);
  EXPECT_EQ(inv.reservations, 1);  // the effect ran once; only the publish was retried
  EXPECT_TRUE(ledger.unpublished("inventory").empty());
}

TEST(participant, options_and_declarations_are_checked) {
  es::memory_bus bus;
  sg::memory_participant_ledger ledger;
  EXPECT_THROW(sg::participant(bus, ledger, {.group = "", .source = "/x"}), es::error);
  EXPECT_THROW(sg::participant(bus, ledger, {.group = "g", .source = ""}), es::error);
  sg::participant p(bus, ledger, {.group = "g", .source = "/x"});
  p.on<ec::OrderCreated>("orders", [](const ec::OrderCreated&, sg::reaction&) {});
  EXPECT_THROW(p.on<ec::OrderCreated>("orders", [](const ec::OrderCreated&, sg::reaction&) {}),
               es::error);
  EXPECT_THROW(p.on<ec::OrderCreated>("bad topic!", [](const ec::OrderCreated&, sg::reaction&) {}),
               es::error);
}

TEST(memory_participant_ledger, records_nothing_when_work_throws) {
  sg::memory_participant_ledger ledger;
  EXPECT_THROW(
      ledger.run_once(
          "g", "e1", []() -> std::vector<sg::outgoing_event> { throw std::runtime_error("boom"); }),
      std::runtime_error);
  EXPECT_EQ(ledger.handled(), 0U);
  int runs = 0;
  auto work = [&] {
    ++runs;
    return std::vector<sg::outgoing_event>{{"t", es::envelope{.id = "out1"}}};
  };
  EXPECT_TRUE(ledger.run_once("g", "e1", work));
  EXPECT_FALSE(ledger.run_once("g", "e1", work));
  EXPECT_TRUE(ledger.run_once("other", "e1", work));  // per group
  EXPECT_EQ(runs, 2);
  EXPECT_EQ(ledger.unpublished("g").size(), 1U);
  ledger.mark_published("g", "out1");
  EXPECT_TRUE(ledger.unpublished("g").empty());
}
