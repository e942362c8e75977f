// End to end: eventshop-ecommerce as a real process on real sockets, on the memory and SQLite
// buses - orders reach shipped with the full timeline, seed and v1 WebSocket clients see every
// status change, no oversell under 200 concurrent orders, compensation, cancellation, a table of
// bad requests, and (SQLite) a kill -9 in the middle of a load.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>

#include "harness.hpp"

using namespace e2e;
namespace fs = std::filesystem;

namespace {

fs::path fresh_dir(const std::string& name) {
  const auto p =
      fs::temp_directory_path() / ("eventshop-e2e-" + name + "-" + std::to_string(::getpid()) +
                                   "-" + std::to_string(std::random_device{}()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

std::string order_status(const shop& s, const std::string& id) {
  const auto r = request(s.status(), "GET", "/v1/orders/" + id);
  if (r.status != 200) return "";
  return std::string(r.json().root()["status"].as_string());
}

bool terminal(const std::string& st) {
  return st == "shipped" || st == "inventory_rejected" || st == "payment_failed" ||
         st == "cancelled";
}

int stock_of(const shop& s, const std::string& product) {
  const auto r = request(s.inventory(), "GET", "/inventory");
  return static_cast<int>(r.json().root()["inventory"][product].as_int64());
}

std::string create_seed(const shop& s, const std::string& product, int qty) {
  const auto r =
      request(s.order(), "POST", "/order",
              R"({"product_id":")" + product + R"(","quantity":)" + std::to_string(qty) + "}");
  if (r.status != 201) return "";
  return std::string(r.json().root()["order_id"].as_string());
}

int rank(const std::string& st) {
  const char* order[] = {"created", "inventory_confirmed", "payment_completed", "notification_sent",
                         "shipped"};
  for (int i = 0; i < 5; ++i)
    if (st == order[i]) return i;
  return 10;
}

class E2E : public testing::TestWithParam<std::string> {
 protected:
  fs::path dir_ = fresh_dir(GetParam());
  void TearDown() override {
    if (!HasFailure()) fs::remove_all(dir_);
  }
};

}  // namespace

TEST_P(E2E, OrdersReachShippedAndWebSocketClientsSeeEveryChange) {
  shop s(GetParam(), dir_, {"--step-delay-ms", "150"});
  const std::string id = create_seed(s, "product-1", 2);
  ASSERT_FALSE(id.empty());

  ws_client seed(s.status(), "/ws/" + id);
  ws_client v1(s.status(), "/v1/ws");
  v1.send(R"({"op":"subscribe","channel":"order:)" + id + R"("})");

  // Seed client: bare Order frames, the current one first, then one per change.
  std::vector<std::string> seen;
  while (seen.empty() || seen.back() != "shipped") {
    auto frame = seed.read(10s);
    ASSERT_TRUE(frame) << "seed WebSocket stopped after " << seen.size() << " frames";
    eventshop::json_document doc(*frame);
    ASSERT_EQ(doc.root()["order_id"].as_string(), id);
    const std::string st(doc.root()["status"].as_string());
    if (seen.empty() || seen.back() != st) seen.push_back(st);
  }
  for (std::size_t i = 1; i < seen.size(); ++i)
    EXPECT_LT(rank(seen[i - 1]), rank(seen[i]));
  EXPECT_GE(seen.size(), 3u);  // the step delay makes the intermediate states visible

  // v1 client: subscribed, then snapshot/updates until shipped, offsets increasing.
  bool subscribed = false, shipped = false;
  std::int64_t last_offset = -1;
  while (!shipped) {
    auto frame = v1.read(10s);
    ASSERT_TRUE(frame) << "v1 WebSocket stopped";
    eventshop::json_document doc(*frame);
    const std::string type(doc.root()["type"].as_string());
    if (type == "subscribed") {
      subscribed = true;
      EXPECT_EQ(doc.root()["channel"].as_string(), "order:" + id);
      continue;
    }
    ASSERT_TRUE(type == "snapshot" || type == "update") << *frame;
    if (type == "update") {
      const auto off = doc.root()["offset"].as_int64();
      EXPECT_GT(off, last_offset);
      last_offset = off;
    }
    const auto data = doc.root()["data"];
    if (data.is_object() && data["status"].is_string() && data["status"].as_string() == "shipped")
      shipped = true;
  }
  EXPECT_TRUE(subscribed);

  // The seed Order: shipped may overtake NotificationSent, so wait for the full timeline.
  const std::vector<std::string> want = {"OrderCreated", "InventoryConfirmed", "PaymentCompleted",
                                         "NotificationSent", "Shipped"};
  reply seed_order;
  ASSERT_TRUE(eventually(
      [&] {
        seed_order = request(s.status(), "GET", "/status/" + id);
        if (seed_order.status != 200) return false;
        const auto doc = seed_order.json();
        std::set<std::string> types;
        for (std::size_t i = 0; i < doc.root()["events"].size(); ++i)
          types.insert(std::string(doc.root()["events"].at(i)["event_type"].as_string()));
        for (const auto& t : want)
          if (!types.contains(t)) return false;
        return true;
      },
      10s))
      << seed_order.body;
  const auto so = seed_order.json();
  EXPECT_EQ(so.root()["status"].as_string(), "shipped");
  EXPECT_EQ(so.root()["product_id"].as_string(), "product-1");
  EXPECT_EQ(so.root()["quantity"].as_int64(), 2);
  EXPECT_DOUBLE_EQ(so.root()["payment_amount"].as_double(), 59.98);
  EXPECT_EQ(so.root()["tracking_number"].as_string().substr(0, 3), "TRK");
  const auto all = request(s.status(), "GET", "/orders");
  EXPECT_TRUE(all.json().root()["orders"][id].is_object());
  const auto track = request(s.shipping(), "GET",
                             "/track/" + std::string(so.root()["tracking_number"].as_string()));
  EXPECT_EQ(track.status, 200);
  EXPECT_EQ(request(s.shipping(), "GET", "/v1/shipments/" + id).status, 200);
  EXPECT_EQ(request(s.payment(), "GET", "/v1/payments/" + id).status, 200);
  EXPECT_EQ(request(s.notification(), "GET", "/v1/notifications?order_id=" + id)
                    .json()
                    .root()["count"]
                    .as_int64() >= 1,
            true);
  // Observability: saga states and consumer lag on /metrics.
  const auto metrics = request(s.status(), "GET", "/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("eventshop_orders{status=\"shipped\"} 1"), std::string::npos);
  EXPECT_NE(metrics.body.find("eventshop_consumer_lag{"), std::string::npos);
  EXPECT_NE(request(s.inventory(), "GET", "/metrics").body.find("eventshop_events_handled_total{"),
            std::string::npos);
  for (int p = 0; p < 6; ++p) {
    const auto h = request(s.port(p), "GET", "/health");
    EXPECT_EQ(h.status, 200);
    EXPECT_EQ(h.json().root()["status"].as_string(), "healthy");
  }
}

TEST_P(E2E, TwoHundredConcurrentOrdersNeverOversell) {
  shop s(GetParam(), dir_);
  std::vector<std::string> ids(200);
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t)
    threads.emplace_back([&, t] {
      for (int i = t; i < 200; i += 16)
        ids[static_cast<std::size_t>(i)] = create_seed(s, "product-3", 1);
    });
  for (auto& th : threads)
    th.join();
  for (const auto& id : ids)
    ASSERT_FALSE(id.empty());
  ASSERT_TRUE(eventually(
      [&] {
        const auto st = request(s.status(), "GET", "/v1/stats").json();
        return st.root()["total_orders"].as_int64() == 200 &&
               st.root()["in_progress"].as_int64() == 0;
      },
      60s));
  const auto st = request(s.status(), "GET", "/v1/stats").json();
  EXPECT_EQ(st.root()["shipped"].as_int64(), 25);
  EXPECT_EQ(st.root()["by_status"]["inventory_rejected"].as_int64(), 175);
  EXPECT_EQ(stock_of(s, "product-3"), 0);
}

TEST_P(E2E, CompensationAndCancellation) {
  shop s(GetParam(), dir_, {"--step-delay-ms", "200"});
  // Over the payment limit: payment_failed, stock back.
  const auto over = create_seed(s, "product-3", 21);
  // Cancelled in flight: cancelled, stock back, refund if it was charged.
  const auto r = request(s.order(), "POST", "/v1/orders",
                         R"({"items":[{"product_id":"product-2","quantity":4}]})");
  ASSERT_EQ(r.status, 201);
  const std::string cancel_me(r.json().root()["order_id"].as_string());
  const auto c =
      request(s.order(), "POST", "/v1/orders/" + cancel_me + "/cancel", R"({"reason":"test"})");
  EXPECT_EQ(c.status, 202) << c.body;
  const auto shipped = create_seed(s, "product-1", 1);
  ASSERT_TRUE(eventually(
      [&] {
        return order_status(s, over) == "payment_failed" &&
               order_status(s, cancel_me) == "cancelled" && order_status(s, shipped) == "shipped";
      },
      30s));
  ASSERT_TRUE(eventually(
      [&] { return stock_of(s, "product-3") == 25 && stock_of(s, "product-2") == 50; }, 10s));
  const auto pay = request(s.payment(), "GET", "/v1/payments/" + cancel_me);
  if (pay.status == 200) {
    EXPECT_NE(pay.json().root()["status"].as_string(), "completed");
  }
  // After shipping: 409; unknown: 404.
  EXPECT_EQ(request(s.order(), "POST", "/v1/orders/" + shipped + "/cancel").status, 409);
  EXPECT_EQ(request(s.order(), "POST", "/v1/orders/" + over + "/cancel").status, 409);
  EXPECT_EQ(request(s.order(), "POST", "/v1/orders/no-such-order/cancel").status, 404);
}

TEST_P(E2E, BadRequestsGetTheDocumentedErrorAndChangeNothing) {
  shop s(GetParam(), dir_);
  const std::string big(70 * 1024, 'x');
  std::string fifty_one = R"({"items":[)";
  for (int i = 0; i < 51; ++i)
    fifty_one += std::string(i ? "," : "") + R"({"product_id":"product-1","quantity":1})";
  fifty_one += "]}";
  struct bad {
    int port_index;
    const char* method;
    std::string target;
    std::string body;
    std::string content_type;
    int status;
    std::vector<std::pair<std::string, std::string>> headers = {};
  };
  const std::string json = "application/json";
  const std::vector<bad> cases = {
      {0, "POST", "/order", "{", json, 400},
      {0, "POST", "/order", "[]", json, 400},
      {0, "POST", "/order", "", json, 400},
      {0, "POST", "/order", "{}", json, 400},
      {0, "POST", "/order", R"({"product_id":"product-1"})", json, 400},
      {0, "POST", "/order", R"({"product_id":1,"quantity":1})", json, 400},
      {0, "POST", "/order", R"({"product_id":"product-1","quantity":"2"})", json, 400},
      {0, "POST", "/order", R"({"product_id":"product-1","quantity":2.5})", json, 400},
      {0, "POST", "/order", R"({"product_id":"product-1","quantity":0})", json, 400},
      {0, "POST", "/order", R"({"product_id":"product-1","quantity":-5})", json, 400},
      {0, "POST", "/order", R"({"product_id":"product-1","quantity":1001})", json, 400},
      {0, "POST", "/order", R"({"product_id":"product-1","quantity":1e30})", json, 400},
      {0, "POST", "/order", R"({"product_id":"product-1","quantity":true})", json, 400},
      {0, "POST", "/order", R"({"product_id":"product-1","quantity":null})", json, 400},
      {0, "POST", "/order", R"({"product_id":"nope","quantity":1})", json, 422},
      {0, "POST", "/order", "\xff\xfe{}", json, 400},
      {0, "POST", "/v1/orders", R"({"items":[{"product_id":"product-1","quantity":1}]})",
       "text/plain", 415},
      {0, "POST", "/v1/orders", R"({"items":[{"product_id":"product-1","quantity":1}]})", "", 415},
      {0, "POST", "/v1/orders", "{}", json, 400},
      {0, "POST", "/v1/orders", R"({"items":{}})", json, 400},
      {0, "POST", "/v1/orders", R"({"items":[]})", json, 400},
      {0, "POST", "/v1/orders", fifty_one, json, 400},
      {0, "POST", "/v1/orders", R"({"items":[7]})", json, 400},
      {0, "POST", "/v1/orders", R"({"items":[{"product_id":"ghost","quantity":1}]})", json, 422},
      {0, "POST", "/v1/orders",
       R"({"customer_id":5,"items":[{"product_id":"product-1","quantity":1}]})", json, 400},
      {0, "POST", "/v1/orders", R"({"items":[{"product_id":"product-1","quantity":999999999999}]})",
       json, 400},
      {0, "POST", "/v1/orders", "{\"items\":[{\"product_id\":\"" + big + "\",\"quantity\":1}]}",
       json, 413},
      {0,
       "POST",
       "/v1/orders",
       R"({"items":[{"product_id":"product-1","quantity":1}]})",
       json,
       400,
       {{"Idempotency-Key", std::string(300, 'k')}}},
      {0,
       "POST",
       "/v1/orders",
       R"({"items":[{"product_id":"product-1","quantity":1}]})",
       json,
       400,
       {{"Idempotency-Key", "has space"}}},
      {0, "GET", "/order", "", "", 405},
      {0, "DELETE", "/v1/orders", "", "", 405},
      {0, "POST", "/v1/orders/unknown-id/cancel", "", "", 404},
      {0, "POST", "/v1/orders/unknown-id/cancel", "{bad", json, 400},
      {0, "GET", "/nope", "", "", 404},
      {1, "POST", "/v1/products/product-1/restock", R"({"quantity":0})", json, 400},
      {1, "POST", "/v1/products/product-1/restock", R"({"quantity":"5"})", json, 400},
      {1, "POST", "/v1/products/product-1/restock", R"({"quantity":2000000})", json, 400},
      {1, "POST", "/v1/products/product-1/restock", R"({})", json, 400},
      {1, "POST", "/v1/products/product-1/restock", "", json, 400},
      {1, "POST", "/v1/products/product-1/restock", R"({"quantity":5})", "text/plain", 415},
      {1, "POST", "/v1/products/ghost/restock", R"({"quantity":5})", json, 404},
      {1, "GET", "/products/ghost", "", "", 404},
      {1, "PUT", "/inventory", "", "", 405},
      {2, "GET", "/v1/payments/unknown", "", "", 404},
      {3, "GET", "/v1/notifications?limit=0", "", "", 400},
      {4, "GET", "/track/TRKXXXXXXXX", "", "", 404},
      {4, "GET", "/v1/shipments/unknown", "", "", 404},
      {5, "GET", "/status/unknown", "", "", 404},
      {5, "GET", "/v1/orders?status=bogus", "", "", 400},
      {5, "GET", "/v1/orders?limit=-1", "", "", 400},
      {5, "GET", "/v1/orders?limit=abc", "", "", 400},
      {5, "GET", "/v1/orders/unknown", "", "", 404},
      {5, "POST", "/statistics", "", "", 405},
  };
  ASSERT_GE(cases.size(), 40u);
  for (const auto& c : cases) {
    const auto r =
        request(s.port(c.port_index), c.method, c.target, c.body, c.content_type, c.headers);
    EXPECT_EQ(r.status, c.status) << c.method << " " << c.target << " " << c.body.substr(0, 80)
                                  << " -> " << r.body;
    if (r.status >= 400) {
      bool has_code = false;
      try {
        const auto doc = r.json();
        has_code =
            doc.root()["error"]["code"].is_string() && doc.root()["error"]["message"].is_string();
      } catch (...) {
      }
      EXPECT_TRUE(has_code) << c.method << " " << c.target << ": " << r.body;
    }
  }
  // Nothing was published, nothing changed, everyone is still up.
  for (int p = 0; p < 6; ++p)
    EXPECT_EQ(request(s.port(p), "GET", "/health").status, 200);
  const auto st = request(s.status(), "GET", "/v1/stats").json();
  EXPECT_EQ(st.root()["total_orders"].as_int64(), 0);
  EXPECT_EQ(stock_of(s, "product-1"), 100);
  EXPECT_EQ(request(s.status(), "GET", "/orders").json().root()["orders"].size(), 0u);
}

TEST_P(E2E, IdempotencyKeyOverHttp) {
  shop s(GetParam(), dir_);
  const std::string body = R"({"items":[{"product_id":"product-2","quantity":2}]})";
  const auto a = request(s.order(), "POST", "/v1/orders", body, "application/json",
                         {{"Idempotency-Key", "k-123"}});
  const auto b = request(s.order(), "POST", "/v1/orders", body, "application/json",
                         {{"Idempotency-Key", "k-123"}});
  ASSERT_EQ(a.status, 201);
  ASSERT_EQ(b.status, 201);
  EXPECT_EQ(a.body, b.body);
  const auto c = request(s.order(), "POST", "/v1/orders",
                         R"({"items":[{"product_id":"product-2","quantity":3}]})",
                         "application/json", {{"Idempotency-Key", "k-123"}});
  EXPECT_EQ(c.status, 409);
  ASSERT_TRUE(eventually([&] { return stock_of(s, "product-2") == 48; }, 10s));
  // The status read model follows on its own consumer group: wait for it, then it stays at 1.
  ASSERT_TRUE(eventually(
      [&] {
        return request(s.status(), "GET", "/v1/stats").json().root()["total_orders"].as_int64() >=
               1;
      },
      10s));
  EXPECT_EQ(request(s.status(), "GET", "/v1/stats").json().root()["total_orders"].as_int64(), 1);
}

std::string backend_name(const testing::TestParamInfo<std::string>& p) {
  return p.param;
}
INSTANTIATE_TEST_SUITE_P(Backends, E2E, testing::Values("memory", "sqlite"), backend_name);

// kill -9 during a load of a few thousand orders, restart on the same data directory: every order
// that got a 201 reaches a terminal state, stock is conserved, nobody is charged twice.
TEST(E2ERestart, KillNineDuringLoadLosesNothingAcknowledged) {
  const auto dir = fresh_dir("restart");
  shop s("sqlite", dir);
  std::mutex mutex;
  std::vector<std::pair<std::string, std::pair<std::string, int>>> acked;  // id -> product, qty
  std::atomic<bool> stop{false};
  std::atomic<int> sent{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      std::mt19937 rng(static_cast<unsigned>(t));
      while (!stop && sent.fetch_add(1) < 3000) {
        const std::string product = "product-" + std::to_string(1 + rng() % 3);
        const int qty = 1 + static_cast<int>(rng() % 2);
        const auto id = create_seed(s, product, qty);
        if (id.empty()) continue;  // not acknowledged (the process died under it)
        std::lock_guard lock(mutex);
        acked.push_back({id, {product, qty}});
      }
    });
  ASSERT_TRUE(eventually(
      [&] {
        std::lock_guard lock(mutex);
        return acked.size() >= 600;
      },
      60s));
  s.kill9();
  stop = true;
  for (auto& th : threads)
    th.join();
  const std::size_t n = acked.size();
  s.restart();
  ASSERT_TRUE(eventually(
      [&] {
        const auto st = request(s.status(), "GET", "/v1/stats").json();
        return st.root()["in_progress"].as_int64() == 0 &&
               st.root()["total_orders"].as_int64() >= static_cast<std::int64_t>(n);
      },
      120s))
      << "acknowledged: " << n;
  const auto all = request(s.status(), "GET", "/orders").json();
  const auto orders = all.root()["orders"];
  std::map<std::string, int> shipped_qty;
  for (const auto& [id, pq] : acked) {
    const auto o = orders[id];
    ASSERT_TRUE(o.is_object()) << "acknowledged order lost: " << id;
    const std::string st(o["status"].as_string());
    EXPECT_TRUE(terminal(st)) << id << " " << st;
    int charges = 0;
    for (std::size_t i = 0; i < o["events"].size(); ++i)
      charges += o["events"].at(i)["event_type"].as_string() == "PaymentCompleted";
    EXPECT_LE(charges, 1) << id;
  }
  // Stock conservation over every order the system knows (some unacknowledged ones may exist).
  for (std::size_t i = 0; i < orders.size(); ++i) {
    const auto o = orders.member_value(i);
    if (o["status"].as_string() == "shipped")
      shipped_qty[std::string(o["product_id"].as_string())] +=
          static_cast<int>(o["quantity"].as_int64());
  }
  EXPECT_EQ(stock_of(s, "product-1") + shipped_qty["product-1"], 100);
  EXPECT_EQ(stock_of(s, "product-2") + shipped_qty["product-2"], 50);
  EXPECT_EQ(stock_of(s, "product-3") + shipped_qty["product-3"], 25);
  fs::remove_all(dir);
}

// docs/api/openapi.yaml describes what is served: every documented (path, method) is routed by
// the service it names (never the router's own 404 not_found or 405), and docs/api/asyncapi.yaml
// names every event type of the catalog.
TEST(ApiDocs, OpenApiPathsAreServedAndAsyncApiNamesEveryEvent) {
  const auto dir = fresh_dir("docs");
  shop s("memory", dir);
  std::ifstream in(std::string(EVENTSHOP_SOURCE_DIR) + "/docs/api/openapi.yaml");
  ASSERT_TRUE(in) << "docs/api/openapi.yaml missing";
  const std::map<std::string, int> index = {{"order", 0},        {"inventory", 1}, {"payment", 2},
                                            {"notification", 3}, {"shipping", 4},  {"status", 5}};
  std::string line, path, service;
  int checked = 0;
  while (std::getline(in, line)) {
    if (line.rfind("  /", 0) == 0 && line.back() == ':') {
      path = line.substr(2, line.size() - 3);
      service.clear();
    } else if (line.rfind("    x-service: ", 0) == 0) {
      service = line.substr(15);
    } else if (!path.empty() && (line == "    get:" || line == "    post:")) {
      const std::string method = line == "    get:" ? "GET" : "POST";
      std::string target;
      for (std::size_t i = 0; i < path.size(); ++i) {
        if (path[i] == '{') {
          target += "doc-check";
          i = path.find('}', i);
        } else {
          target += path[i];
        }
      }
      std::vector<int> ports;
      if (service == "all")
        for (int p = 0; p < 6; ++p)
          ports.push_back(s.port(p));
      else {
        ASSERT_TRUE(index.contains(service)) << path << ": unknown x-service '" << service << "'";
        ports.push_back(s.port(index.at(service)));
      }
      for (int port : ports) {
        const auto r = request(port, method, target, method == "POST" ? "{}" : "");
        ASSERT_NE(r.status, 0) << method << " " << target;
        EXPECT_NE(r.status, 405) << method << " " << path << " is documented but not routed";
        if (r.status == 404) {
          EXPECT_EQ(r.body.find("\"not_found\""), std::string::npos)
              << method << " " << path << " is documented but not routed: " << r.body;
        }
        ++checked;
      }
    }
  }
  EXPECT_GE(checked, 40);
  std::ifstream async(std::string(EVENTSHOP_SOURCE_DIR) + "/docs/api/asyncapi.yaml");
  std::stringstream text;
  text << async.rdbuf();
  for (auto type : {"OrderCreated", "OrderCancellationRequested", "OrderCancelled",
                    "OrderCancellationRejected", "InventoryConfirmed", "InventoryRejected",
                    "InventoryReleased", "StockReplenished", "LowStockDetected", "PaymentCompleted",
                    "PaymentFailed", "PaymentRefunded", "NotificationSent", "Shipped"})
    EXPECT_NE(text.str().find(std::string("name: ") + type + "\n"), std::string::npos) << type;
  fs::remove_all(dir);
}
