// Helper process for the crash and multi-process tests (crash_test.cpp starts it).
//
//   crash_child work DIR      publish from 4 threads and consume as group "effects" until killed;
//                             every acknowledged event id is appended to DIR/acks.log
//   crash_child drain DIR     consume until group "effects" has no lag, then exit 0
//   crash_child publish DIR N publish N events, wait for every ack, exit 0
//   crash_child consume DIR N consume until N distinct events had their effect, exit 0
//
// The consumer is the effectively-once pattern: one unit of work on DIR/effects.db marks the
// event id handled and inserts the effect row (effects has no unique key, so a second
// application of one event would show up as a duplicate row).
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "eventshop/core/registry.hpp"
#include "eventshop/sqlite/database.hpp"
#include "eventshop/sqlite/sqlite_bus.hpp"

using namespace eventshop;
using namespace std::chrono_literals;

namespace {

constexpr const char* topic = "crash";
constexpr const char* group = "effects";

sqlite::bus_options bus_at(const std::string& dir) {
  sqlite::bus_options o;
  o.path = dir + "/bus.db";
  o.partitions = 4;
  o.redelivery_delay = 5ms;
  o.heartbeat_interval = 50ms;
  o.session_timeout = 1000ms;
  return o;
}

envelope make(const std::string& key, long n) {
  event_options o;
  o.source = "/eventshop/crash";
  o.subject = key;
  return make_envelope("CrashEvent", 1, "{\"n\":" + std::to_string(n) + "}", o);
}

std::unique_ptr<sqlite::database> effects_db(const std::string& dir) {
  // NORMAL is enough against SIGKILL (the OS keeps what was written); the bus itself is FULL.
  auto db = std::make_unique<sqlite::database>(
      sqlite::database_options{dir + "/effects.db", sqlite::sync_mode::normal});
  db->exec_script(
      "CREATE TABLE IF NOT EXISTS effects(event_id TEXT NOT NULL, n INTEGER, pid INTEGER)");
  return db;
}

handler effect_handler(sqlite::database& db, std::atomic<long>& applied) {
  return [&db, &applied](const message& m) {
    auto uow = db.begin();
    if (uow.mark_handled(m.group, m.event.id)) {
      uow.exec("INSERT INTO effects(event_id, n, pid) VALUES (?, ?, ?)",
               {m.event.id, m.offset, static_cast<std::int64_t>(::getpid())});
      uow.commit();
      applied.fetch_add(1);
    }
  };
}

long distinct_effects(sqlite::database& db) {
  auto uow = db.begin();
  return static_cast<long>(
      uow.query("SELECT count(DISTINCT event_id) FROM effects").front().front().as_int());
}

int work(const std::string& dir) {
  sqlite::sqlite_bus bus(bus_at(dir));
  auto db = effects_db(dir);
  std::atomic<long> applied{0};
  auto sub = bus.subscribe(topic, group, effect_handler(*db, applied));
  const int log = ::open((dir + "/acks.log").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (log < 0) return 2;
  std::vector<std::thread> pubs;
  for (int t = 0; t < 4; ++t)
    pubs.emplace_back([&, t] {
      std::mutex m;
      std::condition_variable cv;
      int in_flight = 0;
      for (long n = 0;; ++n) {
        {
          std::unique_lock lock(m);
          cv.wait(lock, [&] { return in_flight < 64; });
          ++in_flight;
        }
        auto e = make("key-" + std::to_string(t) + "-" + std::to_string(n % 16), n);
        const std::string line = e.id + "\n";
        bus.publish(topic, std::move(e), [&, line](std::error_code ec, const publish_receipt&) {
          if (!ec && ::write(log, line.data(), line.size()) < 0) std::abort();
          std::lock_guard lock(m);
          --in_flight;
          cv.notify_one();
        });
      }
    });
  for (auto& p : pubs)
    p.join();  // never: the parent kills us
  return 0;
}

int drain(const std::string& dir) {
  sqlite::sqlite_bus bus(bus_at(dir));
  auto db = effects_db(dir);
  std::atomic<long> applied{0};
  auto sub = bus.subscribe(topic, group, effect_handler(*db, applied));
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (bus.lag(topic, group) > 0) {
    if (std::chrono::steady_clock::now() > deadline) return 3;
    std::this_thread::sleep_for(5ms);  // polling the lag of another component: bounded above
  }
  bus.close();
  return 0;
}

int publish(const std::string& dir, long n) {
  sqlite::sqlite_bus bus(bus_at(dir));
  std::vector<std::future<publish_receipt>> acks;
  for (long i = 0; i < n; ++i)
    acks.push_back(bus.publish(topic, make("k" + std::to_string(i % 10), i)));
  for (auto& a : acks)
    a.get();
  bus.close(0ms);
  return 0;
}

int consume(const std::string& dir, long n) {
  sqlite::sqlite_bus bus(bus_at(dir));
  auto db = effects_db(dir);
  std::atomic<long> applied{0};
  auto sub = bus.subscribe(topic, group, effect_handler(*db, applied));
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (distinct_effects(*db) < n || bus.lag(topic, group) > 0) {
    if (std::chrono::steady_clock::now() > deadline) return 3;
    std::this_thread::sleep_for(5ms);
  }
  bus.close();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s work|drain|publish|consume DIR [N]\n", argv[0]);
    return 64;
  }
  const std::string mode = argv[1], dir = argv[2];
  const long n = argc > 3 ? std::atol(argv[3]) : 0;
  try {
    if (mode == "work") return work(dir);
    if (mode == "drain") return drain(dir);
    if (mode == "publish") return publish(dir, n);
    if (mode == "consume") return consume(dir, n);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "crash_child %s: %s\n", mode.c_str(), e.what());
    return 1;
  }
  return 64;
}
