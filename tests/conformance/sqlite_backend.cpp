// The SQLite backend in the conformance suite. Feature table: durable, cross-process, replay.
// Each storage id is a fresh database file in a per-process temporary directory, removed at exit.
#include <unistd.h>

#include <atomic>
#include <filesystem>

#include "conformance/bus_conformance.hpp"
#include "eventshop/sqlite/sqlite_bus.hpp"

namespace eventshop::conformance {
namespace {

namespace fs = std::filesystem;

struct temp_root {
  fs::path dir;
  temp_root() {
    dir = fs::temp_directory_path() / ("eventshop-conf-sqlite-" + std::to_string(::getpid()));
    fs::create_directories(dir);
  }
  ~temp_root() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

const fs::path& root() {
  static temp_root r;
  return r.dir;
}

bus_backend sqlite_backend() {
  bus_backend b;
  b.name = "sqlite";
  b.make_storage_id = [] {
    static std::atomic<int> n{0};
    return (root() / ("bus-" + std::to_string(n.fetch_add(1)) + ".db")).string();
  };
  b.open = [](const std::string& path, const bus_config& c) -> std::unique_ptr<bus> {
    sqlite::bus_options o;
    o.path = path;
    o.partitions = c.partitions;
    o.redelivery_delay = c.redelivery_delay;
    return std::make_unique<sqlite::sqlite_bus>(o);
  };
  b.features = {.durable = true, .cross_process = true, .replay = true};
  return b;
}

INSTANTIATE_TEST_SUITE_P(sqlite, bus_conformance, testing::Values(sqlite_backend()), backend_name);
INSTANTIATE_TEST_SUITE_P(sqlite, durable_bus_conformance, testing::Values(sqlite_backend()),
                         backend_name);

}  // namespace
}  // namespace eventshop::conformance
