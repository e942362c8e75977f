// bench_saga: transitions per second of the order saga on the in-memory store.
//
// BM_SagaTransitions feeds pre-built catalog envelopes (OrderCreated, InventoryConfirmed,
// PaymentCompleted, NotificationSent, Shipped per order - five transitions plus the join) to
// order_saga::handle(); items_per_second counts transitions fired. BM_SagaTransitionsShuffled does
// the same with each order's events delivered in reverse order (held, then applied in causal
// order) - the worst case for out-of-order handling. Target (issue 5): >= 1,000,000 transitions/s
// on one core.
#include <benchmark/benchmark.h>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <vector>

#include "eventshop/core/clock.hpp"
#include "eventshop/core/registry.hpp"
#include "eventshop/ecommerce/events.hpp"
#include "eventshop/saga/order_saga.hpp"
#ifdef EVENTSHOP_SAGA_HAVE_SQLITE
#include "eventshop/saga/sqlite_store.hpp"
#endif
#include "eventshop/saga/store.hpp"
#include "eventshop/saga/tracker.hpp"

namespace es = eventshop;
namespace ec = eventshop::ecommerce;

namespace {

constexpr int orders_per_pool = 20'000;

std::vector<es::envelope> make_pool(const es::clock& clk, bool reversed) {
  std::vector<es::envelope> pool;
  pool.reserve(orders_per_pool * 5);
  for (int i = 0; i < orders_per_pool; ++i) {
    const std::string id = "order-" + std::to_string(i);
    const es::event_options o{"/eventshop/bench", id, &clk};
    std::vector<es::envelope> one;
    one.push_back(es::make_event(ec::OrderCreated{.order_id = id,
                                                  .customer_id = "c",
                                                  .total = {5998},
                                                  .product_id = "product-1",
                                                  .quantity = 2},
                                 o));
    one.push_back(es::make_event(ec::InventoryConfirmed{.order_id = id, .reservation_id = "r"}, o));
    one.push_back(es::make_event(
        ec::PaymentCompleted{.order_id = id, .payment_id = "p", .amount = {5998}}, o));
    one.push_back(es::make_event(
        ec::NotificationSent{.order_id = id, .kind = "order_confirmed", .message = "confirmed"},
        o));
    one.push_back(es::make_event(
        ec::Shipped{.order_id = id, .tracking_number = "TRK0123ABCD", .carrier = "UPS"}, o));
    if (reversed) std::reverse(one.begin(), one.end());
    for (auto& e : one)
      pool.push_back(std::move(e));
  }
  return pool;
}

std::unique_ptr<es::saga::saga_store> make_store(bool sqlite) {
#ifdef EVENTSHOP_SAGA_HAVE_SQLITE
  if (sqlite) {
    const auto path = std::filesystem::temp_directory_path() /
                      ("eventshop-bench-saga-" + std::to_string(::getpid()) + ".db");
    std::filesystem::remove(path);
    std::filesystem::remove(path.string() + "-wal");
    return std::make_unique<es::saga::sqlite_saga_store>(
        es::saga::sqlite_saga_store_options{path.string()});
  }
#else
  (void)sqlite;
#endif
  return std::make_unique<es::saga::memory_saga_store>();
}

void run(benchmark::State& state, bool reversed, bool sqlite = false) {
  es::manual_clock clk;
  const auto pool = make_pool(clk, reversed);
  auto store = make_store(sqlite);
  auto saga = std::make_unique<es::saga::order_saga>(*store, clk);
  std::size_t next = 0;
  std::int64_t transitions = 0;
  std::int64_t events = 0;
  for (auto _ : state) {
    if (next == pool.size()) {
      state.PauseTiming();
      saga.reset();
      store.reset();
      store = make_store(sqlite);
      saga = std::make_unique<es::saga::order_saga>(*store, clk);
      next = 0;
      state.ResumeTiming();
    }
    const auto r = saga->handle(pool[next++]);
    benchmark::DoNotOptimize(r.status);
    ++events;
    transitions += static_cast<std::int64_t>(r.transitions);
  }
  // items_per_second = transitions/s (the figure); events/s as a counter.
  state.SetItemsProcessed(transitions);
  state.counters["events_per_second"] =
      benchmark::Counter(static_cast<double>(events), benchmark::Counter::kIsRate);
}

}  // namespace

static void BM_SagaTransitions(benchmark::State& state) {
  run(state, false);
}
BENCHMARK(BM_SagaTransitions);

static void BM_SagaTransitionsReversed(benchmark::State& state) {
  run(state, true);
}
BENCHMARK(BM_SagaTransitionsReversed);

#ifdef EVENTSHOP_SAGA_HAVE_SQLITE
// The same on the SQLite store (WAL, synchronous=NORMAL, a file in the temp directory): one
// upsert per event. Shows the cost of durability; no target.
static void BM_SagaTransitionsSqlite(benchmark::State& state) {
  run(state, false, true);
}
BENCHMARK(BM_SagaTransitionsSqlite);
#endif

BENCHMARK_MAIN();
