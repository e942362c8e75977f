// batch_scope / defer_to_batch_end: deferred work runs at the end of the outermost scope, in
// order, on the same thread; outside a scope at once; a throwing piece does not stop the rest.
// And the in-memory bus runs handlers inside a scope, so their deferred work coalesces.
#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

#include "conformance/deferred_work_probe.hpp"
#include "eventshop/core/batch_scope.hpp"
#include "eventshop/core/logging.hpp"
#include "eventshop/core/memory_bus.hpp"
#include "eventshop/core/registry.hpp"

namespace eventshop {
namespace {

using namespace std::chrono_literals;

TEST(BatchScope, WorkRunsAtOnceOutsideAScope) {
  EXPECT_FALSE(batch_scope::active());
  int runs = 0;
  defer_to_batch_end([&] { ++runs; });
  EXPECT_EQ(runs, 1);
}

TEST(BatchScope, WorkRunsInOrderWhenTheOutermostScopeEnds) {
  std::vector<int> order;
  {
    batch_scope outer;
    EXPECT_TRUE(batch_scope::active());
    defer_to_batch_end([&] { order.push_back(1); });
    {
      batch_scope inner;
      defer_to_batch_end([&] { order.push_back(2); });
    }
    EXPECT_TRUE(order.empty()) << "the inner scope must not run the work";
    defer_to_batch_end([&] { order.push_back(3); });
  }
  EXPECT_FALSE(batch_scope::active());
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
}

TEST(BatchScope, WorkThatThrowsIsLoggedAndTheRestStillRuns) {
  std::vector<std::string> lines;
  set_log_sink([&](std::string_view line) { lines.emplace_back(line); });
  int runs = 0;
  {
    batch_scope scope;
    defer_to_batch_end([] { throw std::runtime_error("boom"); });
    defer_to_batch_end([&] { ++runs; });
  }
  set_log_sink(nullptr);
  EXPECT_EQ(runs, 1);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("boom"), std::string::npos) << lines[0];
}

TEST(BatchScope, WorkDeferredByDeferredWorkRunsToo) {
  int runs = 0;
  {
    batch_scope scope;
    defer_to_batch_end([&] {
      ++runs;
      batch_scope nested;  // a scope of its own: its work runs when it ends
      defer_to_batch_end([&] { ++runs; });
    });
  }
  EXPECT_EQ(runs, 2);
}

TEST(BatchScope, ScopesArePerThread) {
  batch_scope scope;
  bool active_elsewhere = true;
  std::thread([&] { active_elsewhere = batch_scope::active(); }).join();
  EXPECT_FALSE(active_elsewhere);
}

// A handler that defers its work per event: on the in-memory bus the work runs on the handler's
// thread after the handler, and a backlog delivered in one pass needs it far fewer times than
// there are events.
TEST(BatchScope, MemoryBusHandlersRunInsideABatch) {
  memory_bus bus({.partitions = 1});
  conformance::deferred_work_probe probe;
  std::atomic<bool> gate_open{false};
  const auto record = probe.make();
  auto sub = bus.subscribe("t", "g", [&](const message& m) {
    // Hold the first event until every event is published: the rest then come as a backlog.
    while (!gate_open.load())
      std::this_thread::yield();
    record(m);
  });
  const int total = 200;
  for (int i = 0; i < total; ++i)
    bus.publish("t", make_envelope("T", 1, "{}", {.source = "/t", .subject = "k"}));
  gate_open.store(true);
  ASSERT_TRUE(probe.wait_all(total, 10s));
  EXPECT_TRUE(probe.inside_scope());
  EXPECT_TRUE(probe.same_thread());
  EXPECT_GE(probe.flushes(), 1);
  EXPECT_LT(probe.flushes(), total / 4) << "a backlog should be covered by few flushes";
  sub.close();
  bus.close();
}

}  // namespace
}  // namespace eventshop
