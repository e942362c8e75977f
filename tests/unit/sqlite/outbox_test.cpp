// Unit of work, transactional outbox, relay and the effectively-once consumer.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "conformance/bus_conformance.hpp"
#include "eventshop/core/error.hpp"
#include "eventshop/core/memory_bus.hpp"
#include "eventshop/core/middleware.hpp"
#include "eventshop/core/registry.hpp"
#include "eventshop/sqlite/outbox.hpp"
#include "eventshop/sqlite/sqlite_bus.hpp"
#include "temp_dir.hpp"
#include "test_event.hpp"

namespace eventshop::sqlite {
namespace {

using conformance::collector;
using namespace std::chrono_literals;

using testing::ev;

int seq_of(const envelope& e) {
  return std::stoi(e.data.substr(e.data.find(':') + 1));
}

std::int64_t count(database& db, const std::string& sql) {
  auto uow = db.begin();
  return uow.query(sql).front().front().as_int();
}

TEST(SqliteUnitOfWork, CommitsEverythingOrNothing) {
  testing::temp_dir dir;
  database db(dir.file("svc.db"));
  db.exec_script("CREATE TABLE stock(product TEXT PRIMARY KEY, qty INTEGER NOT NULL)");
  {
    auto uow = db.begin();
    uow.exec("INSERT INTO stock VALUES (?, ?)", {"p1", 10});
    EXPECT_TRUE(uow.mark_handled("inventory", "evt-1"));
    uow.add_outbox("inventory", ev("order-1", 1));
    uow.append("order-1", 0, {ev("order-1", 1)});
    // dropped without commit: rolled back
  }
  EXPECT_EQ(count(db, "SELECT count(*) FROM stock"), 0);
  EXPECT_EQ(count(db, "SELECT count(*) FROM es_processed"), 0);
  EXPECT_EQ(count(db, "SELECT count(*) FROM es_outbox"), 0);
  EXPECT_EQ(count(db, "SELECT count(*) FROM es_store"), 0);
  {
    auto uow = db.begin();
    uow.exec("INSERT INTO stock VALUES (?, ?)", {"p1", 10});
    EXPECT_TRUE(uow.mark_handled("inventory", "evt-1"));
    EXPECT_FALSE(uow.mark_handled("inventory", "evt-1"));
    uow.add_outbox("inventory", ev("order-1", 1));
    uow.commit();
    EXPECT_FALSE(uow.active());
    EXPECT_THROW(uow.exec("DELETE FROM stock"), error);
  }
  EXPECT_EQ(count(db, "SELECT qty FROM stock"), 10);
  auto uow = db.begin();
  EXPECT_TRUE(uow.handled("inventory", "evt-1"));
  EXPECT_FALSE(uow.handled("payment", "evt-1"));
  EXPECT_THROW(uow.add_outbox("bad topic!", ev("k", 1)), error);
  envelope broken = ev("k", 1);
  broken.id.clear();
  EXPECT_THROW(uow.add_outbox("inventory", broken), error);
  EXPECT_THROW(uow.exec("INSERT INTO nowhere VALUES (1)"), error);
  // A failed statement does not end the unit of work.
  EXPECT_EQ(uow.query("SELECT qty FROM stock WHERE product=?", {"p1"}).front().front().as_int(),
            10);
}

TEST(SqliteOutbox, RelayPublishesInOrderPerKeyAndDeletesWhatWasAcknowledged) {
  testing::temp_dir dir;
  database db(dir.file("svc.db"));
  for (int i = 0; i < 60; ++i) {
    auto uow = db.begin();
    uow.add_outbox("orders", ev("order-" + std::to_string(i % 4), i));
    uow.commit();
  }
  memory_bus bus({.partitions = 4});
  collector<envelope> got;
  auto sub = bus.subscribe("orders", "g", [&](const message& m) { got.add(m.event); });
  outbox_relay relay(db, bus, {.batch = 16});
  EXPECT_EQ(relay.pending(), 60u);
  std::size_t total = 0;
  while (std::size_t n = relay.relay_once())
    total += n;
  EXPECT_EQ(total, 60u);
  EXPECT_EQ(relay.pending(), 0u);
  ASSERT_TRUE(got.wait_for_count(60, 10s));
  std::map<std::string, int> last;
  for (const auto& e : got.snapshot()) {
    auto [it, fresh] = last.try_emplace(e.subject, -1);
    EXPECT_GT(seq_of(e), it->second) << e.subject;
    it->second = seq_of(e);
  }
}

TEST(SqliteOutbox, RowsStayWhenTheBusRefusesAndGoOutLater) {
  testing::temp_dir dir;
  database db(dir.file("svc.db"));
  {
    auto uow = db.begin();
    for (int i = 0; i < 5; ++i)
      uow.add_outbox("orders", ev("k", i));
    uow.commit();
  }
  memory_bus down;
  down.close();
  outbox_relay failing(db, down);
  try {
    failing.relay_once();
    FAIL() << "no error";
  } catch (const error& e) {
    EXPECT_EQ(e.code(), make_error_code(errc::closed));
  }
  EXPECT_EQ(failing.pending(), 5u);
  memory_bus up;
  collector<envelope> got;
  auto sub = up.subscribe("orders", "g", [&](const message& m) { got.add(m.event); });
  outbox_relay relay(db, up);
  relay.start();  // background thread, woken by commits
  ASSERT_TRUE(got.wait_for_count(5, 10s));
  {
    auto uow = db.begin();
    uow.add_outbox("orders", ev("k", 5));
    uow.commit();
  }
  ASSERT_TRUE(got.wait_for_count(6, 10s));
  relay.stop();
  const auto v = got.snapshot();
  for (int i = 0; i < 6; ++i)
    EXPECT_EQ(seq_of(v[static_cast<std::size_t>(i)]), i);
}

// The effectively-once consumer on the SQLite bus: every event is delivered twice (published
// twice with the same id), yet each effect is applied once, and its outgoing event is queued once.
TEST(SqliteOutbox, RedeliveryNeverAppliesAnEffectTwice) {
  testing::temp_dir dir;
  sqlite_bus bus(bus_options{.path = dir.file("bus.db"), .partitions = 2});
  database db(dir.file("inventory.db"));
  db.exec_script("CREATE TABLE effects(event_id TEXT, seq INTEGER)");
  collector<std::string> seen;
  auto sub = bus.subscribe("orders", "inventory", [&](const message& m) {
    auto uow = db.begin();
    if (uow.mark_handled(m.group, m.event.id)) {
      uow.exec("INSERT INTO effects VALUES (?, ?)", {m.event.id, seq_of(m.event)});
      uow.add_outbox("inventory", ev(m.event.subject, seq_of(m.event)));
    }
    uow.commit();
    seen.add(m.event.id);
  });
  std::vector<std::future<publish_receipt>> acks;
  for (int i = 0; i < 50; ++i) {
    const auto e = ev("order-" + std::to_string(i % 5), i);
    acks.push_back(bus.publish("orders", e));
    acks.push_back(bus.publish("orders", e));  // the duplicate
  }
  for (auto& a : acks)
    a.get();
  ASSERT_TRUE(seen.wait_for_count(100, 20s));
  EXPECT_EQ(count(db, "SELECT count(*) FROM effects"), 50);
  EXPECT_EQ(count(db, "SELECT count(DISTINCT event_id) FROM effects"), 50);
  EXPECT_EQ(count(db, "SELECT count(*) FROM es_outbox"), 50);
}

TEST(SqliteIdempotencyStore, WorksWithTheMiddlewareAndSurvivesReopening) {
  testing::temp_dir dir;
  const auto path = dir.file("idem.db");
  const auto e = ev("k", 1);
  int effects = 0;
  auto h = [&](const message&) { ++effects; };
  {
    database db(path);
    idempotency_store store(db);
    auto wrapped = middleware::chain(h, {middleware::idempotent(store)});
    const message m{"t", "g", 0, 0, 1, e};
    wrapped(m);
    wrapped(m);
    EXPECT_TRUE(store.contains("g", e.id));
    EXPECT_FALSE(store.contains("other", e.id));
  }
  database db(path);
  idempotency_store store(db);
  auto wrapped = middleware::chain(h, {middleware::idempotent(store)});
  wrapped(message{"t", "g", 0, 1, 1, e});
  EXPECT_EQ(effects, 1);
}

}  // namespace
}  // namespace eventshop::sqlite
