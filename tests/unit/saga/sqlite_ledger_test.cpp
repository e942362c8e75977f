// A participant whose effect, handled-mark and outgoing events commit in one SQLite transaction
// (eventshop::sqlite's unit of work and outbox relay).
#include <gtest/gtest.h>

#include <unistd.h>

#include <condition_variable>
#include <filesystem>
#include <mutex>

#include "eventshop/core/memory_bus.hpp"
#include "eventshop/ecommerce/events.hpp"
#include "eventshop/saga/sqlite_ledger.hpp"
#include "eventshop/sqlite/outbox.hpp"

namespace es = eventshop;
namespace ec = eventshop::ecommerce;
namespace sg = eventshop::saga;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

class collector {
 public:
  void add(es::envelope e) {
    {
      std::lock_guard lock(mu_);
      items_.push_back(std::move(e));
    }
    cv_.notify_all();
  }
  bool wait_for_count(std::size_t n, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return items_.size() >= n; });
  }
  std::vector<es::envelope> snapshot() const {
    std::lock_guard lock(mu_);
    return items_;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<es::envelope> items_;
};

std::string temp_db() {
  const auto p =
      fs::temp_directory_path() / ("eventshop-saga-ledger-" + std::to_string(::getpid()) + ".db");
  for (const auto& s : {p.string(), p.string() + "-wal", p.string() + "-shm"})
    fs::remove(s);
  return p.string();
}

std::int64_t stock(es::sqlite::database& db) {
  auto tx = db.begin();
  return tx.query("SELECT quantity FROM stock WHERE product_id = 'product-1'").at(0).at(0).as_int();
}

}  // namespace

TEST(sqlite_participant_ledger, effect_mark_and_events_commit_together) {
  const std::string path = temp_db();
  es::sqlite::database db(path);
  db.exec_script(
      "CREATE TABLE IF NOT EXISTS stock (product_id TEXT PRIMARY KEY, quantity INTEGER);"
      "INSERT OR REPLACE INTO stock VALUES ('product-1', 10);");
  es::memory_bus_options bo;
  bo.redelivery_delay = 5ms;
  es::memory_bus bus(bo);
  collector out;
  auto observer =
      bus.subscribe("inventory", "observer", [&](const es::message& m) { out.add(m.event); });
  es::sqlite::outbox_relay relay(db, bus);
  relay.start();
  sg::sqlite_participant_ledger ledger(db);
  std::atomic<int> attempts{0};
  sg::participant p(bus, ledger, {.group = "inventory", .source = "/eventshop/inventory"});
  p.on<ec::OrderCreated>(ec::topics::orders, [&](const ec::OrderCreated& o, sg::reaction& r) {
    auto& tx = sg::sqlite_participant_ledger::current();
    tx.exec("UPDATE stock SET quantity = quantity - ? WHERE product_id = 'product-1'",
            {o.items.at(0).quantity});
    r.publish(ec::InventoryConfirmed{.order_id = o.order_id, .reservation_id = "r1"});
    // The first attempt fails after writing: its write and its event must vanish.
    if (attempts.fetch_add(1) == 0) throw es::error(es::errc::timeout, "simulated crash");
  });
  p.start();

  ec::OrderCreated oc{.order_id = "o1"};
  oc.items = {{"product-1", 3, {2999}}};
  const auto e = es::make_event(oc, {"/eventshop/order", "o1"});
  bus.publish("orders", e).get();
  bus.publish("orders", e).get();  // redelivered duplicate
  ASSERT_TRUE(out.wait_for_count(1, 10s));
  bus.close(5s);
  relay.stop();
  EXPECT_EQ(out.snapshot().size(), 1U);
  EXPECT_EQ(out.snapshot()[0].causationid, e.id);
  EXPECT_EQ(stock(db), 7);  // once, despite the failed attempt and the duplicate
  EXPECT_EQ(attempts.load(), 2);
  EXPECT_EQ(relay.pending(), 0U);
  EXPECT_THROW(sg::sqlite_participant_ledger::current(), es::error);
  for (const auto& s : {path, path + "-wal", path + "-shm"})
    fs::remove(s);
}
