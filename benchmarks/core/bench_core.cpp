// Core benchmarks: envelope encode/decode and in-memory bus throughput.
//   BM_EnvelopeEncode  - an OrderCreated with two items, structured JSON, one core
//   BM_EnvelopeDecode  - the same bytes back into an envelope (strict validation included)
//   BM_OrderCreatedDecode - envelope + typed payload decode (what a typed handler pays)
//   BM_MemoryBusThroughput - one publisher thread, one group with one handler; items = events
//                            delivered to the handler
#include <benchmark/benchmark.h>

#include <atomic>
#include <condition_variable>
#include <mutex>

#include "eventshop/core/codec.hpp"
#include "eventshop/core/memory_bus.hpp"
#include "eventshop/core/registry.hpp"
#include "eventshop/ecommerce/events.hpp"

namespace {

using namespace eventshop;
using namespace eventshop::ecommerce;

envelope order_created(int i = 0) {
  const std::string id = "order-" + std::to_string(i);
  OrderCreated oc{id,
                  "customer-42",
                  {{"product-1", 2, money{2999}}, {"product-2", 1, money{4999}}},
                  money{10997},
                  "USD",
                  "product-1",
                  2};
  return make_event(oc, {.source = "/eventshop/order", .subject = id});
}

void BM_EnvelopeEncode(benchmark::State& state) {
  const envelope e = order_created();
  std::string out;
  out.reserve(1024);
  for (auto _ : state) {
    out.clear();
    encode_to(out, e);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(out.size()));
  state.counters["envelope_bytes"] = static_cast<double>(out.size());
}
BENCHMARK(BM_EnvelopeEncode);

void BM_EnvelopeDecode(benchmark::State& state) {
  const std::string text = encode(order_created());
  envelope e;
  std::string message;
  for (auto _ : state) {
    const auto ec = decode(text, e, message);
    benchmark::DoNotOptimize(ec);
    benchmark::DoNotOptimize(e.data.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(text.size()));
}
BENCHMARK(BM_EnvelopeDecode);

void BM_OrderCreatedDecode(benchmark::State& state) {
  const std::string text = encode(order_created());
  for (auto _ : state) {
    const envelope e = decode(text);
    const OrderCreated oc = decode_event<OrderCreated>(e);
    benchmark::DoNotOptimize(oc.total.cents);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_OrderCreatedDecode);

// Events are built before the timed region in batches (building one costs more than moving it
// through the bus: an id, a timestamp and a JSON payload), so the figure is the bus's own.
void BM_MemoryBusThroughput(benchmark::State& state) {
  constexpr int batch = 20'000;
  memory_bus bus({.partitions = 8, .retention = 16'384, .max_batch = 1024});
  std::atomic<std::int64_t> delivered{0};
  std::mutex mutex;
  std::condition_variable cv;
  std::int64_t target = 0;
  auto sub = bus.subscribe("bench", "g", [&](const message&) {
    if (delivered.fetch_add(1, std::memory_order_relaxed) + 1 == target) {
      std::lock_guard lock(mutex);
      cv.notify_one();
    }
  });
  std::vector<envelope> prepared;
  prepared.reserve(batch);
  const envelope proto = order_created();
  for (auto _ : state) {
    state.PauseTiming();
    prepared.clear();
    for (int i = 0; i < batch; ++i) {
      envelope e = proto;
      e.subject = "order-" + std::to_string(i % 1000);
      prepared.push_back(std::move(e));
    }
    {
      std::lock_guard lock(mutex);
      target = delivered.load() + batch;
    }
    state.ResumeTiming();
    for (auto& e : prepared)
      bus.publish("bench", std::move(e), nullptr);
    std::unique_lock lock(mutex);
    cv.wait(lock, [&] { return delivered.load() >= target; });
  }
  state.SetItemsProcessed(state.iterations() * batch);
  bus.close(std::chrono::seconds(5));
}
BENCHMARK(BM_MemoryBusThroughput)->UseRealTime()->MinTime(2.0);

}  // namespace

BENCHMARK_MAIN();
