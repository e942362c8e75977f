// eventshop/http/server.hpp - the HTTP/1.1 server every eventshop service listens with.
//
// One `server` owns an Asio io_context run by `io_threads` threads, an acceptor on
// bind_address:port, and a `router`. Each connection is served in order on its own strand
// (HTTP/1.1 keep-alive, one request at a time, pipelined requests answered in order).
//
// Per request the server: enforces the limits below, answering with a status instead of
// dropping the connection (413 body too large, 431 header fields too large, 408 request timeout,
// 400 malformed request, 501 unsupported Transfer-Encoding, 503 over max_connections); takes
// `X-Request-Id` (1..128 visible ASCII characters) or generates one, and a valid `traceparent`
// or a new one; makes them current in an eventshop::context_scope (request_id, causationid =
// request id, traceparent) while the handler runs, so events published by the handler carry them
// and log lines name the request; echoes `X-Request-Id` in the response; applies CORS; writes
// one JSON access-log line; and records request metrics.
//
// Blocking in handlers: a synchronous handler runs on an io thread, so while it runs that thread
// serves no other connection. Short work (a SQLite transaction of a few ms) is fine. For longer
// work either set `handler_threads` or register an async_handler and respond from your own
// thread. With `handler_threads`, each route's handler starts on that pool (io threads stay
// free) and the server watches sampled calls (wall time, and the thread's CPU and run-queue time
// from /proc/thread-self/schedstat): a route whose calls neither block nor run long (> 0.2 ms)
// is then called in place on the io thread, which saves the two thread hand-offs per request;
// when its calls block again (or any call holds the thread > 1 ms) it goes back to the pool.
// Without /proc/thread-self/schedstat, or with adaptive_handler_placement = false, every call
// goes to the pool.
//
// Thread safety: start()/stop() from one thread; port(), connection_count() safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "eventshop/http/router.hpp"

namespace eventshop {
class metrics_registry;
}

namespace eventshop::http {

// Cross-origin resource sharing. Only listed origins get Access-Control-Allow-Origin (the exact
// origin echoed, with `Vary: Origin`); "*" in the list allows any origin and then credentials
// are never allowed. A preflight (OPTIONS with Access-Control-Request-Method) from an allowed
// origin is answered 204 with the allowed methods/headers; from another origin 403
// `origin_not_allowed`. Requests without Origin are not affected.
struct cors_config {
  std::vector<std::string> allowed_origins;  // default: none (no CORS headers at all)
  std::vector<std::string> allowed_methods = {"GET",   "HEAD",   "POST",   "PUT",
                                              "PATCH", "DELETE", "OPTIONS"};
  std::vector<std::string> allowed_headers = {"Content-Type", "Idempotency-Key", "X-Request-Id",
                                              "traceparent",  "Last-Event-ID",   "Authorization"};
  std::vector<std::string> exposed_headers = {"X-Request-Id"};
  bool allow_credentials = false;  // ignored (never sent) when "*" is allowed
  std::chrono::seconds max_age{600};

  // True when `origin` may be served (exact, case-sensitive match, or "*").
  bool allows(std::string_view origin) const noexcept;
  // Throws eventshop::error(invalid_argument) naming the bad entry (empty origin, or an origin
  // that is not "*" and not scheme://host[:port]).
  void validate() const;
};

struct server_config {
  std::string bind_address = "127.0.0.1";
  std::uint16_t port = 0;                           // 0: an ephemeral port, see server::port()
  unsigned io_threads = 0;                          // 0: std::thread::hardware_concurrency()
  unsigned handler_threads = 0;                     // 0: sync handlers on io threads; see above
  bool adaptive_handler_placement = true;           // false: every sync call goes to the pool
  std::size_t max_body_bytes = 64 * 1024;           // larger -> 413 payload_too_large
  std::size_t max_header_bytes = 16 * 1024;         // request line + headers; larger -> 431
  std::chrono::milliseconds read_timeout{10'000};   // a started request must arrive whole; -> 408
  std::chrono::milliseconds idle_timeout{60'000};   // keep-alive connection without a request
  std::chrono::milliseconds write_timeout{30'000};  // a response the client does not read
  std::size_t max_connections = 20'000;         // beyond it: 503 service_unavailable, then close
  std::size_t max_requests_per_connection = 0;  // 0: unlimited
  std::chrono::milliseconds shutdown_grace{5'000};  // stop() waits this long for in-flight work
  cors_config cors;
  std::string service_name = "http";  // for the access log and metric labels
  bool access_log = true;             // one JSON line per request at info level
  // Request counters/latency histograms go here; nullptr = metrics_registry::global().
  metrics_registry* metrics = nullptr;
  bool record_metrics = true;

  // Throws eventshop::error(invalid_argument) naming the first bad field.
  void validate() const;
};

class server {
 public:
  // Validates `config` (throws as server_config::validate does).
  explicit server(server_config config, router routes = {});
  ~server();  // stop()s
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  // Routes can be added until start().
  http::router& routes() noexcept;
  const server_config& config() const noexcept;

  // Binds and starts the io threads. Throws eventshop::error(io_error) naming the address when
  // the port cannot be bound.
  void start();
  // The bound port (after start()).
  std::uint16_t port() const noexcept;
  // Stops accepting, lets in-flight requests finish within shutdown_grace, runs stop hooks
  // (realtime closes its sessions), closes idle keep-alive connections, joins the threads.
  // Idempotent.
  void stop();
  bool running() const noexcept;

  // Called at the start of stop(), before waiting for connections to end (e.g. to send close
  // frames). Register before start().
  void add_stop_hook(std::function<void()> hook);

  // Open HTTP connections (including taken-over ones until they close).
  std::size_t connection_count() const noexcept;

  // For eventshop::realtime: the server's io_context as an opaque pointer
  // (boost::asio::io_context*).
  void* native_io_context() noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace eventshop::http
