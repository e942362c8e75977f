// In-memory bus specifics beyond the conformance suite: retention and back-pressure, options.
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <memory>
#include <thread>

#include "conformance/bus_conformance.hpp"
#include "eventshop/core/error.hpp"
#include "eventshop/core/memory_bus.hpp"
#include "eventshop/core/registry.hpp"

namespace eventshop {
namespace {

using namespace std::chrono_literals;
using conformance::collector;

envelope ev(const std::string& key, int i) {
  return make_envelope("T", 1, "{\"i\":" + std::to_string(i) + "}",
                       {.source = "/t", .subject = key});
}

TEST(MemoryBus, OptionsAreValidated) {
  EXPECT_THROW(memory_bus(memory_bus_options{.partitions = 0}), error);
  EXPECT_THROW(memory_bus(memory_bus_options{.retention = 0}), error);
  EXPECT_THROW(memory_bus(memory_bus_options{.max_batch = 0}), error);
  memory_bus b;
  EXPECT_THROW(b.subscribe("t", "g", [](const message&) {}, {.concurrency = 0}), error);
  EXPECT_EQ(b.partitions("t"), 8);
  EXPECT_FALSE(b.features().durable);
}

// A publishing thread remembers the last topic it used: two buses (one replacing another, or
// both alive) with the same topic name must never share it.
TEST(MemoryBus, BusesWithTheSameTopicNamesStayApart) {
  for (int round = 0; round < 3; ++round) {
    memory_bus a({.partitions = 2});
    memory_bus b({.partitions = 3});
    collector<int> got_a, got_b;
    auto sa = a.subscribe("t", "g", [&](const message& m) { got_a.add(m.partition); });
    auto sb = b.subscribe("t", "g", [&](const message& m) { got_b.add(m.partition); });
    for (int i = 0; i < 50; ++i) {
      a.publish("t", ev("k" + std::to_string(i), i)).get();
      b.publish("t", ev("k" + std::to_string(i), i)).get();
      b.publish("t", ev("k" + std::to_string(i), i)).get();
    }
    ASSERT_TRUE(got_a.wait_for_count(50, 5s));
    ASSERT_TRUE(got_b.wait_for_count(100, 5s));
    a.close(5s);
    b.close(5s);
    EXPECT_EQ(got_a.size(), 50u);
    EXPECT_EQ(got_b.size(), 100u);
    for (int p : got_a.snapshot())
      EXPECT_LT(p, 2);
  }
}

TEST(MemoryBus, RetentionDropsOnlyWhatEveryActiveGroupConsumed) {
  memory_bus b({.partitions = 1, .retention = 10});
  collector<int> got;
  auto sub = b.subscribe("t", "g", [&](const message&) { got.add(1); });
  for (int i = 0; i < 100; ++i)
    b.publish("t", ev("k", i)).get();
  ASSERT_TRUE(got.wait_for_count(100, 5s));
  // A new group replays only what is retained: at most `retention` events.
  collector<int> late;
  auto sub2 = b.subscribe("t", "late", [&](const message&) { late.add(1); });
  b.publish("t", ev("k", 100)).get();
  ASSERT_TRUE(late.wait_for_count(1, 5s));
  b.close(5s);
  EXPECT_LE(late.size(), 11u);
  EXPECT_GE(late.size(), 1u);
}

TEST(MemoryBus, FullPartitionBlocksThePublisherUntilTheSlowGroupCatchesUp) {
  memory_bus b({.partitions = 1, .retention = 4});
  std::promise<void> release;
  auto gate = release.get_future().share();
  collector<int> got;
  auto sub = b.subscribe("t", "slow", [&](const message&) {
    gate.wait();
    got.add(1);
  });
  for (int i = 0; i < 4; ++i)
    b.publish("t", ev("k", i)).get();
  auto blocked = std::async(std::launch::async, [&] { return b.publish("t", ev("k", 4)).get(); });
  EXPECT_EQ(blocked.wait_for(50ms), std::future_status::timeout)
      << "publish did not apply back-pressure";
  release.set_value();
  EXPECT_EQ(blocked.get().offset, 4);
  ASSERT_TRUE(got.wait_for_count(5, 5s));
}

TEST(MemoryBus, CloseWakesABlockedPublisherWithClosed) {
  memory_bus b({.partitions = 1, .retention = 1});
  std::promise<void> release;
  auto gate = release.get_future().share();
  auto sub = b.subscribe("t", "stuck", [&](const message&) { gate.wait(); });
  b.publish("t", ev("k", 0)).get();
  auto blocked = std::async(std::launch::async, [&] {
    std::promise<std::error_code> p;
    b.publish("t", ev("k", 1),
              [&](std::error_code ec, const publish_receipt&) { p.set_value(ec); });
    return p.get_future().get();
  });
  std::thread closer([&] { b.close(0ms); });
  EXPECT_EQ(blocked.get(), make_error_code(errc::closed));
  release.set_value();
  closer.join();
}

TEST(MemoryBus, AGroupWithoutMembersDoesNotHoldPublishersBack) {
  memory_bus b({.partitions = 1, .retention = 5});
  {
    auto sub =
        b.subscribe("t", "gone", [](const message&) { throw std::runtime_error("never acks"); });
    b.publish("t", ev("k", 0)).get();
  }  // the only member left: nothing holds the partition now
  for (int i = 1; i < 50; ++i)
    b.publish("t", ev("k", i)).get();
  collector<std::int64_t> got;
  auto back = b.subscribe("t", "gone", [&](const message& m) { got.add(m.offset); });
  ASSERT_TRUE(got.wait_for_count(1, 5s));
  EXPECT_GE(got.snapshot().front(), 45);  // resumed from the oldest retained event
}

// Subscribes to "t" a handler that closes its own subscription on its first event, publishes one
// event and waits until it did; returns the closed subscription and how often it was called.
struct closed_by_handler {
  subscription sub;
  std::atomic<int> calls{0};
};
std::unique_ptr<closed_by_handler> close_from_own_handler(memory_bus& b) {
  auto r = std::make_unique<closed_by_handler>();
  std::promise<void> closed;
  r->sub = b.subscribe("t", "g", [r = r.get(), &closed](const message&) {
    if (r->calls.fetch_add(1) == 0) {
      r->sub.close();
      closed.set_value();
    }
  });
  b.publish("t", ev("k", 0)).get();
  closed.get_future().wait();
  return r;
}

TEST(MemoryBus, HandlerMayCloseItsOwnSubscription) {
  memory_bus b;
  const auto r = close_from_own_handler(b);
  EXPECT_FALSE(r->sub.active());
}

TEST(MemoryBus, SharedDispatchThreadsAreValidated) {
  EXPECT_THROW(memory_bus(memory_bus_options{.dispatch_threads = 257}), error);
  memory_bus b({.dispatch_threads = 256});
  EXPECT_EQ(b.partitions("t"), 8);
}

// A handler publishing into a full partition that its own (shared) thread must drain: it does
// not wait for room - it would wait forever - the partition goes over its bound instead. A
// publisher outside the bus still gets back-pressure.
TEST(MemoryBus, AHandlerPublishingIntoAFullPartitionDoesNotDeadlockItsThread) {
  memory_bus b({.partitions = 1, .retention = 4, .dispatch_threads = 1});
  collector<int> downstream;
  auto sink = b.subscribe("out", "sink",
                          [&](const message& m) { downstream.add(static_cast<int>(m.offset)); });
  std::atomic<int> handled{0};
  auto relay = b.subscribe("in", "relay", [&](const message& m) {
    // Each input becomes three outputs: "out" fills up faster than "sink" can run, and "sink"
    // runs on this very thread.
    for (int i = 0; i < 3; ++i)
      b.publish("out", ev("k", static_cast<int>(m.offset) * 3 + i)).get();
    handled.fetch_add(1);
  });
  for (int i = 0; i < 10; ++i)
    b.publish("in", ev("k", i)).get();
  ASSERT_TRUE(downstream.wait_for_count(30, 5s)) << "handled " << handled.load();
  EXPECT_EQ(handled.load(), 10);
}

TEST(MemoryBus, AHandlerOnASharedThreadMayCloseItsOwnSubscription) {
  memory_bus b({.dispatch_threads = 1});
  collector<int> other;
  auto keep = b.subscribe("t", "other", [&](const message&) { other.add(1); });
  const auto r = close_from_own_handler(b);
  EXPECT_FALSE(r->sub.active());
  // The shared thread goes on running the other subscription.
  b.publish("t", ev("k", 1)).get();
  ASSERT_TRUE(other.wait_for_count(2, 5s));
  EXPECT_EQ(r->calls.load(), 1);
}

// Closing a subscription whose handler is running on a shared thread returns only once that
// handler has returned; the thread then goes on with the others.
TEST(MemoryBus, ClosingASubscriptionWaitsForItsHandlerOnASharedThread) {
  memory_bus b({.dispatch_threads = 1});
  std::promise<void> entered, release;
  auto gate = release.get_future().share();
  std::atomic<bool> in_handler{false};
  auto slow = b.subscribe("t", "slow", [&](const message&) {
    in_handler.store(true);
    entered.set_value();
    gate.wait();
    in_handler.store(false);
  });
  collector<int> other;
  auto keep = b.subscribe("u", "other", [&](const message&) { other.add(1); });
  b.publish("t", ev("k", 0)).get();
  entered.get_future().wait();
  auto closing = std::async(std::launch::async, [&] { slow.close(); });
  EXPECT_EQ(closing.wait_for(50ms), std::future_status::timeout);
  release.set_value();
  closing.get();
  EXPECT_FALSE(in_handler.load());
  b.publish("u", ev("k", 1)).get();
  ASSERT_TRUE(other.wait_for_count(1, 5s));
}

TEST(MemoryBus, ConcurrencyRunsPartitionsInParallelButEachInOrder) {
  memory_bus b({.partitions = 4});
  std::atomic<int> in_flight{0}, max_in_flight{0};
  collector<std::pair<std::string, int>> got;
  auto sub = b.subscribe("t", "g",
                         [&](const message& m) {
                           const int now = in_flight.fetch_add(1) + 1;
                           int prev = max_in_flight.load();
                           while (now > prev && !max_in_flight.compare_exchange_weak(prev, now)) {
                           }
                           std::this_thread::yield();
                           got.add({m.event.subject, std::stoi(m.event.data.substr(5))});
                           in_flight.fetch_sub(1);
                         },
                         {.concurrency = 4});
  for (int i = 0; i < 2000; ++i)
    b.publish("t", ev("key" + std::to_string(i % 16), i / 16));
  ASSERT_TRUE(got.wait_for_count(2000, 10s));
  std::map<std::string, int> last;
  for (const auto& [k, i] : got.snapshot()) {
    auto [it, fresh] = last.try_emplace(k, -1);
    EXPECT_EQ(i, it->second + 1) << k;
    it->second = i;
  }
}

}  // namespace
}  // namespace eventshop
