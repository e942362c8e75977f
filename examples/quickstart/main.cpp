// quickstart: declare a typed event, publish it on the in-memory bus, consume it as a group.
//
//   $ eventshop-quickstart
//   published 3 events; handled 3: ...
#include <eventshop/eventshop.hpp>

#include <cstdio>
#include <latch>
#include <string>
#include <vector>

// 1. Declare the event once: type name, schema version, fields.
struct CoffeeOrdered {
  EVENTSHOP_EVENT_TYPE("CoffeeOrdered", 1);
  std::string order_id;
  std::string drink;
  int shots = 1;
  eventshop::money price;
};
EVENTSHOP_FIELDS(CoffeeOrdered, order_id, drink, shots, price)

int main() {
  eventshop::event_registry::global().add<CoffeeOrdered>();
  eventshop::memory_bus bus;

  // 2. Subscribe a typed handler as the consumer group "barista".
  std::latch done(3);
  auto sub = eventshop::subscribe<CoffeeOrdered>(
      bus, "coffee", "barista", [&](const CoffeeOrdered& order, const eventshop::message& m) {
        std::printf("barista: %s with %d shot(s), %s USD (partition %d, offset %lld)\n",
                    order.drink.c_str(), order.shots, order.price.to_string().c_str(), m.partition,
                    static_cast<long long>(m.offset));
        done.count_down();
      });

  // 3. Publish; the future resolves when the bus acknowledged the event.
  const std::vector<CoffeeOrdered> orders = {{"o-1", "espresso", 1, eventshop::money{250}},
                                             {"o-2", "flat white", 2, eventshop::money{380}},
                                             {"o-3", "cortado", 2, eventshop::money{320}}};
  for (const auto& o : orders) {
    auto event = eventshop::make_event(o, {.source = "/quickstart/till", .subject = o.order_id});
    bus.publish("coffee", std::move(event)).get();
  }
  done.wait();
  bus.close();
  std::printf("published %zu events; all handled\n", orders.size());
  return 0;
}
