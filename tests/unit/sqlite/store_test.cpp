// The event-store contract, run against the in-memory store and the SQLite store alike, plus
// the optimistic-concurrency race on one file.
#include <gtest/gtest.h>

#include <barrier>
#include <functional>
#include <thread>

#include "eventshop/core/error.hpp"
#include "eventshop/core/registry.hpp"
#include "eventshop/sqlite/event_store.hpp"
#include "temp_dir.hpp"

namespace eventshop::sqlite {
namespace {

envelope ev(const std::string& subject, int n) {
  event_options o;
  o.source = "/eventshop/test";
  o.subject = subject;
  return make_envelope("TestEvent", 1, "{\"n\":" + std::to_string(n) + "}", o);
}

struct store_fixture {
  std::unique_ptr<testing::temp_dir> dir;
  std::unique_ptr<database> db;
  std::unique_ptr<eventshop::event_store> store;
};

using store_factory = std::function<store_fixture()>;

class StoreContract : public ::testing::TestWithParam<std::pair<std::string, store_factory>> {
 protected:
  void SetUp() override { f_ = GetParam().second(); }
  eventshop::event_store& store() { return *f_.store; }
  store_fixture f_;
};

TEST_P(StoreContract, AppendAndReadAStream) {
  const auto r1 =
      store().append("order-1", expected_version::no_stream, {ev("o1", 1), ev("o1", 2)});
  EXPECT_EQ(r1.version, 2);
  const auto r2 = store().append("order-1", 2, {ev("o1", 3)});
  EXPECT_EQ(r2.version, 3);
  EXPECT_GT(r2.last_position, r1.last_position);
  const auto all = store().read_stream("order-1");
  ASSERT_EQ(all.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(all[i].version, static_cast<std::int64_t>(i + 1));
    EXPECT_EQ(all[i].stream, "order-1");
    EXPECT_EQ(all[i].event.data, "{\"n\":" + std::to_string(i + 1) + "}");
  }
  EXPECT_EQ(store().read_stream("order-1", 2).size(), 1u);
  EXPECT_EQ(store().read_stream("order-1", 0, 2).size(), 2u);
  EXPECT_EQ(store().stream_version("order-1"), 3);
  EXPECT_EQ(store().stream_version("nope"), 0);
  EXPECT_TRUE(store().read_stream("nope").empty());
}

TEST_P(StoreContract, AWrongExpectedVersionIsAConflictAndAppendsNothing) {
  store().append("s", expected_version::no_stream, {ev("s", 1)});
  try {
    store().append("s", expected_version::no_stream, {ev("s", 2), ev("s", 3)});
    FAIL() << "no conflict";
  } catch (const error& e) {
    EXPECT_EQ(e.code(), make_error_code(errc::conflict));
    EXPECT_NE(std::string(e.what()).find("expected version 0, actual version 1"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(store().append("s", 5, {ev("s", 2)}), error);
  EXPECT_EQ(store().stream_version("s"), 1);
  EXPECT_EQ(store().head_position(), 1);
  store().append("s", expected_version::any, {ev("s", 2)});
  EXPECT_EQ(store().stream_version("s"), 2);
}

TEST_P(StoreContract, BadArgumentsAreRejected) {
  EXPECT_THROW(store().append("", 0, {ev("x", 1)}), error);
  EXPECT_THROW(store().append("x", 0, {}), error);
  EXPECT_THROW(store().append("x", -2, {ev("x", 1)}), error);
  EXPECT_EQ(store().head_position(), 0);
}

TEST_P(StoreContract, ReadAllFollowsTheGlobalOrderAcrossStreams) {
  for (int i = 0; i < 10; ++i)
    store().append("s" + std::to_string(i % 3), expected_version::any, {ev("k", i)});
  const auto all = store().read_all(0, 100);
  ASSERT_EQ(all.size(), 10u);
  for (std::size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i].position, static_cast<std::int64_t>(i + 1));
    EXPECT_EQ(all[i].event.data, "{\"n\":" + std::to_string(i) + "}");
  }
  const auto tail = store().read_all(7, 100);
  ASSERT_EQ(tail.size(), 3u);
  EXPECT_EQ(tail.front().position, 8);
  EXPECT_EQ(store().read_all(0, 4).size(), 4u);
  EXPECT_EQ(store().head_position(), 10);
}

TEST_P(StoreContract, SnapshotsKeepTheLatestPerStream) {
  EXPECT_FALSE(store().load_snapshot("cart-1").has_value());
  store().append("cart-1", 0, {ev("c", 1), ev("c", 2), ev("c", 3)});
  store().save_snapshot({"cart-1", 2, R"({"items":2})"});
  store().save_snapshot({"cart-1", 3, R"({"items":3})"});
  const auto s = store().load_snapshot("cart-1");
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->version, 3);
  EXPECT_EQ(s->state, R"({"items":3})");
  EXPECT_THROW(store().save_snapshot({"cart-1", 4, "{}"}), error);
  EXPECT_EQ(store().load_snapshot("cart-1")->version, 3);
}

store_fixture memory_store() {
  store_fixture f;
  f.store = std::make_unique<memory_event_store>();
  return f;
}

store_fixture sqlite_store() {
  store_fixture f;
  f.dir = std::make_unique<testing::temp_dir>();
  f.db = std::make_unique<database>(f.dir->file("store.db"));
  f.store = std::make_unique<event_store>(*f.db);
  return f;
}

INSTANTIATE_TEST_SUITE_P(
    Stores, StoreContract,
    ::testing::Values(std::make_pair(std::string("memory"), store_factory(memory_store)),
                      std::make_pair(std::string("sqlite"), store_factory(sqlite_store))),
    [](const auto& p) { return p.param.first; });

TEST(SqliteStore, EventsSurviveReopening) {
  testing::temp_dir dir;
  const auto path = dir.file("persist.db");
  {
    database db(path);
    event_store s(db);
    s.append("a", 0, {ev("a", 1), ev("a", 2)});
    s.save_snapshot({"a", 2, "{\"x\":1}"});
  }
  database db(path);
  event_store s(db);
  EXPECT_EQ(s.stream_version("a"), 2);
  EXPECT_EQ(s.read_stream("a").back().event.data, "{\"n\":2}");
  EXPECT_EQ(s.load_snapshot("a")->state, "{\"x\":1}");
}

// Two writers, each with its own connection to the file, read version 0 and append at the same
// moment: exactly one wins per round, the other gets errc::conflict, nothing is half-written.
TEST(SqliteStore, TwoWritersRacingOnOneStreamOneWins) {
  testing::temp_dir dir;
  const auto path = dir.file("race.db");
  database db_a(path), db_b(path);
  event_store a(db_a), b(db_b);
  constexpr int rounds = 30;
  std::barrier sync(2);
  std::atomic<int> wins{0}, conflicts{0}, other{0};
  auto writer = [&](event_store& s, int who) {
    for (int r = 0; r < rounds; ++r) {
      const std::string stream = "race-" + std::to_string(r);
      const auto seen = s.stream_version(stream);
      sync.arrive_and_wait();
      try {
        s.append(stream, seen, {ev(stream, who), ev(stream, who)});
        wins.fetch_add(1);
      } catch (const error& e) {
        (e.code() == make_error_code(errc::conflict) ? conflicts : other).fetch_add(1);
      }
      sync.arrive_and_wait();
    }
  };
  std::thread ta(writer, std::ref(a), 1), tb(writer, std::ref(b), 2);
  ta.join();
  tb.join();
  EXPECT_EQ(wins.load(), rounds);
  EXPECT_EQ(conflicts.load(), rounds);
  EXPECT_EQ(other.load(), 0);
  for (int r = 0; r < rounds; ++r) {
    const auto events = a.read_stream("race-" + std::to_string(r));
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(events[0].event.data, events[1].event.data);  // both from the same winner
  }
}

}  // namespace
}  // namespace eventshop::sqlite
