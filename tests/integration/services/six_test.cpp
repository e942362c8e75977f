// The system as six processes (eventshop-<name>-service) on one machine: on SQLite (one shared
// bus file) and on Kafka (eventshop-devbroker, librdkafka's mock cluster). Orders created over
// HTTP reach `shipped` with the full timeline; an over-limit order is compensated.
#include <gtest/gtest.h>

#include <set>

#include "harness.hpp"

using namespace e2e;
namespace fs = std::filesystem;

namespace {

const char* const names[] = {"order", "inventory", "payment", "notification", "shipping", "status"};

class six {
 public:
  six(const std::string& bus, const fs::path& dir, const std::string& brokers = {}) {
    std::mt19937 rng(std::random_device{}());
    for (int attempt = 0; attempt < 5; ++attempt) {
      // Below the ephemeral range (32768+); 60 bases x 10 apart, retried on a port clash.
      base_ = 20000 + 6000 + static_cast<int>(rng() % 600) * 10;
      if (start(bus, dir, brokers)) return;
      procs_.clear();
    }
    throw std::runtime_error("the six services did not become ready; logs in " + dir.string());
  }
  int port(int i) const { return base_ + i; }

 private:
  bool start(const std::string& bus, const fs::path& dir, const std::string& brokers) {
    for (int i = 0; i < 6; ++i) {
      std::vector<std::string> argv = {
          std::string(EVENTSHOP_SERVICES_BIN_DIR) + "/eventshop-" + names[i] + "-service",
          "--bus",
          bus,
          "--data-dir",
          dir.string(),
          "--port",
          std::to_string(base_ + i)};
      if (!brokers.empty()) argv.insert(argv.end(), {"--brokers", brokers});
      procs_.push_back(
          std::make_unique<process>(argv, (dir / (std::string(names[i]) + ".log")).string()));
    }
    for (int i = 0; i < 6; ++i)
      if (!eventually(
              [&] {
                return !procs_[static_cast<std::size_t>(i)]->running() ||
                       request(base_ + i, "GET", "/ready").status == 200;
              },
              90s) ||
          !procs_[static_cast<std::size_t>(i)]->running())
        return false;
    return true;
  }

  int base_ = 0;
  std::vector<std::unique_ptr<process>> procs_;
};

std::string status_of(const six& s, const std::string& id) {
  const auto r = request(s.port(5), "GET", "/v1/orders/" + id);
  return r.status == 200 ? std::string(r.json().root()["status"].as_string()) : "";
}

void run_saga(const six& s) {
  std::vector<std::string> ids;
  for (int i = 0; i < 10; ++i) {
    const auto r =
        request(s.port(0), "POST", "/order", R"({"product_id":"product-2","quantity":1})");
    ASSERT_EQ(r.status, 201) << r.body;
    ids.emplace_back(r.json().root()["order_id"].as_string());
  }
  const auto over =
      request(s.port(0), "POST", "/order", R"({"product_id":"product-3","quantity":21})");
  ASSERT_EQ(over.status, 201);
  const std::string over_id(over.json().root()["order_id"].as_string());
  ASSERT_TRUE(eventually(
      [&] {
        for (const auto& id : ids)
          if (status_of(s, id) != "shipped") return false;
        return status_of(s, over_id) == "payment_failed";
      },
      90s));
  // `shipped` may overtake the NotificationSent of the same order (another topic, consumed
  // independently; the status stays monotonic): wait for the full timeline.
  std::set<std::string> types;
  const bool full = eventually(
      [&] {
        const auto order = request(s.port(5), "GET", "/status/" + ids.front()).json();
        types.clear();
        for (std::size_t i = 0; i < order.root()["events"].size(); ++i)
          types.insert(std::string(order.root()["events"].at(i)["event_type"].as_string()));
        return types.size() >= 5;
      },
      30s);
  EXPECT_TRUE(full);
  for (auto t :
       {"OrderCreated", "InventoryConfirmed", "PaymentCompleted", "NotificationSent", "Shipped"})
    EXPECT_TRUE(types.contains(t)) << t;
  ASSERT_TRUE(eventually(
      [&] {
        const auto inv = request(s.port(1), "GET", "/inventory");
        return inv.status == 200 && inv.json().root()["inventory"]["product-2"].as_int64() == 40 &&
               inv.json().root()["inventory"]["product-3"].as_int64() == 25;
      },
      30s));
  EXPECT_EQ(request(s.port(4), "GET", "/shipments").json().root()["shipments"].size(), 10u);
}

fs::path fresh(const std::string& name) {
  const auto p =
      fs::temp_directory_path() / ("eventshop-six-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

}  // namespace

TEST(SixProcesses, SqliteOrdersReachShipped) {
  const auto dir = fresh("sqlite");
  {
    six s("sqlite", dir);
    run_saga(s);
  }
  if (!testing::Test::HasFailure()) fs::remove_all(dir);
}

TEST(SixProcesses, KafkaDevBrokerOrdersReachShipped) {
  if (std::string(EVENTSHOP_DEVBROKER_BIN).empty())
    GTEST_SKIP() << "no Kafka backend in this build";
  const auto dir = fresh("kafka");
  {
    process broker({EVENTSHOP_DEVBROKER_BIN, "--partitions", "4", "--bootstrap-file",
                    (dir / "bootstrap").string()},
                   (dir / "devbroker.log").string());
    ASSERT_TRUE(eventually(
        [&] { return fs::exists(dir / "bootstrap") && fs::file_size(dir / "bootstrap") > 0; },
        30s));
    std::ifstream in(dir / "bootstrap");
    std::string brokers;
    std::getline(in, brokers);
    six s("kafka", dir, brokers);
    run_saga(s);
  }
  if (!testing::Test::HasFailure()) fs::remove_all(dir);
}
