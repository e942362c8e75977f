// A Beast WebSocket client for the realtime tests; every wait is bounded, and a read that times
// out stays pending (the socket is not closed), so "nothing arrives" can be checked.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace eventshop::test {

namespace wsb = boost::beast::websocket;

class ws_client {
 public:
  ws_client() : ws_(ioc_) {}

  // Handshakes on `target`; returns the HTTP status of the answer (101 on success).
  int connect(std::uint16_t port, const std::string& target, const std::string& origin = {}) {
    namespace beast = boost::beast;
    auto& tcp = beast::get_lowest_layer(ws_);
    tcp.expires_after(std::chrono::seconds(5));
    boost::asio::ip::tcp::endpoint ep(boost::asio::ip::make_address("127.0.0.1"), port);
    beast::error_code cec;
    tcp.async_connect(ep, [&](beast::error_code ec) { cec = ec; });
    run();
    if (cec) return 0;
    ws_.set_option(wsb::stream_base::decorator([origin](wsb::request_type& req) {
      if (!origin.empty()) req.set(boost::beast::http::field::origin, origin);
    }));
    ws_.control_callback([this](wsb::frame_type kind, boost::beast::string_view) {
      if (kind == wsb::frame_type::ping) ++pings_;
    });
    beast::error_code hec;
    ws_.async_handshake(response_, "127.0.0.1", target, [&](beast::error_code ec) { hec = ec; });
    run();
    tcp.expires_never();
    return static_cast<int>(response_.result_int());
  }

  void send(const std::string& text, bool binary = false) {
    ws_.binary(binary);
    bool wdone = false;
    ws_.async_write(boost::asio::buffer(text),
                    [&](boost::beast::error_code, std::size_t) { wdone = true; });
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!wdone && std::chrono::steady_clock::now() < deadline) {
      ioc_.restart();
      ioc_.run_for(std::chrono::milliseconds(5));
    }
  }

  // The next text message, or nullopt if none arrives within `wait` or the connection closed
  // (then closed() is true and close_code() tells why).
  std::optional<std::string> read(std::chrono::milliseconds wait = std::chrono::seconds(5)) {
    if (closed_) return std::nullopt;
    if (!reading_ && !done_) {  // done_: a read completed while send() ran the loop
      reading_ = true;
      ws_.async_read(buffer_, [this](boost::beast::error_code ec, std::size_t) {
        reading_ = false;
        done_ = true;
        read_ec_ = ec;
      });
    }
    auto deadline = std::chrono::steady_clock::now() + wait;
    while (!done_ && std::chrono::steady_clock::now() < deadline) {
      ioc_.restart();
      ioc_.run_for(std::chrono::milliseconds(20));
    }
    if (!done_) return std::nullopt;
    done_ = false;
    if (read_ec_) {
      closed_ = true;
      return std::nullopt;
    }
    std::string out = boost::beast::buffers_to_string(buffer_.data());
    buffer_.consume(buffer_.size());
    return out;
  }

  // Reads until a message containing `needle` arrives (others are collected into `skipped`).
  std::optional<std::string> read_until(const std::string& needle,
                                        std::chrono::milliseconds wait = std::chrono::seconds(5),
                                        std::vector<std::string>* skipped = nullptr) {
    auto deadline = std::chrono::steady_clock::now() + wait;
    while (std::chrono::steady_clock::now() < deadline) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      auto m = read(left);
      if (!m) return std::nullopt;
      if (m->find(needle) != std::string::npos) return m;
      if (skipped) skipped->push_back(*m);
    }
    return std::nullopt;
  }

  bool closed() const { return closed_; }
  int close_code() const { return static_cast<int>(ws_.reason().code); }
  int pings() const { return pings_.load(); }
  const wsb::response_type& handshake_response() const { return response_; }

 private:
  void run() {
    ioc_.restart();
    ioc_.run();
  }
  boost::asio::io_context ioc_;
  wsb::stream<boost::beast::tcp_stream> ws_;
  wsb::response_type response_;
  boost::beast::flat_buffer buffer_;
  bool reading_ = false;
  bool done_ = false;
  bool closed_ = false;
  boost::beast::error_code read_ec_;
  std::atomic<int> pings_{0};
};

}  // namespace eventshop::test
