// eventshop::client against eventshop-ecommerce: create, follow over the WebSocket, cancel,
// inventory, restock, shipments, and errors as api_error.
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>

#include "eventshop/client/client.hpp"
#include "eventshop/core/error.hpp"
#include "harness.hpp"

using namespace eventshop::client;
namespace fs = std::filesystem;

namespace {
class ClientTest : public testing::Test {
 protected:
  fs::path dir_ = fs::temp_directory_path() / ("eventshop-client-" + std::to_string(::getpid()));
  std::unique_ptr<e2e::shop> shop_;
  std::unique_ptr<shop_client> client_;
  void SetUp() override {
    fs::remove_all(dir_);
    shop_ = std::make_unique<e2e::shop>("memory", dir_,
                                        std::vector<std::string>{"--step-delay-ms", "100"});
    client_ = std::make_unique<shop_client>(client_options{.base_port = shop_->order()});
  }
  void TearDown() override {
    client_.reset();
    shop_.reset();
    fs::remove_all(dir_);
  }
};
}  // namespace

TEST_F(ClientTest, CreatesAndFollowsAnOrderToShipped) {
  const auto order = client_->create_order({{"product-1", 2}}, "c-1");
  EXPECT_EQ(order.status, "created");
  EXPECT_EQ(order.total_cents, 5998);
  std::mutex m;
  std::condition_variable cv;
  std::vector<std::string> statuses;
  auto sub = client_->subscribe_order(order.order_id, [&](const order_info& o) {
    std::lock_guard lock(m);
    statuses.push_back(o.status);
    cv.notify_all();
  });
  {
    std::unique_lock lock(m);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(20),
                            [&] { return !statuses.empty() && statuses.back() == "shipped"; }));
  }
  sub.close();
  const auto done = client_->get_order(order.order_id);
  EXPECT_EQ(done.status, "shipped");
  EXPECT_EQ(done.tracking_number.substr(0, 3), "TRK");
  ASSERT_TRUE(done.payment_amount_cents);
  EXPECT_EQ(*done.payment_amount_cents, 5998);
  EXPECT_EQ(client_->inventory().at("product-1"), 98);
  EXPECT_EQ(client_->shipments().size(), 1u);
}

TEST_F(ClientTest, CancelRestockAndErrors) {
  const auto id = client_->create_seed_order("product-2", 1);
  client_->cancel_order(id, "changed my mind");
  ASSERT_TRUE(e2e::eventually([&] { return client_->get_order(id).status == "cancelled"; },
                              std::chrono::seconds(20)));
  EXPECT_EQ(client_->restock("product-3", 5), 30);
  try {
    client_->create_order({{"product-1", 0}});
    FAIL() << "accepted";
  } catch (const api_error& e) {
    EXPECT_EQ(e.status(), 400);
    EXPECT_EQ(e.field(), "items[0].quantity");
  }
  try {
    client_->get_order("nope");
    FAIL() << "accepted";
  } catch (const api_error& e) {
    EXPECT_EQ(e.status(), 404);
  }
  EXPECT_THROW(shop_client(client_options{.base_port = 0}), eventshop::error);
}
