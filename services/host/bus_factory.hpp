// services/host/bus_factory.hpp - the bus a service program runs on, from its options:
//   memory  eventshop::memory_bus (one process only; nothing survives a restart)
//   sqlite  eventshop::sqlite::sqlite_bus on <data-dir>/eventshop-bus.db (created with the
//           directory; shared by every service process on the machine)
//   kafka   eventshop::kafka::kafka_bus on --brokers
// Throws eventshop::error / std::invalid_argument naming the problem (e.g. a backend that was
// not built, a data directory that cannot be created).
#pragma once

#include <memory>

#include "eventshop/core/bus.hpp"
#include "host/options.hpp"

namespace eventshop::services {

std::unique_ptr<bus> make_bus(const run_options& options);

}  // namespace eventshop::services
