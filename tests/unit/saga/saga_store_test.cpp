// Both saga_store implementations pass the same tests; the SQLite one also survives reopening.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <memory>

#include "eventshop/core/error.hpp"
#ifdef EVENTSHOP_SAGA_HAVE_SQLITE
#include "eventshop/saga/sqlite_store.hpp"
#endif
#include "eventshop/saga/store.hpp"

namespace es = eventshop;
namespace sg = eventshop::saga;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

[[maybe_unused]] std::string temp_db(const std::string& name) {
  const auto dir = fs::temp_directory_path() / ("eventshop-saga-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const auto p = dir / (name + ".db");
  fs::remove(p);
  fs::remove(p.string() + "-wal");
  fs::remove(p.string() + "-shm");
  return p.string();
}

sg::saga_record sample(std::string key, es::timestamp t) {
  sg::saga_record r;
  r.saga = "order";
  r.key = std::move(key);
  r.state = "paying";
  r.completed = {"reserve"};
  r.compensated = {};
  r.seen = {"e1", "e2"};
  r.held = {{"Shipped", "e3", R"({"order_id":"o","note":"q\"uote"})"}};
  r.outbox = {};
  r.started_at = t;
  r.entered_at = t + 5ms;
  r.updated_at = t + 7ms;
  r.deadline = t + 30s + std::chrono::nanoseconds{123};
  r.version = 1;
  return r;
}

struct store_factory {
  std::string name;
  std::function<std::unique_ptr<sg::saga_store>(const std::string& test)> make;
};

class saga_store_test : public ::testing::TestWithParam<store_factory> {
 protected:
  void SetUp() override {
    test_name_ = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    for (auto& c : test_name_)
      if (c == '/') c = '_';
    store = GetParam().make(test_name_);
  }
  std::string test_name_;
  std::unique_ptr<sg::saga_store> store;
  es::timestamp t0 = es::timestamp{std::chrono::milliseconds{1'790'000'000'000}};
};

}  // namespace

TEST_P(saga_store_test, round_trips_every_field) {
  const auto r = sample("o1", t0);
  store->save(r);
  const auto loaded = store->load("order", "o1");
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(*loaded, r);
  EXPECT_FALSE(store->load("order", "o2").has_value());
  EXPECT_FALSE(store->load("other", "o1").has_value());
}

TEST_P(saga_store_test, replaces_with_the_next_version_only) {
  auto r = sample("o1", t0);
  store->save(r);
  r.version = 2;
  r.state = "fulfilling";
  r.outbox = {{"release_stock", "payment failed", "reserve"}};
  r.deadline.reset();
  store->save(r);
  EXPECT_EQ(store->load("order", "o1").value(), r);
  // A stale writer (version 2 again) is refused and changes nothing.
  auto stale = r;
  stale.state = "cancelled";
  try {
    store->save(stale);
    FAIL() << "expected a conflict";
  } catch (const es::error& e) {
    EXPECT_EQ(e.code(), es::make_error_code(es::errc::conflict));
    EXPECT_NE(std::string(e.what()).find("found 2"), std::string::npos) << e.what();
  }
  EXPECT_EQ(store->load("order", "o1").value(), r);
  // Inserting version 1 over an existing record is a conflict too.
  auto again = sample("o1", t0);
  EXPECT_THROW(store->save(again), es::error);
}

TEST_P(saga_store_test, rejects_invalid_records) {
  auto r = sample("", t0);
  EXPECT_THROW(store->save(r), es::error);
  r = sample("o1", t0);
  r.version = 0;
  EXPECT_THROW(store->save(r), es::error);
  r = sample("o1", t0);
  r.state.clear();
  EXPECT_THROW(store->save(r), es::error);
  EXPECT_FALSE(store->load("order", "o1").has_value());
}

TEST_P(saga_store_test, lists_in_flight_oldest_first_and_finds_deadlines_and_outboxes) {
  auto a = sample("a", t0 + 2s);
  auto b = sample("b", t0 + 1s);
  auto c = sample("c", t0);
  c.terminal = true;
  c.state = "completed";
  c.deadline.reset();
  c.outbox = {{"refund_payment", "", "charge"}};
  b.deadline.reset();
  store->save(a);
  store->save(b);
  store->save(c);
  auto open = store->list("order");
  ASSERT_EQ(open.size(), 2U);
  EXPECT_EQ(open[0].key, "b");
  EXPECT_EQ(open[1].key, "a");
  auto all = store->list("order", {.include_terminal = true, .limit = 2});
  ASSERT_EQ(all.size(), 2U);
  EXPECT_EQ(all[0].key, "c");
  const auto dl = store->with_deadline("order");
  ASSERT_EQ(dl.size(), 1U);
  EXPECT_EQ(dl[0].key, "a");
  const auto ob = store->with_outbox("order");
  ASSERT_EQ(ob.size(), 1U);
  EXPECT_EQ(ob[0].key, "c");
}

TEST_P(saga_store_test, purges_only_acknowledged_terminal_records) {
  auto done = sample("done", t0);
  done.terminal = true;
  done.deadline.reset();
  auto pending = sample("pending", t0);
  pending.terminal = true;
  pending.outbox = {{"release_stock", "", "reserve"}};
  store->save(done);
  store->save(pending);
  store->save(sample("open", t0));
  EXPECT_EQ(store->purge_terminal("order", t0 + 1min), 1U);
  EXPECT_FALSE(store->load("order", "done").has_value());
  EXPECT_TRUE(store->load("order", "pending").has_value());
  EXPECT_TRUE(store->load("order", "open").has_value());
}

std::vector<store_factory> factories() {
  std::vector<store_factory> f;
  f.push_back({"memory", [](const std::string&) -> std::unique_ptr<sg::saga_store> {
                 return std::make_unique<sg::memory_saga_store>();
               }});
#ifdef EVENTSHOP_SAGA_HAVE_SQLITE
  f.push_back({"sqlite", [](const std::string& test) -> std::unique_ptr<sg::saga_store> {
                 return std::make_unique<sg::sqlite_saga_store>(
                     sg::sqlite_saga_store_options{temp_db(test)});
               }});
#endif
  return f;
}

INSTANTIATE_TEST_SUITE_P(stores, saga_store_test, ::testing::ValuesIn(factories()),
                         [](const auto& p) { return p.param.name; });

#ifdef EVENTSHOP_SAGA_HAVE_SQLITE
TEST(sqlite_saga_store, survives_reopening) {
  const auto path = temp_db("reopen");
  const auto t0 = es::timestamp{std::chrono::milliseconds{1'790'000'000'000}};
  {
    sg::sqlite_saga_store store({path});
    store.save(sample("o1", t0));
  }
  sg::sqlite_saga_store store({path});
  EXPECT_EQ(store.load("order", "o1").value(), sample("o1", t0));
}

TEST(sqlite_saga_store, reports_bad_options_and_paths) {
  EXPECT_THROW(sg::sqlite_saga_store({""}), es::error);
  try {
    sg::sqlite_saga_store store({"/nonexistent-dir/x/saga.db"});
    FAIL();
  } catch (const es::error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent-dir/x/saga.db"), std::string::npos);
  }
}
#endif
