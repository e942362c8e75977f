// The six services on the in-memory bus, driven through the order service's own API: the saga of
// CONTRACT §3 end to end, oversell, compensation, cancellation, idempotency, timeouts, restart.
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "eventshop/core/memory_bus.hpp"
#include "system/system.hpp"

namespace es = eventshop;
using namespace eventshop::services;
using namespace std::chrono_literals;

namespace {

class harness {
 public:
  explicit harness(system_config cfg = {}, std::chrono::milliseconds step_delay = 0ms,
                   es::bus* shared = nullptr)
      : bus_(shared ? nullptr : std::make_unique<es::memory_bus>()),
        sys_({.bus = shared ? shared : bus_.get(), .metrics = &metrics_, .step_delay = step_delay},
             std::move(cfg)) {
    sys_.status().on_order([this](const order_view&) {
      {
        std::lock_guard lock(mutex_);
        ++changes_;
      }
      cv_.notify_all();
    });
    sys_.start();
  }
  ~harness() { sys_.stop(); }

  ecommerce_system& sys() { return sys_; }

  std::string create(const std::string& product, int qty, const std::string& key = {}) {
    order::order_request r{"c1", {{product, qty}}};
    return sys_.order().create(r, key).order_id;
  }

  // Waits (on change notifications, bounded) until `pred` holds for the status read model.
  template <class Pred>
  bool wait_for(Pred pred, std::chrono::milliseconds timeout = 20s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::unique_lock lock(mutex_);
    while (!pred()) {
      if (cv_.wait_until(lock, deadline) == std::cv_status::timeout) return pred();
    }
    return true;
  }

  bool wait_status(const std::string& id, order_status s, std::chrono::milliseconds timeout = 20s) {
    return wait_for(
        [&] {
          auto v = sys_.status().view().get(id);
          return v && v->status == s;
        },
        timeout);
  }

  bool wait_terminal(const std::vector<std::string>& ids, std::chrono::milliseconds timeout = 30s) {
    return wait_for(
        [&] {
          for (const auto& id : ids) {
            auto v = sys_.status().view().get(id);
            if (!v || !is_terminal(v->status)) return false;
          }
          return true;
        },
        timeout);
  }

  int stock(const std::string& product) {
    return sys_.inventory().domain().stock_levels().at(product);
  }

 private:
  es::metrics_registry metrics_;
  std::unique_ptr<es::memory_bus> bus_;
  ecommerce_system sys_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::size_t changes_ = 0;
};

bool has_event(const order_view& v, std::string_view type) {
  for (const auto& e : v.events)
    if (e.type == type) return true;
  return false;
}

}  // namespace

TEST(Pipeline, OrdersReachShippedWithTheFullTimeline) {
  harness h;
  std::vector<std::string> ids;
  for (int i = 0; i < 50; ++i)
    ids.push_back(h.create("product-1", 1));
  // The read model follows each topic on its own thread, so an order may show `shipped` before
  // the events of a slower topic (PaymentCompleted, say) are in its timeline: wait for all.
  ASSERT_TRUE(h.wait_for([&] {
    for (const auto& id : ids) {
      auto v = h.sys().status().view().get(id);
      if (!v || v->status != order_status::shipped) return false;
      for (auto type : {"OrderCreated", "InventoryConfirmed", "PaymentCompleted",
                        "NotificationSent", "Shipped"})
        if (!has_event(*v, type)) return false;
    }
    return true;
  }));
  for (const auto& id : ids) {
    const auto v = *h.sys().status().view().get(id);
    for (auto type :
         {"OrderCreated", "InventoryConfirmed", "PaymentCompleted", "NotificationSent", "Shipped"})
      EXPECT_TRUE(has_event(v, type)) << type;
    EXPECT_EQ(v.tracking_number.substr(0, 3), "TRK");
    ASSERT_TRUE(v.payment_amount);
    EXPECT_EQ(v.payment_amount->cents, 2999);
    // Correlation: every event of the saga carries the first event's id.
  }
  EXPECT_EQ(h.stock("product-1"), 50);
  EXPECT_EQ(h.sys().shipping().domain().list().size(), 50u);
  const auto s = h.sys().status().view().stats(es::clock::system().now());
  EXPECT_EQ(s.shipped, 50);
  EXPECT_EQ(s.revenue.cents, 50 * 2999);
}

TEST(Pipeline, NeverOversellsUnderConcurrentOrders) {
  harness h;
  std::vector<std::string> ids(200);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      for (int i = t; i < 200; i += 8)
        ids[i] = h.create("product-3", 1);
    });
  for (auto& th : threads)
    th.join();
  ASSERT_TRUE(h.wait_terminal(ids));
  int shipped = 0, rejected = 0;
  for (const auto& id : ids) {
    const auto st = h.sys().status().view().get(id)->status;
    shipped += st == order_status::shipped;
    rejected += st == order_status::inventory_rejected;
  }
  EXPECT_EQ(shipped, 25);
  EXPECT_EQ(rejected, 175);
  EXPECT_EQ(h.stock("product-3"), 0);
}

TEST(Pipeline, PaymentOverTheLimitIsCompensated) {
  harness h;
  const auto id = h.create("product-3", 21);  // 2,099.79
  ASSERT_TRUE(h.wait_for([&] {
    auto v = h.sys().status().view().get(id);
    return v && v->status == order_status::payment_failed && v->stock_released;
  }));
  EXPECT_EQ(h.stock("product-3"), 25);
  const auto v = *h.sys().status().view().get(id);
  EXPECT_EQ(v.failure_reason, "amount exceeds limit");
  EXPECT_TRUE(has_event(v, "InventoryReleased"));
  EXPECT_EQ(h.sys().payment().domain().find(id)->status, "failed");
}

TEST(Pipeline, CancellationBeforeShippingReleasesStockAndRefunds) {
  harness h({}, 100ms);  // a step delay keeps the order in flight long enough to cancel it
  const auto id = h.create("product-2", 3);
  h.sys().order().request_cancel(id, "changed my mind");
  ASSERT_TRUE(h.wait_for([&] {
    auto v = h.sys().status().view().get(id);
    return v && v->status == order_status::cancelled && v->stock_released;
  }));
  EXPECT_EQ(h.stock("product-2"), 50);
  // Charged and refunded, or never charged - never charged and kept.
  ASSERT_TRUE(h.wait_for([&] {
    auto p = h.sys().payment().domain().find(id);
    return p && (p->status == "refunded" || p->status == "cancelled");
  }));
  EXPECT_FALSE(h.sys().shipping().domain().find(id));
  // Asking again is accepted and changes nothing; the order is then terminal.
  EXPECT_THROW(h.sys().order().request_cancel(id, "again"), api_error);
}

TEST(Pipeline, CancellationAfterShippingIsRejected) {
  harness h;
  const auto id = h.create("product-1", 1);
  ASSERT_TRUE(h.wait_status(id, order_status::shipped));
  try {
    h.sys().order().request_cancel(id, "too late");
    FAIL() << "accepted";
  } catch (const api_error& e) {
    EXPECT_EQ(e.status(), 409);
  }
  try {
    h.sys().order().request_cancel("no-such-order", "x");
    FAIL() << "accepted";
  } catch (const api_error& e) {
    EXPECT_EQ(e.status(), 404);
  }
}

TEST(Pipeline, IdempotencyKeyCreatesOnce) {
  harness h;
  bool replayed = true;
  order::order_request r{"c9", {{"product-1", 2}}};
  const auto first = h.sys().order().create(r, "key-1", &replayed);
  EXPECT_FALSE(replayed);
  const auto second = h.sys().order().create(r, "key-1", &replayed);
  EXPECT_TRUE(replayed);
  EXPECT_EQ(first.order_id, second.order_id);
  order::order_request other{"c9", {{"product-1", 3}}};
  try {
    (void)h.sys().order().create(other, "key-1");
    FAIL() << "accepted";
  } catch (const api_error& e) {
    EXPECT_EQ(e.status(), 409);
  }
  ASSERT_TRUE(h.wait_status(first.order_id, order_status::shipped));
  EXPECT_EQ(h.stock("product-1"), 98);
  EXPECT_EQ(h.sys().status().view().stats(es::clock::system().now()).total_orders, 1);
}

TEST(Pipeline, AStalledSagaIsCompensatedAfterItsTimeout) {
  system_config cfg;
  cfg.order.saga_timeout = 300ms;
  cfg.order.watchdog_interval = 50ms;
  harness h(cfg);
  h.sys().payment().stop();  // payment never answers
  const auto id = h.create("product-1", 4);
  ASSERT_TRUE(h.wait_for([&] {
    auto v = h.sys().status().view().get(id);
    return v && v->status == order_status::cancelled && v->stock_released;
  }));
  EXPECT_EQ(h.stock("product-1"), 100);
  EXPECT_EQ(h.sys().status().view().get(id)->failure_reason, "saga step timed out");
}

TEST(Pipeline, RestartRebuildsEveryServiceFromTheBus) {
  es::memory_bus bus;
  std::vector<std::string> ids;
  std::string keyed;
  {
    harness h({}, 0ms, &bus);
    for (int i = 0; i < 20; ++i)
      ids.push_back(h.create("product-2", 1));
    ids.push_back(h.create("product-3", 21));  // payment_failed, stock released
    keyed = h.create("product-1", 1, "restart-key");
    ids.push_back(keyed);
    ASSERT_TRUE(h.wait_terminal(ids));
    h.sys().inventory().restock("product-1", 10);
  }
  harness again({}, 0ms, &bus);
  EXPECT_EQ(again.stock("product-2"), 30);
  EXPECT_EQ(again.stock("product-3"), 25);
  EXPECT_EQ(again.stock("product-1"), 109);
  ASSERT_TRUE(again.wait_terminal(ids));
  EXPECT_EQ(again.sys().status().view().get(ids[0])->status, order_status::shipped);
  EXPECT_EQ(again.sys().shipping().domain().list().size(), 21u);
  // The key survived: a repeat returns the first order and creates nothing.
  bool replayed = false;
  EXPECT_EQ(
      again.sys().order().create({"c1", {{"product-1", 1}}}, "restart-key", &replayed).order_id,
      keyed);
  EXPECT_TRUE(replayed);
  // New orders still flow, and redelivered history did not charge anyone twice.
  const auto fresh = again.create("product-2", 1);
  ASSERT_TRUE(again.wait_status(fresh, order_status::shipped));
  EXPECT_EQ(again.stock("product-2"), 29);
}

// A bus that acknowledges a publish only when told to: publish_and_wait's timeout path.
class late_ack_bus final : public es::bus {
 public:
  void publish(std::string_view, es::envelope, es::publish_callback on_ack) override {
    {
      std::lock_guard lock(mutex_);
      pending_.push_back(std::move(on_ack));
    }
    cv_.notify_all();
  }
  es::subscription subscribe(std::string_view, std::string_view, es::handler,
                             const es::subscribe_options&) override {
    return {};
  }
  void close(std::chrono::milliseconds) override {}
  es::bus_features features() const noexcept override { return {}; }
  std::int32_t partitions(std::string_view) override { return 1; }
  std::int64_t lag(std::string_view, std::string_view) override { return 0; }
  // Acknowledges the oldest pending publish with offset `offset`, waiting up to 10 s for one
  // (false if none came).
  bool ack_one(std::int64_t offset) {
    es::publish_callback cb;
    {
      std::unique_lock lock(mutex_);
      if (!cv_.wait_for(lock, 10s, [&] { return !pending_.empty(); })) return false;
      cb = std::move(pending_.front());
      pending_.erase(pending_.begin());
    }
    cb({}, es::publish_receipt{0, offset});
    return true;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<es::publish_callback> pending_;
};

TEST(PublishAndWait, EachPublishGetsItsOwnAcknowledgementEvenAfterATimeout) {
  es::memory_bus bus;
  const auto e = [] {
    return es::make_event(es::ecommerce::StockReplenished{"p", 1, 1},
                          {.source = "/t", .subject = "k"});
  };
  // One thread, many publishes: each receipt is its own.
  for (std::int64_t i = 0; i < 5; ++i)
    EXPECT_EQ(publish_and_wait(bus, "t", e(), 1s).offset, i);
  // An acknowledgement that comes after its publish timed out does not answer the next publish.
  late_ack_bus late;
  EXPECT_THROW(publish_and_wait(late, "t", e(), 1ms), es::error);
  std::thread acker([&] {
    EXPECT_TRUE(late.ack_one(111));  // the timed-out publish's, late
    EXPECT_TRUE(late.ack_one(222));  // the second publish's
  });
  EXPECT_EQ(publish_and_wait(late, "t", e(), 10s).offset, 222);
  acker.join();
  EXPECT_EQ(publish_and_wait(bus, "t", e(), 1s).offset, 5);
  // A publish the bus refuses outright (no topic name): an error, and the next publish is fine.
  EXPECT_THROW(publish_and_wait(bus, "", e(), 1s), es::error);
  EXPECT_EQ(publish_and_wait(bus, "t", e(), 1s).offset, 6);
  // Publishes from many threads at once, each waiting for its own receipt.
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i)
        if (publish_and_wait(bus, "u", e(), 5s).offset >= 0) ok.fetch_add(1);
    });
  for (auto& th : threads)
    th.join();
  EXPECT_EQ(ok.load(), 800);
}

// publish_output with any callable: published once in both acknowledgement modes; a publish the
// bus refuses calls the undo, once, and rethrows.
TEST(PublishOutput, PublishesOrUndoesInBothAcknowledgementModes) {
  const auto e = [] {
    return es::make_event(es::ecommerce::StockReplenished{"p", 1, 1},
                          {.source = "/t", .subject = "k"});
  };
  for (const bool ordered : {false, true}) {
    es::memory_bus bus;
    const service_env env{.bus = &bus, .ordered_handler_acks = ordered};
    int undone = 0;
    const std::string id(40, 'x');  // a capture over std::function's inline storage
    publish_output(env, "t", e(), [&undone, id] { undone += static_cast<int>(id.size()); });
    EXPECT_EQ(undone, 0) << "ordered: " << ordered;
    // Exactly one event before the next (one partition per key: "k").
    EXPECT_EQ(publish_and_wait(bus, "t", e(), 1s).offset, 1) << "ordered: " << ordered;
    bus.close();
    EXPECT_ANY_THROW(publish_output(env, "t", e(), [&undone, id] { undone += 1; }))
        << "ordered: " << ordered;
    EXPECT_EQ(undone, 1) << "ordered: " << ordered;
    EXPECT_ANY_THROW(publish_output(env, "t", e(), {}));  // no undo at all
  }
}

// The status service's statistics feed: at most one call per stats_interval while orders change,
// and always a call after the last change (the trailing call), whose figures are final.
TEST(Pipeline, StatsListenerIsRateLimitedAndReportsTheLastChange) {
  std::mutex m;  // before the system: its stats thread may call the listener until it ends
  std::condition_variable cv;
  std::vector<order_stats> calls;
  es::metrics_registry metrics;
  es::memory_bus bus;
  system_config cfg;
  cfg.status.stats_interval = 50ms;
  ecommerce_system sys({.bus = &bus, .metrics = &metrics}, cfg);
  sys.status().on_stats([&](const order_stats& s) {
    {
      std::lock_guard lock(m);
      calls.push_back(s);
    }
    cv.notify_all();
  });
  sys.start();
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 30; ++i)
    sys.order().create(order::order_request{"c1", {{"product-1", 1}}});
  {
    std::unique_lock lock(m);
    ASSERT_TRUE(cv.wait_for(lock, 20s, [&] {
      return !calls.empty() && calls.back().shipped == 30;
    })) << "no statistics after the last change";
  }
  sys.stop();
  std::lock_guard lock(m);
  // Every call counted so far happened before this point: one per 50 ms at most, plus the
  // first one, which comes at once.
  const auto elapsed = std::chrono::steady_clock::now() - t0;
  EXPECT_LE(calls.size(), 2 + static_cast<std::size_t>(elapsed / 50ms));
  EXPECT_EQ(calls.back().total_orders, 30);
  EXPECT_EQ(calls.back().in_progress, 0);
}
