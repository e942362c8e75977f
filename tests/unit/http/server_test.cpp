// eventshop::http against real sockets on 127.0.0.1.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include "eventshop/core/context.hpp"
#include "eventshop/core/error.hpp"
#include "eventshop/core/metrics.hpp"
#include "eventshop/http/http.hpp"
#include "unit/http/test_client.hpp"

using namespace eventshop;
using namespace eventshop::http;
namespace bhttp = boost::beast::http;
using eventshop::test::http_result;
using eventshop::test::raw_status;
using eventshop::test::test_client;
using namespace std::chrono_literals;

namespace {

server_config test_config() {
  server_config c;
  c.io_threads = 2;
  c.access_log = false;
  c.service_name = "test";
  c.cors.allowed_origins = {"http://localhost:3000"};
  return c;
}

router test_routes() {
  router r;
  r.get("/hello", [](request&) { return response::text(200, "hello"); });
  r.get("/orders/{id}", [](request& req) {
    return response::json(200, R"({"id":")" + std::string(req.param("id")) + R"("})");
  });
  r.get("/orders/stats", [](request&) { return response::json(200, R"({"literal":true})"); });
  r.post("/orders", [](request& req) {
    auto doc = parse_json_body(req);
    auto product = require_string(doc.root(), "product_id");
    auto qty = require_int(doc.root(), "quantity", 1, 1000);
    return response::json(
        201, R"({"product_id":")" + product + R"(","quantity":)" + std::to_string(qty) + "}");
  });
  r.del("/orders/{id}", [](request&) { return response::empty(204); });
  r.get("/files/{rest*}",
        [](request& req) { return response::text(200, std::string(req.param("rest"))); });
  r.get("/context", [](request& req) {
    const event_context* ctx = current_context();
    std::string body =
        ctx ? ctx->request_id + "|" + ctx->causationid + "|" + ctx->traceparent : "none";
    body += "|" + req.request_id;
    return response::text(200, body);
  });
  r.get("/query", [](request& req) {
    auto limit = query_int(req, "limit", 1, 100);
    return response::text(200, (req.query_param("status").value_or("-")) + "/" +
                                   (limit ? std::to_string(*limit) : "-"));
  });
  r.get("/throw/http",
        [](request&) -> response { throw http_error(409, "conflict_here", "nope", "f"); });
  r.get("/throw/std", [](request&) -> response { throw std::runtime_error("secret detail"); });
  r.get("/throw/notfound",
        [](request&) -> response { throw eventshop::error(errc::not_found, "order x not found"); });
  r.add_async(method::get, "/async", [](request& req, responder respond) {
    std::string id = req.request_id;
    std::thread([respond, id] { respond(response::text(200, "async:" + id)); }).detach();
  });
  r.add_async(method::get, "/async/dropped", [](request&, responder) {});
  r.get("/framing", [](request&) {
    response res = response::text(200, "four");
    res.set_header("Content-Length", "999");
    res.set_header("Connection", "close");
    res.set_header("X-Request-Id", "from-the-handler");
    res.set_header("X-Split", "a\r\nSet-Cookie: evil=1");
    res.set_header("X-Kept", "yes");
    return res;
  });
  return r;
}

struct http_server_test : ::testing::Test {
  std::unique_ptr<server> srv;
  void start(server_config c = test_config(), router r = test_routes()) {
    srv = std::make_unique<server>(std::move(c), std::move(r));
    srv->start();
  }
  std::uint16_t port() const { return srv->port(); }
};

}  // namespace

TEST_F(http_server_test, routes_with_parameters_and_literal_precedence) {
  start();
  test_client c(port());
  auto r = c.request(bhttp::verb::get, "/orders/42");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"id":"42"})");
  EXPECT_EQ(r.header("content-type"), "application/json");
  auto lit = c.request(bhttp::verb::get, "/orders/stats");
  EXPECT_EQ(lit.body, R"({"literal":true})");
  auto rest = c.request(bhttp::verb::get, "/files/a/b/c.txt");
  EXPECT_EQ(rest.body, "a/b/c.txt");
  auto encoded = c.request(bhttp::verb::get, "/orders/a%20b");
  EXPECT_EQ(encoded.body, R"({"id":"a b"})");
}

TEST_F(http_server_test, unknown_path_is_404_and_wrong_method_is_405_with_allow) {
  start();
  test_client c(port());
  auto nf = c.request(bhttp::verb::get, "/nope");
  EXPECT_EQ(nf.status, 404);
  EXPECT_NE(nf.body.find(R"("code":"not_found")"), std::string::npos) << nf.body;
  auto na = c.request(bhttp::verb::put, "/orders/1");
  EXPECT_EQ(na.status, 405);
  EXPECT_EQ(na.header("allow"), "GET, HEAD, DELETE");
  EXPECT_NE(na.body.find(R"("code":"method_not_allowed")"), std::string::npos);
  // The connection survives error answers (keep-alive).
  EXPECT_EQ(c.request(bhttp::verb::get, "/hello").body, "hello");
}

TEST_F(http_server_test, head_uses_get_route_without_body) {
  start();
  test_client c(port());
  auto r = c.request(bhttp::verb::head, "/hello");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("content-length"), "5");
  EXPECT_TRUE(r.body.empty());
  EXPECT_EQ(c.request(bhttp::verb::get, "/hello").body, "hello");
}

TEST_F(http_server_test, json_body_validation_uses_the_contract_error_format) {
  start();
  test_client c(port());
  std::vector<std::pair<std::string, std::string>> json = {{"Content-Type", "application/json"}};
  auto ok = c.request(bhttp::verb::post, "/orders", R"({"product_id":"p1","quantity":2})", json);
  EXPECT_EQ(ok.status, 201);
  EXPECT_EQ(ok.body, R"({"product_id":"p1","quantity":2})");

  auto bad_json = c.request(bhttp::verb::post, "/orders", R"({"product_id":)", json);
  EXPECT_EQ(bad_json.status, 400);
  EXPECT_NE(bad_json.body.find(R"({"error":{"code":"malformed_json","message":")"),
            std::string::npos)
      << bad_json.body;

  auto wrong_type = c.request(bhttp::verb::post, "/orders", "product_id=p1",
                              {{"Content-Type", "application/x-www-form-urlencoded"}});
  EXPECT_EQ(wrong_type.status, 415);
  EXPECT_NE(wrong_type.body.find("unsupported_media_type"), std::string::npos);

  auto range = c.request(bhttp::verb::post, "/orders", R"({"product_id":"p1","quantity":0})", json);
  EXPECT_EQ(range.status, 400);
  EXPECT_NE(range.body.find(R"("field":"quantity")"), std::string::npos) << range.body;

  auto missing = c.request(bhttp::verb::post, "/orders", R"({"quantity":3})", json);
  EXPECT_EQ(missing.status, 400);
  EXPECT_NE(missing.body.find(R"("code":"missing_field")"), std::string::npos);
  EXPECT_NE(missing.body.find(R"("field":"product_id")"), std::string::npos);

  auto not_object = c.request(bhttp::verb::post, "/orders", "[1,2]", json);
  EXPECT_EQ(not_object.status, 400);
}

TEST_F(http_server_test, query_parameters_are_decoded_and_validated) {
  start();
  test_client c(port());
  EXPECT_EQ(c.request(bhttp::verb::get, "/query?status=in%20transit&limit=5").body, "in transit/5");
  EXPECT_EQ(c.request(bhttp::verb::get, "/query").body, "-/-");
  auto bad = c.request(bhttp::verb::get, "/query?limit=abc");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find(R"("field":"limit")"), std::string::npos);
  EXPECT_EQ(c.request(bhttp::verb::get, "/query?limit=1000").status, 400);
}

TEST_F(http_server_test, handler_exceptions_become_error_responses) {
  start();
  test_client c(port());
  auto h = c.request(bhttp::verb::get, "/throw/http");
  EXPECT_EQ(h.status, 409);
  EXPECT_EQ(h.body, R"({"error":{"code":"conflict_here","message":"nope","field":"f"}})");
  auto s = c.request(bhttp::verb::get, "/throw/std");
  EXPECT_EQ(s.status, 500);
  EXPECT_EQ(s.body.find("secret detail"), std::string::npos);
  EXPECT_EQ(c.request(bhttp::verb::get, "/throw/notfound").status, 404);
}

TEST_F(http_server_test, request_id_is_echoed_or_generated_and_made_current) {
  start();
  test_client c(port());
  auto given =
      c.request(bhttp::verb::get, "/context", {},
                {{"X-Request-Id", "req-123"},
                 {"traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}});
  EXPECT_EQ(given.header("x-request-id"), "req-123");
  // request_id | causationid | traceparent (same trace id, new span) | req.request_id
  EXPECT_EQ(given.body.substr(0, 16), "req-123|req-123|");
  EXPECT_NE(given.body.find("00-0af7651916cd43dd8448eb211c80319c-"), std::string::npos)
      << given.body;
  EXPECT_EQ(given.body.substr(given.body.size() - 8), "|req-123");

  auto generated = c.request(bhttp::verb::get, "/context");
  std::string id = generated.header("x-request-id");
  EXPECT_EQ(id.size(), 36u);
  EXPECT_EQ(generated.body.substr(0, id.size()), id);

  auto bad = c.request(bhttp::verb::get, "/context", {}, {{"X-Request-Id", std::string(200, 'a')}});
  EXPECT_EQ(bad.header("x-request-id").size(), 36u);
}

TEST_F(http_server_test, async_handler_responds_from_another_thread) {
  start();
  test_client c(port());
  auto r = c.request(bhttp::verb::get, "/async", {}, {{"X-Request-Id", "a1"}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "async:a1");
  auto dropped = c.request(bhttp::verb::get, "/async/dropped");
  EXPECT_EQ(dropped.status, 500);
}

TEST_F(http_server_test, handler_threads_run_blocking_handlers_off_the_io_threads) {
  auto cfg = test_config();
  cfg.io_threads = 1;
  cfg.handler_threads = 2;
  router r;
  std::promise<void> release;
  auto released = release.get_future().share();
  r.get("/block", [released](request&) {
    released.wait_for(std::chrono::seconds(5));
    return response::text(200, "unblocked");
  });
  r.get("/fast", [](request&) { return response::text(200, "fast"); });
  start(cfg, std::move(r));
  auto blocked = std::async(std::launch::async, [p = port()] {
    test_client c(p);
    return c.request(bhttp::verb::get, "/block");
  });
  // With the single io thread free, another connection is served while /block waits.
  test_client c(port());
  EXPECT_EQ(c.request(bhttp::verb::get, "/fast").body, "fast");
  release.set_value();
  EXPECT_EQ(blocked.get().body, "unblocked");
}

// Which thread runs a handler, as text.
std::string thread_name() {
  return std::to_string(std::hash<std::thread::id>{}(std::this_thread::get_id()));
}

// A router whose GET /io-thread (async, so called on the io thread) names the io thread, and
// whose GET /fast names the thread that ran it.
router placement_router() {
  router r;
  r.add_async(method::get, "/io-thread",
              [](request&, responder respond) { respond(response::text(200, thread_name())); });
  r.get("/fast", [](request&) { return response::text(200, thread_name()); });
  return r;
}

// With handler_threads, a route whose handler does not block moves off the pool onto the io
// thread (no hand-off per request), and a route whose handler blocks stays on the pool.
TEST_F(http_server_test, handler_threads_run_non_blocking_routes_in_place) {
  if (!std::filesystem::exists("/proc/thread-self/schedstat"))
    GTEST_SKIP() << "no /proc/thread-self/schedstat: every call goes to the pool";
  auto cfg = test_config();
  cfg.io_threads = 1;
  cfg.handler_threads = 2;
  router r = placement_router();
  std::promise<void> never;
  auto never_set = never.get_future().share();
  r.get("/waits", [never_set](request&) {
    never_set.wait_for(3ms);  // blocks, as a handler waiting for a disk or a peer would
    return response::text(200, thread_name());
  });
  start(cfg, std::move(r));
  test_client c(port());
  const std::string io = c.request(bhttp::verb::get, "/io-thread").body;
  ASSERT_FALSE(io.empty());

  const std::string first = c.request(bhttp::verb::get, "/fast").body;
  EXPECT_NE(first, io) << "an unknown route starts on the pool";
  bool moved = false;
  for (int i = 0; i < 500 && !moved; ++i)
    moved = c.request(bhttp::verb::get, "/fast").body == io;
  EXPECT_TRUE(moved) << "a handler that never blocks should run on the io thread";

  for (int i = 0; i < 40; ++i)
    EXPECT_NE(c.request(bhttp::verb::get, "/waits").body, io) << "call " << i;
}

TEST_F(http_server_test, handler_threads_without_adaptive_placement_always_use_the_pool) {
  auto cfg = test_config();
  cfg.io_threads = 1;
  cfg.handler_threads = 2;
  cfg.adaptive_handler_placement = false;
  start(cfg, placement_router());
  test_client c(port());
  const std::string io = c.request(bhttp::verb::get, "/io-thread").body;
  ASSERT_FALSE(io.empty());
  for (int i = 0; i < 100; ++i)
    ASSERT_NE(c.request(bhttp::verb::get, "/fast").body, io) << "call " << i;
}

TEST_F(http_server_test, body_over_the_limit_is_413) {
  auto cfg = test_config();
  cfg.max_body_bytes = 1024;
  start(cfg);
  {
    test_client c(port());
    auto r = c.request(bhttp::verb::post, "/orders", std::string(2048, 'x'),
                       {{"Content-Type", "application/json"}});
    EXPECT_EQ(r.status, 413);
    EXPECT_NE(r.body.find("payload_too_large"), std::string::npos);
    EXPECT_EQ(r.header("connection"), "close");
  }
  {  // chunked: the limit applies to the decoded body as it arrives
    test_client c(port());
    std::string chunk(800, 'y');
    std::string raw =
        "POST /orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\n320\r\n" +
        chunk + "\r\n320\r\n" + chunk + "\r\n0\r\n\r\n";
    c.write_raw(raw);
    EXPECT_EQ(raw_status(c.read_all()), 413);
  }
  {  // the default is 64 KiB
    auto def = server_config{};
    EXPECT_EQ(def.max_body_bytes, 64u * 1024u);
  }
}

TEST_F(http_server_test, huge_headers_are_431) {
  auto cfg = test_config();
  cfg.max_header_bytes = 2048;
  start(cfg);
  test_client c(port());
  auto r = c.request(bhttp::verb::get, "/hello", {}, {{"X-Big", std::string(4096, 'h')}});
  EXPECT_EQ(r.status, 431);
  EXPECT_NE(r.body.find("header_fields_too_large"), std::string::npos);
}

TEST_F(http_server_test, slow_request_is_408) {
  auto cfg = test_config();
  cfg.read_timeout = std::chrono::milliseconds(200);
  start(cfg);
  test_client c(port());
  c.write_raw("GET /hello HTTP/1.1\r\nHost: x\r\n");  // never finishes the header
  std::string got = c.read_all(std::chrono::seconds(5));
  EXPECT_EQ(raw_status(got), 408) << got;
  EXPECT_TRUE(c.closed());
}

TEST_F(http_server_test, idle_keep_alive_connection_is_closed) {
  auto cfg = test_config();
  cfg.idle_timeout = std::chrono::milliseconds(200);
  start(cfg);
  test_client c(port());
  EXPECT_EQ(c.request(bhttp::verb::get, "/hello").status, 200);
  std::string got = c.read_all(std::chrono::seconds(5));
  EXPECT_TRUE(got.empty());
  EXPECT_TRUE(c.closed());
}

TEST_F(http_server_test, requests_spaced_below_the_idle_timeout_keep_the_connection_open) {
  // The session's one deadline timer fires at the first idle deadline and must re-arm for the
  // later one each request set, not close a connection that is in use.
  auto cfg = test_config();
  cfg.idle_timeout = std::chrono::milliseconds(300);
  start(cfg);
  test_client c(port());
  for (int i = 0; i < 8; ++i) {  // 8 x 100 ms: well past one idle timeout in total
    EXPECT_EQ(c.request(bhttp::verb::get, "/hello").status, 200) << i;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the client's pacing
  }
  EXPECT_FALSE(c.closed());
  std::string got = c.read_all(std::chrono::seconds(5));  // then idle: closed
  EXPECT_TRUE(got.empty());
  EXPECT_TRUE(c.closed());
}

TEST_F(http_server_test, slow_request_after_answered_ones_is_still_408) {
  // The timer is armed for the long idle timeout first; the short read timeout must win.
  auto cfg = test_config();
  cfg.idle_timeout = std::chrono::milliseconds(30'000);
  cfg.read_timeout = std::chrono::milliseconds(200);
  start(cfg);
  test_client c(port());
  EXPECT_EQ(c.request(bhttp::verb::get, "/hello").status, 200);
  const auto t0 = std::chrono::steady_clock::now();
  c.write_raw("GET /hello HTTP/1.1\r\nHost: x\r\n");  // never finishes the header
  std::string got = c.read_all(std::chrono::seconds(5));
  EXPECT_EQ(raw_status(got), 408) << got;
  EXPECT_TRUE(c.closed());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(3));
}

TEST_F(http_server_test, malformed_requests_are_400) {
  start();
  for (std::string raw :
       {std::string("GARBAGE\r\n\r\n"), std::string("GET /hello HTTP/9.9\r\n\r\n"),
        std::string("GET /hello HTTP/1.1\r\nBad Header\r\n\r\n"),
        std::string("POST /orders HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n"),
        std::string("POST /orders HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked"
                    "\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"),
        std::string("GET http//bad HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
        std::string("GET /bad%zzpath HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")}) {
    test_client c(port());
    c.write_raw(raw);
    std::string got = c.read_all(std::chrono::seconds(5));
    EXPECT_EQ(raw_status(got), 400) << raw << "\n--> " << got;
  }
}

TEST_F(http_server_test, pipelined_requests_are_answered_in_order) {
  start();
  test_client c(port());
  c.write_raw(
      "GET /orders/1 HTTP/1.1\r\nHost: x\r\n\r\nGET /orders/2 HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /orders/3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  std::string got = c.read_all();
  auto p1 = got.find(R"({"id":"1"})"), p2 = got.find(R"({"id":"2"})"),
       p3 = got.find(R"({"id":"3"})");
  ASSERT_NE(p3, std::string::npos) << got;
  EXPECT_LT(p1, p2);
  EXPECT_LT(p2, p3);
}

TEST_F(http_server_test, the_server_owns_framing_and_drops_headers_with_line_breaks) {
  start();
  test_client c(port());
  c.write_raw(
      "GET /framing HTTP/1.1\r\nHost: x\r\nX-Request-Id: rid-1\r\n\r\n"
      "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  std::string got = c.read_all();
  // The first answer is framed by its real length and keeps the connection open: the second
  // request is answered on it.
  EXPECT_NE(got.find("Content-Length: 4\r\n\r\nfour"), std::string::npos) << got;
  EXPECT_EQ(got.find("999"), std::string::npos) << got;
  EXPECT_NE(got.find("X-Request-Id: rid-1\r\n"), std::string::npos) << got;
  EXPECT_EQ(got.find("from-the-handler"), std::string::npos) << got;
  EXPECT_EQ(got.find("Set-Cookie"), std::string::npos) << got;
  EXPECT_NE(got.find("X-Kept: yes\r\n"), std::string::npos) << got;
  EXPECT_NE(got.find("hello"), std::string::npos) << got;
  EXPECT_EQ(got.find("Connection: close"), got.rfind("Connection: close")) << got;  // 2nd only
}

TEST_F(http_server_test, connections_over_the_limit_get_503) {
  auto cfg = test_config();
  cfg.max_connections = 2;
  start(cfg);
  test_client a(port()), b(port());
  EXPECT_EQ(a.request(bhttp::verb::get, "/hello").status, 200);
  EXPECT_EQ(b.request(bhttp::verb::get, "/hello").status, 200);
  test_client third(port());
  std::string got = third.read_all(std::chrono::seconds(5));
  EXPECT_EQ(raw_status(got), 503) << got;
  EXPECT_NE(got.find("service_unavailable"), std::string::npos);
}

TEST_F(http_server_test, cors_preflight_and_simple_requests) {
  start();
  test_client c(port());
  auto pre = c.request(bhttp::verb::options, "/orders", {},
                       {{"Origin", "http://localhost:3000"},
                        {"Access-Control-Request-Method", "POST"},
                        {"Access-Control-Request-Headers", "content-type"}});
  EXPECT_EQ(pre.status, 204);
  EXPECT_EQ(pre.header("access-control-allow-origin"), "http://localhost:3000");
  EXPECT_NE(pre.header("access-control-allow-methods").find("POST"), std::string::npos);
  EXPECT_NE(pre.header("access-control-allow-headers").find("Content-Type"), std::string::npos);
  EXPECT_EQ(pre.header("vary"), "Origin");
  EXPECT_FALSE(pre.has_header("access-control-allow-credentials"));

  auto denied =
      c.request(bhttp::verb::options, "/orders", {},
                {{"Origin", "http://evil.example"}, {"Access-Control-Request-Method", "POST"}});
  EXPECT_EQ(denied.status, 403);
  EXPECT_FALSE(denied.has_header("access-control-allow-origin"));

  auto simple = c.request(bhttp::verb::get, "/hello", {}, {{"Origin", "http://localhost:3000"}});
  EXPECT_EQ(simple.header("access-control-allow-origin"), "http://localhost:3000");
  EXPECT_EQ(simple.header("access-control-expose-headers"), "X-Request-Id");
  auto other = c.request(bhttp::verb::get, "/hello", {}, {{"Origin", "http://evil.example"}});
  EXPECT_EQ(other.status, 200);
  EXPECT_FALSE(other.has_header("access-control-allow-origin"));
}

TEST_F(http_server_test, cors_wildcard_never_allows_credentials) {
  auto cfg = test_config();
  cfg.cors.allowed_origins = {"*"};
  cfg.cors.allow_credentials = true;
  start(cfg);
  test_client c(port());
  auto r = c.request(bhttp::verb::get, "/hello", {}, {{"Origin", "http://anything.example"}});
  EXPECT_EQ(r.header("access-control-allow-origin"), "*");
  EXPECT_FALSE(r.has_header("access-control-allow-credentials"));
}

TEST_F(http_server_test, health_ready_and_metrics) {
  std::atomic<bool> ready{false};
  metrics_registry reg;
  reg.counter("things_total", "things").inc(3);
  auto cfg = test_config();
  cfg.metrics = &reg;
  router r;
  add_health_routes(
      r, {.service_name = "order", .ready = [&] { return ready.load(); }, .metrics = &reg});
  start(cfg, std::move(r));
  test_client c(port());
  auto h = c.request(bhttp::verb::get, "/health");
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(h.body, R"({"status":"healthy","service":"order"})");
  EXPECT_EQ(c.request(bhttp::verb::get, "/ready").status, 503);
  ready = true;
  EXPECT_EQ(c.request(bhttp::verb::get, "/ready").status, 200);
  auto m = c.request(bhttp::verb::get, "/metrics");
  EXPECT_EQ(m.status, 200);
  EXPECT_NE(m.header("content-type").find("text/plain"), std::string::npos);
  EXPECT_NE(m.body.find("things_total 3"), std::string::npos) << m.body;
  // The server's own request metrics land in the configured registry.
  EXPECT_NE(m.body.find(
                "eventshop_http_requests_total{service=\"test\",method=\"GET\",route=\"/health\""),
            std::string::npos)
      << m.body;
}

// One keep-alive connection alternating routes, methods and statuses: every request lands in its
// own series (the server keeps the last series per connection instead of looking it up).
TEST_F(http_server_test, request_metrics_follow_route_method_and_status_on_one_connection) {
  metrics_registry reg;
  auto cfg = test_config();
  cfg.metrics = &reg;
  start(cfg);
  test_client c(port());
  const std::string good = R"({"product_id":"p","quantity":1})";
  const std::string bad = R"({"product_id":"p","quantity":0})";
  struct call {
    bhttp::verb verb;
    std::string target;
    std::string body;
  };
  const call calls[] = {{bhttp::verb::get, "/hello", ""},      {bhttp::verb::get, "/hello", ""},
                        {bhttp::verb::get, "/throw/http", ""}, {bhttp::verb::get, "/hello", ""},
                        {bhttp::verb::post, "/orders", good},  {bhttp::verb::post, "/orders", bad},
                        {bhttp::verb::post, "/orders", good},  {bhttp::verb::get, "/orders/1", ""},
                        {bhttp::verb::get, "/orders/2", ""}};
  for (const auto& k : calls)
    c.request(k.verb, k.target, k.body, {{"Content-Type", "application/json"}});
  const std::string text = reg.render();
  auto expect_line = [&](const std::string& line) {
    EXPECT_NE(text.find(line + "\n"), std::string::npos) << "missing: " << line << "\n" << text;
  };
  const std::string total = "eventshop_http_requests_total{service=\"test\",";
  expect_line(total + "method=\"GET\",route=\"/hello\",status=\"200\"} 3");
  expect_line(total + "method=\"GET\",route=\"/throw/http\",status=\"409\"} 1");
  expect_line(total + "method=\"POST\",route=\"/orders\",status=\"201\"} 2");
  expect_line(total + "method=\"POST\",route=\"/orders\",status=\"400\"} 1");
  expect_line(total + "method=\"GET\",route=\"/orders/{id}\",status=\"200\"} 2");
  const std::string count = "eventshop_http_request_duration_seconds_count{service=\"test\",";
  expect_line(count + "route=\"/hello\"} 3");
  expect_line(count + "route=\"/throw/http\"} 1");
  expect_line(count + "route=\"/orders\"} 3");
  expect_line(count + "route=\"/orders/{id}\"} 2");
}

struct static_files_test : http_server_test {
  std::filesystem::path dir;
  void SetUp() override {
    dir = std::filesystem::temp_directory_path() /
          ("eventshop-static-" + std::to_string(::getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir / "www" / "assets");
    std::ofstream(dir / "www" / "index.html") << "<h1>ui</h1>";
    std::ofstream(dir / "www" / "app.js") << "console.log(1)";
    std::ofstream(dir / "www" / "assets" / "main.abc123.css") << "body{}";
    std::ofstream(dir / "secret.txt") << "top secret";
    std::filesystem::create_symlink(dir / "secret.txt", dir / "www" / "link.txt");
  }
  void TearDown() override { std::filesystem::remove_all(dir); }
};

TEST_F(static_files_test, serves_files_with_types_and_caching) {
  router r;
  add_static_files(r, "/", dir / "www", {.spa_fallback = true});
  start(test_config(), std::move(r));
  test_client c(port());
  auto index = c.request(bhttp::verb::get, "/");
  EXPECT_EQ(index.status, 200);
  EXPECT_EQ(index.body, "<h1>ui</h1>");
  EXPECT_EQ(index.header("content-type"), "text/html; charset=utf-8");
  EXPECT_EQ(index.header("cache-control"), "no-cache");
  auto js = c.request(bhttp::verb::get, "/app.js");
  EXPECT_EQ(js.header("content-type"), "text/javascript; charset=utf-8");
  auto css = c.request(bhttp::verb::get, "/assets/main.abc123.css");
  EXPECT_EQ(css.header("content-type"), "text/css; charset=utf-8");
  EXPECT_EQ(css.header("cache-control"), "public, max-age=31536000, immutable");
  std::string etag = js.header("etag");
  ASSERT_FALSE(etag.empty());
  EXPECT_FALSE(js.header("last-modified").empty());
  auto again = c.request(bhttp::verb::get, "/app.js", {}, {{"If-None-Match", etag}});
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(again.body.empty());
  auto spa = c.request(bhttp::verb::get, "/orders/123");
  EXPECT_EQ(spa.status, 200);
  EXPECT_EQ(spa.body, "<h1>ui</h1>");
  EXPECT_EQ(c.request(bhttp::verb::get, "/missing.png").status, 404);
}

TEST_F(static_files_test, path_traversal_is_never_served) {
  router r;
  add_static_files(r, "/", dir / "www");
  start(test_config(), std::move(r));
  for (std::string target : {"/../secret.txt", "/%2e%2e/secret.txt", "/assets/..%2f..%2fsecret.txt",
                             "/..%5csecret.txt", "/link.txt", "/%2e%2e%2fsecret.txt",
                             "/assets/../../secret.txt", "//etc/passwd", "/./index.html"}) {
    test_client c(port());
    c.write_raw("GET " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    std::string got = c.read_all();
    EXPECT_EQ(got.find("top secret"), std::string::npos) << target;
    EXPECT_EQ(got.find("root:"), std::string::npos) << target;
    int status = raw_status(got);
    EXPECT_TRUE(status == 404 || status == 400) << target << " -> " << status;
  }
}

TEST_F(http_server_test, stop_lets_in_flight_requests_finish) {
  router r;
  std::promise<void> entered;
  std::promise<void> release;
  auto released = release.get_future().share();
  r.get("/slow", [&entered, released](request&) {
    entered.set_value();
    released.wait_for(std::chrono::seconds(5));
    return response::text(200, "done");
  });
  auto cfg = test_config();
  cfg.handler_threads = 1;
  start(cfg, std::move(r));
  auto pending = std::async(std::launch::async, [p = port()] {
    test_client c(p);
    return c.request(bhttp::verb::get, "/slow");
  });
  test_client idle(port());  // an idle keep-alive connection is closed by stop()
  entered.get_future().wait_for(std::chrono::seconds(5));
  std::thread stopper([&] { srv->stop(); });
  // Release the handler only once stop() has begun, so its response must say close.
  for (int i = 0; i < 5000 && srv->running(); ++i)
    std::this_thread::sleep_for(1ms);
  release.set_value();
  auto r1 = pending.get();
  stopper.join();
  EXPECT_EQ(r1.status, 200);
  EXPECT_EQ(r1.body, "done");
  EXPECT_EQ(r1.header("connection"), "close");
  idle.read_all(std::chrono::seconds(2));
  EXPECT_TRUE(idle.closed());
  EXPECT_FALSE(srv->running());
}

TEST(http_config, validate_names_the_bad_field) {
  server_config c;
  c.bind_address = "not-an-ip";
  try {
    c.validate();
    FAIL();
  } catch (const eventshop::error& e) {
    EXPECT_NE(std::string(e.what()).find("bind_address"), std::string::npos);
  }
  server_config d;
  d.cors.allowed_origins = {"localhost:3000"};
  EXPECT_THROW(d.validate(), eventshop::error);
  server_config e;
  e.max_body_bytes = 0;
  EXPECT_THROW(server{e}, eventshop::error);
}

TEST(http_server, port_in_use_is_an_io_error_naming_the_address) {
  server a(test_config(), test_routes());
  a.start();
  auto cfg = test_config();
  cfg.port = a.port();
  server b(cfg, {});
  try {
    b.start();
    FAIL();
  } catch (const eventshop::error& e) {
    EXPECT_EQ(e.code(), make_error_code(errc::io_error));
    EXPECT_NE(std::string(e.what()).find("127.0.0.1:" + std::to_string(a.port())),
              std::string::npos);
  }
}

TEST_F(http_server_test, expect_100_continue_gets_the_go_ahead_before_the_body) {
  start();
  test_client c(port());
  std::string body = R"({"product_id":"p9","quantity":9})";
  c.write_raw(
      "POST /orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n");
  std::string interim = c.read_all(300ms);
  EXPECT_EQ(interim, "HTTP/1.1 100 Continue\r\n\r\n");
  c.write_raw(body);
  std::string rest = c.read_all(5s);
  EXPECT_EQ(test::raw_status(rest), 201) << rest;
  EXPECT_NE(rest.find(R"({"product_id":"p9","quantity":9})"), std::string::npos);
}

TEST_F(http_server_test, max_requests_per_connection_closes_after_the_last) {
  auto cfg = test_config();
  cfg.max_requests_per_connection = 2;
  start(cfg);
  test_client c(port());
  EXPECT_EQ(c.request(bhttp::verb::get, "/hello").header("connection"), "");
  EXPECT_EQ(c.request(bhttp::verb::get, "/hello").header("connection"), "close");
}
