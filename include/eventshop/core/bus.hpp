// eventshop/core/bus.hpp - the event bus: publish to a topic, subscribe as a consumer group.
//
// The contract every backend (memory, sqlite, kafka) keeps, and that tests/conformance checks:
// - A topic has a fixed number of partitions; an event goes to partition_for(event.key()), so
//   all events with one key are delivered in publish order.
// - Every consumer group sees every event of the topic; the members of one group (subscriptions
//   with the same group name, in any number of threads or processes where the backend allows it)
//   share the partitions between them.
// - At-least-once: an event counts as consumed by a group only after its handler returned
//   normally. A handler that throws gets the same event again (`attempt` + 1) after the backend's
//   redelivery delay, and the events behind it in that partition wait - order is kept. Wrap
//   handlers in middleware (middleware.hpp) for retry limits and dead-lettering.
// - A publish is acknowledged once the backend has taken responsibility for the event (see each
//   backend for what that means: in memory, or durable on disk, or replicated by Kafka).
// - close() stops new publishes, lets subscribers drain what was published within a deadline,
//   and then stops them. Handlers never run after close() returns.
//
// Thread safety: bus objects are safe to use from any thread. Handlers of one partition run one
// at a time; handlers of different partitions may run concurrently, so a handler shared by a
// subscription with concurrency > 1 must be thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>

#include "eventshop/core/envelope.hpp"

namespace eventshop {

// What a handler sees. `event` and the views are valid only during the call.
struct message {
  std::string_view topic;
  std::string_view group;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  int attempt = 1;  // 1 on first delivery, +1 on each redelivery
  const envelope& event;
};

// Returns normally to acknowledge; throws to have the event redelivered.
using handler = std::function<void(const message&)>;

struct publish_receipt {
  std::int32_t partition = 0;
  std::int64_t offset = 0;
};

// Called exactly once per publish, with an empty error_code on success. It may run on the
// publishing thread or on a backend thread; it must not block for long.
using publish_callback = std::function<void(std::error_code, const publish_receipt&)>;

enum class start_position {
  earliest,  // a group seen for the first time replays the topic from its oldest retained event
  latest,    // ... or starts with events published after it joined
};

struct subscribe_options {
  int concurrency = 1;  // members (each with its own dispatch thread) this subscription adds
  start_position start = start_position::earliest;
};

// What a backend can do, for the conformance feature table and for callers that care.
struct bus_features {
  bool durable = false;        // acknowledged events survive a crash of the process
  bool cross_process = false;  // publishers and consumers may be different processes
  bool replay = true;          // a new group can read the topic from its beginning
};

namespace detail {
// Backend-side state of one subscription; a `subscription` handle owns a reference to it.
class subscription_state {
 public:
  virtual ~subscription_state() = default;
  virtual void close() = 0;  // idempotent; returns when no handler of it runs any more
  virtual bool closed() const noexcept = 0;
};
}  // namespace detail

// A subscription handle. Move-only; closing (or destroying) it leaves the group - the
// remaining members take over its partitions - after its in-flight handler returned.
class subscription {
 public:
  subscription() = default;
  explicit subscription(std::shared_ptr<detail::subscription_state> s) : state_(std::move(s)) {}
  subscription(subscription&&) noexcept = default;
  subscription& operator=(subscription&& other) noexcept {
    if (this != &other) {
      close();
      state_ = std::move(other.state_);
    }
    return *this;
  }
  ~subscription() { close(); }

  void close() {
    if (state_) state_->close();
  }
  bool active() const noexcept { return state_ && !state_->closed(); }

 private:
  std::shared_ptr<detail::subscription_state> state_;
};

class bus {
 public:
  virtual ~bus() = default;

  // Publishes `event` to `topic`; `on_ack` (may be empty) reports the outcome. Never throws for
  // backend failures - they go to `on_ack` - but may throw eventshop::error(invalid_argument)
  // for an empty topic name. May block while a bounded backend is full (see the backend).
  virtual void publish(std::string_view topic, envelope event, publish_callback on_ack) = 0;

  // Convenience: the acknowledgement as a future; get() throws eventshop::error on failure.
  std::future<publish_receipt> publish(std::string_view topic, envelope event);

  // Joins `group` on `topic` and calls `h` for each event assigned to this member. Throws
  // eventshop::error(closed) on a closed bus, invalid_argument for empty names.
  virtual subscription subscribe(std::string_view topic, std::string_view group, handler h,
                                 const subscribe_options& options = {}) = 0;

  // Stops publishing (later publishes fail with errc::closed), waits up to `drain` for every
  // active group to consume what was published, then stops all subscriptions. Idempotent.
  virtual void close(std::chrono::milliseconds drain = std::chrono::seconds(5)) = 0;

  virtual bus_features features() const noexcept = 0;

  // Partitions of `topic` (creating the topic with the default count if needed).
  virtual std::int32_t partitions(std::string_view topic) = 0;

  // Events published to `topic` that `group` has not yet consumed (0 for an unknown group).
  virtual std::int64_t lag(std::string_view topic, std::string_view group) = 0;
};

// Kafka's default partitioner (murmur2 of the key, made positive, modulo the count), so a key
// lands in the same partition number on every backend.
std::int32_t partition_for(std::string_view key, std::int32_t partitions) noexcept;
std::uint32_t murmur2(std::string_view data) noexcept;

// Topic and group names: 1-249 characters of [A-Za-z0-9._-] (Kafka's rule, so a name that works
// on one backend works on all). Throws eventshop::error(invalid_argument) naming the problem.
void validate_topic_name(std::string_view topic);
void validate_group_name(std::string_view group);

}  // namespace eventshop
