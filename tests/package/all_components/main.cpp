// Links every component of the installed package and uses the core through the umbrella target;
// each optional component's headers must compile in a consumer without the project's sources.
#include <eventshop/ecommerce/events.hpp>
#include <eventshop/eventshop.hpp>

#include <cstdio>

#if defined(EVENTSHOP_HAS_SQLITE) && __has_include(<eventshop/sqlite/sqlite_bus.hpp>)
#include <eventshop/sqlite/sqlite_bus.hpp>
#endif
#if defined(EVENTSHOP_HAS_KAFKA) && __has_include(<eventshop/kafka/kafka_bus.hpp>)
#include <eventshop/kafka/kafka_bus.hpp>
#endif
#if defined(EVENTSHOP_HAS_HTTP) && __has_include(<eventshop/http/server.hpp>)
#include <eventshop/http/server.hpp>
#endif

int main() {
  using namespace eventshop::ecommerce;
  eventshop::memory_bus bus;
  const auto e = eventshop::make_event(OrderCancelled{"o-1", "test"}, {.source = "/pkg", .subject = "o-1"});
  const auto receipt = bus.publish(topics::orders, e).get();
  const auto back = eventshop::decode_event<OrderCancelled>(eventshop::decode(eventshop::encode(e)));
  std::printf("eventshop %s components: core %s; published to partition %d; decoded %s\n",
              EVENTSHOP_VERSION_STRING, EVENTSHOP_FOUND_COMPONENTS, receipt.partition, back.order_id.c_str());
  return back.order_id == "o-1" ? 0 : 1;
}
