// A WebSocket load client for the realtime benchmarks: N connections on one io thread,
// handshake + subscribe, then counts update frames and records delivery latency from the
// "t" (CLOCK_MONOTONIC ns at publish) inside each message. Minimal framing: the servers under
// test send unmasked, unfragmented text frames.
#pragma once

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace bench {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

inline long long monotonic_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

inline std::string masked_text(const std::string& payload) {
  std::string f;
  f.push_back(static_cast<char>(0x81));
  if (payload.size() < 126) {
    f.push_back(static_cast<char>(0x80 | payload.size()));
  } else {
    f.push_back(static_cast<char>(0x80 | 126));
    f.push_back(static_cast<char>(payload.size() >> 8));
    f.push_back(static_cast<char>(payload.size() & 0xFF));
  }
  const char mask[4] = {0x1, 0x2, 0x3, 0x4};
  f.append(mask, 4);
  for (std::size_t i = 0; i < payload.size(); ++i)
    f.push_back(static_cast<char>(payload[i] ^ mask[i % 4]));
  return f;
}

inline std::string upgrade_request(const std::string& target) {
  return "GET " + target +
         " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
}

class ws_load {
 public:
  struct conn {
    explicit conn(asio::io_context& ioc) : socket(ioc) {}
    tcp::socket socket;
    std::string out;
    std::vector<char> buf;
    std::size_t have = 0;
    bool upgraded = false;
  };

  // `buffer_bytes`: per-connection receive buffer (small for the idle-memory benchmark).
  ws_load(std::uint16_t port, std::size_t n, std::string subscribe_json,
          std::size_t buffer_bytes = 65536, bool record_latency = true)
      : port_(port), subscribe_(std::move(subscribe_json)), record_(record_latency) {
    conns_.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      conns_.push_back(std::make_unique<conn>(ioc_));
      conns_.back()->buf.resize(buffer_bytes);
    }
    if (record_) {
      latencies_[0].reserve(1'000'000);
      latencies_[1].reserve(4'000'000);
    }
  }
  ~ws_load() { stop(); }

  // Connects every client (sequentially in batches so the accept queue never overflows) and
  // starts the io thread.
  void start(const std::string& target = "/v1/ws") {
    tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), port_);
    for (auto& c : conns_) {
      boost::system::error_code ec;
      c->socket.connect(ep, ec);
      if (ec) {
        ++failed_;
        continue;
      }
      c->socket.set_option(tcp::no_delay(true), ec);
      c->out =
          upgrade_request(target) + (subscribe_.empty() ? std::string{} : masked_text(subscribe_));
      asio::write(c->socket, asio::buffer(c->out), ec);
      if (ec) {
        ++failed_;
        continue;
      }
      read(*c);
    }
    thread_ = std::thread([this] { ioc_.run(); });
  }

  void stop() {
    ioc_.stop();
    if (thread_.joinable()) thread_.join();
  }

  std::size_t failed() const { return failed_.load(); }
  std::size_t upgraded() const { return upgraded_.load(); }
  std::size_t subscribed() const { return subscribed_.load(); }
  std::uint64_t received() const { return received_.load(std::memory_order_relaxed); }

  // Waits (bounded) until pred() holds.
  template <class P>
  static bool wait_for(P pred, std::chrono::milliseconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!pred()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    return true;
  }

  // Latency samples go to phase 0 until set_phase(1) (e.g. an unloaded latency phase, then a
  // throughput phase).
  void set_phase(int phase) { phase_.store(phase); }

  // After stop(): latency percentile in microseconds of one phase.
  double latency_us(int phase, double pct) {
    auto& v = latencies_[phase];
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    auto idx = static_cast<std::size_t>(pct / 100.0 * static_cast<double>(v.size() - 1));
    return static_cast<double>(v[idx]) / 1000.0;
  }

 private:
  void read(conn& c) {
    c.socket.async_read_some(asio::buffer(c.buf.data() + c.have, c.buf.size() - c.have),
                             [this, &c](boost::system::error_code ec, std::size_t n) {
                               if (ec) return;
                               c.have += n;
                               parse(c);
                               if (c.have == c.buf.size()) c.buf.resize(c.buf.size() * 2);
                               read(c);
                             });
  }

  void parse(conn& c) {
    std::size_t p = 0;
    if (!c.upgraded) {
      std::string_view v(c.buf.data(), c.have);
      auto end = v.find("\r\n\r\n");
      if (end == std::string_view::npos) return;
      if (v.substr(0, 12) == "HTTP/1.1 101") ++upgraded_;
      c.upgraded = true;
      p = end + 4;
    }
    long long now = 0;
    while (c.have - p >= 2) {
      auto b1 = static_cast<unsigned char>(c.buf[p + 1]) & 0x7F;
      std::size_t h = 2;
      std::uint64_t len = b1;
      if (b1 == 126) {
        if (c.have - p < 4) break;
        len = (static_cast<std::uint64_t>(static_cast<unsigned char>(c.buf[p + 2])) << 8) |
              static_cast<unsigned char>(c.buf[p + 3]);
        h = 4;
      } else if (b1 == 127) {
        if (c.have - p < 10) break;
        len = 0;
        for (int i = 0; i < 8; ++i)
          len = (len << 8) | static_cast<unsigned char>(c.buf[p + 2 + static_cast<std::size_t>(i)]);
        h = 10;
      }
      if (c.have - p < h + len) break;
      int op = static_cast<unsigned char>(c.buf[p]) & 0x0F;
      std::string_view payload(c.buf.data() + p + h, len);
      if (op == 1) {
        if (payload.size() > 16 && payload.substr(0, 16) == R"({"type":"update")") {
          if (record_) {
            auto t = payload.find(R"("t":)");
            if (t != std::string_view::npos) {
              if (now == 0) now = monotonic_ns();
              long long sent = std::atoll(std::string(payload.substr(t + 4, 24)).c_str());
              latencies_[phase_.load(std::memory_order_relaxed)].push_back(now - sent);
            }
          }
          received_.fetch_add(1, std::memory_order_release);
        } else if (payload.find(R"("type":"subscribed")") != std::string_view::npos) {
          ++subscribed_;
        }
      }
      p += h + len;
    }
    if (p > 0) {
      std::memmove(c.buf.data(), c.buf.data() + p, c.have - p);
      c.have -= p;
    }
  }

  asio::io_context ioc_;
  std::uint16_t port_;
  std::string subscribe_;
  bool record_;
  std::vector<std::unique_ptr<conn>> conns_;
  std::thread thread_;
  std::atomic<std::size_t> failed_{0}, upgraded_{0}, subscribed_{0};
  std::atomic<std::uint64_t> received_{0};
  std::vector<long long> latencies_[2];
  std::atomic<int> phase_{0};
};

}  // namespace bench
