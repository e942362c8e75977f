// The in-memory backend in the conformance suite. Feature table: not durable, one process,
// replay within its retention bound.
#include "conformance/bus_conformance.hpp"
#include "eventshop/core/memory_bus.hpp"

namespace eventshop::conformance {
namespace {

bus_backend memory_backend() {
  bus_backend b;
  b.name = "memory";
  b.open = [](const std::string&, const bus_config& c) -> std::unique_ptr<bus> {
    return std::make_unique<memory_bus>(memory_bus_options{
        .partitions = c.partitions, .retention = 100'000, .redelivery_delay = c.redelivery_delay});
  };
  b.features = {.durable = false, .cross_process = false, .replay = true};
  return b;
}

// The same bus with every member on shared dispatch threads (memory_bus_options::
// dispatch_threads): one thread for everything, and two.
bus_backend memory_shared_backend(std::size_t threads) {
  bus_backend b = memory_backend();
  b.name = "memory_shared" + std::to_string(threads);
  b.open = [threads](const std::string&, const bus_config& c) -> std::unique_ptr<bus> {
    return std::make_unique<memory_bus>(memory_bus_options{.partitions = c.partitions,
                                                           .retention = 100'000,
                                                           .redelivery_delay = c.redelivery_delay,
                                                           .dispatch_threads = threads});
  };
  return b;
}

INSTANTIATE_TEST_SUITE_P(memory, bus_conformance,
                         testing::Values(memory_backend(), memory_shared_backend(1),
                                         memory_shared_backend(2)),
                         backend_name);

}  // namespace
}  // namespace eventshop::conformance
