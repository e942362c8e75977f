// BM_OrderPipeline: the six reference services wired in one process on one bus, orders injected
// through the order service's own API (no HTTP); items = orders that reached `shipped`.
//   BM_OrderPipeline/memory   the in-memory bus (a dispatch thread per subscription, as the
//                             services' programs run it)
//   BM_OrderPipeline/memory_shared  the in-memory bus with one dispatch thread for all
//                             subscriptions (memory_bus_options::dispatch_threads = 1)
//   BM_OrderPipeline/sqlite   the durable SQLite bus (synchronous=FULL), in a temp directory
// Producers: threads calling order_service::create concurrently (each waits for its OrderCreated
// to be acknowledged): 2 on memory (one per core), 512 on SQLite so that they share group commits
// (an fsync there takes 5-40 ms on the shared VM: intake = producers / commit time). Worker
// subscriptions have 1 dispatch thread each: on SQLite handlers do not wait for their outputs'
// fsync (service_env::ordered_handler_acks), so more threads would only add connections.
// Args: memory: orders per iteration, shared dispatch threads (0 = one per subscription);
// sqlite: orders per iteration, dispatch threads per worker subscription, producers.
#include <benchmark/benchmark.h>
#include <malloc.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <mutex>
#include <thread>
#include <vector>

#include "eventshop/core/logging.hpp"
#include "eventshop/core/memory_bus.hpp"
#include "system/system.hpp"
#ifdef EVENTSHOP_BENCH_SQLITE
#include "eventshop/sqlite/sqlite_bus.hpp"
#endif

namespace es = eventshop;
using namespace eventshop::services;

namespace {

double process_cpu_seconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Bytes of the heap in use (malloc's view: small chunks in the arenas plus mmapped blocks).
double heap_bytes_in_use() {
  const struct mallinfo2 mi = ::mallinfo2();
  return static_cast<double>(mi.uordblks + mi.hblkhd);
}

// Resident set size of the process in bytes.
double resident_bytes() {
  long pages = 0;
  long resident = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return static_cast<double>(resident) * static_cast<double>(::sysconf(_SC_PAGESIZE));
}

void run_pipeline(benchmark::State& state, es::bus& bus, int concurrency, int producers,
                  bool ordered_acks = false) {
  es::metrics_registry metrics;
  system_config cfg;
  // Enough stock and a price under the payment limit: every order ships.
  cfg.products = catalog({{"product-1", "Premium Widget", es::money{2999}, 1'000'000'000, 0}});
  cfg.order.saga_timeout = std::chrono::milliseconds(0);
  ecommerce_system sys({.bus = &bus,
                        .metrics = &metrics,
                        .concurrency = concurrency,
                        .ordered_handler_acks = ordered_acks},
                       cfg);
  std::mutex mutex;
  std::condition_variable cv;
  std::atomic<std::int64_t> shipped{0};
  sys.start();
  // Counts Shipped events as one more consumer group of the `shipping` topic.
  auto counter = bus.subscribe("shipping", "bench-counter", [&](const es::message& m) {
    if (m.event.type == "Shipped" && shipped.fetch_add(1) % 256 == 255) cv.notify_all();
  });
  const int per_iteration = static_cast<int>(state.range(0));
  // The producer threads live across iterations (creating 512 threads per iteration cost ~7 %
  // of the SQLite variant's CPU, none of it the system's): each iteration raises `limit`, and
  // every producer creates orders while it can claim an index below it.
  std::atomic<std::int64_t> next{0};
  std::atomic<std::int64_t> limit{0};
  std::atomic<bool> done{false};
  std::mutex round_mutex;
  std::condition_variable round_cv;
  std::vector<std::thread> threads;
  for (int t = 0; t < producers; ++t)
    threads.emplace_back([&] {
      const order::order_request r{"bench", {{"product-1", 1}}};
      for (;;) {
        std::int64_t i = next.load();
        if (i < limit.load()) {
          if (next.compare_exchange_weak(i, i + 1)) (void)sys.order().create(r);
          continue;
        }
        std::unique_lock lock(round_mutex);
        round_cv.wait(lock, [&] { return done.load() || next.load() < limit.load(); });
        if (done.load()) return;
      }
    });
  std::int64_t target = 0;
  const double heap0 = heap_bytes_in_use();
  const double rss0 = resident_bytes();
  const double cpu0 = process_cpu_seconds();
  for (auto _ : state) {
    target += per_iteration;
    {
      std::lock_guard lock(round_mutex);
      limit.store(target);
    }
    round_cv.notify_all();
    std::unique_lock lock(mutex);
    while (shipped.load() < target)
      cv.wait_for(lock, std::chrono::milliseconds(2));
  }
  {
    std::lock_guard lock(round_mutex);
    done.store(true);
  }
  round_cv.notify_all();
  for (auto& th : threads)
    th.join();
  state.SetItemsProcessed(shipped.load());
  const double orders = static_cast<double>(std::max<std::int64_t>(1, shipped.load()));
  // State kept per order (services and the bus's retained events): every fresh byte costs page
  // faults and zeroing on this VM. heap = malloc's bytes in use; rss = the process's growth.
  state.counters["heap_bytes_per_order"] = (heap_bytes_in_use() - heap0) / orders;
  state.counters["rss_bytes_per_order"] = (resident_bytes() - rss0) / orders;
  // CPU time of the whole process per shipped order: comparable across runs on a shared machine,
  // where orders/s depends on what else runs.
  state.counters["cpu_us_per_order"] =
      (process_cpu_seconds() - cpu0) * 1e6 /
      static_cast<double>(std::max<std::int64_t>(1, shipped.load()));
  // Outside the measurement: let the read model and the notification service finish the last
  // orders' events before stopping, so that a whole run (callgrind, allocation counts) always
  // covers every event of every order, however far those consumers lagged at the end.
  namespace topics = es::ecommerce::topics;
  (void)wait_caught_up(bus, {std::begin(topics::all), std::end(topics::all)}, sys.status().group(),
                       std::chrono::seconds(120));
  (void)wait_caught_up(bus, {topics::orders, topics::inventory, topics::payment, topics::shipping},
                       "notification", std::chrono::seconds(120));
  counter.close();
  sys.stop();
}

void BM_OrderPipeline_memory(benchmark::State& state) {
  es::memory_bus bus({.partitions = 8,
                      .retention = 1'000'000,
                      .dispatch_threads = static_cast<std::size_t>(state.range(1))});
  run_pipeline(state, bus, 1, 2);
  bus.close();
}

#ifdef EVENTSHOP_BENCH_SQLITE
void BM_OrderPipeline_sqlite(benchmark::State& state) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("eventshop-bench-pipeline-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  {
    es::sqlite::bus_options o;
    o.path = (dir / "bus.db").string();
    o.max_commit_batch = o.max_pending;  // as services/host/bus_factory.cpp: ordered acks
    es::sqlite::sqlite_bus bus(o);
    const auto t0 = std::chrono::steady_clock::now();
    run_pipeline(state, bus, static_cast<int>(state.range(1)), static_cast<int>(state.range(2)),
                 true);
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const auto st = bus.stats();
    state.counters["commits_per_s"] = static_cast<double>(st.transactions) / secs;
    state.counters["events_per_commit"] =
        static_cast<double>(st.events) /
        static_cast<double>(std::max<std::int64_t>(1, st.transactions));
    bus.close();
  }
  std::filesystem::remove_all(dir);
}
#endif

}  // namespace

BENCHMARK(BM_OrderPipeline_memory)
    ->Name("BM_OrderPipeline/memory")
    ->Args({20'000, 0})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond)
    ->MinTime(2.0);
// The same with every subscription on one shared dispatch thread
// (memory_bus_options::dispatch_threads = 1): no thread hand-offs inside the saga.
BENCHMARK(BM_OrderPipeline_memory)
    ->Name("BM_OrderPipeline/memory_shared")
    ->Args({20'000, 1})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond)
    ->MinTime(2.0);
#ifdef EVENTSHOP_BENCH_SQLITE
BENCHMARK(BM_OrderPipeline_sqlite)
    ->Name("BM_OrderPipeline/sqlite")
    ->Args({10'000, 1, 512})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond)
    ->MinTime(2.0);
#endif

int main(int argc, char** argv) {
  tune_allocator();  // as every service program does (services/host/run.cpp)
  es::set_log_sink([](std::string_view) {});  // no log lines in the measurement
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
