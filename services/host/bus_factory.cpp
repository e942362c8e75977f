#include "host/bus_factory.hpp"

#include <filesystem>
#include <stdexcept>

#include "eventshop/core/error.hpp"
#include "eventshop/core/memory_bus.hpp"
#ifdef EVENTSHOP_SERVICES_WITH_SQLITE
#include "eventshop/sqlite/sqlite_bus.hpp"
#endif
#ifdef EVENTSHOP_SERVICES_WITH_KAFKA
#include "eventshop/kafka/kafka_bus.hpp"
#endif

namespace eventshop::services {

std::unique_ptr<bus> make_bus(const run_options& o) {
  if (o.bus == "memory") {
    memory_bus_options mo;
    mo.dispatch_threads = o.dispatch_threads;
    return std::make_unique<memory_bus>(mo);
  }
  if (o.bus == "sqlite") {
#ifdef EVENTSHOP_SERVICES_WITH_SQLITE
    std::error_code ec;
    std::filesystem::create_directories(o.data_dir, ec);
    if (ec)
      throw error(errc::io_error,
                  "cannot create data directory '" + o.data_dir + "': " + ec.message());
    sqlite::bus_options bo;
    bo.path = (std::filesystem::path(o.data_dir) / "eventshop-bus.db").string();
    // Every queued publish goes into the writer's next transaction together with the offset
    // commits queued after it: what service_env::ordered_handler_acks relies on.
    bo.max_commit_batch = bo.max_pending;
    return std::make_unique<sqlite::sqlite_bus>(bo);
#else
    throw std::invalid_argument("--bus sqlite: this build has no SQLite backend");
#endif
  }
  if (o.bus == "kafka") {
#ifdef EVENTSHOP_SERVICES_WITH_KAFKA
    kafka::kafka_options ko;
    ko.bootstrap_servers = o.brokers;
    ko.client_id = "eventshop-services";
    return std::make_unique<kafka::kafka_bus>(ko);
#else
    throw std::invalid_argument("--bus kafka: this build has no Kafka backend");
#endif
  }
  throw std::invalid_argument("--bus: unknown bus '" + o.bus + "'");
}

}  // namespace eventshop::services
