// eventshop/core/middleware.hpp - behaviour around handlers, independent of the backend.
//
//   auto h = eventshop::middleware::chain(my_handler, {
//       middleware::dead_letter(bus),            // outermost: last resort
//       middleware::retry({.max_attempts = 5}),
//       middleware::idempotent(store),
//       middleware::correlate(),                 // innermost: context for publishes
//   });
//
// Middleware listed first wraps everything after it. Each returns a new handler; none of them
// keep references to the handler they were given beyond the returned one.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <initializer_list>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "eventshop/core/bus.hpp"

namespace eventshop {

class metrics_registry;

// Remembers which event ids a consumer group has handled. Implementations: the bounded
// in-memory store below; eventshop::sqlite provides a durable one that commits with the
// handler's own writes.
class idempotency_store {
 public:
  virtual ~idempotency_store() = default;
  virtual bool contains(std::string_view group, std::string_view event_id) = 0;
  virtual void insert(std::string_view group, std::string_view event_id) = 0;
};

// Keeps the most recent `capacity` ids (least recently inserted dropped first), so a duplicate
// older than that is not caught - size it above the redelivery window. Thread safety: safe.
class memory_idempotency_store final : public idempotency_store {
 public:
  explicit memory_idempotency_store(std::size_t capacity = 1'000'000) : capacity_(capacity) {}
  bool contains(std::string_view group, std::string_view event_id) override;
  void insert(std::string_view group, std::string_view event_id) override;
  std::size_t size() const;

 private:
  std::size_t capacity_;
  mutable std::mutex mutex_;
  std::list<std::string> order_;
  std::unordered_map<std::string, std::list<std::string>::iterator> index_;
};

namespace middleware {

using middleware = std::function<handler(handler)>;

// Applies `layers` around `h`; the first layer is the outermost.
handler chain(handler h, std::initializer_list<middleware> layers);
handler chain(handler h, const std::vector<middleware>& layers);

struct retry_policy {
  int max_attempts = 5;  // including the first
  std::chrono::milliseconds initial_backoff{10};
  double multiplier = 2.0;
  std::chrono::milliseconds max_backoff{2000};
  double jitter = 0.2;  // +/- fraction of each backoff
  // How to wait (tests pass a fake). Default: std::this_thread::sleep_for.
  std::function<void(std::chrono::milliseconds)> sleep;

  void validate() const;
};

// Tries the handler up to max_attempts times in place, with exponential backoff, keeping the
// partition's order (nothing behind it runs meanwhile). Errors that cannot succeed on retry
// (eventshop::error with retriable() == false: malformed, unknown type, ...) are rethrown at
// once. After the last attempt the exception propagates to the next layer (dead_letter).
middleware retry(retry_policy policy = {});

struct dead_letter_options {
  std::string suffix = ".dlq";
  std::chrono::milliseconds publish_timeout{5000};
};

// Catches what the handler throws and publishes the event unchanged but for added extensions
// to `<topic><suffix>`: dlqerror (the message), dlqtopic, dlqgroup, dlqpartition, dlqoffset,
// dlqattempt. The event is acknowledged only once the dead-letter publish is acknowledged; if
// that fails, the original error propagates and the backend redelivers - nothing is dropped.
middleware dead_letter(bus& target, dead_letter_options options = {});

// Skips events whose id this group already handled; records the id after the handler
// returned normally (a crash in between means one more delivery: at-least-once).
middleware idempotent(idempotency_store& store);

// Makes the event's context current while the handler runs (see context.hpp): events made with
// make_event inside inherit its correlationid, get its id as causationid, and its traceparent.
middleware correlate();

// Counts eventshop_events_handled_total / eventshop_events_failed_total{topic,group} and
// observes eventshop_handler_duration_seconds{topic,group}.
middleware metrics(metrics_registry& registry);

}  // namespace middleware
}  // namespace eventshop
