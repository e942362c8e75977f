#include "inventory/inventory_service.hpp"

#include "eventshop/core/clock.hpp"
#include "eventshop/core/uuid.hpp"

namespace eventshop::services::inventory {

using namespace eventshop::ecommerce;

inventory_service::inventory_service(service_env env, const catalog& products)
    : service_base("inventory", env), catalog_(products), inventory_(catalog_) {}

inventory_service::~inventory_service() {
  stop();
}

void inventory_service::on_start() {
  const auto n = replay(
      event_bus(), {topics::inventory}, name(),
      [this](const message& m) { inventory_.apply(m.event); }, env().replay_timeout);
  log().info("inventory state rebuilt", {{"events", static_cast<std::int64_t>(n)}});
  subscribe(
      topics::orders, "inventory", [this](const message& m) { handle_order(m); },
      env().concurrency);
  subscribe(
      topics::payment, "inventory", [this](const message& m) { handle_payment(m); },
      env().concurrency);
}

void inventory_service::handle_order(const message& m) {
  if (m.event.type == OrderCreated::event_type) {
    const auto order = decode_event<OrderCreated>(m.event);
    if (inventory_.decided(order.order_id)) return;  // redelivery
    step_pause(env().step_delay);
    std::vector<StockItem> items;
    items.reserve(order.items.size());
    for (const auto& it : order.items)
      items.push_back({it.product_id, it.quantity});
    auto outcome = inventory_.reserve(order.order_id, items, new_uuid_v7(), clock::system().now());
    if (outcome.duplicate) return;
    const auto undo = [this, id = inline_id(order.order_id)] {
      inventory_.rollback(std::string(id.view()));
    };
    if (outcome.confirmed) {
      publish_output(env(), topics::inventory,
                     make_service_event(outcome.confirmation, name(), order.order_id), undo);
      for (const auto& a : outcome.alerts) {
        log().warn("low stock", {{"product_id", a.product_id}, {"stock", a.stock}});
        publish_output(env(), topics::inventory, make_service_event(a, name(), a.product_id), undo);
      }
    } else {
      publish_output(env(), topics::inventory,
                     make_service_event(outcome.rejection, name(), order.order_id), undo);
    }
  } else if (m.event.type == OrderCancelled::event_type) {
    const auto c = decode_event<OrderCancelled>(m.event);
    release(c.order_id, "order cancelled");
  }
}

void inventory_service::handle_payment(const message& m) {
  if (m.event.type != PaymentFailed::event_type) return;
  const auto f = decode_event<PaymentFailed>(m.event);
  step_pause(env().step_delay);
  release(f.order_id, "payment failed: " + f.reason);
}

void inventory_service::release(const std::string& order_id, const std::string& reason) {
  auto released = inventory_.release(order_id, reason, clock::system().now());
  if (!released) return;  // nothing held, or released before
  // On failure the reservation is held again: redelivery will release it.
  publish_output(
      env(), topics::inventory, make_service_event(*released, name(), order_id),
      [this, id = inline_id(order_id)] { inventory_.unrelease(std::string(id.view())); });
}

StockReplenished inventory_service::restock(const std::string& product_id, int quantity) {
  auto ev = inventory_.restock(product_id, quantity, clock::system().now());
  publish_and_wait(event_bus(), topics::inventory, make_service_event(ev, name(), product_id),
                   env().publish_timeout);
  return ev;
}

}  // namespace eventshop::services::inventory
