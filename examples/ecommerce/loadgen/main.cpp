// eventshop-loadgen: sends N orders at a target rate over C keep-alive HTTP connections (its own
// Asio/Beast client - cpprestsdk is too slow to be the engine) and measures, per order, the time
// from sending POST /order to seeing it `shipped` on the status service's v1 WebSocket ("orders"
// channel; no polling). Prints a progress bar and a final table of throughput and latency
// percentiles.
//
//   eventshop-loadgen --orders 5000 --rate 2000 --connections 8 [--port 8080] [--status-port 8085]
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include <sys/socket.h>

#include "eventshop/core/json.hpp"

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using clk = std::chrono::steady_clock;

namespace {

struct options {
  std::string host = "127.0.0.1";
  int port = 8080;
  int status_port = 0;     // default port + 5
  int inventory_port = 0;  // default port + 1
  long orders = 1000;
  double rate = 0;  // orders/s, 0 = as fast as possible
  int connections = 8;
  std::string product = "product-1";
  int timeout_s = 120;
  bool restock = true;
};

[[noreturn]] void usage(const char* msg) {
  if (msg) std::fprintf(stderr, "eventshop-loadgen: %s\n", msg);
  std::fprintf(
      stderr,
      "usage: eventshop-loadgen [--orders N] [--rate R] [--connections C] [--host H]\n"
      "                         [--port ORDER_PORT] [--status-port P] [--inventory-port P]\n"
      "                         [--product ID] [--timeout-s S] [--no-restock]\n");
  std::exit(msg ? 2 : 0);
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) usage((a + ": missing value").c_str());
      return argv[++i];
    };
    auto num = [&](long lo, long hi) {
      const std::string v = next();
      char* end = nullptr;
      const long n = std::strtol(v.c_str(), &end, 10);
      if (v.empty() || *end || n < lo || n > hi) usage((a + ": bad value '" + v + "'").c_str());
      return n;
    };
    if (a == "--orders")
      o.orders = num(1, 100'000'000);
    else if (a == "--rate")
      o.rate = static_cast<double>(num(0, 10'000'000));
    else if (a == "--connections")
      o.connections = static_cast<int>(num(1, 1024));
    else if (a == "--host")
      o.host = next();
    else if (a == "--port")
      o.port = static_cast<int>(num(1, 65535));
    else if (a == "--status-port")
      o.status_port = static_cast<int>(num(1, 65535));
    else if (a == "--inventory-port")
      o.inventory_port = static_cast<int>(num(1, 65535));
    else if (a == "--product")
      o.product = next();
    else if (a == "--timeout-s")
      o.timeout_s = static_cast<int>(num(1, 86400));
    else if (a == "--no-restock")
      o.restock = false;
    else if (a == "-h" || a == "--help")
      usage(nullptr);
    else
      usage(("unknown option " + a).c_str());
  }
  if (!o.status_port) o.status_port = o.port + 5;
  if (!o.inventory_port) o.inventory_port = o.port + 1;
  return o;
}

struct state {
  std::mutex mutex;
  std::unordered_map<std::string, clk::time_point> sent;  // order id -> send time
  std::unordered_map<std::string, std::string> early;     // terminal seen before the 201 came back
  std::vector<double> latency_ms;                         // created -> shipped
  std::atomic<long> next{0}, created{0}, errors{0}, shipped{0}, failed{0};
  std::atomic<long> reconnects{0};    // WebSocket reconnections (each resumed by offset)
  std::atomic<long> lost_resumes{0};  // resumes the server could no longer replay
};

void finish(state& st, const std::string& id, const std::string& status, clk::time_point at) {
  auto it = st.sent.find(id);
  if (it == st.sent.end()) {
    st.early[id] = status;
    return;
  }
  if (status == "shipped") {
    st.latency_ms.push_back(std::chrono::duration<double, std::milli>(at - it->second).count());
    ++st.shipped;
  } else {
    ++st.failed;
  }
  st.sent.erase(it);
}

// The watcher's socket, so main() can end its blocking read (Beast's timeouts only apply to
// asynchronous operations) with shutdown(2).
std::atomic<int> watcher_fd{-1};

bool terminal(std::string_view status) {
  return status == "shipped" || status == "inventory_rejected" || status == "payment_failed" ||
         status == "cancelled";
}

// The value of the first `"name":"..."` in `text` (no unescaping: ids and statuses have none).
std::string_view string_field(std::string_view text, std::string_view quoted_name_colon_quote) {
  const auto at = text.find(quoted_name_colon_quote);
  if (at == std::string_view::npos) return {};
  const auto from = at + quoted_name_colon_quote.size();
  const auto to = text.find('"', from);
  return to == std::string_view::npos ? std::string_view{} : text.substr(from, to - from);
}

// Follows the "orders" channel. Every order change of the system comes through it (six per
// order), so only terminal ones are parsed: the status is found by a text search first (the
// update's "data" is the v1 order; the events' data in it are escaped strings, so the first
// unescaped "status":" is the order's). When the server closes a connection that fell behind
// (1008) or it drops, the watcher reconnects and resumes after the last offset it saw (CONTRACT
// §5 "since"); if the server can no longer replay that far, the loss is counted and reported.
void watch(const options& o, state& st, std::atomic<bool>& stop, std::atomic<bool>& ready) {
  std::string epoch;
  long long last = -1;  // offset of the last update seen on "orders"
  while (!stop) {
    try {
      asio::io_context ioc;
      beast::websocket::stream<beast::tcp_stream> ws(ioc);
      ws.read_message_max(64 << 20);
      beast::get_lowest_layer(ws).connect(tcp::endpoint(
          asio::ip::make_address(o.host), static_cast<unsigned short>(o.status_port)));
      ws.handshake(o.host + ":" + std::to_string(o.status_port), "/v1/ws");
      std::string sub = R"({"op":"subscribe","channel":"orders")";
      if (last >= 0 && !epoch.empty())
        sub += R"(,"since":{"offset":)" + std::to_string(last) + R"(,"epoch":")" + epoch + "\"}";
      sub += "}";
      ws.write(asio::buffer(sub));
      watcher_fd = beast::get_lowest_layer(ws).socket().native_handle();
      ready = true;
      beast::flat_buffer buf;
      while (!stop) {
        beast::error_code ec;
        ws.read(buf, ec);
        if (ec) break;
        const auto now = clk::now();
        const std::string text = beast::buffers_to_string(buf.data());
        buf.consume(buf.size());
        try {
          if (text.rfind(R"({"type":"update")", 0) == 0) {
            const auto off = text.find(R"("offset":)");
            if (off != std::string::npos) last = std::strtoll(text.c_str() + off + 9, nullptr, 10);
            if (!terminal(string_field(text, R"("status":")"))) continue;
            const eventshop::json_document doc(text);
            const auto data = doc.root()["data"];
            if (!data["status"].is_string() || !data["order_id"].is_string()) continue;
            const std::string status(data["status"].as_string());
            if (!terminal(status)) continue;
            std::lock_guard lock(st.mutex);
            finish(st, std::string(data["order_id"].as_string()), status, now);
          } else if (text.rfind(R"({"type":"subscribed")", 0) == 0) {
            const eventshop::json_document doc(text);
            const auto root = doc.root();
            const bool resumed = last >= 0 && !epoch.empty();
            if (resumed && !root["recovered"].as_bool()) ++st.lost_resumes;
            if (root["epoch"].is_string()) epoch = std::string(root["epoch"].as_string());
            if (!resumed || !root["recovered"].as_bool())
              last = root["offset"].is_integer() ? root["offset"].as_int64() : last;
          }
        } catch (const std::exception&) {
        }
      }
    } catch (const std::exception& e) {
      if (!ready) {
        std::fprintf(stderr, "\nloadgen: WebSocket: %s\n", e.what());
        ready = true;
        return;
      }
    }
    if (stop) break;
    ++st.reconnects;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

bool post(beast::tcp_stream& s, const options& o, int port, const std::string& target,
          const std::string& body, std::string& out) {
  bhttp::request<bhttp::string_body> req{bhttp::verb::post, target, 11};
  req.set(bhttp::field::host, o.host + ":" + std::to_string(port));
  req.set(bhttp::field::content_type, "application/json");
  req.keep_alive(true);
  req.body() = body;
  req.prepare_payload();
  bhttp::write(s, req);
  beast::flat_buffer buf;
  bhttp::response<bhttp::string_body> res;
  bhttp::read(s, buf, res);
  out = res.body();
  return res.result_int() == 201 || res.result_int() == 200;
}

void sender(const options& o, state& st, clk::time_point t0) {
  asio::io_context ioc;
  std::unique_ptr<beast::tcp_stream> s;
  const std::string body = R"({"product_id":")" + o.product + R"(","quantity":1})";
  for (;;) {
    const long i = st.next.fetch_add(1);
    if (i >= o.orders) break;
    if (o.rate > 0)
      std::this_thread::sleep_until(
          t0 + std::chrono::duration_cast<clk::duration>(
                   std::chrono::duration<double>(static_cast<double>(i) / o.rate)));
    try {
      if (!s) {
        s = std::make_unique<beast::tcp_stream>(ioc);
        s->connect(
            tcp::endpoint(asio::ip::make_address(o.host), static_cast<unsigned short>(o.port)));
      }
      const auto at = clk::now();
      std::string answer;
      if (!post(*s, o, o.port, "/order", body, answer)) {
        ++st.errors;
        continue;
      }
      eventshop::json_document doc(answer);
      const std::string id(doc.root()["order_id"].as_string());
      ++st.created;
      std::lock_guard lock(st.mutex);
      st.sent.emplace(id, at);
      if (auto e = st.early.find(id); e != st.early.end()) {
        const std::string status = e->second;
        st.early.erase(e);
        finish(st, id, status, clk::now());
      }
    } catch (const std::exception&) {
      ++st.errors;
      s.reset();
    }
  }
}

double pct(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  const std::size_t k =
      std::min(v.size() - 1, static_cast<std::size_t>(p / 100.0 * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return v[k];
}

}  // namespace

int main(int argc, char** argv) {
  const options o = parse(argc, argv);
  state st;
  if (o.restock) {
    try {
      asio::io_context ioc;
      beast::tcp_stream s(ioc);
      s.connect(tcp::endpoint(asio::ip::make_address(o.host),
                              static_cast<unsigned short>(o.inventory_port)));
      std::string answer;
      const long units = std::min<long>(o.orders, 1'000'000);
      if (!post(s, o, o.inventory_port, "/v1/products/" + o.product + "/restock",
                "{\"quantity\":" + std::to_string(units) + "}", answer))
        std::fprintf(stderr, "loadgen: restock refused: %s\n", answer.c_str());
    } catch (const std::exception& e) {
      std::fprintf(stderr, "loadgen: cannot restock on port %d: %s\n", o.inventory_port, e.what());
      return 1;
    }
  }
  std::atomic<bool> stop{false}, ready{false};
  std::thread watcher([&] { watch(o, st, stop, ready); });
  while (!ready)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const auto t0 = clk::now();
  std::vector<std::thread> senders;
  for (int c = 0; c < o.connections; ++c)
    senders.emplace_back([&] { sender(o, st, t0); });

  const auto deadline = t0 + std::chrono::seconds(o.timeout_s);
  auto done = [&] {
    return st.next.load() >= o.orders && st.created + st.errors >= o.orders &&
           st.shipped + st.failed >= st.created;
  };
  while (!done() && clk::now() < deadline) {
    const long finished = st.shipped + st.failed;
    const int width = 40;
    const int filled = static_cast<int>(width * finished / std::max<long>(1, o.orders));
    std::fprintf(stderr, "\r[%s%s] sent %ld/%ld  shipped %ld  failed %ld  errors %ld ",
                 std::string(static_cast<std::size_t>(filled), '#').c_str(),
                 std::string(static_cast<std::size_t>(width - filled), ' ').c_str(),
                 st.created.load(), o.orders, st.shipped.load(), st.failed.load(),
                 st.errors.load());
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  const double secs = std::chrono::duration<double>(clk::now() - t0).count();
  for (auto& t : senders)
    t.join();
  stop = true;
  if (const int fd = watcher_fd.load(); fd >= 0) ::shutdown(fd, SHUT_RDWR);
  watcher.join();
  std::fprintf(stderr, "\n");
  std::vector<double> lat;
  {
    std::lock_guard lock(st.mutex);
    lat = st.latency_ms;
  }
  std::printf("| metric | value |\n|---|---|\n");
  std::printf("| orders requested | %ld |\n| created (201) | %ld |\n| HTTP errors | %ld |\n",
              o.orders, st.created.load(), st.errors.load());
  std::printf("| shipped | %ld |\n| failed (rejected/declined/cancelled) | %ld |\n",
              st.shipped.load(), st.failed.load());
  std::printf(
      "| target rate | %s |\n",
      o.rate > 0 ? (std::to_string(static_cast<long>(o.rate)) + " orders/s").c_str() : "max");
  std::printf("| connections | %d |\n| wall time | %.2f s |\n", o.connections, secs);
  std::printf("| fully processed | %.0f orders/s |\n",
              static_cast<double>(st.shipped + st.failed) / secs);
  std::printf("| created -> shipped p50 | %.2f ms |\n", pct(lat, 50));
  std::printf("| created -> shipped p90 | %.2f ms |\n", pct(lat, 90));
  std::printf("| created -> shipped p99 | %.2f ms |\n", pct(lat, 99));
  std::printf("| created -> shipped max | %.2f ms |\n",
              lat.empty() ? 0.0 : *std::max_element(lat.begin(), lat.end()));
  if (st.reconnects > 0)
    std::printf("| WebSocket reconnects (resumed) | %ld (%ld not recoverable) |\n",
                st.reconnects.load(), st.lost_resumes.load());
  return done() ? 0 : 1;
}
