// order_saga_runner: the order saga on a bus.
#include "eventshop/saga/order_saga_runner.hpp"

#include <set>

#include "eventshop/core/error.hpp"
#include "eventshop/core/registry.hpp"
#include "eventshop/ecommerce/events.hpp"
#include "eventshop/saga/tracker.hpp"

namespace eventshop::saga {

namespace ec = eventshop::ecommerce;

void order_saga_runner_options::validate() const {
  validate_group_name(group);
  if (source.empty())
    throw error(errc::invalid_argument, "order_saga_runner_options.source: must not be empty");
  if (publish_timeout.count() <= 0)
    throw error(errc::invalid_argument, "order_saga_runner_options.publish_timeout: must be > 0");
  if (deadline_poll.count() <= 0)
    throw error(errc::invalid_argument, "order_saga_runner_options.deadline_poll: must be > 0");
}

order_saga_runner::order_saga_runner(bus& target, order_saga& saga, compensation compensate,
                                     order_saga_runner_options options)
    : bus_(target), saga_(saga), compensate_(std::move(compensate)), options_(std::move(options)) {
  options_.validate();
}

order_saga_runner::~order_saga_runner() {
  stop();
}

void order_saga_runner::start() {
  if (!subscriptions_.empty()) return;
  execute(saga_.pending_actions());
  const handler h =
      middleware::chain([this](const message& m) { on_message(m); }, options_.middleware);
  for (const auto topic : ec::topics::all)
    subscriptions_.push_back(bus_.subscribe(topic, options_.group, h, options_.subscribe));
  if (options_.run_deadlines)
    deadlines_ = std::make_unique<deadline_runner>(
        saga_.tracker(),
        [this](const std::vector<std::pair<std::string, handle_result>>&) {
          // The tracker already applied the timeouts; their actions are in the outbox. Read it
          // under the lock so that actions a handler is executing are not run twice.
          std::lock_guard lock(mutex_);
          execute(saga_.pending_actions());
        },
        options_.deadline_poll);
}

void order_saga_runner::stop() {
  if (deadlines_) deadlines_->stop();
  for (auto& s : subscriptions_)
    s.close();
  subscriptions_.clear();
  deadlines_.reset();
}

void order_saga_runner::poke() {
  if (deadlines_) deadlines_->poke();
}

void order_saga_runner::on_message(const message& m) {
  std::lock_guard lock(mutex_);
  const order_result r = saga_.handle(m.event);
  if (r.actions.empty() && r.result != order_result::outcome::duplicate) return;
  // New actions, or a redelivery after a failed execution: run what is still pending.
  const std::string order_id = r.actions.empty() ? m.event.subject : r.actions.front().order_id;
  if (order_id.empty()) return;
  const std::vector<order_action> pending = saga_.pending_actions(order_id);
  if (pending.empty()) return;
  context_scope scope(
      event_context{m.event.correlationid.empty() ? m.event.id : m.event.correlationid,
                    m.event.id,
                    m.event.traceparent,
                    {}});
  execute(pending);
}

void order_saga_runner::publish(std::string_view topic, envelope e) {
  auto ack = bus_.publish(topic, std::move(e));
  if (ack.wait_for(options_.publish_timeout) != std::future_status::ready)
    throw error(errc::timeout,
                "order saga: publish to '" + std::string(topic) + "' was not acknowledged");
  ack.get();
}

void order_saga_runner::execute(const std::vector<order_action>& actions) {
  std::lock_guard lock(mutex_);
  std::set<std::string> orders;
  for (const auto& a : actions) {
    const event_options eo{options_.source, a.order_id, &saga_.tracker().clock_ref()};
    switch (a.kind) {
      case order_action_kind::cancel_order:
        publish(ec::topics::orders, make_event(ec::OrderCancelled{a.order_id, a.reason}, eo));
        break;
      case order_action_kind::reject_cancellation:
        publish(ec::topics::orders,
                make_event(ec::OrderCancellationRejected{a.order_id, a.reason}, eo));
        break;
      case order_action_kind::release_stock:
      case order_action_kind::refund_payment:
        if (compensate_) compensate_(a);
        break;
    }
    orders.insert(a.order_id);
  }
  for (const auto& o : orders)
    saga_.acknowledge(o);
}

}  // namespace eventshop::saga
