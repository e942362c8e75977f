// Helpers of the services' end-to-end tests: a child process, a blocking HTTP client, a
// WebSocket client (Boost.Beast), and waiting on a condition with a deadline (never a fixed
// sleep to wait for an event: polls are bounded and stop as soon as the condition holds).
#pragma once

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "eventshop/core/json.hpp"

namespace e2e {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

struct reply {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;
  eventshop::json_document json() const { return eventshop::json_document(body); }
};

// One request on a fresh connection. status 0 = could not connect / no answer.
inline reply request(int port, const std::string& method, const std::string& target,
                     const std::string& body = {},
                     const std::string& content_type = "application/json",
                     const std::vector<std::pair<std::string, std::string>>& headers = {}) {
  reply out;
  try {
    asio::io_context ioc;
    beast::tcp_stream stream(ioc);
    stream.expires_after(30s);
    stream.connect(
        tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)));
    bhttp::request<bhttp::string_body> req{bhttp::string_to_verb(method), target, 11};
    if (req.method() == bhttp::verb::unknown) req.method_string(method);
    req.set(bhttp::field::host, "127.0.0.1:" + std::to_string(port));
    if (!body.empty() || method == "POST") {
      if (!content_type.empty()) req.set(bhttp::field::content_type, content_type);
      req.body() = body;
      req.prepare_payload();
    }
    for (const auto& [k, v] : headers)
      req.set(k, v);
    bhttp::write(stream, req);
    beast::flat_buffer buf;
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    bhttp::read(stream, buf, parser);
    const auto& res = parser.get();
    out.status = static_cast<int>(res.result_int());
    out.body = res.body();
    for (const auto& f : res)
      out.headers[std::string(f.name_string())] = std::string(f.value());
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  } catch (const std::exception&) {
    out.status = 0;
  }
  return out;
}

// Polls `pred` until it holds or `timeout` passes (bounded; returns as soon as it holds).
inline bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto pause = 2ms;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) return pred();
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, 100ms);
  }
  return true;
}

// A child process with its output in a log file.
class process {
 public:
  process(const std::vector<std::string>& argv, const std::string& log_path) {
    pid_ = ::fork();
    if (pid_ == 0) {
      const int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
      }
      std::vector<char*> args;
      for (const auto& a : argv)
        args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
  }
  ~process() { kill(SIGKILL); }
  process(const process&) = delete;
  process& operator=(const process&) = delete;

  void kill(int sig) {
    if (pid_ <= 0) return;
    ::kill(pid_, sig);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  bool running() {
    if (pid_ <= 0) return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == 0) return true;
    pid_ = -1;  // reaped: never signal that pid again
    return false;
  }

 private:
  pid_t pid_ = -1;
};

// eventshop-ecommerce on free ports (tries a few random bases), waiting until /ready is 200.
class shop {
 public:
  shop(std::string bus, std::filesystem::path data_dir, std::vector<std::string> extra = {})
      : bus_(std::move(bus)), data_dir_(std::move(data_dir)), extra_(std::move(extra)) {
    std::filesystem::create_directories(data_dir_);
    std::mt19937 rng(std::random_device{}());
    for (int attempt = 0; attempt < 8 && !proc_; ++attempt) {
      // Below the kernel's ephemeral range (32768+), so outgoing connections never hold our ports.
      base_ = 20000 + static_cast<int>(rng() % 1200) * 10;
      if (try_start()) return;
    }
    throw std::runtime_error("eventshop-ecommerce did not start; see " + log_path());
  }
  // Same data directory, same ports.
  void restart() {
    proc_.reset();
    if (!try_start()) throw std::runtime_error("restart failed; see " + log_path());
  }
  void kill9() { proc_->kill(SIGKILL); }
  int port(int i) const { return base_ + i; }
  int order() const { return base_; }
  int inventory() const { return base_ + 1; }
  int payment() const { return base_ + 2; }
  int notification() const { return base_ + 3; }
  int shipping() const { return base_ + 4; }
  int status() const { return base_ + 5; }
  std::string log_path() const { return (data_dir_ / "ecommerce.log").string(); }

 private:
  bool try_start() {
    std::vector<std::string> argv = {
        EVENTSHOP_ECOMMERCE_BIN, "--bus",     bus_, "--data-dir", data_dir_.string(), "--ports",
        std::to_string(base_),   "--ui-port", "0"};
    argv.insert(argv.end(), extra_.begin(), extra_.end());
    proc_ = std::make_unique<process>(argv, log_path());
    const bool up = eventually(
        [&] { return !proc_->running() || request(status(), "GET", "/ready").status == 200; }, 60s);
    if (up && proc_->running() && request(order(), "GET", "/ready").status == 200) return true;
    proc_.reset();
    return false;
  }

  std::string bus_;
  std::filesystem::path data_dir_;
  std::vector<std::string> extra_;
  int base_ = 0;
  std::unique_ptr<process> proc_;
};

// A WebSocket client; read() returns nullopt on timeout or close.
class ws_client {
 public:
  ws_client(int port, const std::string& target) : ws_(ioc_) {
    beast::get_lowest_layer(ws_).expires_after(10s);
    beast::get_lowest_layer(ws_).connect(
        tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)));
    beast::get_lowest_layer(ws_).expires_never();
    ws_.handshake("127.0.0.1:" + std::to_string(port), target);
  }
  void send(const std::string& text) { ws_.write(asio::buffer(text)); }
  std::optional<std::string> read(std::chrono::milliseconds timeout) {
    beast::flat_buffer buf;
    beast::error_code result = asio::error::timed_out;
    bool done = false;
    ws_.async_read(buf, [&](beast::error_code ec, std::size_t) {
      result = ec;
      done = true;
    });
    ioc_.restart();
    ioc_.run_for(timeout);
    if (!done) {
      // Abandon the read: close the socket and let the handler run.
      beast::get_lowest_layer(ws_).socket().cancel();
      ioc_.restart();
      ioc_.run_for(1s);
      closed_ = true;
      return std::nullopt;
    }
    if (result) {
      closed_ = true;
      return std::nullopt;
    }
    return beast::buffers_to_string(buf.data());
  }
  bool closed() const { return closed_; }

 private:
  asio::io_context ioc_;
  beast::websocket::stream<beast::tcp_stream> ws_;
  bool closed_ = false;
};

}  // namespace e2e
