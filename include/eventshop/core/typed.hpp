// eventshop/core/typed.hpp - typed handlers on top of the untyped bus.
//
//   auto sub = eventshop::subscribe<OrderCreated>(bus, "orders", "inventory",
//       [&](const OrderCreated& order, const eventshop::message& m) { ... });
//
//   eventshop::dispatcher d;                     // several types on one topic
//   d.on<OrderCreated>([&](const OrderCreated& e) { ... })
//    .on<OrderCancelled>([&](const OrderCancelled& e, const eventshop::message& m) { ... });
//   auto sub = bus.subscribe("orders", "status", d.as_handler());
//
// Routing: an event whose type has a handler is decoded (upcast first if older) and passed on; a
// type the registry knows but this dispatcher does not handle is acknowledged and skipped; a type
// the registry does not know throws eventshop::error(unknown_event_type), which is not retriable,
// so middleware::dead_letter sends it to `<topic>.dlq` (CONTRACT §1). A payload that fails to
// decode throws the field error (also not retriable).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <type_traits>

#include "eventshop/core/bus.hpp"
#include "eventshop/core/middleware.hpp"
#include "eventshop/core/registry.hpp"

namespace eventshop {

class dispatcher {
 public:
  explicit dispatcher(const event_registry& registry = event_registry::global())
      : registry_(&registry), routes_(std::make_shared<route_map>()) {}

  // F: void(const T&) or void(const T&, const message&).
  template <typed_event T, class F>
  dispatcher& on(F f) {
    const event_registry* reg = registry_;
    (*routes_)[std::string(T::event_type)] = [reg, f = std::move(f)](const message& m) mutable {
      const T value = decode_event<T>(m.event, *reg);
      if constexpr (std::is_invocable_v<F&, const T&, const message&>)
        f(value, m);
      else
        f(value);
    };
    return *this;
  }

  // The handler to subscribe with. Routes added later are seen by handlers made earlier.
  handler as_handler() const {
    return [reg = registry_, routes = routes_](const message& m) {
      const auto it = routes->find(m.event.type);
      if (it != routes->end()) {
        it->second(m);
        return;
      }
      if (!reg->contains(m.event.type))
        throw error(errc::unknown_event_type,
                    "no decoder registered for event type '" + m.event.type.substr(0, 128) + "'");
    };
  }

 private:
  using route_map = std::map<std::string, handler, std::less<>>;
  const event_registry* registry_;
  std::shared_ptr<route_map> routes_;
};

struct typed_subscribe_options {
  subscribe_options bus;                           // concurrency, start position
  std::vector<middleware::middleware> middleware;  // applied around the typed handler
  const event_registry* registry = &event_registry::global();
};

// Subscribes a handler for one event type; other known types on the topic are skipped.
template <typed_event T, class F>
subscription subscribe(bus& b, std::string_view topic, std::string_view group, F f,
                       const typed_subscribe_options& options = {}) {
  dispatcher d(*options.registry);
  d.on<T>(std::move(f));
  return b.subscribe(topic, group, middleware::chain(d.as_handler(), options.middleware),
                     options.bus);
}

}  // namespace eventshop
