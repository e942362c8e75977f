#include "payment/payment_service.hpp"

#include "eventshop/core/clock.hpp"
#include "eventshop/core/uuid.hpp"

namespace eventshop::services::payment {

using namespace eventshop::ecommerce;

payment_service::payment_service(service_env env, const catalog& prices, payment_config config)
    : service_base("payment", env), payments_(prices, config) {}

payment_service::~payment_service() {
  stop();
}

void payment_service::on_start() {
  const auto n = replay(
      event_bus(), {topics::payment, topics::orders}, name(),
      [this](const message& m) { payments_.apply(m.event); }, env().replay_timeout);
  log().info("payment state rebuilt", {{"events", static_cast<std::int64_t>(n)}});
  subscribe(
      topics::inventory, "payment", [this](const message& m) { handle_inventory(m); },
      env().concurrency);
  subscribe(
      topics::orders, "payment", [this](const message& m) { handle_order(m); }, env().concurrency);
}

void payment_service::handle_inventory(const message& m) {
  if (m.event.type != InventoryConfirmed::event_type) return;
  const auto confirmed = decode_event<InventoryConfirmed>(m.event);
  if (payments_.find(confirmed.order_id)) return;  // charged, declined or cancelled before
  step_pause(env().step_delay);
  const auto result = payments_.charge(confirmed.order_id, confirmed.items, "pay_" + new_uuid_v7(),
                                       clock::system().now());
  const auto undo = [this, id = inline_id(confirmed.order_id)] {
    payments_.rollback(std::string(id.view()), std::nullopt);
  };
  if (const auto* ok = std::get_if<PaymentCompleted>(&result)) {
    publish_output(env(), topics::payment, make_service_event(*ok, name(), confirmed.order_id),
                   undo);
  } else if (const auto* failed = std::get_if<PaymentFailed>(&result)) {
    log().info("payment declined", {{"order_id", confirmed.order_id}, {"reason", failed->reason}});
    publish_output(env(), topics::payment, make_service_event(*failed, name(), confirmed.order_id),
                   undo);
  }
}

void payment_service::handle_order(const message& m) {
  if (m.event.type != OrderCancelled::event_type) return;
  const auto c = decode_event<OrderCancelled>(m.event);
  const auto before = payments_.find(c.order_id);
  auto refund = payments_.cancel(c.order_id, "order cancelled: " + c.reason, clock::system().now());
  if (!refund) return;
  publish_output(env(), topics::payment, make_service_event(*refund, name(), c.order_id),
                 [this, id = c.order_id, before] { payments_.rollback(id, before); });
}

}  // namespace eventshop::services::payment
