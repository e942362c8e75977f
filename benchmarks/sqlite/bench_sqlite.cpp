// bench_sqlite: the SQLite bus against the ceiling of its own design.
//
//   BM_SqliteAppendDurable   8 publisher threads, synchronous=FULL, each keeping up to 512
//                            publishes in flight (a full window waits until half of it was
//                            acknowledged); items = acknowledged (committed) events.
//   BM_SqliteRawBatchInsert  a plain SQLite loop inserting the same encoded rows into the same
//                            per-partition tables, in transactions of the same size as the bus's
//                            average group-commit batch (arg 0) or a fixed size; FULL, WAL.
//   BM_SqliteConsume/N       one group of N members (dispatch threads) reading and handling
//                            (decode + handler call) a topic of 200,000 events from the start;
//                            items = events handled.
// Each benchmark uses a fresh database in a temporary directory, removed afterwards.
#include <benchmark/benchmark.h>
#include <sqlite3.h>
#include <unistd.h>

#include <time.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>
#include <vector>

#include "eventshop/core/codec.hpp"
#include "eventshop/core/registry.hpp"
#include "eventshop/sqlite/sqlite_bus.hpp"

namespace {

using namespace eventshop;
namespace fs = std::filesystem;

struct temp_dir {
  fs::path path;
  temp_dir() {
    static int n = 0;
    path = fs::temp_directory_path() /
           ("eventshop-bench-sqlite-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

// A realistic OrderCreated-sized envelope (about 420 bytes encoded).
envelope order_event(int i) {
  event_options o;
  o.source = "/eventshop/order";
  o.subject = "order-" + std::to_string(i % 5000);
  return make_envelope(
      "OrderCreated", 1,
      R"({"order_id":")" + o.subject +
          R"(","customer_id":"customer-42","items":[{"product_id":"product-1","quantity":2,"unit_price":29.99}],"total":59.98,"currency":"USD","product_id":"product-1","quantity":2})",
      o);
}

// CPU seconds of the whole process (all threads): with a loaded, shared machine, events per
// CPU-second says what the code costs independently of how much CPU it was given.
double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

constexpr int publishers = 8;
constexpr int per_publisher = 4000;
constexpr int window = 512;

std::atomic<double> last_avg_batch{1000};

void BM_SqliteAppendDurable(benchmark::State& state) {
  temp_dir dir;
  sqlite::bus_options o;
  o.path = (dir.path / "bus.db").string();
  o.synchronous = sqlite::sync_mode::full;
  sqlite::sqlite_bus bus(o);
  std::vector<std::vector<envelope>> events(publishers);
  std::int64_t acked_total = 0;
  double cpu = 0;
  for (auto _ : state) {
    state.PauseTiming();
    for (int t = 0; t < publishers; ++t) {
      events[static_cast<std::size_t>(t)].clear();
      for (int i = 0; i < per_publisher; ++i)
        events[static_cast<std::size_t>(t)].push_back(order_event(t * per_publisher + i));
    }
    state.ResumeTiming();
    const double cpu0 = process_cpu_seconds();
    std::atomic<std::int64_t> acked{0}, failed{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < publishers; ++t)
      threads.emplace_back([&, t] {
        std::mutex m;
        std::condition_variable cv;
        int in_flight = 0;
        for (auto& e : events[static_cast<std::size_t>(t)]) {
          {
            std::unique_lock lock(m);
            if (in_flight == window) cv.wait(lock, [&] { return in_flight <= window / 2; });
            ++in_flight;
          }
          bus.publish("orders", std::move(e), [&](std::error_code ec, const publish_receipt&) {
            (ec ? failed : acked).fetch_add(1);
            std::lock_guard lock(m);
            // Wake the publisher when half the window is free (or at the end), not per ack.
            if (--in_flight == window / 2 || in_flight == 0) cv.notify_one();
          });
        }
        std::unique_lock lock(m);
        cv.wait(lock, [&] { return in_flight == 0; });
      });
    for (auto& t : threads)
      t.join();
    cpu += process_cpu_seconds() - cpu0;
    if (failed.load() > 0) state.SkipWithError("publishes failed");
    acked_total += acked.load();
  }
  const auto s = bus.stats();
  const double avg =
      s.transactions ? static_cast<double>(s.events) / static_cast<double>(s.transactions) : 0;
  last_avg_batch.store(avg);
  state.SetItemsProcessed(acked_total);
  state.counters["avg_batch"] = avg;
  state.counters["cpu_us_per_event"] =
      acked_total ? cpu * 1e6 / static_cast<double>(acked_total) : 0;
  state.counters["fsyncs_per_s"] =
      benchmark::Counter(static_cast<double>(s.syncs), benchmark::Counter::kIsRate);
  // The writer thread is the serial part: its CPU per event bounds the rate on any machine.
  state.counters["writer_us_per_event"] =
      s.events ? static_cast<double>(s.writer_cpu_ns) * 1e-3 / static_cast<double>(s.events) : 0;
}
BENCHMARK(BM_SqliteAppendDurable)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);

void check(int rc, sqlite3* db) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
    throw std::runtime_error(sqlite3_errmsg(db));
}

void BM_SqliteRawBatchInsert(benchmark::State& state) {
  temp_dir dir;
  const auto path = (dir.path / "raw.db").string();
  {
    // The same tables and page size as the bus: the topic's 8 partition tables.
    sqlite::sqlite_bus make_schema({.path = path});
    make_schema.partitions("orders");
  }
  sqlite3* db = nullptr;
  check(sqlite3_open(path.c_str(), &db), db);
  check(sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL", nullptr, nullptr,
                     nullptr),
        db);
  const auto batch =
      static_cast<std::size_t>(state.range(0) > 0 ? static_cast<double>(state.range(0))
                                                  : std::max(1.0, last_avg_batch.load()));
  // The same rows the bus writes: encoded envelopes, key, partition, offset.
  constexpr int rows = publishers * per_publisher;
  std::vector<std::string> json(rows), keys(rows);
  std::vector<int> parts(rows);
  for (int i = 0; i < rows; ++i) {
    const auto e = order_event(i);
    json[static_cast<std::size_t>(i)] = encode(e);
    keys[static_cast<std::size_t>(i)] = e.key();
    parts[static_cast<std::size_t>(i)] = partition_for(e.key(), 8);
  }
  std::vector<sqlite3_stmt*> ins(8, nullptr);
  for (int p = 0; p < 8; ++p)
    check(sqlite3_prepare_v2(db,
                             ("INSERT INTO es_log_1_" + std::to_string(p) +
                              "(off, seq, key, envelope) VALUES (?, ?, ?, ?)")
                                 .c_str(),
                             -1, &ins[static_cast<std::size_t>(p)], nullptr),
          db);
  std::vector<std::int64_t> next(8, 0);
  std::int64_t total = 0, txns = 0, seq = 1;
  const double cpu0 = process_cpu_seconds();
  for (auto _ : state) {
    for (std::size_t i = 0; i < rows;) {
      check(sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), db);
      const std::size_t end = std::min<std::size_t>(rows, i + batch);
      for (; i < end; ++i) {
        sqlite3_stmt* s = ins[static_cast<std::size_t>(parts[i])];
        sqlite3_bind_int64(s, 1, next[static_cast<std::size_t>(parts[i])]++);
        sqlite3_bind_int64(s, 2, seq++);
        sqlite3_bind_text(s, 3, keys[i].data(), static_cast<int>(keys[i].size()), SQLITE_STATIC);
        sqlite3_bind_blob(s, 4, json[i].data(), static_cast<int>(json[i].size()), SQLITE_STATIC);
        check(sqlite3_step(s), db);
        sqlite3_reset(s);
      }
      check(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), db);
      ++txns;
    }
    total += rows;
  }
  for (auto* s : ins)
    sqlite3_finalize(s);
  sqlite3_close(db);
  state.SetItemsProcessed(total);
  state.counters["batch"] = static_cast<double>(batch);
  state.counters["cpu_us_per_event"] =
      (process_cpu_seconds() - cpu0) * 1e6 / static_cast<double>(std::max<std::int64_t>(total, 1));
  state.counters["fsyncs_per_s"] =
      benchmark::Counter(static_cast<double>(txns), benchmark::Counter::kIsRate);
}
// Arg 0: the average batch BM_SqliteAppendDurable reached in this run (it runs first).
BENCHMARK(BM_SqliteRawBatchInsert)
    ->Arg(0)
    ->Arg(1000)
    ->Arg(10000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(2.0);

void BM_SqliteConsume(benchmark::State& state) {
  temp_dir dir;
  constexpr int n = 200'000;
  sqlite::bus_options o;
  o.path = (dir.path / "bus.db").string();
  o.max_batch = 2000;
  sqlite::sqlite_bus bus(o);
  {
    std::vector<std::future<publish_receipt>> acks;
    for (int i = 0; i < n; ++i)
      acks.push_back(bus.publish("orders", order_event(i)));
    for (auto& a : acks)
      a.get();
  }
  int round = 0;
  std::int64_t handled_total = 0;
  double cpu = 0;
  for (auto _ : state) {
    const double cpu0 = process_cpu_seconds();
    std::atomic<int> handled{0};
    std::mutex m;
    std::condition_variable cv;
    auto sub = bus.subscribe("orders", "bench-" + std::to_string(round++),
                             [&](const message& msg) {
                               benchmark::DoNotOptimize(msg.event.data.size());
                               if (handled.fetch_add(1) + 1 == n) {
                                 std::lock_guard lock(m);
                                 cv.notify_all();
                               }
                             },
                             {.concurrency = static_cast<int>(state.range(0))});
    {
      std::unique_lock lock(m);
      cv.wait(lock, [&] { return handled.load() >= n; });
    }
    cpu += process_cpu_seconds() - cpu0;
    state.PauseTiming();
    sub.close();
    state.ResumeTiming();
    handled_total += n;
  }
  state.SetItemsProcessed(handled_total);
  state.counters["cpu_us_per_event"] = cpu * 1e6 / static_cast<double>(handled_total);
}
// Arg: members of the one group (dispatch threads sharing its 8 partitions).
BENCHMARK(BM_SqliteConsume)
    ->Arg(1)
    ->Arg(2)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(3);

}  // namespace

BENCHMARK_MAIN();
