// Projections: the checkpoint commits with the read model; a rebuild from 0 equals the live run.
#include <gtest/gtest.h>

#include "eventshop/core/error.hpp"
#include "eventshop/core/projection.hpp"
#include "eventshop/core/registry.hpp"
#include "eventshop/sqlite/event_store.hpp"
#include "eventshop/sqlite/projection.hpp"
#include "temp_dir.hpp"

namespace eventshop::sqlite {
namespace {

envelope ev(const std::string& type, const std::string& order, int amount) {
  event_options o;
  o.source = "/eventshop/test";
  o.subject = order;
  return make_envelope(type, 1, "{\"amount\":" + std::to_string(amount) + "}", o);
}

int amount_of(const envelope& e) {
  const auto p = e.data.find(':');
  return std::stoi(e.data.substr(p + 1));
}

// Read model: per order its status, event count and total.
class order_summary final : public projection {
 public:
  std::string fail_on_type;  // to test atomicity
  std::string name() const override { return "order-summary"; }
  void setup(database& db) override {
    db.exec_script(
        "CREATE TABLE IF NOT EXISTS summary(order_id TEXT PRIMARY KEY, status TEXT, events "
        "INTEGER, total INTEGER)");
  }
  void handle(unit_of_work& uow, const stored_event& e) override {
    if (!fail_on_type.empty() && e.event.type == fail_on_type)
      throw std::runtime_error("cannot project " + e.event.type);
    uow.exec(
        "INSERT INTO summary(order_id, status, events, total) VALUES (?, ?, 1, ?) "
        "ON CONFLICT(order_id) DO UPDATE SET status=excluded.status, events=events+1, "
        "total=total+excluded.total",
        {e.event.subject, e.event.type, amount_of(e.event)});
  }
  void reset(unit_of_work& uow) override { uow.exec("DELETE FROM summary"); }
};

std::vector<row> summary(database& db) {
  auto uow = db.begin();
  return uow.query("SELECT order_id, status, events, total FROM summary ORDER BY order_id");
}

void append_some(event_store& s, int from, int to) {
  const char* types[] = {"OrderCreated", "PaymentCompleted", "Shipped"};
  for (int i = from; i < to; ++i) {
    const std::string order = "order-" + std::to_string(i % 7);
    s.append(order, expected_version::any, {ev(types[i % 3], order, i)});
  }
}

TEST(SqliteProjection, RebuildFromZeroEqualsTheLiveRun) {
  testing::temp_dir dir;
  database db(dir.file("app.db"));
  event_store store(db);
  projection_runner runner(store, db, 8);  // small batches: many checkpoints
  order_summary p;
  std::size_t live = 0;
  for (int round = 0; round < 5; ++round) {
    append_some(store, round * 20, round * 20 + 20);
    live += runner.catch_up(p);
  }
  EXPECT_EQ(live, 100u);
  EXPECT_EQ(runner.position(p), store.head_position());
  const auto live_model = summary(db);
  ASSERT_EQ(live_model.size(), 7u);
  EXPECT_EQ(runner.catch_up(p), 0u);  // nothing new: nothing applied twice
  EXPECT_EQ(summary(db), live_model);

  EXPECT_EQ(runner.rebuild(p), 100u);
  EXPECT_EQ(summary(db), live_model);
  std::int64_t events = 0;
  for (const auto& r : live_model)
    events += r[2].as_int();
  EXPECT_EQ(events, 100);
}

TEST(SqliteProjection, AFailingEventRollsBackTheBatchAndTheCheckpoint) {
  testing::temp_dir dir;
  database db(dir.file("app.db"));
  event_store store(db);
  projection_runner runner(store, db, 100);
  order_summary p;
  append_some(store, 0, 3);
  runner.catch_up(p);
  const auto before = summary(db);
  const auto pos = runner.position(p);
  store.append("order-x", 0, {ev("OrderCreated", "order-x", 1), ev("Poison", "order-x", 2)});
  p.fail_on_type = "Poison";
  EXPECT_THROW(runner.catch_up(p), std::runtime_error);
  EXPECT_EQ(summary(db), before);  // the OrderCreated of the failed batch is not visible
  EXPECT_EQ(runner.position(p), pos);
  p.fail_on_type.clear();
  EXPECT_EQ(runner.catch_up(p), 2u);
  EXPECT_EQ(summary(db).size(), before.size() + 1);
}

TEST(SqliteProjection, ACheckpointSurvivesReopeningAndResumes) {
  testing::temp_dir dir;
  const auto path = dir.file("app.db");
  {
    database db(path);
    event_store store(db);
    projection_runner runner(store, db);
    order_summary p;
    append_some(store, 0, 10);
    EXPECT_EQ(runner.catch_up(p), 10u);
  }
  database db(path);
  event_store store(db);
  projection_runner runner(store, db);
  order_summary p;
  append_some(store, 10, 15);
  EXPECT_EQ(runner.catch_up(p), 5u);
}

// The in-memory runner of core, same contract for a model kept in memory.
class memory_totals final : public eventshop::projection {
 public:
  std::map<std::string, int> totals;
  std::string name() const override { return "totals"; }
  void handle(const stored_event& e) override { totals[e.event.subject] += amount_of(e.event); }
  void reset() override { totals.clear(); }
};

TEST(MemoryProjection, RebuildEqualsLive) {
  memory_event_store store;
  memory_checkpoint_store checkpoints;
  eventshop::projection_runner runner(store, checkpoints, 3);
  memory_totals p;
  for (int i = 0; i < 30; ++i) {
    store.append("o" + std::to_string(i % 4), expected_version::any,
                 {ev("OrderCreated", "o" + std::to_string(i % 4), i)});
    if (i % 7 == 0) runner.catch_up(p);
  }
  runner.catch_up(p);
  const auto live = p.totals;
  EXPECT_EQ(checkpoints.load("totals"), 30);
  EXPECT_EQ(runner.rebuild(p), 30u);
  EXPECT_EQ(p.totals, live);
  int sum = 0;
  for (auto& [k, v] : live)
    sum += v;
  EXPECT_EQ(sum, 29 * 30 / 2);
}

}  // namespace
}  // namespace eventshop::sqlite
