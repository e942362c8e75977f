// The HTTP/1.1 server: acceptor, per-connection sessions on strands, limits, CORS, request ids,
// access log, metrics, graceful shutdown.
#include "eventshop/http/server.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <thread>
#include <unordered_map>

#include "connection.hpp"
#include "eventshop/core/context.hpp"
#include "eventshop/core/error.hpp"
#include "eventshop/core/logging.hpp"
#include "eventshop/core/metrics.hpp"
#include "eventshop/core/uuid.hpp"
#include "eventshop/http/json.hpp"

namespace eventshop::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using stream_type = beast::basic_stream<tcp, strand_type>;

// ---------------------------------------------------------------------------------- config

bool cors_config::allows(std::string_view origin) const noexcept {
  for (const auto& o : allowed_origins) {
    if (o == "*" || o == origin) return true;
  }
  return false;
}

void cors_config::validate() const {
  for (const auto& o : allowed_origins) {
    if (o == "*") continue;
    auto scheme = o.find("://");
    if (o.empty() || scheme == std::string::npos || scheme == 0 || scheme + 3 >= o.size() ||
        o.find('/', scheme + 3) != std::string::npos) {
      throw eventshop::error(
          errc::invalid_argument,
          "cors.allowed_origins: '" + o + "' is not \"*\" or an origin like http://localhost:3000");
    }
  }
}

void server_config::validate() const {
  auto bad = [](const std::string& what) {
    throw eventshop::error(errc::invalid_argument, "server_config: " + what);
  };
  boost::system::error_code ec;
  asio::ip::make_address(bind_address, ec);
  if (ec) bad("bind_address '" + bind_address + "' is not an IP address");
  if (max_body_bytes == 0) bad("max_body_bytes must be > 0");
  if (max_header_bytes < 256) bad("max_header_bytes must be >= 256");
  if (read_timeout.count() <= 0) bad("read_timeout must be > 0");
  if (idle_timeout.count() <= 0) bad("idle_timeout must be > 0");
  if (write_timeout.count() <= 0) bad("write_timeout must be > 0");
  if (max_connections == 0) bad("max_connections must be > 0");
  if (io_threads > 1024) bad("io_threads must be <= 1024");
  if (handler_threads > 1024) bad("handler_threads must be <= 1024");
  if (shutdown_grace.count() < 0) bad("shutdown_grace must be >= 0");
  if (service_name.empty()) bad("service_name must not be empty");
  cors.validate();
}

// ---------------------------------------------------------------------------------- helpers

namespace {

bool acceptable_request_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

bool is_hex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// A W3C traceparent for this request: the caller's trace id (if a valid header came) with a new
// span id, else a new trace.
std::string make_traceparent(std::optional<std::string_view> incoming) {
  if (incoming && incoming->size() == 55) {
    std::string_view t = *incoming;
    std::string_view version = t.substr(0, 2), trace = t.substr(3, 32), flags = t.substr(53, 2);
    if (t[2] == '-' && t[35] == '-' && t[52] == '-' && is_hex(version) && version != "ff" &&
        is_hex(trace) && trace != std::string(32, '0') && is_hex(t.substr(36, 16)) &&
        is_hex(flags)) {
      return "00-" + std::string(trace) + "-" + random_hex(16) + "-" + std::string(flags);
    }
  }
  return "00-" + random_hex(32) + "-" + random_hex(16) + "-01";
}

response from_exception() {
  try {
    throw;
  } catch (const http_error& e) {
    return error_response(e);
  } catch (const eventshop::error& e) {
    errc code = static_cast<errc>(e.code().value());
    if (e.code().category() == eventshop::error_category()) {
      switch (code) {
        case errc::invalid_argument:
        case errc::malformed_event:
        case errc::missing_attribute:
        case errc::wrong_type:
          return error_response(400, "invalid_request", e.what());
        case errc::not_found:
          return error_response(404, "not_found", e.what());
        case errc::conflict:
          return error_response(409, "conflict", e.what());
        case errc::too_large:
          return error_response(413, "payload_too_large", e.what());
        case errc::timeout:
        case errc::queue_full:
        case errc::closed:
          return error_response(503, "service_unavailable", "the service is busy, try again");
        default:
          break;
      }
    }
    logger("http").error("handler failed", {{"error", std::string_view(e.what())}});
    return error_response(500, "internal_error", "internal server error");
  } catch (const std::exception& e) {
    logger("http").error("handler threw", {{"error", std::string_view(e.what())}});
    return error_response(500, "internal_error", "internal server error");
  } catch (...) {
    logger("http").error("handler threw a non-exception");
    return error_response(500, "internal_error", "internal server error");
  }
}

}  // namespace

// ---------------------------------------------------------------------------------- handler
// placement

// Where a synchronous handler runs when handler_threads > 0. Handing every request to the pool
// and its answer back costs two thread wake-ups (about 35 us of CPU per request measured on the
// 2-core VM: more than a whole GET /health served in place). So each route learns whether its
// handler really waits: a sampled call measures its wall time, and the thread's time on the CPU
// and waiting for a CPU (/proc/thread-self/schedstat); what is left is time blocked (fsync,
// a future, a lock held elsewhere), which preemption on a busy machine does not inflate. A route
// starts on the pool; once most recent calls neither block nor run long it runs in place on the
// io thread; as soon as calls block again it goes back to the pool. Without schedstat (another
// kernel) every call goes to the pool, as before.
namespace {

struct thread_times {
  std::int64_t on_cpu_ns = 0;
  std::int64_t runnable_ns = 0;  // waiting for a CPU
};

class schedstat_reader {
 public:
  schedstat_reader() : fd_(::open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC)) {}
  ~schedstat_reader() {
    if (fd_ >= 0) ::close(fd_);
  }
  schedstat_reader(const schedstat_reader&) = delete;
  schedstat_reader& operator=(const schedstat_reader&) = delete;

  bool read(thread_times& out) const {
    if (fd_ < 0) return false;
    char buf[128];
    const ssize_t n = ::pread(fd_, buf, sizeof buf - 1, 0);
    if (n <= 0) return false;
    buf[n] = '\0';
    char* end = nullptr;
    out.on_cpu_ns = static_cast<std::int64_t>(std::strtoull(buf, &end, 10));
    if (end == buf) return false;
    char* end2 = nullptr;
    out.runnable_ns = static_cast<std::int64_t>(std::strtoull(end, &end2, 10));
    return end2 != end;
  }

 private:
  int fd_;
};

bool read_thread_times(thread_times& out) {
  thread_local schedstat_reader reader;  // opened by, and describing, this thread
  return reader.read(out);
}

bool schedstat_available() {
  thread_times t;
  return read_thread_times(t);
}

// A call counts as blocking when it spent more than this off the CPU without being runnable, or
// more than this on the CPU (long work would stall the io thread's other connections too).
constexpr std::int64_t blocking_call_ns = 200'000;
// Any call (sampled or not) that took this long in wall time counts as blocking.
constexpr std::int64_t stalled_call_ns = 1'000'000;

}  // namespace

struct route_profile {
  // Share of recent sampled calls that blocked, in 1/1000 (exponential moving average, weight
  // 1/8 per call). Starts at 1000: an unknown handler may block.
  std::atomic<std::uint32_t> blocking{1000};
  std::atomic<bool> in_place{false};
  std::atomic<std::uint32_t> calls{0};

  // In place: sample one call in 16 (the pool's wake-ups are the cost we avoid; so is the
  // sampling). On the pool: every call (it costs little next to what a blocking handler waits).
  bool sample_this_call() noexcept {
    if (!in_place.load(std::memory_order_relaxed)) return true;
    return (calls.fetch_add(1, std::memory_order_relaxed) & 15) == 0;
  }

  void record(bool blocked) noexcept {
    const std::uint32_t old = blocking.load(std::memory_order_relaxed);
    const std::uint32_t now = old - old / 8 + (blocked ? 125 : 0);
    blocking.store(now, std::memory_order_relaxed);  // racing updates lose a sample: harmless
    if (in_place.load(std::memory_order_relaxed)) {
      if (now > 400) in_place.store(false, std::memory_order_relaxed);
    } else if (now < 200) {
      in_place.store(true, std::memory_order_relaxed);
    }
  }
};

// ---------------------------------------------------------------------------------- responder

struct responder::state {
  std::function<void(response)> deliver;
  std::atomic<bool> done{false};
  ~state() {
    if (!done.exchange(true) && deliver) {
      deliver(error_response(500, "internal_error", "the handler did not respond"));
    }
  }
};

void responder::operator()(response res) const {
  if (!state_ || state_->done.exchange(true)) return;
  state_->deliver(std::move(res));
}

// ---------------------------------------------------------------------------------- server

class session;
struct server_core;

struct server_core {
  server_config cfg;
  http::router routes;
  logger log;
  std::shared_ptr<connection_counter> counter = std::make_shared<connection_counter>();
  std::unique_ptr<asio::io_context> ioc;
  std::unique_ptr<tcp::acceptor> acceptor;
  std::unique_ptr<asio::steady_timer> accept_retry;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::unique_ptr<asio::thread_pool> handler_pool;
  bool adaptive_placement = false;  // handler_pool and schedstat both available
  std::shared_mutex profiles_mutex;
  std::unordered_map<const handler*, std::unique_ptr<route_profile>> profiles;
  std::vector<std::thread> threads;
  std::vector<std::function<void()>> stop_hooks;
  std::atomic<bool> running{false};
  std::atomic<bool> stopping{false};
  std::uint16_t bound_port = 0;

  std::mutex sessions_mutex;
  std::unordered_map<session*, std::weak_ptr<session>> sessions;

  bool started = false;

  explicit server_core(server_config c, http::router r)
      : cfg(std::move(c)), routes(std::move(r)), log(cfg.service_name) {
    threads_wanted =
        cfg.io_threads ? cfg.io_threads : std::max(1u, std::thread::hardware_concurrency());
    ioc = std::make_unique<asio::io_context>(static_cast<int>(threads_wanted));
    acceptor = std::make_unique<tcp::acceptor>(*ioc);
    accept_retry = std::make_unique<asio::steady_timer>(*ioc);
  }
  unsigned threads_wanted = 1;

  metrics_registry& metrics() { return cfg.metrics ? *cfg.metrics : metrics_registry::global(); }

  void do_accept();
  void stop();

  route_profile& profile_of(const handler* h) {
    {
      std::shared_lock lock(profiles_mutex);
      if (auto it = profiles.find(h); it != profiles.end()) return *it->second;
    }
    std::unique_lock lock(profiles_mutex);
    auto& slot = profiles[h];
    if (!slot) slot = std::make_unique<route_profile>();
    return *slot;
  }
};

class session : public std::enable_shared_from_this<session> {
 public:
  session(server_core& srv, stream_type stream)
      : srv_(srv), stream_(std::move(stream)), deadline_timer_(stream_.get_executor()) {
    boost::system::error_code ec;
    auto ep = stream_.socket().remote_endpoint(ec);
    if (!ec) remote_ = ep.address().to_string() + ":" + std::to_string(ep.port());
  }
  ~session() {
    {
      std::lock_guard lock(srv_.sessions_mutex);
      srv_.sessions.erase(this);
    }
    if (counted_) srv_.counter->open.fetch_sub(1, std::memory_order_relaxed);
  }

  void start(bool reject) {
    {
      std::lock_guard lock(srv_.sessions_mutex);
      srv_.sessions.emplace(this, weak_from_this());
    }
    if (reject) {
      request r;
      r.method_name = "GET";
      write_error_and_close(503, "service_unavailable", "too many connections, try again later");
      return;
    }
    wait_request();
  }

  // From stop(): close a connection that waits for its next request.
  void close_if_idle() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      if (self->idle_) {
        boost::system::error_code ec;
        self->stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
        self->stream_.close();
      }
    });
  }

 private:
  void wait_request() {
    if (srv_.stopping.load()) return close_now();
    if (buffer_.size() > 0) return read_request();
    idle_ = true;
    set_deadline(phase::idle, srv_.cfg.idle_timeout);
    stream_.socket().async_read_some(
        buffer_.prepare(4096), [self = shared_from_this()](beast::error_code ec, std::size_t n) {
          self->idle_ = false;
          if (ec) return self->close_now();  // idle timeout, peer closed, or shutdown
          self->buffer_.commit(n);
          self->read_request();
        });
  }

  void read_request() {
    idle_ = false;
    parser_.emplace();
    parser_->body_limit(srv_.cfg.max_body_bytes);
    parser_->header_limit(static_cast<std::uint32_t>(srv_.cfg.max_header_bytes));
    started_ = std::chrono::steady_clock::now();
    // On timeout the read is cancelled, not the socket closed, so that a 408 can be written.
    timed_out_ = false;
    set_deadline(phase::reading, srv_.cfg.read_timeout);
    // A request that already arrived whole (the usual case: it came in one segment) is parsed
    // here, without the post that Beast's read operations make when no I/O is needed.
    if (buffer_.size() > 0) {
      beast::error_code ec;
      parser_->eager(false);  // the header alone first: Expect: 100-continue is answered first
      buffer_.consume(parser_->put(buffer_.data(), ec));
      if (ec != bhttp::error::need_more) return on_header(ec);
    }
    bhttp::async_read_header(
        stream_.socket(), buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_header(ec); });
  }

  void on_header(beast::error_code ec) {
    if (ec) return on_read_error(ec);
    if (timed_out_) return on_read_error(beast::error::timeout);
    auto& msg = parser_->get();
    auto expect = msg[bhttp::field::expect];
    if (!expect.empty()) {
      if (!beast::iequals(expect, "100-continue")) {
        return write_error_and_close(417, "expectation_failed",
                                     "only 'Expect: 100-continue' is supported");
      }
      if (!parser_->is_done()) {
        // The client waits for our go-ahead before sending the body.
        static const std::string continue_line = "HTTP/1.1 100 Continue\r\n\r\n";
        asio::async_write(stream_.socket(), asio::buffer(continue_line),
                          [self = shared_from_this()](beast::error_code wec, std::size_t) {
                            if (wec) return self->close_now();
                            self->read_body();
                          });
        return;
      }
    }
    read_body();
  }

  void read_body() {
    if (!parser_->is_done() && buffer_.size() > 0) {
      beast::error_code ec;
      parser_->eager(true);
      buffer_.consume(parser_->put(buffer_.data(), ec));
      if (ec && ec != bhttp::error::need_more) return on_read_error(ec);
    }
    if (parser_->is_done()) return on_request();
    if (timed_out_) return on_read_error(beast::error::timeout);
    bhttp::async_read(stream_.socket(), buffer_, *parser_,
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                        if (ec) return self->on_read_error(ec);
                        self->on_request();
                      });
  }

  void on_read_error(beast::error_code ec) {
    clear_deadline();
    if (timed_out_) ec = beast::error::timeout;
    if (ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
        ec == asio::error::connection_reset || ec == asio::error::operation_aborted ||
        ec == asio::error::broken_pipe) {
      return close_now();
    }
    if (ec == beast::error::timeout) {
      return write_error_and_close(408, "request_timeout",
                                   "the request did not arrive within " +
                                       std::to_string(srv_.cfg.read_timeout.count()) + " ms");
    }
    if (ec == bhttp::error::body_limit) {
      return write_error_and_close(
          413, "payload_too_large",
          "the request body exceeds " + std::to_string(srv_.cfg.max_body_bytes) + " bytes");
    }
    if (ec == bhttp::error::header_limit) {
      return write_error_and_close(431, "header_fields_too_large",
                                   "the request line and headers exceed " +
                                       std::to_string(srv_.cfg.max_header_bytes) + " bytes");
    }
    if (ec == bhttp::error::bad_chunk || ec == bhttp::error::bad_chunk_extension) {
      return write_error_and_close(400, "malformed_request", "bad chunked transfer encoding");
    }
    if (ec == bhttp::error::bad_transfer_encoding) {
      return write_error_and_close(501, "not_implemented",
                                   "unsupported Transfer-Encoding (only chunked is supported)");
    }
    if (ec == bhttp::error::bad_content_length) {
      return write_error_and_close(400, "malformed_request", "bad Content-Length");
    }
    if (ec.category() ==
        bhttp::make_error_code(bhttp::error::bad_method).category()) {  // any other parse error
      return write_error_and_close(400, "malformed_request",
                                   "malformed HTTP request: " + ec.message());
    }
    close_now();
  }

  void on_request() {
    clear_deadline();
    auto msg = parser_->release();
    parser_.reset();
    ++requests_;
    request r;
    r.method_name = std::string(msg.method_string());
    r.method = parse_method(r.method_name);
    r.target = std::string(msg.target());
    r.remote_address = remote_;
    std::string_view target = r.target;
    auto qpos = target.find('?');
    std::string_view raw_path = target.substr(0, qpos);
    if (qpos != std::string_view::npos) r.query = std::string(target.substr(qpos + 1));
    keep_alive_ = msg.keep_alive();
    version_ = msg.version();
    for (const auto& f : msg)
      r.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    r.body = std::move(msg.body());
    auto rid = r.header("X-Request-Id");
    r.request_id = (rid && acceptable_request_id(*rid)) ? std::string(*rid) : new_uuid_v7();
    r.traceparent = make_traceparent(r.header("traceparent"));
    origin_.clear();
    if (auto o = r.header("Origin")) origin_ = std::string(*o);
    is_head_ = r.method == method::head;

    auto decoded = url_decode(raw_path);
    if (raw_path.empty() || raw_path.front() != '/' || !decoded) {
      current_ = std::move(r);
      return finish(error_response(400, "malformed_request",
                                   "the request target must be an origin-form path with valid "
                                   "percent-encoding"),
                    {});
    }
    r.path = std::move(*decoded);

    // CORS preflight.
    if (r.method == method::options && r.header("Access-Control-Request-Method") &&
        !origin_.empty()) {
      current_ = std::move(r);
      return finish(preflight(), "preflight");
    }

    auto m = srv_.routes.find(r.method, r.path);
    if (m.result == router::match::kind::not_found) {
      current_ = std::move(r);
      return finish(error_response(404, "not_found", "no route for " + current_.path), {});
    }
    if (m.result == router::match::kind::method_not_allowed) {
      current_ = std::move(r);
      if (current_.method == method::options) {
        response res = response::empty(204);
        res.set_header("Allow", m.allow + ", OPTIONS");
        return finish(std::move(res), {});
      }
      response res = error_response(405, "method_not_allowed",
                                    current_.method_name + " is not allowed on " + current_.path +
                                        " (allowed: " + m.allow + ")");
      res.set_header("Allow", m.allow);
      return finish(std::move(res), {});
    }
    r.params = std::move(m.params);
    route_ = m.pattern;
    current_ = std::move(r);

    if (m.takeover) return takeover(*m.takeover);
    if (m.async) return call_async(*m.async);
    call_sync(*m.sync);
  }

  event_context context_of(const request& r) const {
    event_context ctx;
    ctx.causationid = r.request_id;
    ctx.traceparent = r.traceparent;
    ctx.request_id = r.request_id;
    return ctx;
  }

  void call_sync(const handler& h) {
    if (!srv_.handler_pool) return finish(invoke(h, nullptr), route_);
    route_profile* profile = srv_.adaptive_placement ? &srv_.profile_of(&h) : nullptr;
    if (profile && profile->in_place.load(std::memory_order_relaxed))
      return finish(invoke(h, profile), route_);
    asio::post(*srv_.handler_pool, [self = shared_from_this(), &h, profile] {
      response res = self->invoke(h, profile);
      asio::post(self->stream_.get_executor(), [self, res = std::move(res)]() mutable {
        self->finish(std::move(res), self->route_);
      });
    });
  }

  // Runs a synchronous handler in the request's context; with a profile, sampled calls record
  // whether they blocked (see route_profile).
  response invoke(const handler& h, route_profile* profile) {
    thread_times before;
    const bool sampled = profile && profile->sample_this_call() && read_thread_times(before);
    const auto start =
        profile ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
    response res;
    {
      context_scope scope(context_of(current_));
      try {
        res = h(current_);
      } catch (...) {
        res = from_exception();
      }
    }
    if (!profile) return res;
    const std::int64_t wall = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                  std::chrono::steady_clock::now() - start)
                                  .count();
    thread_times after;
    if (sampled && read_thread_times(after)) {
      const std::int64_t on_cpu = after.on_cpu_ns - before.on_cpu_ns;
      const std::int64_t blocked = wall - on_cpu - (after.runnable_ns - before.runnable_ns);
      profile->record(blocked > blocking_call_ns || on_cpu > blocking_call_ns);
    } else if (wall > stalled_call_ns) {
      // An unsampled call that held its thread this long counts as blocking whatever the reason:
      // an io thread must not stay stalled until the next sample.
      profile->record(true);
    }
    return res;
  }

  void call_async(const async_handler& h) {
    auto st = std::make_shared<responder::state>();
    // The responder keeps the session alive until it answers (no socket operation is pending).
    st->deliver = [self = shared_from_this()](response res) {
      asio::post(self->stream_.get_executor(), [self, res = std::move(res)]() mutable {
        self->finish(std::move(res), self->route_);
      });
    };
    context_scope scope(context_of(current_));
    try {
      h(current_, responder(st));
    } catch (...) {
      responder fail{st};
      fail(from_exception());
    }
  }

  void takeover(const takeover_handler& h) {
    cancel_deadline_timer();  // the socket leaves this session
    std::string pending(static_cast<const char*>(buffer_.data().data()), buffer_.size());
    buffer_.consume(buffer_.size());
    counted_ = false;  // the connection object counts from now on
    auto conn =
        std::make_shared<connection>(stream_.release_socket(), std::move(pending), srv_.counter);
    context_scope scope(context_of(current_));
    try {
      h(current_, std::move(conn));
    } catch (const std::exception& e) {
      srv_.log.error("takeover handler threw", {{"error", std::string_view(e.what())}});
    }
  }

  response preflight() {
    const auto& cors = srv_.cfg.cors;
    if (!cors.allows(origin_)) {
      return error_response(403, "origin_not_allowed",
                            "origin " + origin_ + " is not in the CORS allow-list");
    }
    response res = response::empty(204);
    std::string methods, headers;
    for (const auto& m : cors.allowed_methods)
      methods += (methods.empty() ? "" : ", ") + m;
    for (const auto& h : cors.allowed_headers)
      headers += (headers.empty() ? "" : ", ") + h;
    res.set_header("Access-Control-Allow-Methods", methods);
    if (auto asked = current_.header("Access-Control-Request-Headers"); asked && headers.empty()) {
      res.set_header("Access-Control-Allow-Headers", *asked);
    } else if (!headers.empty()) {
      res.set_header("Access-Control-Allow-Headers", headers);
    }
    res.set_header("Access-Control-Max-Age", std::to_string(cors.max_age.count()));
    return res;
  }

  // The CORS headers of the answer (empty without an allowed Origin).
  void cors_headers(header_list& out) const {
    if (origin_.empty()) return;
    const auto& cors = srv_.cfg.cors;
    bool wildcard = false;
    bool allowed = false;
    for (const auto& o : cors.allowed_origins) {
      if (o == "*") wildcard = true;
      if (o == origin_) allowed = true;
    }
    if (wildcard && !allowed) {
      out.emplace_back("Access-Control-Allow-Origin", "*");
    } else if (allowed) {
      out.emplace_back("Access-Control-Allow-Origin", origin_);
      out.emplace_back("Vary", "Origin");
      if (cors.allow_credentials && !wildcard)
        out.emplace_back("Access-Control-Allow-Credentials", "true");
    } else {
      return;
    }
    std::string exposed;
    for (const auto& h : cors.exposed_headers)
      exposed += (exposed.empty() ? "" : ", ") + h;
    if (!exposed.empty()) out.emplace_back("Access-Control-Expose-Headers", exposed);
  }

  static void append_header(std::string& out, std::string_view name, std::string_view value) {
    out.append(name).append(": ", 2).append(value).append("\r\n", 2);
  }

  // The response head and body, rendered into head_ and body_ for one gathered write. The
  // server owns framing: a handler's Content-Length, Transfer-Encoding and Connection headers
  // are replaced, as are its X-Request-Id and the CORS headers the server sets; a header whose
  // name or value holds CR or LF is dropped (no response splitting).
  void finish(response res, std::string_view route) {
    const bool keep = keep_alive_ && !srv_.stopping.load() &&
                      (srv_.cfg.max_requests_per_connection == 0 ||
                       requests_ < srv_.cfg.max_requests_per_connection);
    const std::size_t body_size = res.body.size();
    const bool no_body =
        res.status == 204 || res.status == 304 || (res.status >= 100 && res.status < 200);
    header_list cors;
    cors_headers(cors);
    auto same = [](std::string_view a, std::string_view b) {
      return a.size() == b.size() && beast::iequals(beast::string_view(a.data(), a.size()),
                                                    beast::string_view(b.data(), b.size()));
    };
    auto replaced = [&](std::string_view name) {
      if (same(name, "Content-Length") || same(name, "Transfer-Encoding") ||
          same(name, "Connection") || same(name, "X-Request-Id"))
        return true;
      for (const auto& c : cors)
        if (same(name, c.first)) return true;
      return false;
    };
    auto& h = head_;
    h.clear();
    h.append(version_ == 10 ? "HTTP/1.0 " : "HTTP/1.1 ");
    char code[12];
    const int code_len = std::snprintf(code, sizeof code, "%d ", res.status);
    h.append(code, static_cast<std::size_t>(code_len));
    const auto reason = bhttp::obsolete_reason(static_cast<bhttp::status>(res.status));
    h.append(reason.data(), reason.size());
    h.append("\r\n", 2);
    for (const auto& [k, v] : res.headers) {
      if (replaced(k) || k.find_first_of("\r\n") != std::string::npos ||
          v.find_first_of("\r\n") != std::string::npos)
        continue;
      append_header(h, k, v);
    }
    append_header(h, "X-Request-Id", current_.request_id);
    for (const auto& [k, v] : cors)
      append_header(h, k, v);
    if (version_ == 10 && keep) append_header(h, "Connection", "keep-alive");
    if (version_ != 10 && !keep) append_header(h, "Connection", "close");
    if (!no_body) {
      char len[24];
      const int n = std::snprintf(len, sizeof len, "%zu", body_size);
      append_header(h, "Content-Length", std::string_view(len, static_cast<std::size_t>(n)));
    }
    h.append("\r\n", 2);
    body_.clear();
    if (!no_body && !is_head_) body_ = std::move(res.body);
    log_and_measure(res.status, route, body_size);
    write_response(keep);
  }

  void log_and_measure(int status, std::string_view route, std::size_t bytes) {
    auto elapsed = std::chrono::steady_clock::now() - started_;
    double seconds = std::chrono::duration<double>(elapsed).count();
    if (srv_.cfg.access_log && srv_.log.enabled(log_level::info)) {
      context_scope scope(context_of(current_));
      srv_.log.info("http request", {{"method", current_.method_name},
                                     {"path", current_.path},
                                     {"route", route},
                                     {"status", status},
                                     {"duration_ms", seconds * 1000.0},
                                     {"bytes", bytes},
                                     {"remote", remote_}});
    }
    if (srv_.cfg.record_metrics) {
      // A keep-alive connection mostly repeats one route and status: keep the last pair of
      // series instead of looking them up (labels built, registry mutex taken) per request.
      auto& m = metrics_cache_;
      if (!m.requests || m.status != status || m.verb != current_.method || m.route != route) {
        std::string route_label = route.empty() ? "unmatched" : std::string(route);
        auto& reg = srv_.metrics();
        m.requests = &reg.counter("eventshop_http_requests_total", "HTTP requests answered",
                                  {{"service", srv_.cfg.service_name},
                                   {"method", std::string(to_string(current_.method))},
                                   {"route", route_label},
                                   {"status", std::to_string(status)}});
        if (!m.duration || m.route != route)
          m.duration =
              &reg.histogram("eventshop_http_request_duration_seconds", "HTTP request latency",
                             {{"service", srv_.cfg.service_name}, {"route", route_label}});
        m.route = std::string(route);
        m.status = status;
        m.verb = current_.method;
      }
      m.requests->inc();
      m.duration->observe(seconds);
    }
  }

  void write_response(bool keep) {
    set_deadline(phase::writing, srv_.cfg.write_timeout);
    const std::array<asio::const_buffer, 2> buffers{asio::buffer(head_), asio::buffer(body_)};
    asio::async_write(stream_.socket(), buffers,
                      [self = shared_from_this(), keep](beast::error_code ec, std::size_t) {
                        if (ec) return self->close_now();
                        if (!keep) return self->linger_close();
                        self->wait_request();
                      });
  }

  void write_error_and_close(int status, std::string_view code, const std::string& message) {
    if (current_.request_id.empty()) current_.request_id = new_uuid_v7();
    keep_alive_ = false;
    route_ = {};
    finish(error_response(status, code, message), {});
  }

  // Half-closes, then drains what the client still sends (up to 1 MiB or 2 s) so that the
  // response is not destroyed by a reset caused by unread request bytes.
  void linger_close() {
    boost::system::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return close_now();
    set_deadline(phase::draining, std::chrono::seconds(2));
    drain();
  }

  void drain() {
    buffer_.consume(buffer_.size());
    stream_.socket().async_read_some(
        buffer_.prepare(8192), [self = shared_from_this()](beast::error_code ec, std::size_t n) {
          self->drained_ += n;
          if (ec || self->drained_ > 1024 * 1024) return self->close_now();
          self->drain();
        });
  }

  void close_now() {
    cancel_deadline_timer();
    boost::system::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
  }

  // ---- timeouts: one timer per session, re-armed only when it fires (or must fire earlier).
  // Arming and cancelling a timer for each read and write (three per request) cost a timer-queue
  // update and a cancelled handler each; a deadline is a variable. The timer fires at or before
  // the current deadline; when the deadline moved later meanwhile, it is re-armed for it. A
  // deadline earlier than the armed time re-arms it only when it would otherwise be late by more
  // than an eighth of its timeout.
  enum class phase { none, idle, reading, writing, draining };

  void set_deadline(phase p, std::chrono::steady_clock::duration timeout) {
    phase_ = p;
    const auto now = std::chrono::steady_clock::now();
    deadline_ = now + timeout;
    if (!timer_armed_ || timer_at_ > deadline_ + timeout / 8) arm_deadline_timer(deadline_);
  }

  void clear_deadline() { phase_ = phase::none; }  // the armed timer then fires for nothing

  void cancel_deadline_timer() {
    phase_ = phase::none;
    if (!timer_armed_) return;
    timer_armed_ = false;
    ++timer_generation_;
    deadline_timer_.cancel();
  }

  void arm_deadline_timer(std::chrono::steady_clock::time_point at) {
    timer_armed_ = true;
    timer_at_ = at;
    const auto generation = ++timer_generation_;
    deadline_timer_.expires_at(at);  // cancels a wait still pending: its generation is old
    deadline_timer_.async_wait([self = shared_from_this(), generation](beast::error_code) {
      if (generation != self->timer_generation_) return;
      self->timer_armed_ = false;
      self->on_deadline();
    });
  }

  void on_deadline() {
    if (phase_ == phase::none) return;
    if (std::chrono::steady_clock::now() < deadline_) return arm_deadline_timer(deadline_);
    boost::system::error_code ignored;
    if (phase_ == phase::reading) {
      // The pending read completes with operation_aborted; on_read_error answers 408.
      timed_out_ = true;
      phase_ = phase::none;
      stream_.socket().cancel(ignored);
      return;
    }
    // Idle keep-alive connection, a response the client does not read, or the drain after a
    // half-close: close; the pending operation fails and its handler ends the session.
    phase_ = phase::none;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
  }

  server_core& srv_;
  stream_type stream_;
  asio::steady_timer deadline_timer_;
  phase phase_ = phase::none;
  std::chrono::steady_clock::time_point deadline_{};
  std::chrono::steady_clock::time_point timer_at_{};
  std::uint64_t timer_generation_ = 0;
  bool timer_armed_ = false;
  bool timed_out_ = false;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::string head_;  // the response being written: status line and headers
  std::string body_;  // and its body
  request current_;
  std::string route_;
  // The metric series of the last answered request (the registry's series live as long as it).
  struct {
    std::string route;
    int status = 0;
    http::method verb = method::get;
    eventshop::counter* requests = nullptr;
    eventshop::histogram* duration = nullptr;
  } metrics_cache_;
  std::string origin_;
  std::string remote_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::size_t requests_ = 0;
  std::size_t drained_ = 0;
  unsigned version_ = 11;
  bool keep_alive_ = true;
  bool is_head_ = false;
  bool idle_ = false;
  bool counted_ = true;
};

struct server::impl : server_core {
  using server_core::server_core;
};

void server_core::do_accept() {
  acceptor->async_accept(asio::make_strand(*ioc), [this](beast::error_code ec, socket_type socket) {
    if (ec == asio::error::operation_aborted || stopping.load()) return;
    if (ec) {
      // Out of descriptors and similar: wait a little instead of spinning.
      log.warn("accept failed", {{"error", ec.message()}});
      accept_retry->expires_after(std::chrono::milliseconds(50));
      accept_retry->async_wait([this](beast::error_code) {
        if (!stopping.load()) do_accept();
      });
      return;
    }
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    bool reject = counter->open.fetch_add(1, std::memory_order_relaxed) >= cfg.max_connections;
    auto s = std::make_shared<session>(*this, stream_type(std::move(socket)));
    s->start(reject);
    do_accept();
  });
}

void server_core::stop() {
  if (!running.load() || stopping.exchange(true)) return;
  asio::post(*ioc, [this] {
    boost::system::error_code ec;
    acceptor->close(ec);
    accept_retry->cancel();
  });
  for (auto& hook : stop_hooks) {
    try {
      hook();
    } catch (const std::exception& e) {
      log.error("stop hook threw", {{"error", std::string_view(e.what())}});
    }
  }
  auto deadline = std::chrono::steady_clock::now() + cfg.shutdown_grace;
  while (counter->open.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::vector<std::shared_ptr<session>> idle;
    {
      std::lock_guard lock(sessions_mutex);
      for (auto& [p, w] : sessions) {
        if (auto s = w.lock()) idle.push_back(std::move(s));
      }
    }
    for (auto& s : idle)
      s->close_if_idle();
    idle.clear();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  work.reset();
  ioc->stop();
  for (auto& t : threads)
    t.join();
  threads.clear();
  if (handler_pool) handler_pool->join();
  running.store(false);
}

server::server(server_config config, http::router routes) {
  config.validate();
  impl_ = std::make_unique<impl>(std::move(config), std::move(routes));
}

server::~server() {
  stop();
  if (impl_) {
    impl_->acceptor.reset();
    impl_->accept_retry.reset();
    impl_->ioc.reset();  // destroys pending handlers (and the sessions they hold) first
  }
}

http::router& server::routes() noexcept {
  return impl_->routes;
}
const server_config& server::config() const noexcept {
  return impl_->cfg;
}

void server::start() {
  auto& d = *impl_;
  if (d.started) throw eventshop::error(errc::invalid_argument, "server::start: already started");
  d.started = true;
  unsigned n = d.threads_wanted;
  tcp::endpoint ep(asio::ip::make_address(d.cfg.bind_address), d.cfg.port);
  boost::system::error_code ec;
  d.acceptor->open(ep.protocol(), ec);
  if (!ec) d.acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) d.acceptor->bind(ep, ec);
  if (!ec) d.acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    throw eventshop::error(errc::io_error, "cannot listen on " + d.cfg.bind_address + ":" +
                                               std::to_string(d.cfg.port) + ": " + ec.message());
  }
  d.bound_port = d.acceptor->local_endpoint().port();
  if (d.cfg.handler_threads > 0) {
    d.handler_pool = std::make_unique<asio::thread_pool>(d.cfg.handler_threads);
    d.adaptive_placement = d.cfg.adaptive_handler_placement && schedstat_available();
  }
  d.work.emplace(d.ioc->get_executor());
  d.do_accept();
  d.running.store(true);
  for (unsigned i = 0; i < n; ++i) {
    d.threads.emplace_back([&d] {
      // "io:<service>" in top, perf and /proc/<pid>/task/*/comm (15 characters at most).
      const std::string name = ("io:" + d.cfg.service_name).substr(0, 15);
      ::pthread_setname_np(::pthread_self(), name.c_str());
      for (;;) {
        try {
          d.ioc->run();
          return;
        } catch (const std::exception& e) {
          d.log.error("io thread caught", {{"error", std::string_view(e.what())}});
        }
      }
    });
  }
  d.log.info("listening", {{"address", d.cfg.bind_address}, {"port", d.bound_port}});
}

std::uint16_t server::port() const noexcept {
  return impl_->bound_port;
}
void server::stop() {
  if (impl_) impl_->stop();
}
bool server::running() const noexcept {
  return impl_->running.load() && !impl_->stopping.load();
}
void server::add_stop_hook(std::function<void()> hook) {
  impl_->stop_hooks.push_back(std::move(hook));
}
std::size_t server::connection_count() const noexcept {
  return impl_->counter->open.load();
}
void* server::native_io_context() noexcept {
  return impl_->ioc.get();
}

}  // namespace eventshop::http
