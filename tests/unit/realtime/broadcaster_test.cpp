// eventshop::realtime against real sockets on 127.0.0.1: WebSocket protocol, resume,
// conflation, slow clients, pings and idle close, SSE, the seed's raw mode.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "eventshop/core/error.hpp"
#include "eventshop/core/json.hpp"
#include "eventshop/core/metrics.hpp"
#include "eventshop/http/server.hpp"
#include "eventshop/realtime/broadcaster.hpp"
#include "unit/http/test_client.hpp"
#include "unit/realtime/ws_client.hpp"

using namespace eventshop;
using namespace std::chrono_literals;
using eventshop::test::test_client;
using eventshop::test::ws_client;

namespace {

// Server frames parsed from raw bytes (after the HTTP response head).
struct frame {
  int op = 0;
  std::string payload;
};

std::vector<frame> parse_frames(const std::string& raw, std::size_t start) {
  std::vector<frame> out;
  std::size_t p = start;
  while (p + 2 <= raw.size()) {
    int op = static_cast<unsigned char>(raw[p]) & 0x0F;
    std::uint64_t len = static_cast<unsigned char>(raw[p + 1]) & 0x7F;
    std::size_t h = 2;
    if (len == 126) {
      if (p + 4 > raw.size()) break;
      len = (static_cast<std::uint64_t>(static_cast<unsigned char>(raw[p + 2])) << 8) |
            static_cast<unsigned char>(raw[p + 3]);
      h = 4;
    } else if (len == 127) {
      if (p + 10 > raw.size()) break;
      len = 0;
      for (int i = 0; i < 8; ++i)
        len = (len << 8) | static_cast<unsigned char>(raw[p + 2 + static_cast<std::size_t>(i)]);
      h = 10;
    }
    if (p + h + len > raw.size()) break;
    out.push_back({op, raw.substr(p + h, len)});
    p += h + len;
  }
  return out;
}

std::string upgrade(const std::string& target) {
  return "GET " + target +
         " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
}

std::string masked_text(const std::string& payload) {
  std::string f;
  f.push_back(static_cast<char>(0x81));
  if (payload.size() < 126) {
    f.push_back(static_cast<char>(0x80 | payload.size()));
  } else {
    f.push_back(static_cast<char>(0x80 | 126));
    f.push_back(static_cast<char>(payload.size() >> 8));
    f.push_back(static_cast<char>(payload.size() & 0xFF));
  }
  const char mask[4] = {0x12, 0x34, 0x56, 0x78};
  f.append(mask, 4);
  for (std::size_t i = 0; i < payload.size(); ++i)
    f.push_back(static_cast<char>(payload[i] ^ mask[i % 4]));
  return f;
}

int close_code(const frame& f) {
  if (f.payload.size() < 2) return 0;
  return (static_cast<unsigned char>(f.payload[0]) << 8) | static_cast<unsigned char>(f.payload[1]);
}

struct realtime_test : ::testing::Test {
  metrics_registry metrics;  // first: outlives the server and the broadcaster's sessions
  std::unique_ptr<http::server> srv;
  std::unique_ptr<realtime::broadcaster> hub;
  std::mutex state_mutex;
  std::map<std::string, std::string> orders;  // snapshot source

  void start(realtime::broadcaster_config cfg = {}) {
    if (cfg.epoch.empty()) cfg.epoch = "e1";
    if (cfg.allowed_origins.empty()) cfg.allowed_origins = {"http://localhost:3000"};
    cfg.metrics = &metrics;
    hub = std::make_unique<realtime::broadcaster>(cfg);
    hub->add_channel_kind("order", {.conflate = true, .snapshot = [this](std::string_view ch) {
                                      std::lock_guard lock(state_mutex);
                                      auto it = orders.find(std::string(ch.substr(6)));
                                      return it == orders.end()
                                                 ? std::optional<std::string>{}
                                                 : std::optional<std::string>{it->second};
                                    }});
    hub->add_channel_kind("orders", {.conflate = false, .snapshot = [](std::string_view) {
                                       return std::optional<std::string>{R"({"orders":{}})"};
                                     }});
    hub->add_channel_kind("stats", {.conflate = true, .snapshot = {}});
    hub->add_channel_kind(
        "lazy",
        {.conflate = false,
         .snapshot = [](std::string_view) { return std::optional<std::string>{R"({"now":true})"}; },
         .history_before_subscription = false});
    http::server_config sc;
    sc.io_threads = 2;
    sc.access_log = false;
    sc.record_metrics = false;
    srv = std::make_unique<http::server>(sc);
    hub->attach(*srv);
    srv->start();
  }
  void TearDown() override {
    if (srv) srv->stop();
  }
  std::uint16_t port() const { return srv->port(); }
  std::string sub(const std::string& ch) {
    return R"({"op":"subscribe","channel":")" + ch + R"("})";
  }
  // Connects `c` to /v1/ws if it is not yet, subscribes it to `ch` and reads up to the snapshot.
  // Use under ASSERT_NO_FATAL_FAILURE.
  void subscribe(ws_client& c, const std::string& ch, bool connect = true) {
    if (connect) {
      ASSERT_EQ(c.connect(port(), "/v1/ws"), 101);
    }
    c.send(sub(ch));
    ASSERT_TRUE(c.read_until("snapshot"));
  }
};

}  // namespace

TEST_F(realtime_test, subscribe_gets_subscribed_then_snapshot_then_updates) {
  start();
  {
    std::lock_guard lock(state_mutex);
    orders["42"] = R"({"order_id":"42","status":"created"})";
  }
  ws_client c;
  ASSERT_EQ(c.connect(port(), "/v1/ws"), 101);
  c.send(sub("order:42"));
  EXPECT_EQ(
      c.read().value_or(""),
      R"({"type":"subscribed","channel":"order:42","epoch":"e1","offset":0,"recovered":false})");
  EXPECT_EQ(
      metrics.gauge("eventshop_realtime_connections", "", {{"service", "realtime"}, {"mode", "ws"}})
          .value(),
      1.0);
  EXPECT_EQ(
      c.read().value_or(""),
      R"({"type":"snapshot","channel":"order:42","offset":0,"data":{"order_id":"42","status":"created"}})");
  EXPECT_EQ(hub->publish("order:42", R"({"order_id":"42","status":"shipped"})"), 1u);
  EXPECT_EQ(
      c.read().value_or(""),
      R"({"type":"update","channel":"order:42","offset":1,"data":{"order_id":"42","status":"shipped"}})");
  EXPECT_EQ(hub->publish("order:42", R"({"n":2})"), 2u);
  EXPECT_NE(c.read().value_or("").find(R"("offset":2)"), std::string::npos);
  // An unknown order's snapshot carries null.
  c.send(sub("order:nope"));
  c.read();
  EXPECT_EQ(c.read().value_or(""),
            R"({"type":"snapshot","channel":"order:nope","offset":0,"data":null})");
}

TEST_F(realtime_test, unsubscribe_stops_updates_and_ping_gets_pong) {
  start();
  ws_client c;
  ASSERT_NO_FATAL_FAILURE(subscribe(c, "orders"));
  hub->publish("orders", R"({"a":1})");
  ASSERT_TRUE(c.read_until(R"("offset":1)"));
  c.send(R"({"op":"unsubscribe","channel":"orders"})");
  c.send(R"({"op":"ping"})");
  ASSERT_EQ(c.read().value_or(""), R"({"type":"pong"})");  // unsubscribe is done before the pong
  hub->publish("orders", R"({"a":2})");
  c.send(R"({"op":"ping"})");
  EXPECT_EQ(c.read().value_or(""), R"({"type":"pong"})");  // no update was queued before it
}

TEST_F(realtime_test, several_clients_receive_the_same_updates_in_order) {
  start();
  std::vector<std::unique_ptr<ws_client>> clients;
  for (int i = 0; i < 5; ++i) {
    clients.push_back(std::make_unique<ws_client>());
    ASSERT_NO_FATAL_FAILURE(subscribe(*clients.back(), "orders"));
  }
  for (int n = 1; n <= 20; ++n)
    hub->publish("orders", "{\"n\":" + std::to_string(n) + "}");
  for (auto& c : clients) {
    for (int n = 1; n <= 20; ++n) {
      auto m = c->read();
      ASSERT_TRUE(m);
      EXPECT_NE(m->find("\"offset\":" + std::to_string(n) + ","), std::string::npos) << *m;
    }
  }
}

// A message is first sent from the publishing thread; what the socket does not take at once
// (here: messages far larger than its buffer, published faster than the client reads) goes on
// from the io thread. Every message must arrive whole and in order, on both paths.
TEST_F(realtime_test, messages_larger_than_the_socket_buffer_arrive_whole_and_in_order) {
  start();
  ws_client c;
  ASSERT_NO_FATAL_FAILURE(subscribe(c, "orders"));
  const int total = 20;  // ~1.8 MB in all: under max_queued_bytes
  for (int n = 1; n <= total; ++n) {
    const std::string pad(static_cast<std::size_t>(50'000 + n * 4'000),
                          static_cast<char>('a' + n % 26));
    hub->publish("orders", "{\"n\":" + std::to_string(n) + ",\"pad\":\"" + pad + "\"}");
  }
  for (int n = 1; n <= total; ++n) {
    auto m = c.read(10s);
    ASSERT_TRUE(m) << "update " << n;
    EXPECT_NE(m->find("\"offset\":" + std::to_string(n) + ","), std::string::npos);
    const std::string pad(static_cast<std::size_t>(50'000 + n * 4'000),
                          static_cast<char>('a' + n % 26));
    EXPECT_NE(m->find("{\"n\":" + std::to_string(n) + ",\"pad\":\"" + pad + "\"}"),
              std::string::npos)
        << "update " << n << " arrived damaged";
  }
  EXPECT_FALSE(c.closed());
}

// Publishers on several threads, one connection subscribed to all their channels: a publisher
// sends from its own thread what it finds queued, or leaves it to the thread already sending.
// Every frame must arrive whole, each channel's offsets in order, none missing.
TEST_F(realtime_test, concurrent_publishers_to_one_connection_lose_and_interleave_nothing) {
  start();
  ws_client c;
  ASSERT_EQ(c.connect(port(), "/v1/ws"), 101);
  const int threads = 4;
  const int per_thread = 200;  // 800 in all: under max_queued_messages even if none were read
  for (int t = 0; t < threads; ++t)
    ASSERT_NO_FATAL_FAILURE(subscribe(c, "lazy:" + std::to_string(t), false));
  std::vector<std::thread> publishers;
  for (int t = 0; t < threads; ++t)
    publishers.emplace_back([&, t] {
      const std::string channel = "lazy:" + std::to_string(t);
      for (int n = 1; n <= per_thread; ++n)
        hub->publish(channel, "{\"t\":" + std::to_string(t) + ",\"n\":" + std::to_string(n) +
                                  ",\"pad\":\"" +
                                  std::string(static_cast<std::size_t>(n % 97), 'x') + "\"}");
    });
  std::vector<int> next(threads, 1);
  for (int i = 0; i < threads * per_thread; ++i) {
    auto m = c.read(10s);
    ASSERT_TRUE(m) << "after " << i << " updates" << (c.closed() ? " (closed)" : "");
    const json_document d(*m);
    const auto root = d.root();
    ASSERT_EQ(root["type"].as_string(), "update") << *m;
    const auto data = root["data"];
    const int t = static_cast<int>(data["t"].as_int64());
    ASSERT_TRUE(t >= 0 && t < threads) << *m;
    const int n = static_cast<int>(data["n"].as_int64());
    EXPECT_EQ(n, next[static_cast<std::size_t>(t)]) << *m;
    EXPECT_EQ(root["offset"].as_int64(), n) << *m;
    EXPECT_EQ(data["pad"].as_string().size(), static_cast<std::size_t>(n % 97)) << *m;
    next[static_cast<std::size_t>(t)] = n + 1;
  }
  for (auto& p : publishers)
    p.join();
  for (int t = 0; t < threads; ++t)
    EXPECT_EQ(next[static_cast<std::size_t>(t)], per_thread + 1) << "channel lazy:" << t;
  EXPECT_FALSE(c.closed());
}

TEST_F(realtime_test, resume_inside_history_replays_exactly_the_missed_updates) {
  realtime::broadcaster_config cfg;
  cfg.history_size = 10;
  start(cfg);
  for (int n = 1; n <= 5; ++n)
    hub->publish("orders", "{\"n\":" + std::to_string(n) + "}");
  ws_client c;
  ASSERT_EQ(c.connect(port(), "/v1/ws"), 101);
  c.send(R"({"op":"subscribe","channel":"orders","since":{"offset":2,"epoch":"e1"}})");
  EXPECT_EQ(c.read().value_or(""),
            R"({"type":"subscribed","channel":"orders","epoch":"e1","offset":5,"recovered":true})");
  for (int n = 3; n <= 5; ++n) {
    EXPECT_EQ(c.read().value_or(""), R"({"type":"update","channel":"orders","offset":)" +
                                         std::to_string(n) + R"(,"data":{"n":)" +
                                         std::to_string(n) + "}}");
  }
  hub->publish("orders", R"({"n":6})");
  EXPECT_NE(c.read().value_or("").find(R"("offset":6)"), std::string::npos);
  // Resuming at the current offset: recovered, nothing missed.
  ws_client d;
  ASSERT_EQ(d.connect(port(), "/v1/ws"), 101);
  d.send(R"({"op":"subscribe","channel":"orders","since":{"offset":6,"epoch":"e1"}})");
  EXPECT_NE(d.read().value_or("").find(R"("offset":6,"recovered":true)"), std::string::npos);
  d.send(R"({"op":"ping"})");
  EXPECT_EQ(d.read().value_or(""), R"({"type":"pong"})");
}

TEST_F(realtime_test, lazy_channel_builds_nothing_until_subscribed_then_keeps_its_history) {
  start();
  int built = 0;
  auto publish_n = [&](int n) {
    std::string json = R"({"n":)" + std::to_string(n) + "}";
    return hub->publish_lazy("lazy:1", [&]() -> std::string_view {
      ++built;
      return json;
    });
  };
  // Nobody ever subscribed: the messages go nowhere, are not built and are not counted.
  for (int n = 1; n <= 3; ++n)
    EXPECT_EQ(publish_n(n), 0u);
  EXPECT_EQ(hub->publish("lazy:1", R"({"eager":true})"), 0u);
  EXPECT_EQ(built, 0);
  EXPECT_EQ(hub->position("lazy:1").offset, 0u);
  {
    // The channel starts at its first subscription; an old `since` gets a snapshot.
    ws_client a;
    ASSERT_EQ(a.connect(port(), "/v1/ws"), 101);
    a.send(R"({"op":"subscribe","channel":"lazy:1","since":{"offset":2,"epoch":"e1"}})");
    EXPECT_EQ(
        a.read().value_or(""),
        R"({"type":"subscribed","channel":"lazy:1","epoch":"e1","offset":0,"recovered":false})");
    EXPECT_EQ(a.read().value_or(""),
              R"({"type":"snapshot","channel":"lazy:1","offset":0,"data":{"now":true}})");
    EXPECT_EQ(publish_n(4), 1u);
    EXPECT_EQ(a.read().value_or(""),
              R"({"type":"update","channel":"lazy:1","offset":1,"data":{"n":4}})");
    EXPECT_EQ(built, 1);
    a.send(R"({"op":"unsubscribe","channel":"lazy:1"})");
    a.send(R"({"op":"ping"})");
    ASSERT_EQ(a.read().value_or(""), R"({"type":"pong"})");
  }
  // Once subscribed, the channel stays and keeps its history for a client that comes back.
  EXPECT_EQ(publish_n(5), 2u);
  EXPECT_EQ(publish_n(6), 3u);
  EXPECT_EQ(built, 3);
  ws_client b;
  ASSERT_EQ(b.connect(port(), "/v1/ws"), 101);
  b.send(R"({"op":"subscribe","channel":"lazy:1","since":{"offset":1,"epoch":"e1"}})");
  EXPECT_EQ(b.read().value_or(""),
            R"({"type":"subscribed","channel":"lazy:1","epoch":"e1","offset":3,"recovered":true})");
  EXPECT_EQ(b.read().value_or(""),
            R"({"type":"update","channel":"lazy:1","offset":2,"data":{"n":5}})");
  EXPECT_EQ(b.read().value_or(""),
            R"({"type":"update","channel":"lazy:1","offset":3,"data":{"n":6}})");
  // A kind with history before subscription still keeps what was published before anyone came.
  EXPECT_EQ(hub->publish("orders", R"({"n":1})"), 1u);
  ws_client c;
  ASSERT_EQ(c.connect(port(), "/v1/ws"), 101);
  c.send(R"({"op":"subscribe","channel":"orders","since":{"offset":0,"epoch":"e1"}})");
  EXPECT_NE(c.read().value_or("").find(R"("offset":1,"recovered":true)"), std::string::npos);
  EXPECT_EQ(c.read().value_or(""),
            R"({"type":"update","channel":"orders","offset":1,"data":{"n":1}})");
}

TEST_F(realtime_test, resume_outside_history_or_other_epoch_gets_a_snapshot) {
  realtime::broadcaster_config cfg;
  cfg.history_size = 3;
  start(cfg);
  for (int n = 1; n <= 6; ++n)
    hub->publish("orders", "{\"n\":" + std::to_string(n) + "}");
  for (std::string since : {R"({"offset":1,"epoch":"e1"})", R"({"offset":5,"epoch":"old"})",
                            R"({"offset":99,"epoch":"e1"})"}) {
    ws_client c;
    ASSERT_EQ(c.connect(port(), "/v1/ws"), 101);
    c.send(R"({"op":"subscribe","channel":"orders","since":)" + since + "}");
    EXPECT_EQ(
        c.read().value_or(""),
        R"({"type":"subscribed","channel":"orders","epoch":"e1","offset":6,"recovered":false})")
        << since;
    EXPECT_EQ(c.read().value_or(""),
              R"({"type":"snapshot","channel":"orders","offset":6,"data":{"orders":{}}})");
  }
  // Offset 3 is the last one before the 3 kept (4, 5, 6): still recoverable.
  ws_client c;
  ASSERT_EQ(c.connect(port(), "/v1/ws"), 101);
  c.send(R"({"op":"subscribe","channel":"orders","since":{"offset":3,"epoch":"e1"}})");
  EXPECT_NE(c.read().value_or("").find(R"("recovered":true)"), std::string::npos);
  EXPECT_NE(c.read().value_or("").find(R"("offset":4)"), std::string::npos);
}

TEST_F(realtime_test, bad_frames_get_an_error_and_the_connection_stays_open) {
  start();
  ws_client c;
  ASSERT_EQ(c.connect(port(), "/v1/ws"), 101);
  c.send("not json");
  EXPECT_NE(c.read().value_or("").find(R"({"type":"error","code":"bad_json")"), std::string::npos);
  c.send("[1,2]");
  EXPECT_NE(c.read().value_or("").find(R"("code":"bad_request")"), std::string::npos);
  c.send(R"({"op":"dance"})");
  EXPECT_NE(c.read().value_or("").find(R"("code":"unknown_op")"), std::string::npos);
  c.send(R"({"op":"subscribe","channel":"nosuch:1"})");
  EXPECT_NE(c.read().value_or("").find(R"("code":"unknown_channel")"), std::string::npos);
  c.send(R"({"op":"subscribe","channel":"orders","since":{"offset":-1}})");
  EXPECT_NE(c.read().value_or("").find(R"("code":"bad_request")"), std::string::npos);
  c.send(R"({"op":"unsubscribe","channel":"orders"})");
  EXPECT_NE(c.read().value_or("").find(R"("code":"not_subscribed")"), std::string::npos);
  c.send("binary!", /*binary=*/true);
  EXPECT_NE(c.read().value_or("").find(R"("code":"bad_frame")"), std::string::npos);
  c.send(R"({"op":"ping"})");
  EXPECT_EQ(c.read().value_or(""), R"({"type":"pong"})");
  EXPECT_FALSE(c.closed());
}

TEST_F(realtime_test, oversized_message_closes_with_1009) {
  realtime::broadcaster_config cfg;
  cfg.max_frame_bytes = 1024;
  start(cfg);
  ws_client c;
  ASSERT_EQ(c.connect(port(), "/v1/ws"), 101);
  c.send(std::string(4096, 'x'));
  EXPECT_FALSE(c.read());
  EXPECT_TRUE(c.closed());
  EXPECT_EQ(c.close_code(), 1009);
}

TEST_F(realtime_test, origin_allow_list_applies_to_browsers_only) {
  start();
  ws_client allowed, none, evil;
  EXPECT_EQ(allowed.connect(port(), "/v1/ws", "http://localhost:3000"), 101);
  EXPECT_EQ(none.connect(port(), "/v1/ws"), 101);
  EXPECT_EQ(evil.connect(port(), "/v1/ws", "http://evil.example"), 403);
  test_client sse(port());
  sse.write_raw(
      "GET /v1/events?channel=orders HTTP/1.1\r\nHost: x\r\nOrigin: http://evil.example\r\n\r\n");
  EXPECT_EQ(test::raw_status(sse.read_all(2s)), 403);
}

TEST_F(realtime_test, plain_get_on_the_websocket_path_is_426) {
  start();
  test_client c(port());
  auto r = c.request(test::bhttp::verb::get, "/v1/ws");
  EXPECT_EQ(r.status, 426);
  EXPECT_NE(r.body.find("upgrade_required"), std::string::npos);
}

TEST_F(realtime_test, server_pings_and_closes_silent_connections) {
  realtime::broadcaster_config cfg;
  cfg.ping_interval = 50ms;
  cfg.idle_timeout = 300ms;
  start(cfg);
  // A Beast client answers pings while it reads, so it is never idle.
  ws_client live;
  ASSERT_EQ(live.connect(port(), "/v1/ws"), 101);
  std::atomic<bool> stop_reading{false};
  std::thread reader([&] {
    while (!stop_reading.load() && !live.closed())
      live.read(20ms);
  });
  // A raw client that never sends anything after the handshake.
  test_client silent(port());
  silent.write_raw(upgrade("/v1/ws"));
  std::string got = silent.read_all(5s);
  auto head_end = got.find("\r\n\r\n");
  ASSERT_NE(head_end, std::string::npos);
  EXPECT_EQ(got.substr(0, 12), "HTTP/1.1 101");
  EXPECT_NE(got.find("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), std::string::npos);
  auto frames = parse_frames(got, head_end + 4);
  ASSERT_GE(frames.size(), 2u);
  EXPECT_EQ(frames.front().op, 0x9);  // ping
  EXPECT_EQ(frames.back().op, 0x8);   // close
  EXPECT_EQ(close_code(frames.back()), 1001);
  EXPECT_TRUE(silent.closed());
  // Meanwhile the live client got pings and is still open.
  stop_reading = true;
  reader.join();
  live.send(R"({"op":"ping"})");
  EXPECT_EQ(live.read().value_or(""), R"({"type":"pong"})");
  EXPECT_GE(live.pings(), 1);
  EXPECT_FALSE(live.closed());
}

TEST_F(realtime_test, stalled_client_does_not_delay_others_and_is_closed_with_1008) {
  realtime::broadcaster_config cfg;
  cfg.max_queued_messages = 32;
  cfg.close_timeout = 10s;
  start(cfg);
  test_client stalled(port());
  stalled.write_raw(upgrade("/v1/ws"));
  stalled.write_raw(masked_text(sub("orders")));
  ws_client good;
  ASSERT_NO_FATAL_FAILURE(subscribe(good, "orders"));
  // Make sure the stalled client's subscription is in before publishing.
  for (int i = 0; i < 200 && hub->connection_count() < 2; ++i)
    std::this_thread::yield();
  std::string payload = "{\"pad\":\"" + std::string(32 * 1024, 'p') + "\"}";
  const int total = 600;  // ~19 MiB: far beyond what socket buffers hold
  // Lock-step: each update must reach the good client while the stalled one piles up.
  int received = 0;
  for (int n = 1; n <= total; ++n) {
    hub->publish("orders", payload);
    auto m = good.read(10s);
    if (!m) break;
    if (m->find("\"offset\":" + std::to_string(n) + ",") != std::string::npos) ++received;
  }
  EXPECT_EQ(received, total);
  EXPECT_FALSE(good.closed());
  EXPECT_EQ(hub->slow_closes(), 1u);
  EXPECT_EQ(metrics.counter("eventshop_realtime_slow_closes_total", "", {{"service", "realtime"}})
                .value(),
            1.0);
  // The stalled client now reads what was in flight, then the 1008 close frame.
  std::string got = stalled.read_all(10s);
  auto head_end = got.find("\r\n\r\n");
  ASSERT_NE(head_end, std::string::npos);
  auto frames = parse_frames(got, head_end + 4);
  ASSERT_FALSE(frames.empty());
  EXPECT_EQ(frames.back().op, 0x8);
  EXPECT_EQ(close_code(frames.back()), 1008);
  EXPECT_LT(frames.size(), static_cast<std::size_t>(total));
}

TEST_F(realtime_test, state_channels_conflate_for_a_slow_client) {
  realtime::broadcaster_config cfg;
  cfg.max_queued_messages = 8;
  start(cfg);
  test_client slow(port());
  slow.write_raw(upgrade("/v1/ws"));
  slow.write_raw(masked_text(sub("stats")));
  for (int i = 0; i < 200 && hub->connection_count() < 1; ++i)
    std::this_thread::yield();
  // Wait until the subscription is registered: the subscribe is handled on an io thread.
  ws_client probe;
  ASSERT_NO_FATAL_FAILURE(subscribe(probe, "stats"));
  const int total = 400;
  std::string pad(64 * 1024, 's');
  for (int n = 1; n <= total; ++n) {
    hub->publish("stats", "{\"n\":" + std::to_string(n) + ",\"pad\":\"" + pad + "\"}");
  }
  std::string got = slow.read_all(3s);
  auto head_end = got.find("\r\n\r\n");
  ASSERT_NE(head_end, std::string::npos);
  auto frames = parse_frames(got, head_end + 4);
  std::vector<long> offsets;
  for (const auto& f : frames) {
    auto pos = f.payload.find(R"("offset":)");
    if (f.op == 1 && f.payload.find(R"("type":"update")") != std::string::npos &&
        pos != std::string::npos) {
      offsets.push_back(std::stol(f.payload.substr(pos + 9)));
    }
    EXPECT_NE(f.op, 0x8) << "conflated client must not be closed";
  }
  ASSERT_FALSE(offsets.empty());
  EXPECT_EQ(offsets.back(), total);                            // the newest state always arrives
  EXPECT_LT(offsets.size(), static_cast<std::size_t>(total));  // older states were replaced
  for (std::size_t i = 1; i < offsets.size(); ++i)
    EXPECT_LT(offsets[i - 1], offsets[i]);
  EXPECT_EQ(hub->slow_closes(), 0u);
  EXPECT_GT(
      metrics.counter("eventshop_realtime_conflated_total", "", {{"service", "realtime"}}).value(),
      0.0);
}

TEST_F(realtime_test, sse_streams_updates_and_honours_last_event_id) {
  start();
  for (int n = 1; n <= 3; ++n)
    hub->publish("orders", "{\"n\":" + std::to_string(n) + "}");
  {
    test_client c(port());
    c.write_raw("GET /v1/events?channel=orders HTTP/1.1\r\nHost: x\r\n\r\n");
    std::string head_and_first = c.read_all(300ms);
    EXPECT_EQ(head_and_first.substr(0, 15), "HTTP/1.1 200 OK");
    EXPECT_NE(head_and_first.find("Content-Type: text/event-stream"), std::string::npos);
    EXPECT_NE(head_and_first.find(
                  "event: subscribed\ndata: {\"type\":\"subscribed\",\"channel\":\"orders\","
                  "\"epoch\":\"e1\",\"offset\":3,\"recovered\":false}\n\n"),
              std::string::npos)
        << head_and_first;
    EXPECT_NE(head_and_first.find("id: e1:3\nevent: snapshot\ndata: {\"type\":\"snapshot\""),
              std::string::npos);
    hub->publish("orders", R"({"n":4})");
    std::string more = c.read_all(300ms);
    EXPECT_NE(
        more.find("id: e1:4\nevent: update\ndata: {\"type\":\"update\",\"channel\":\"orders\","
                  "\"offset\":4,\"data\":{\"n\":4}}\n\n"),
        std::string::npos)
        << more;
  }
  {
    test_client c(port());
    c.write_raw("GET /v1/events?channel=orders HTTP/1.1\r\nHost: x\r\nLast-Event-ID: e1:2\r\n\r\n");
    std::string got = c.read_all(300ms);
    EXPECT_NE(got.find("\"recovered\":true"), std::string::npos) << got;
    auto p3 = got.find("id: e1:3\nevent: update");
    auto p4 = got.find("id: e1:4\nevent: update");
    EXPECT_NE(p3, std::string::npos);
    EXPECT_NE(p4, std::string::npos);
    EXPECT_LT(p3, p4);
    EXPECT_EQ(got.find("event: snapshot"), std::string::npos);
  }
  {
    test_client c(port());
    c.write_raw("GET /v1/events?channel=bogus HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_EQ(test::raw_status(c.read_all(2s)), 400);
  }
}

TEST_F(realtime_test, sse_serves_several_channels_on_one_stream) {
  start();
  hub->publish("stats", R"({"orders":1})");
  test_client c(port());
  c.write_raw(
      "GET /v1/events?channel=orders,stats HTTP/1.1\r\nHost: x\r\n"
      "Last-Event-ID: garbage\r\n\r\n");
  std::string got = c.read_all(300ms);
  EXPECT_NE(got.find(R"("channel":"orders","epoch":"e1","offset":0,"recovered":false)"),
            std::string::npos)
      << got;
  EXPECT_NE(got.find(R"("channel":"stats","epoch":"e1","offset":1,"recovered":false)"),
            std::string::npos);
  EXPECT_NE(
      got.find("id: e1:1\nevent: snapshot\ndata: {\"type\":\"snapshot\",\"channel\":\"stats\""),
      std::string::npos);
  hub->publish("stats", R"({"orders":2})");
  hub->publish("orders", R"({"id":"a"})");
  std::string more = c.read_all(300ms);
  EXPECT_NE(more.find("id: e1:2\nevent: update"), std::string::npos) << more;
  EXPECT_NE(more.find("id: e1:1\nevent: update\ndata: {\"type\":\"update\",\"channel\":\"orders\""),
            std::string::npos);
}

TEST_F(realtime_test, raw_mode_sends_bare_order_frames) {
  start();
  {
    std::lock_guard lock(state_mutex);
    orders["7"] = R"({"order_id":"7","status":"created"})";
  }
  ws_client c;
  ASSERT_EQ(c.connect(port(), "/ws/7"), 101);
  EXPECT_EQ(c.read().value_or(""), R"({"order_id":"7","status":"created"})");
  hub->publish("order:7", R"({"order_id":"7","status":"shipped"})");
  EXPECT_EQ(c.read().value_or(""), R"({"order_id":"7","status":"shipped"})");
  c.send(R"({"anything":"ignored"})");
  hub->publish("order:7", R"({"order_id":"7","status":"x"})");
  EXPECT_EQ(c.read().value_or(""), R"({"order_id":"7","status":"x"})");
  // Unknown order: no frame until the first update.
  ws_client u;
  ASSERT_EQ(u.connect(port(), "/ws/unknown"), 101);
  EXPECT_FALSE(u.read(200ms));
  hub->publish("order:unknown", R"({"order_id":"unknown"})");
  EXPECT_EQ(u.read().value_or(""), R"({"order_id":"unknown"})");
}

TEST_F(realtime_test, stop_closes_websockets_with_going_away) {
  start();
  ws_client c;
  ASSERT_EQ(c.connect(port(), "/v1/ws"), 101);
  c.send(R"({"op":"ping"})");
  ASSERT_TRUE(c.read());
  std::thread stopper([&] { srv->stop(); });
  EXPECT_FALSE(c.read());
  stopper.join();
  EXPECT_TRUE(c.closed());
  EXPECT_EQ(c.close_code(), 1001);
}

TEST(realtime_api, publish_validates_channel_and_config_validates_fields) {
  realtime::broadcaster b;
  b.add_channel_kind("orders", {});
  EXPECT_THROW(b.publish("nosuch", "{}"), eventshop::error);
  EXPECT_EQ(b.publish("orders", "{}"), 1u);
  EXPECT_EQ(b.position("orders").offset, 1u);
  EXPECT_EQ(b.position("orders").epoch, b.epoch());
  EXPECT_EQ(b.epoch().size(), 16u);
  EXPECT_THROW(b.add_channel_kind("orders", {}), eventshop::error);
  EXPECT_THROW(b.add_channel_kind("a:b", {}), eventshop::error);
  realtime::broadcaster_config c;
  c.max_queued_messages = 0;
  EXPECT_THROW(c.validate(), eventshop::error);
  realtime::broadcaster_config d;
  d.epoch = "a:b";
  EXPECT_THROW(d.validate(), eventshop::error);
}
