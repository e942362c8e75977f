// eventshop-saga-inspect lists the in-flight and stuck sagas of a SQLite store.
#include <gtest/gtest.h>
#include <unistd.h>

#include <sys/wait.h>
#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>

#include "eventshop/core/clock.hpp"
#include "eventshop/ecommerce/events.hpp"
#include "eventshop/saga/order_saga.hpp"
#include "eventshop/saga/sqlite_store.hpp"

namespace es = eventshop;
namespace ec = eventshop::ecommerce;
namespace sg = eventshop::saga;
namespace fs = std::filesystem;

namespace {

struct run_result {
  int code = -1;
  std::string out;
};

run_result run(const std::string& args) {
  run_result r;
  const std::string cmd = std::string(EVENTSHOP_SAGA_INSPECT_TOOL) + " " + args + " 2>/dev/null";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  std::array<char, 4096> buf{};
  std::size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0)
    r.out.append(buf.data(), n);
  const int status = ::pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::size_t lines(const std::string& s) {
  return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n'));
}

}  // namespace

TEST(saga_inspect, lists_in_flight_and_stuck_sagas) {
  const auto path =
      (fs::temp_directory_path() / ("eventshop-saga-inspect-" + std::to_string(::getpid()) + ".db"))
          .string();
  for (const auto& s : {path, path + "-wal", path + "-shm"})
    fs::remove(s);
  {
    // Sagas started in 2000 by a manual clock: their deadlines have passed in real time.
    es::manual_clock clk(es::timestamp{std::chrono::seconds{946'684'800}});
    sg::sqlite_saga_store store({path});
    sg::order_saga saga(store, clk);
    for (const char* id : {"o1", "o2", "o3"})
      saga.handle(es::make_event(ec::OrderCreated{.order_id = id}, {"/t", id, &clk}));
    saga.handle(es::make_event(ec::InventoryRejected{.order_id = "o3"}, {"/t", "o3", &clk}));
  }
  auto r = run("--db " + path + " --json");
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(lines(r.out), 2U) << r.out;  // o3 is terminal
  EXPECT_NE(r.out.find(R"("key":"o1","state":"reserving")"), std::string::npos) << r.out;
  r = run("--db " + path + " --stuck --json");
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(lines(r.out), 2U);
  EXPECT_NE(r.out.find(R"("overdue":true)"), std::string::npos) << r.out;
  r = run("--db " + path + " --limit 1");
  EXPECT_EQ(lines(r.out), 1U);
  EXPECT_EQ(run("--bogus").code, 2);
  EXPECT_EQ(run("").code, 2);
  for (const auto& s : {path, path + "-wal", path + "-shm"})
    fs::remove(s);
}
