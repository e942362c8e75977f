// SQLite-bus behaviour beyond the conformance suite: compaction, group commit, offsets committed
// only after the handler, a second bus object on the same file, sync mode NORMAL.
#include <gtest/gtest.h>

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include "conformance/bus_conformance.hpp"
#include "conformance/deferred_work_probe.hpp"
#include "events_view.hpp"
#include "eventshop/core/error.hpp"
#include "eventshop/core/registry.hpp"
#include "eventshop/sqlite/sqlite_bus.hpp"
#include "temp_dir.hpp"
#include "test_event.hpp"

namespace eventshop::sqlite {
namespace {

using conformance::collector;
using namespace std::chrono_literals;

using testing::ev;

void publish_n(bus& b, const std::string& topic, int from, int to) {
  std::vector<std::future<publish_receipt>> acks;
  for (int i = from; i < to; ++i)
    acks.push_back(b.publish(topic, ev("k" + std::to_string(i % 3), i)));
  for (auto& a : acks)
    a.get();
}

TEST(SqliteBus, CompactionNeverDeletesWhatAGroupHasNotConsumed) {
  testing::temp_dir dir;
  sqlite_bus b(bus_options{.path = dir.file("bus.db"), .partitions = 1, .retain_events = 10});
  collector<int> fast;
  {
    // "slow" joins and leaves at once: it has consumed nothing, and it is remembered.
    auto slow = b.subscribe("t", "slow", [](const message&) { throw std::runtime_error("busy"); });
  }
  auto f = b.subscribe("t", "fast", [&](const message&) { fast.add(1); });
  publish_n(b, "t", 0, 100);
  ASSERT_TRUE(fast.wait_for_count(100, 10s));
  EXPECT_EQ(b.compact("t"), 0);  // "slow" is still at offset 0
  EXPECT_EQ(b.lag("t", "slow"), 100);
  collector<int> slow_seen;
  {
    auto slow = b.subscribe("t", "slow",
                            [&](const message& m) { slow_seen.add(static_cast<int>(m.offset)); });
    ASSERT_TRUE(slow_seen.wait_for_count(100, 10s));
  }
  EXPECT_EQ(b.committed("t", "slow", 0), 100);
  f.close();
  EXPECT_EQ(b.compact("t"), 90);  // everything consumed: keep the newest retain_events
  EXPECT_EQ(b.compact("t"), 0);
  // A new group replays what is retained.
  collector<int> late;
  auto l =
      b.subscribe("t", "late", [&](const message& m) { late.add(static_cast<int>(m.offset)); });
  ASSERT_TRUE(late.wait_for_count(10, 10s));
  EXPECT_EQ(late.snapshot().front(), 90);
}

std::int64_t stored_events(const std::string& path) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_busy_timeout(db, 5000);
  EXPECT_EQ(testing::create_events_view(db), SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(db, "SELECT count(*) FROM es_events", -1, &s, nullptr);
  std::int64_t n = -1;
  if (sqlite3_step(s) == SQLITE_ROW) n = sqlite3_column_int64(s, 0);
  sqlite3_finalize(s);
  sqlite3_close(db);
  return n;
}

TEST(SqliteBus, TheMaintenanceThreadCompactsOnItsOwn) {
  testing::temp_dir dir;
  const auto path = dir.file("bus.db");
  sqlite_bus b(bus_options{.path = path,
                           .partitions = 1,
                           .retain_events = 5,
                           .compact_interval = std::chrono::milliseconds(10)});
  collector<int> got;
  auto sub = b.subscribe("t", "g", [&](const message&) { got.add(1); });
  publish_n(b, "t", 0, 50);
  ASSERT_TRUE(got.wait_for_count(50, 10s));
  sub.close();  // offsets committed: everything is consumed
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (stored_events(path) > 5 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(5ms);  // bounded wait for the background compaction
  EXPECT_EQ(stored_events(path), 5);
}

TEST(SqliteBus, ConcurrentPublishersShareTransactions) {
  testing::temp_dir dir;
  sqlite_bus b(bus_options{.path = dir.file("bus.db")});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] { publish_n(b, "t", t * 500, t * 500 + 500); });
  for (auto& t : threads)
    t.join();
  const auto s = b.stats();
  EXPECT_EQ(s.events, 2000);
  EXPECT_LT(s.transactions, 2000);  // group commit: fewer transactions than events
}

// Handlers run inside a batch_scope: work they defer runs on their thread after them, and a
// backlog handled in one pass needs it far fewer times than there are events.
TEST(SqliteBus, HandlersRunInsideABatch) {
  testing::temp_dir dir;
  sqlite_bus b(bus_options{.path = dir.file("bus.db"), .partitions = 1});
  publish_n(b, "t", 0, 300);  // a backlog before anyone subscribes
  conformance::deferred_work_probe probe;
  auto sub = b.subscribe("t", "g", probe.make(), {.start = start_position::earliest});
  ASSERT_TRUE(probe.wait_all(300, 10s));
  EXPECT_TRUE(probe.inside_scope());
  EXPECT_TRUE(probe.same_thread());
  EXPECT_LT(probe.flushes(), 300 / 4) << "a backlog should be covered by few flushes";
  sub.close();
}

// With synchronous=FULL the writer commits without waiting for the fsync and the syncer thread
// acknowledges after it: a handler in the same process must still never see an event before it
// was acknowledged (= fsync'ed) - the durability gate keeps dispatch threads below it.
TEST(SqliteBus, LocalHandlersNeverSeeAnEventBeforeItsAcknowledgement) {
  testing::temp_dir dir;
  sqlite_bus b(bus_options{.path = dir.file("bus.db"), .partitions = 4});
  std::mutex m;
  std::set<std::pair<std::int32_t, std::int64_t>> acked;
  std::atomic<int> early{0};
  collector<int> handled;
  auto sub = b.subscribe("t", "g",
                         [&](const message& msg) {
                           {
                             std::lock_guard lock(m);
                             if (!acked.count({msg.partition, msg.offset})) early.fetch_add(1);
                           }
                           handled.add(1);
                         },
                         {.concurrency = 2});
  constexpr int per_thread = 600;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      std::vector<std::future<void>> done;
      for (int i = 0; i < per_thread; ++i) {
        auto p = std::make_shared<std::promise<void>>();
        done.push_back(p->get_future());
        b.publish("t", ev("k" + std::to_string(t * per_thread + i), i),
                  [&, p](std::error_code ec, const publish_receipt& r) {
                    if (!ec) {
                      std::lock_guard lock(m);
                      acked.insert({r.partition, r.offset});
                    }
                    p->set_value();
                  });
      }
      for (auto& d : done)
        d.get();
    });
  for (auto& t : threads)
    t.join();
  ASSERT_TRUE(handled.wait_for_count(4 * per_thread, 20s));
  EXPECT_EQ(early.load(), 0);
  const auto s = b.stats();
  EXPECT_EQ(s.events, 4 * per_thread);
  EXPECT_GE(s.syncs, 1);
  EXPECT_LE(s.syncs, s.transactions);  // one fsync may acknowledge several transactions
}

// The syncer fsyncs the WAL SQLite really writes: opened through a symlink, that is the target's
// "-wal", not the link's (a stale file of that name must not be the one fsync'ed).
TEST(SqliteBus, TheSyncerFsyncsTheWalSqliteWrites) {
  testing::temp_dir dir;
  const auto real = dir.file("real.db");
  const auto link = dir.file("link.db");
  std::filesystem::create_symlink(real, link);
  { std::ofstream(link + "-wal") << "stale"; }
  sqlite_bus b(bus_options{.path = link});
  b.publish("t", ev("k", 1)).get();
  auto descriptors_of = [](const std::string& file) {
    int n = 0;
    for (const auto& fd : std::filesystem::directory_iterator("/proc/self/fd")) {
      std::error_code ec;
      const auto target = std::filesystem::read_symlink(fd.path(), ec);
      if (!ec && target == std::filesystem::path(file)) ++n;
    }
    return n;
  };
  EXPECT_EQ(descriptors_of(link + "-wal"), 0);
  EXPECT_GE(descriptors_of(std::filesystem::canonical(real).string() + "-wal"), 1);
  EXPECT_GE(b.stats().syncs, 1);
}

TEST(SqliteBus, AQueueLongerThanMaxCommitBatchIsSplitInOrder) {
  testing::temp_dir dir;
  sqlite_bus b(bus_options{.path = dir.file("bus.db"), .partitions = 1, .max_commit_batch = 7});
  std::vector<std::future<publish_receipt>> acks;
  for (int i = 0; i < 200; ++i)
    acks.push_back(b.publish("t", ev("k", i)));
  for (int i = 0; i < 200; ++i)
    EXPECT_EQ(acks[static_cast<std::size_t>(i)].get().offset, i);
  EXPECT_GE(b.stats().transactions, 200 / 7);
  collector<int> got;
  auto sub = b.subscribe("t", "g", [&](const message& m) {
    got.add(std::stoi(m.event.data.substr(m.event.data.find(':') + 1)));
  });
  ASSERT_TRUE(got.wait_for_count(200, 10s));
  const auto v = got.snapshot();
  for (int i = 0; i < 200; ++i)
    EXPECT_EQ(v[static_cast<std::size_t>(i)], i);
}

// A transaction that cannot be written (another connection holds the write lock past
// write_timeout) fails its publishes - through the syncer, in order - and leaves the partition
// readable: the next event gets the offset the failed one would have had and is handled.
TEST(SqliteBus, AFailedTransactionIsNotAcknowledgedAndBlocksNothing) {
  testing::temp_dir dir;
  const auto path = dir.file("bus.db");
  sqlite_bus b(
      bus_options{.path = path, .partitions = 1, .busy_timeout = 0ms, .write_timeout = 50ms});
  collector<std::int64_t> got;
  auto sub = b.subscribe("t", "g", [&](const message& m) { got.add(m.offset); });
  EXPECT_EQ(b.publish("t", ev("k", 1)).get().offset, 0);
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &other), SQLITE_OK);
  sqlite3_busy_timeout(other, 5000);  // the bus may be writing (an offset commit, a heartbeat)
  ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  std::promise<std::error_code> failed;
  b.publish("t", ev("k", 2),
            [&](std::error_code ec, const publish_receipt&) { failed.set_value(ec); });
  EXPECT_TRUE(failed.get_future().get());  // not acknowledged
  sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(other);
  EXPECT_EQ(b.publish("t", ev("k", 3)).get().offset, 1);
  // (Offset 0 may be handled twice: its offset commit can fail against the lock, too.)
  ASSERT_TRUE(got.wait_until(
      [](const std::vector<std::int64_t>& v) { return std::count(v.begin(), v.end(), 1) > 0; },
      10s));
  const auto v = got.snapshot();
  EXPECT_EQ(std::set<std::int64_t>(v.begin(), v.end()), (std::set<std::int64_t>{0, 1}));
}

TEST(SqliteBus, OffsetsAreCommittedOnlyAfterTheHandlerSucceeded) {
  testing::temp_dir dir;
  const auto path = dir.file("bus.db");
  {
    sqlite_bus b(bus_options{.path = path, .partitions = 1, .redelivery_delay = 1ms});
    publish_n(b, "t", 0, 5);
    collector<int> ok;
    auto sub = b.subscribe("t", "g", [&](const message& m) {
      if (m.offset == 3) throw std::runtime_error("not now");
      ok.add(static_cast<int>(m.offset));
    });
    ASSERT_TRUE(ok.wait_for_count(3, 10s));
    sub.close();
    EXPECT_EQ(b.committed("t", "g", 0), 3);
  }
  sqlite_bus b(bus_options{.path = path, .partitions = 1});
  collector<int> again;
  auto sub =
      b.subscribe("t", "g", [&](const message& m) { again.add(static_cast<int>(m.offset)); });
  ASSERT_TRUE(again.wait_for_count(2, 10s));
  EXPECT_EQ(again.snapshot(), (std::vector<int>{3, 4}));
}

TEST(SqliteBus, ASecondBusOnTheSameFileSeesTheFirstOnesEvents) {
  testing::temp_dir dir;
  const auto path = dir.file("bus.db");
  sqlite_bus producer(bus_options{.path = path});
  sqlite_bus consumer(bus_options{.path = path, .synchronous = sync_mode::normal});
  collector<int> got;
  auto sub = consumer.subscribe("t", "g", [&](const message&) { got.add(1); });
  for (int i = 0; i < 20; ++i) {
    producer.publish("t", ev("k", i)).get();
    // Noticed through data_version polling (not a local wake-up): still prompt.
    ASSERT_TRUE(got.wait_for_count(static_cast<std::size_t>(i + 1), 5s));
  }
  sub.close();  // waits for the last (pipelined) offset commit
  EXPECT_EQ(consumer.lag("t", "g"), 0);
}

TEST(SqliteBus, PublishAfterCloseAndBadEventsFailThroughTheCallback) {
  testing::temp_dir dir;
  sqlite_bus b(bus_options{.path = dir.file("bus.db")});
  envelope bad = ev("k", 1);
  bad.data = "not json";
  std::promise<std::error_code> p1;
  b.publish("t", bad, [&](std::error_code ec, const publish_receipt&) { p1.set_value(ec); });
  EXPECT_TRUE(p1.get_future().get());
  EXPECT_THROW(b.publish("bad topic!", ev("k", 1), {}), error);
  b.close();
  std::promise<std::error_code> p2;
  b.publish("t", ev("k", 1), [&](std::error_code ec, const publish_receipt&) { p2.set_value(ec); });
  EXPECT_EQ(p2.get_future().get(), make_error_code(errc::closed));
}

}  // namespace
}  // namespace eventshop::sqlite
