// eventshop/saga/participant.hpp - choreography participants: "on event X from topic T, do f,
// publish Y (or Z on failure)", declared once per reaction.
//
//   saga::memory_participant_ledger ledger;
//   saga::participant inventory(bus, ledger, {.group = "inventory", .source =
//   "/eventshop/inventory"}); inventory.on<OrderCreated, InventoryConfirmed, InventoryRejected>(
//       topics::orders,
//       [&](const OrderCreated& o) { return reserve(o); },   // throws saga::step_failed to fail
//       [&](const OrderCreated& o, const saga::step_failed& why) {
//         return InventoryRejected{.order_id = o.order_id, .reason = why.what()};
//       });
//   inventory.start();
//
// Delivery: each incoming event runs through the ledger exactly once per event id and group
// (`participant_ledger::run_once`): the reaction's effect, the record that the event was handled
// and the outgoing events commit together, or - when the reaction throws anything but
// step_failed - not at all, and the bus redelivers (wrap with retry / dead_letter middleware via
// the options). Outgoing events are published after the commit and marked published once the bus
// acknowledged them; a publish that fails makes the handler throw, and the redelivery (a
// duplicate for the ledger) publishes what is still unpublished: at-least-once, nothing lost.
// Published events carry the incoming event's correlationid and traceparent, its id as
// causationid, the participant's source, and the order id (or product id) as subject.
//
// Thread safety: declare reactions, then start(); after that the object is safe to use. Handlers
// of different partitions run concurrently, so reactions must be thread-safe.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "eventshop/core/bus.hpp"
#include "eventshop/core/context.hpp"
#include "eventshop/core/middleware.hpp"
#include "eventshop/core/registry.hpp"
#include "eventshop/core/typed.hpp"

namespace eventshop::saga {

// Thrown by a reaction to say "this step failed as a business outcome" (publish the failure
// event); any other exception means "could not process now" (redeliver).
class step_failed : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct outgoing_event {
  std::string topic;
  envelope event;
};

// Records handled event ids and the events to publish, atomically with a reaction's effect.
// eventshop::sqlite's idempotency table and outbox can implement it so that the effect, the id
// and the outgoing events commit in one SQLite transaction. Thread safety: implementations safe.
class participant_ledger {
 public:
  virtual ~participant_ledger() = default;
  // If (group, event_id) was handled: returns false and does not call `work`. Otherwise calls
  // `work` and, if it returns, records the id and its events in one step and returns true; if it
  // throws, records nothing and rethrows.
  virtual bool run_once(std::string_view group, std::string_view event_id,
                        const std::function<std::vector<outgoing_event>()>& work) = 0;
  // Recorded events of `group` not yet marked published, oldest first.
  virtual std::vector<outgoing_event> unpublished(std::string_view group) = 0;
  virtual void mark_published(std::string_view group, std::string_view outgoing_event_id) = 0;
};

// In memory: `work` runs under the ledger's mutex, so each reaction is atomic with respect to
// others on the same ledger (and reactions of one ledger run one at a time). Remembers every
// handled id (bounded by `capacity`, oldest forgotten first). Thread safety: safe.
class memory_participant_ledger final : public participant_ledger {
 public:
  explicit memory_participant_ledger(std::size_t capacity = 1'000'000) : capacity_(capacity) {}
  bool run_once(std::string_view group, std::string_view event_id,
                const std::function<std::vector<outgoing_event>()>& work) override;
  std::vector<outgoing_event> unpublished(std::string_view group) override;
  void mark_published(std::string_view group, std::string_view outgoing_event_id) override;
  std::size_t handled() const;

 private:
  std::size_t capacity_;
  mutable std::mutex mutex_;
  std::set<std::string, std::less<>> ids_;  // group + '\n' + event id
  std::deque<std::string> order_;           // insertion order of ids_, for the bound
  std::map<std::string, std::vector<outgoing_event>, std::less<>> outbox_;
};

struct participant_options {
  std::string group;   // consumer group (the service name); required
  std::string source;  // CloudEvents source of published events, e.g. "/eventshop/inventory"
  std::vector<middleware::middleware> middleware;  // around each handler (retry, dead_letter...)
  subscribe_options subscribe;                     // concurrency, start position
  const event_registry* registry = &event_registry::global();
  std::chrono::milliseconds publish_timeout{5000};  // wait for the bus to acknowledge

  void validate() const;  // throws eventshop::error(invalid_argument)
};

// What a reaction may publish, besides its return value.
class reaction {
 public:
  template <typed_event T>
  void publish(const T& e);

  // Internal: the events collected so far.
  std::vector<outgoing_event>& events() noexcept { return events_; }
  explicit reaction(const participant_options& o) : options_(&o) {}

 private:
  const participant_options* options_;
  std::vector<outgoing_event> events_;
};

namespace detail {
template <class T>
std::string subject_of(const T& e) {
  if constexpr (requires { e.order_id; })
    return e.order_id;
  else if constexpr (requires { e.product_id; })
    return e.product_id;
  else
    return {};
}
template <class T>
constexpr std::string_view topic_of() {
  if constexpr (requires { T::topic; })
    return T::topic;
  else
    return {};
}
}  // namespace detail

template <typed_event T>
void reaction::publish(const T& e) {
  static_assert(!detail::topic_of<T>().empty(),
                "reaction::publish needs an event type with a static `topic`");
  events_.push_back({std::string(detail::topic_of<T>()),
                     make_event(e, {options_->source, detail::subject_of(e)})});
}

class participant {
 public:
  // `target` and `ledger` must outlive the participant. Validates the options.
  participant(bus& target, participant_ledger& ledger, participant_options options);
  ~participant();  // stop()
  participant(const participant&) = delete;
  participant& operator=(const participant&) = delete;

  // The general form: `f(const In&, reaction&)` does the effect and publishes through the
  // reaction. Throwing step_failed publishes nothing (use the declarative form to publish a
  // failure event); other exceptions get the event redelivered.
  template <typed_event In, class F>
  participant& on(std::string_view topic, F f) {
    add_route(topic, std::string(In::event_type),
              [f = std::move(f), reg = options_.registry](const message& m, reaction& r) mutable {
                const In in = decode_event<In>(m.event, *reg);
                f(in, r);
              });
    return *this;
  }

  // The declarative form: on In, publish `done(in)`'s Out; if done throws step_failed, publish
  // `failed(in, error)`'s Fail instead (in the same commit).
  template <typed_event In, typed_event Out, typed_event Fail, class Done, class Failed>
  participant& on(std::string_view topic, Done done, Failed failed) {
    return on<In>(topic, [done = std::move(done), failed = std::move(failed)](const In& in,
                                                                              reaction& r) mutable {
      std::optional<Fail> failure;
      try {
        r.publish(static_cast<const Out&>(done(in)));
        return;
      } catch (const step_failed& e) {
        failure.emplace(failed(in, e));
      }
      r.publish(*failure);
    });
  }

  // Subscribes one handler per topic. Throws eventshop::error when the bus refuses.
  void start();
  // Leaves the groups; returns when no handler runs any more. Idempotent.
  void stop();

  // Publishes what the ledger holds unpublished (e.g. after a restart). Throws on failure.
  void flush();

 private:
  using route = std::function<void(const message&, reaction&)>;
  void add_route(std::string_view topic, std::string type, route r);
  void handle(const std::string& topic, const message& m);

  bus& bus_;
  participant_ledger& ledger_;
  participant_options options_;
  std::map<std::string, std::map<std::string, route, std::less<>>, std::less<>> routes_;
  std::vector<subscription> subscriptions_;
  std::mutex flush_mutex_;
};

}  // namespace eventshop::saga
