// A small Beast HTTP client for the http/realtime tests: real sockets on 127.0.0.1, every
// operation bounded by a deadline (no test can hang).
#pragma once

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <array>
#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace eventshop::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

struct http_result {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // names lower-cased
  bool ok = false;                             // false: connection failed / timed out
  std::string error;

  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string{} : it->second;
  }
  bool has_header(const std::string& lower_name) const { return headers.count(lower_name) > 0; }
};

inline std::string lower(std::string s) {
  for (auto& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  }
  return s;
}

class test_client {
 public:
  explicit test_client(std::uint16_t port,
                       std::chrono::milliseconds timeout = std::chrono::seconds(5))
      : stream_(ioc_), timeout_(timeout) {
    connect(port);
  }

  void connect(std::uint16_t port) {
    stream_.expires_after(timeout_);
    asio::ip::tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), port);
    beast::error_code result;
    stream_.async_connect(ep, [&](beast::error_code ec) { result = ec; });
    run();
    if (result) error_ = result.message();
    connected_ = !result;
  }

  bool connected() const { return connected_; }

  http_result request(bhttp::verb verb, const std::string& target, const std::string& body = {},
                      std::vector<std::pair<std::string, std::string>> headers = {}) {
    bhttp::request<bhttp::string_body> req{verb, target, 11};
    req.set(bhttp::field::host, "127.0.0.1");
    for (auto& [k, v] : headers)
      req.set(k, v);
    if (!body.empty() || verb == bhttp::verb::post || verb == bhttp::verb::put) {
      req.body() = body;
      req.prepare_payload();
    }
    http_result out;
    beast::error_code wec;
    stream_.expires_after(timeout_);
    bhttp::async_write(stream_, req, [&](beast::error_code ec, std::size_t) { wec = ec; });
    run();
    if (wec) {
      out.error = "write: " + wec.message();
      return out;
    }
    return read_response(verb == bhttp::verb::head);
  }

  http_result read_response(bool head = false) {
    http_result out;
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    parser.skip(head);
    beast::error_code rec;
    stream_.expires_after(timeout_);
    bhttp::async_read(stream_, buffer_, parser,
                      [&](beast::error_code ec, std::size_t) { rec = ec; });
    run();
    if (rec) {
      out.error = "read: " + rec.message();
      return out;
    }
    auto msg = parser.release();
    out.ok = true;
    out.status = static_cast<int>(msg.result_int());
    out.body = std::move(msg.body());
    for (const auto& f : msg)
      out.headers[lower(std::string(f.name_string()))] = std::string(f.value());
    return out;
  }

  // Writes raw bytes.
  bool write_raw(const std::string& bytes) {
    beast::error_code wec;
    stream_.expires_after(timeout_);
    asio::async_write(stream_, asio::buffer(bytes),
                      [&](beast::error_code ec, std::size_t) { wec = ec; });
    run();
    return !wec;
  }

  // Reads until the peer closes or `wait` passes; returns everything received. A read still
  // pending at the deadline stays pending (the socket stays open) for the next call.
  std::string read_all(std::chrono::milliseconds wait = std::chrono::seconds(5)) {
    std::string out(static_cast<const char*>(buffer_.data().data()), buffer_.size());
    buffer_.consume(buffer_.size());
    auto deadline = std::chrono::steady_clock::now() + wait;
    while (!closed_ && std::chrono::steady_clock::now() < deadline) {
      if (!reading_ && !rdone_) {  // rdone_: a read completed while another call ran the loop
        reading_ = true;
        stream_.expires_never();
        stream_.async_read_some(asio::buffer(chunk_), [this](beast::error_code ec, std::size_t n) {
          reading_ = false;
          rdone_ = true;
          rec_ = ec;
          rn_ = n;
        });
      }
      while (!rdone_ && std::chrono::steady_clock::now() < deadline) {
        ioc_.restart();
        ioc_.run_for(std::chrono::milliseconds(10));
      }
      if (!rdone_) break;
      rdone_ = false;
      out.append(chunk_.data(), rn_);
      if (rec_) closed_ = true;
    }
    return out;
  }

  // True when the server closed the connection (after read_all).
  bool closed() const { return closed_; }

  beast::tcp_stream& stream() { return stream_; }
  beast::flat_buffer& buffer() { return buffer_; }
  asio::io_context& ioc() { return ioc_; }
  void run() {
    ioc_.restart();
    ioc_.run();
  }

 private:
  asio::io_context ioc_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::chrono::milliseconds timeout_;
  bool connected_ = false;
  bool closed_ = false;
  bool reading_ = false;
  bool rdone_ = false;
  beast::error_code rec_;
  std::size_t rn_ = 0;
  std::array<char, 65536> chunk_{};
  std::string error_;
};

// Status code of the first response line in raw bytes ("HTTP/1.1 413 ..."), or 0.
inline int raw_status(const std::string& raw) {
  if (raw.size() < 12 || raw.compare(0, 5, "HTTP/") != 0) return 0;
  return std::atoi(raw.substr(9, 3).c_str());
}

}  // namespace eventshop::test
