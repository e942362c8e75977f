// eventshop/core/context.hpp - correlation, causation and trace context for the current thread.
//
// While a handler runs (see middleware::correlate) or an HTTP request is served, a
// `context_scope` makes that work's context current; `make_event` and the logger read it, so an
// event published while handling another inherits its `correlationid`, gets its id as
// `causationid`, and carries the same `traceparent` - without passing anything by hand.
#pragma once

#include <string>

namespace eventshop {

struct event_context {
  std::string correlationid;  // the saga / conversation id
  std::string causationid;    // the event id (or request id) now being handled
  std::string traceparent;    // W3C trace context
  std::string request_id;     // X-Request-Id of the HTTP request, if any
};

// The innermost active context of this thread, or nullptr.
const event_context* current_context() noexcept;

// RAII: makes `ctx` current until destroyed, then restores the previous one. Not movable.
class context_scope {
 public:
  explicit context_scope(event_context ctx);
  ~context_scope();
  context_scope(const context_scope&) = delete;
  context_scope& operator=(const context_scope&) = delete;

 private:
  event_context ctx_;
  const event_context* previous_;
};

}  // namespace eventshop
