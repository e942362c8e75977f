// eventshop-loadgen: sends N orders at a target rate over C keep-alive HTTP connections (its own
// Asio/Beast client on one thread - cpprestsdk is too slow to be the engine) and measures, per
// order, the time from sending POST /order to seeing it `shipped` on the status service's v1
// WebSocket ("orders" channel; no polling). Prints a progress bar and a final table of
// throughput, latency percentiles and its own CPU time (it shares the machine with the server).
//
//   eventshop-loadgen --orders 5000 --rate 2000 --connections 8 [--port 8080] [--status-port 8085]
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <sys/resource.h>

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

using time_point = clk::time_point;

struct state {
  std::unordered_map<std::string, time_point> sent;    // order id -> send time
  std::unordered_map<std::string, std::string> early;  // terminal seen before the 201 came back
  std::vector<double> latency_ms;                      // created -> shipped
  long next = 0;                                       // orders handed to a connection
  long created = 0, errors = 0, shipped = 0, failed = 0;
  long reconnects = 0;    // WebSocket reconnections (each resumed by offset)
  long lost_resumes = 0;  // resumes the server could no longer replay
};

void finish(state& st, const std::string& id, std::string_view status, time_point at) {
  auto it = st.sent.find(id);
  if (it == st.sent.end()) {
    st.early[id] = std::string(status);
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

// The whole load generator runs on one thread: a single epoll loop drives the pacing timer, the
// C order connections and the WebSocket. On two cores shared with the server, a thread per
// connection sleeping until each order's send time and blocking on its answer cost two
// context switches per order in the load generator alone.
class loadgen {
 public:
  loadgen(const options& o, state& st)
      : o_(o),
        st_(st),
        ep_(asio::ip::make_address(o.host), static_cast<unsigned short>(o.port)),
        pace_(ioc_),
        progress_(ioc_),
        ws_retry_(ioc_) {
    const std::string body = R"({"product_id":")" + o.product + R"(","quantity":1})";
    request_ =
        "POST /order HTTP/1.1\r\nHost: " + o.host + ":" + std::to_string(o.port) +
        "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
        "\r\n\r\n" + body;
  }

  // Connects the WebSocket first (a failure there ends the run), then sends and follows the
  // orders until every one is finished or the timeout passes.
  bool run() {
    start_ws();
    while (!ws_ready_ && !ws_failed_ && ioc_.run_one()) {
    }
    if (ws_failed_) return false;
    t0_ = clk::now();
    deadline_ = t0_ + std::chrono::seconds(o_.timeout_s);
    for (int c = 0; c < o_.connections; ++c)
      conns_.push_back(std::make_unique<conn>(ioc_));
    for (auto& c : conns_)
      connect(*c);
    tick_progress();
    ioc_.run();
    secs_ = std::chrono::duration<double>(clk::now() - t0_).count();
    return done();
  }

  double seconds() const { return secs_; }

  bool done() const {
    return st_.next >= o_.orders && st_.created + st_.errors >= o_.orders &&
           st_.shipped + st_.failed >= st_.created;
  }

 private:
  struct conn {
    explicit conn(asio::io_context& ioc) : socket(ioc) {}
    tcp::socket socket;
    bool connected = false;
    bool busy = false;
    time_point sent_at{};
    std::string in;  // bytes of the answer read so far
    std::array<char, 4096> chunk{};
  };

  // ---- orders
  time_point due(long i) const {
    return t0_ + std::chrono::duration_cast<clk::duration>(
                     std::chrono::duration<double>(static_cast<double>(i) / o_.rate));
  }

  void connect(conn& c) {
    c.connected = c.busy = false;
    c.in.clear();
    c.socket.async_connect(ep_, [this, &c](beast::error_code ec) {
      if (ec) {
        ++st_.errors;
        return check_done();
      }
      c.connected = true;
      c.socket.set_option(tcp::no_delay(true), ec);
      feed();
    });
  }

  // Hands every order that is due to an idle connection; arms the pacing timer for the next.
  void feed() {
    if (stopping_) return;
    const auto now = clk::now();
    for (auto& c : conns_) {
      if (st_.next >= o_.orders) break;
      if (!c->connected || c->busy) continue;
      if (o_.rate > 0 && due(st_.next) > now) break;
      ++st_.next;
      send(*c);
    }
    if (st_.next < o_.orders && o_.rate > 0 && !pace_armed_) {
      const auto at = due(st_.next);
      if (at > now) {
        pace_armed_ = true;
        pace_.expires_at(at);
        pace_.async_wait([this](beast::error_code) {
          pace_armed_ = false;
          feed();
        });
      }
    }
  }

  void send(conn& c) {
    c.busy = true;
    c.sent_at = clk::now();
    asio::async_write(c.socket, asio::buffer(request_),
                      [this, &c](beast::error_code ec, std::size_t) {
                        if (ec) return fail(c);
                        read_answer(c);
                      });
  }

  void read_answer(conn& c) {
    c.socket.async_read_some(
        asio::buffer(c.chunk), [this, &c](beast::error_code ec, std::size_t n) {
          if (ec) return fail(c);
          c.in.append(c.chunk.data(), n);
          const auto head_end = c.in.find("\r\n\r\n");
          if (head_end == std::string::npos) return read_answer(c);
          const std::string_view head(c.in.data(), head_end);
          std::size_t length = 0;
          const auto cl = head.find("Content-Length: ");
          if (cl != std::string_view::npos)
            length = std::strtoul(head.data() + cl + 16, nullptr, 10);
          if (c.in.size() < head_end + 4 + length) return read_answer(c);
          const std::string_view body(c.in.data() + head_end + 4, length);
          const bool ok =
              head.size() > 12 && (head.substr(9, 3) == "201" || head.substr(9, 3) == "200");
          const std::string id(string_field(body, R"("order_id":")"));
          if (!ok || id.empty()) {
            ++st_.errors;
          } else {
            ++st_.created;
            st_.sent.emplace(id, c.sent_at);
            if (auto e = st_.early.find(id); e != st_.early.end()) {
              const std::string status = e->second;
              st_.early.erase(e);
              finish(st_, id, status, clk::now());
            }
          }
          c.in.erase(0, head_end + 4 + length);
          c.busy = false;
          feed();
          check_done();
        });
  }

  void fail(conn& c) {
    ++st_.errors;
    beast::error_code ignored;
    c.socket.close(ignored);
    c.connected = c.busy = false;
    if (!stopping_) {
      c.socket = tcp::socket(ioc_);
      connect(c);
    }
    check_done();
  }

  // ---- the WebSocket on the status service's "orders" channel
  // Every order change of the system comes through it (six per order), so only terminal ones
  // are parsed: the status is found by a text search (the update's "data" is the v1 order; the
  // events' data in it are escaped strings, so the first unescaped "status":" is the order's).
  // When the server closes a connection that fell behind (1008) or it drops, it reconnects and
  // resumes after the last offset it saw (CONTRACT §5 "since"); if the server can no longer
  // replay that far, the loss is counted and reported.
  // A minimal WebSocket client (RFC 6455) on a plain socket: the handshake by hand, masked
  // frames out, and frames in parsed straight from 256 KiB reads - many messages per recv(2),
  // no copy and no UTF-8 validation per message. Beast's stream read one message per call; at
  // tens of thousands of messages per second the load generator then fell behind the server's
  // per-connection bound on a busy machine and was closed with 1008.
  void start_ws() {
    ws_sock_ = std::make_unique<tcp::socket>(ioc_);
    ws_in_.clear();
    ws_open_ = false;
    ws_sock_->async_connect(
        tcp::endpoint(asio::ip::make_address(o_.host), static_cast<unsigned short>(o_.status_port)),
        [this](beast::error_code ec) {
          if (ec) return ws_error(ec);
          beast::error_code ignored;
          ws_sock_->set_option(tcp::no_delay(true), ignored);
          ws_out_ = "GET /v1/ws HTTP/1.1\r\nHost: " + o_.host + ":" +
                    std::to_string(o_.status_port) +
                    "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    "Sec-WebSocket-Key: ZXZlbnRzaG9wLWxvYWRnZW4=\r\n"
                    "Sec-WebSocket-Version: 13\r\n\r\n";
          std::string sub = R"({"op":"subscribe","channel":"orders")";
          if (last_ >= 0 && !epoch_.empty())
            sub +=
                R"(,"since":{"offset":)" + std::to_string(last_) + R"(,"epoch":")" + epoch_ + "\"}";
          sub += "}";
          ws_out_ += client_frame(0x1, sub);
          asio::async_write(*ws_sock_, asio::buffer(ws_out_),
                            [this](beast::error_code ec2, std::size_t) {
                              if (ec2) return ws_error(ec2);
                              ws_read();
                            });
        });
  }

  // A masked client frame (the mask is fixed: it only has to be present).
  static std::string client_frame(unsigned opcode, std::string_view payload) {
    std::string f;
    f.push_back(static_cast<char>(0x80 | opcode));
    if (payload.size() < 126) {
      f.push_back(static_cast<char>(0x80 | payload.size()));
    } else {
      f.push_back(static_cast<char>(0x80 | 126));
      f.push_back(static_cast<char>((payload.size() >> 8) & 0xff));
      f.push_back(static_cast<char>(payload.size() & 0xff));
    }
    const char mask[4] = {0x12, 0x34, 0x56, 0x78};
    f.append(mask, 4);
    for (std::size_t i = 0; i < payload.size(); ++i)
      f.push_back(static_cast<char>(payload[i] ^ mask[i % 4]));
    return f;
  }

  void ws_error(const beast::error_code& ec) {
    if (stopping_) return;
    if (!ws_ready_) {
      std::fprintf(stderr, "\nloadgen: WebSocket: %s\n", ec.message().c_str());
      ws_failed_ = true;
      return;
    }
    ++st_.reconnects;
    beast::error_code ignored;
    ws_sock_->close(ignored);
    ws_retry_.expires_after(std::chrono::milliseconds(10));
    ws_retry_.async_wait([this](beast::error_code) {
      if (!stopping_) start_ws();
    });
  }

  void ws_read() {
    ws_sock_->async_read_some(
        asio::buffer(ws_chunk_.get(), ws_chunk), [this](beast::error_code ec, std::size_t n) {
          ws_in_.append(ws_chunk_.get(), n);
          if (ec) return ws_error(ec);
          const auto now = clk::now();
          std::size_t at = 0;
          if (!ws_open_) {
            const auto end = ws_in_.find("\r\n\r\n");
            if (end == std::string::npos) return ws_read();
            if (ws_in_.compare(0, 12, "HTTP/1.1 101") != 0)
              return ws_error(
                  beast::error_code(beast::errc::protocol_error, beast::generic_category()));
            ws_open_ = ws_ready_ = true;
            at = end + 4;
          }
          bool closed = false;
          while (!closed) {
            const std::size_t avail = ws_in_.size() - at;
            if (avail < 2) break;
            const auto* p = reinterpret_cast<const unsigned char*>(ws_in_.data() + at);
            const unsigned opcode = p[0] & 0x0f;
            std::uint64_t len = p[1] & 0x7f;
            std::size_t head = 2;
            if (len == 126) {
              if (avail < 4) break;
              len = (std::uint64_t{p[2]} << 8) | p[3];
              head = 4;
            } else if (len == 127) {
              if (avail < 10) break;
              len = 0;
              for (int i = 2; i < 10; ++i)
                len = (len << 8) | p[i];
              head = 10;
            }
            if (p[1] & 0x80) head += 4;  // a masked server frame would be a protocol error
            if (avail < head + len) break;
            const std::string_view payload(ws_in_.data() + at + head, len);
            at += head + len;
            if (opcode == 0x1 || opcode == 0x0) {
              on_ws_message(payload, now);  // the server does not fragment its messages
            } else if (opcode == 0x9) {
              pong_ = client_frame(0xA, payload);
              beast::error_code ignored;
              asio::write(*ws_sock_, asio::buffer(pong_), ignored);
            } else if (opcode == 0x8) {
              closed = true;  // 1008 (too slow) or going away: reconnect and resume
            }
          }
          ws_in_.erase(0, at);
          check_done();
          if (closed)
            return ws_error(
                beast::error_code(beast::errc::connection_reset, beast::generic_category()));
          if (!stopping_) ws_read();
        });
  }

  void on_ws_message(std::string_view text, time_point now) {
    try {
      if (text.rfind(R"({"type":"update")", 0) == 0) {
        const auto off = text.find(R"("offset":)");
        if (off != std::string_view::npos) last_ = std::strtoll(text.data() + off + 9, nullptr, 10);
        if (!terminal(string_field(text, R"("status":")"))) return;
        const eventshop::json_document doc(text);
        const auto data = doc.root()["data"];
        if (!data["status"].is_string() || !data["order_id"].is_string()) return;
        const std::string_view status = data["status"].as_string();
        if (!terminal(status)) return;
        finish(st_, std::string(data["order_id"].as_string()), status, now);
      } else if (text.rfind(R"({"type":"subscribed")", 0) == 0) {
        const eventshop::json_document doc(text);
        const auto root = doc.root();
        const bool resumed = last_ >= 0 && !epoch_.empty();
        if (resumed && !root["recovered"].as_bool()) ++st_.lost_resumes;
        if (root["epoch"].is_string()) epoch_ = std::string(root["epoch"].as_string());
        if (!resumed || !root["recovered"].as_bool())
          last_ = root["offset"].is_integer() ? root["offset"].as_int64() : last_;
      }
    } catch (const std::exception&) {
    }
  }

  // ---- progress and the end
  void tick_progress() {
    const long finished = st_.shipped + st_.failed;
    const int width = 40;
    const int filled = static_cast<int>(width * finished / std::max<long>(1, o_.orders));
    std::fprintf(stderr, "\r[%s%s] sent %ld/%ld  shipped %ld  failed %ld  errors %ld ",
                 std::string(static_cast<std::size_t>(filled), '#').c_str(),
                 std::string(static_cast<std::size_t>(width - filled), ' ').c_str(), st_.created,
                 o_.orders, st_.shipped, st_.failed, st_.errors);
    if (clk::now() >= deadline_) return stop();
    progress_.expires_after(std::chrono::milliseconds(200));
    progress_.async_wait([this](beast::error_code ec) {
      if (!ec && !stopping_) tick_progress();
    });
  }

  void check_done() {
    if (!stopping_ && done()) stop();
  }

  void stop() {
    stopping_ = true;
    ioc_.stop();
  }

  const options& o_;
  state& st_;
  asio::io_context ioc_{1};
  tcp::endpoint ep_;
  std::string request_;
  std::vector<std::unique_ptr<conn>> conns_;
  asio::steady_timer pace_;
  bool pace_armed_ = false;
  asio::steady_timer progress_;
  time_point t0_{}, deadline_{};
  double secs_ = 0;
  bool stopping_ = false;

  static constexpr std::size_t ws_chunk = 256 * 1024;
  std::unique_ptr<char[]> ws_chunk_ = std::make_unique<char[]>(ws_chunk);
  std::unique_ptr<tcp::socket> ws_sock_;
  std::string ws_in_, ws_out_, pong_;
  bool ws_open_ = false;
  asio::steady_timer ws_retry_;
  std::string epoch_;
  long long last_ = -1;  // offset of the last update seen on "orders"
  bool ws_ready_ = false, ws_failed_ = false;
};

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
  loadgen lg(o, st);
  const bool completed = lg.run();
  const double secs = lg.seconds();
  std::fprintf(stderr, "\n");
  std::vector<double> lat = st.latency_ms;
  std::printf("| metric | value |\n|---|---|\n");
  std::printf("| orders requested | %ld |\n| created (201) | %ld |\n| HTTP errors | %ld |\n",
              o.orders, st.created, st.errors);
  std::printf("| shipped | %ld |\n| failed (rejected/declined/cancelled) | %ld |\n", st.shipped,
              st.failed);
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
    std::printf("| WebSocket reconnects (resumed) | %ld (%ld not recoverable) |\n", st.reconnects,
                st.lost_resumes);
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  std::printf(
      "| loadgen CPU | %.2f s user + %.2f s system |\n",
      static_cast<double>(ru.ru_utime.tv_sec) + static_cast<double>(ru.ru_utime.tv_usec) / 1e6,
      static_cast<double>(ru.ru_stime.tv_sec) + static_cast<double>(ru.ru_stime.tv_usec) / 1e6);
  return completed ? 0 : 1;
}
