// eventshop/http/router.hpp - maps (method, path) to a handler.
//
// Patterns are made of '/'-separated segments: literals ("orders"), parameters ("{id}", one
// whole segment, available as req.param("id")) and a final catch-all ("{path*}", the rest of
// the path, possibly empty or containing '/'). A literal segment wins over a parameter, a
// parameter over a catch-all, whatever the order of registration. A path no pattern matches is
// 404 `not_found`; a path some pattern matches but not with this method is 405
// `method_not_allowed` with an `Allow` header. HEAD is served by the GET route without body;
// OPTIONS is answered by the server (CORS preflight) unless a route registers it explicitly.
//
// Handlers:
//  - `handler`: returns the response; runs on the connection's io thread (or on one of
//    server_config::handler_threads when set). Keep it short, or see `async_handler`.
//  - `async_handler`: gets a `responder` it must call exactly once, from any thread, later;
//    meanwhile the io thread is free (hand blocking work to your own pool and respond from it).
//  - `takeover_handler`: for components that keep the connection (WebSocket, SSE - the
//    eventshop::realtime component); it receives the socket as an opaque `connection` handle.
//
// Routes are registered before server::start(); afterwards the router is read-only.
// Thread safety: registering is unsafe; matching is safe (const).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "eventshop/http/message.hpp"

namespace eventshop::http {

// Completes an async_handler's request. Callable once, from any thread; later calls are ignored.
// Destroying it without calling answers 500 `internal_error`.
class responder {
 public:
  struct state;
  explicit responder(std::shared_ptr<state> s) : state_(std::move(s)) {}
  responder(responder&&) noexcept = default;
  responder& operator=(responder&&) noexcept = default;
  responder(const responder&) = default;
  responder& operator=(const responder&) = default;
  ~responder() = default;

  void operator()(response res) const;

 private:
  std::shared_ptr<state> state_;
};

// An accepted connection taken over from the HTTP server (defined in the http library's private
// sources; only eventshop::realtime looks inside).
class connection;

using handler = std::function<response(request& req)>;
using async_handler = std::function<void(request& req, responder respond)>;
using takeover_handler = std::function<void(request& req, std::shared_ptr<connection> conn)>;

class router {
 public:
  router();
  ~router();
  router(router&&) noexcept;
  router& operator=(router&&) noexcept;

  // Throws eventshop::error(invalid_argument) for a malformed pattern (not starting with '/',
  // unbalanced braces, a catch-all that is not last) or a duplicate (method, pattern).
  router& add(method m, std::string_view pattern, handler h);
  router& add_async(method m, std::string_view pattern, async_handler h);
  router& add_takeover(method m, std::string_view pattern, takeover_handler h);

  router& get(std::string_view pattern, handler h) {
    return add(method::get, pattern, std::move(h));
  }
  router& post(std::string_view pattern, handler h) {
    return add(method::post, pattern, std::move(h));
  }
  router& put(std::string_view pattern, handler h) {
    return add(method::put, pattern, std::move(h));
  }
  router& del(std::string_view pattern, handler h) {
    return add(method::del, pattern, std::move(h));
  }

  // The result of matching one request.
  struct match {
    enum class kind { found, not_found, method_not_allowed } result = kind::not_found;
    const handler* sync = nullptr;  // exactly one of these three is set when found
    const async_handler* async = nullptr;
    const takeover_handler* takeover = nullptr;
    std::string_view pattern;  // the matched route's pattern (for logs, metrics)
    std::vector<std::pair<std::string, std::string>> params;
    std::string allow;  // "GET, HEAD, POST" for method_not_allowed
  };
  match find(method m, std::string_view path) const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace eventshop::http
