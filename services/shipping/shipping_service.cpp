#include "shipping/shipping_service.hpp"

#include "eventshop/core/clock.hpp"

namespace eventshop::services::shipping {

using namespace eventshop::ecommerce;

shipping_service::shipping_service(service_env env, std::uint64_t seed)
    : service_base("shipping", env), shipping_(seed) {}

shipping_service::~shipping_service() {
  stop();
}

void shipping_service::on_start() {
  const auto n = replay(
      event_bus(), {topics::shipping, topics::orders}, name(),
      [this](const message& m) { shipping_.apply(m.event); }, env().replay_timeout);
  log().info("shipping state rebuilt", {{"events", static_cast<std::int64_t>(n)}});
  subscribe(
      topics::payment, "shipping", [this](const message& m) { handle_payment(m); },
      env().concurrency);
  subscribe(
      topics::orders, "shipping", [this](const message& m) { handle_order(m); }, env().concurrency);
}

void shipping_service::handle_payment(const message& m) {
  if (m.event.type != PaymentCompleted::event_type) return;
  const auto paid = decode_event<PaymentCompleted>(m.event);
  if (shipping_.find(paid.order_id) || shipping_.cancelled(paid.order_id)) return;
  step_pause(env().step_delay);
  auto shipped = shipping_.ship(paid.order_id, clock::system().now());
  if (!shipped) return;
  publish_output(
      env(), topics::shipping, make_service_event(*shipped, name(), paid.order_id),
      [this, id = inline_id(paid.order_id)] { shipping_.rollback_ship(std::string(id.view())); });
  if (log().enabled(log_level::debug))
    log().debug("order shipped", {{"order_id", paid.order_id},
                                  {"tracking_number", shipped->tracking_number},
                                  {"carrier", shipped->carrier}});
}

void shipping_service::handle_order(const message& m) {
  if (m.event.type == OrderCancelled::event_type) {
    shipping_.mark_cancelled(decode_event<OrderCancelled>(m.event).order_id);
    return;
  }
  if (m.event.type != OrderCancellationRequested::event_type) return;
  const auto req = decode_event<OrderCancellationRequested>(m.event);
  const auto answer = shipping_.request_cancel(req.order_id, req.reason);
  if (const auto* ok = std::get_if<OrderCancelled>(&answer)) {
    publish_output(env(), topics::orders, make_service_event(*ok, name(), req.order_id),
                   [this, id = req.order_id] { shipping_.rollback_cancel(id); });
  } else if (const auto* no = std::get_if<OrderCancellationRejected>(&answer)) {
    publish_output(env(), topics::orders, make_service_event(*no, name(), req.order_id), {});
  }
}

}  // namespace eventshop::services::shipping
