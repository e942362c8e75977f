// eventshop/saga/order_saga_runner.hpp - runs an order_saga on a bus: subscribes to the five
// topics of CONTRACT §2 as one consumer group, feeds every event to the saga, publishes the
// order service's answers (OrderCancelled, OrderCancellationRejected) and hands compensations
// (release_stock, refund_payment) to a callback; a deadline_runner thread fires the timeouts.
//
//   saga::order_saga saga(store);
//   saga::order_saga_runner runner(bus, saga, [&](const saga::order_action& a) {
//     if (a.kind == saga::order_action_kind::release_stock) inventory.release(a.order_id);
//     else payment.refund(a.order_id);
//   });
//   runner.start();
//
// The compensation callback may be empty when inventory and payment compensate by themselves
// from OrderCancelled / PaymentFailed (pure choreography); the saga's decisions are the same.
// Actions are executed, then acknowledged; a failed publish or a throwing callback makes the
// handler throw, the bus redelivers, and the still-unacknowledged actions are executed again -
// so execution is at-least-once and the callback must be idempotent per order (as the actions
// are by contract). start() also executes what a previous run left unacknowledged.
//
// Events published from a handler continue that event's correlation; those published for a
// timeout start from the saga's key only (subject = order id, a new correlation id).
// Thread safety: start/stop from one thread; handling is serialised by an internal mutex.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "eventshop/core/bus.hpp"
#include "eventshop/core/middleware.hpp"
#include "eventshop/saga/order_saga.hpp"

namespace eventshop::saga {

class deadline_runner;

struct order_saga_runner_options {
  std::string group = "order-saga";                // consumer group on the five topics
  std::string source = "/eventshop/order";         // source of the events it publishes
  std::vector<middleware::middleware> middleware;  // around each handler (retry, dead_letter...)
  subscribe_options subscribe;
  std::chrono::milliseconds publish_timeout{5000};
  bool run_deadlines = true;  // start a deadline_runner thread
  std::chrono::milliseconds deadline_poll{100};

  void validate() const;  // throws eventshop::error(invalid_argument)
};

class order_saga_runner {
 public:
  using compensation = std::function<void(const order_action&)>;

  // `target` and `saga` must outlive the runner.
  order_saga_runner(bus& target, order_saga& saga, compensation compensate,
                    order_saga_runner_options options = {});
  ~order_saga_runner();  // stop()
  order_saga_runner(const order_saga_runner&) = delete;
  order_saga_runner& operator=(const order_saga_runner&) = delete;

  // Executes leftover actions, subscribes, starts the deadline thread. Throws on bus errors.
  void start();
  void stop();
  // Wakes the deadline thread (e.g. after a test moved a manual clock).
  void poke();

  // Publishes / hands over `actions`, then acknowledges their orders. Throws on failure (the
  // actions stay pending in the saga).
  void execute(const std::vector<order_action>& actions);

 private:
  void on_message(const message& m);
  void publish(std::string_view topic, envelope e);

  bus& bus_;
  order_saga& saga_;
  compensation compensate_;
  order_saga_runner_options options_;
  std::recursive_mutex mutex_;
  std::vector<subscription> subscriptions_;
  std::unique_ptr<deadline_runner> deadlines_;
};

}  // namespace eventshop::saga
