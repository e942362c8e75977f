#include "notification/notification_service.hpp"

#include "eventshop/core/clock.hpp"

namespace eventshop::services::notification {

using namespace eventshop::ecommerce;

notification_service::notification_service(service_env env) : service_base("notification", env) {}

notification_service::~notification_service() {
  stop();
}

void notification_service::on_start() {
  const auto n = replay(
      event_bus(), {topics::notification}, name(),
      [this](const message& m) { notifications_.apply(m.event); }, env().replay_timeout);
  log().info("notification state rebuilt", {{"events", static_cast<std::int64_t>(n)}});
  for (auto topic : {topics::payment, topics::inventory, topics::orders, topics::shipping})
    subscribe(
        topic, "notification", [this](const message& m) { handle(m); }, env().concurrency);
}

void notification_service::handle(const message& m) {
  const auto& t = m.event.type;
  if (t != PaymentCompleted::event_type && t != PaymentFailed::event_type &&
      t != InventoryRejected::event_type && t != OrderCancelled::event_type &&
      t != Shipped::event_type)
    return;
  if (t == PaymentCompleted::event_type) step_pause(env().step_delay);
  auto n = notifications_.on_event(m.event, clock::system().now());
  if (!n) return;
  publish_output(env(), topics::notification, make_service_event(*n, name(), n->order_id),
                 [this, id = inline_id(n->order_id), kind = n->kind] {
                   notifications_.rollback(std::string(id.view()), kind);
                 });
  if (log().enabled(log_level::debug))
    log().debug("notification sent", {{"order_id", n->order_id}, {"kind", n->kind}});
}

}  // namespace eventshop::services::notification
