#include <gtest/gtest.h>

#include <atomic>

#include "conformance/bus_conformance.hpp"
#include "eventshop/core/error.hpp"
#include "eventshop/core/memory_bus.hpp"
#include "eventshop/core/metrics.hpp"
#include "eventshop/core/middleware.hpp"
#include "eventshop/core/registry.hpp"
#include "eventshop/core/typed.hpp"
#include "eventshop/ecommerce/events.hpp"

namespace eventshop {
namespace {

using namespace std::chrono_literals;
using conformance::collector;

envelope ev(int i = 0) {
  return make_envelope("T", 1, "{\"i\":" + std::to_string(i) + "}",
                       {.source = "/t", .subject = "k"});
}

// Calls a handler directly, as a backend would.
void deliver(const handler& h, const envelope& e, std::string_view topic = "orders",
             std::string_view group = "g") {
  h(message{topic, group, 0, 0, 1, e});
}

TEST(Retry, BacksOffExponentiallyThenGivesUp) {
  std::vector<std::chrono::milliseconds> waits;
  int calls = 0;
  auto h = middleware::chain(
      [&](const message&) {
        ++calls;
        throw std::runtime_error("down");
      },
      {middleware::retry({.max_attempts = 4,
                          .initial_backoff = 10ms,
                          .multiplier = 2.0,
                          .max_backoff = 25ms,
                          .jitter = 0.0,
                          .sleep = [&](auto d) { waits.push_back(d); }})});
  EXPECT_THROW(deliver(h, ev()), std::runtime_error);
  EXPECT_EQ(calls, 4);
  EXPECT_EQ(waits, (std::vector<std::chrono::milliseconds>{10ms, 20ms, 25ms}));
}

TEST(Retry, SucceedsWhenTheFailureIsTransient) {
  int calls = 0;
  auto h = middleware::chain(
      [&](const message&) {
        if (++calls < 3) throw error(errc::timeout, "slow");
      },
      {middleware::retry({.sleep = [](auto) {}})});
  EXPECT_NO_THROW(deliver(h, ev()));
  EXPECT_EQ(calls, 3);
}

TEST(Retry, PermanentErrorsAreNotRetried) {
  int calls = 0;
  auto h = middleware::chain(
      [&](const message&) {
        ++calls;
        throw error(errc::malformed_event, "bad");
      },
      {middleware::retry({.sleep = [](auto) {}})});
  EXPECT_THROW(deliver(h, ev()), error);
  EXPECT_EQ(calls, 1);
}

TEST(Retry, PolicyIsValidated) {
  EXPECT_THROW(middleware::retry({.max_attempts = 0}), error);
  EXPECT_THROW(middleware::retry({.multiplier = 0.5}), error);
  EXPECT_THROW(middleware::retry({.initial_backoff = 10ms, .max_backoff = 1ms}), error);
  EXPECT_THROW(middleware::retry({.jitter = 1.5}), error);
}

TEST(DeadLetter, PublishesTheEventWithTheErrorAndAcknowledges) {
  memory_bus b;
  collector<envelope> dead;
  auto sub = b.subscribe("orders.dlq", "inspect", [&](const message& m) { dead.add(m.event); });
  auto h = middleware::chain([](const message&) { throw std::runtime_error("boom"); },
                             {middleware::dead_letter(b)});
  const envelope e = ev(7);
  EXPECT_NO_THROW(deliver(h, e));
  ASSERT_TRUE(dead.wait_for_count(1, 5s));
  const envelope d = dead.snapshot().front();
  EXPECT_EQ(d.id, e.id);
  EXPECT_EQ(d.data, e.data);
  EXPECT_EQ(d.extensions.at("dlqerror"), "boom");
  EXPECT_EQ(d.extensions.at("dlqtopic"), "orders");
  EXPECT_EQ(d.extensions.at("dlqgroup"), "g");
}

TEST(DeadLetter, WhenTheDeadLetterPublishFailsTheErrorPropagates) {
  memory_bus b;
  b.close(0ms);  // every publish now fails with errc::closed
  auto h = middleware::chain([](const message&) { throw std::runtime_error("boom"); },
                             {middleware::dead_letter(b)});
  EXPECT_THROW(deliver(h, ev()), error);  // not swallowed: the backend will redeliver
}

TEST(Idempotent, SkipsEventsAlreadyHandledByTheSameGroup) {
  memory_idempotency_store store;
  int calls = 0;
  auto h = middleware::chain([&](const message&) { ++calls; }, {middleware::idempotent(store)});
  const envelope e = ev();
  deliver(h, e, "orders", "g1");
  deliver(h, e, "orders", "g1");
  deliver(h, e, "orders", "g2");  // another group handles it once too
  EXPECT_EQ(calls, 2);
}

TEST(Idempotent, AFailedHandlerIsNotMarkedHandled) {
  memory_idempotency_store store;
  int calls = 0;
  auto h = middleware::chain(
      [&](const message&) {
        if (++calls == 1) throw std::runtime_error("x");
      },
      {middleware::idempotent(store)});
  const envelope e = ev();
  EXPECT_THROW(deliver(h, e), std::runtime_error);
  deliver(h, e);
  deliver(h, e);
  EXPECT_EQ(calls, 2);
}

TEST(Idempotent, MemoryStoreIsBounded) {
  memory_idempotency_store store(3);
  for (int i = 0; i < 5; ++i)
    store.insert("g", std::to_string(i));
  EXPECT_EQ(store.size(), 3u);
  EXPECT_FALSE(store.contains("g", "0"));
  EXPECT_TRUE(store.contains("g", "4"));
}

TEST(Correlate, EventsPublishedWhileHandlingInheritTheContext) {
  envelope published;
  const envelope incoming = ev();
  auto h = middleware::chain(
      [&](const message&) {
        published = make_envelope("Next", 1, "{}", {.source = "/t", .subject = "k"});
      },
      {middleware::correlate()});
  deliver(h, incoming);
  EXPECT_EQ(published.correlationid, incoming.correlationid);
  EXPECT_EQ(published.causationid, incoming.id);
  EXPECT_EQ(current_context(), nullptr) << "context leaked out of the handler";
}

TEST(Correlate, EachEventGetsItsOwnContextNestedOrNotAndTheOuterOneComesBack) {
  // The context objects are reused per thread and nesting depth: nothing of an earlier event
  // (its ids, its traceparent) may show through in a later one.
  std::vector<envelope> published;
  const auto publish = [&] {
    published.push_back(make_envelope("Next", 1, "{}", {.source = "/t", .subject = "k"}));
  };
  envelope inner_event = ev(2);
  inner_event.correlationid = "saga-inner";
  auto inner = middleware::chain([&](const message&) { publish(); }, {middleware::correlate()});
  auto outer = middleware::chain(
      [&](const message&) {
        publish();
        deliver(inner, inner_event);  // a handler that delivers to another (nested correlate)
        publish();                    // ... and finds its own context current again
        throw std::runtime_error("after the nested one");
      },
      {middleware::correlate()});
  envelope first = ev(1);
  first.correlationid = "saga-1";
  first.traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
  context_scope request({.correlationid = "req-corr", .request_id = "req-1"});
  EXPECT_THROW(deliver(outer, first), std::runtime_error);
  ASSERT_EQ(published.size(), 3u);
  for (const std::size_t i : {std::size_t{0}, std::size_t{2}}) {
    EXPECT_EQ(published[i].correlationid, "saga-1");
    EXPECT_EQ(published[i].causationid, first.id);
    EXPECT_EQ(published[i].traceparent, first.traceparent);
  }
  EXPECT_EQ(published[1].correlationid, "saga-inner");
  EXPECT_EQ(published[1].causationid, inner_event.id);
  EXPECT_EQ(published[1].traceparent, "")
      << "the nested handler's context is its event's, not the outer one's";
  // The throw restored the request's context.
  ASSERT_NE(current_context(), nullptr);
  EXPECT_EQ(current_context()->request_id, "req-1");
  EXPECT_EQ(current_context()->correlationid, "req-corr");

  // A later event without a correlation id or traceparent: none of the earlier ones' is left.
  published.clear();
  envelope second = ev(3);
  second.correlationid.clear();
  std::string request_id_seen;
  auto plain = middleware::chain(
      [&](const message&) {
        publish();
        request_id_seen = current_context()->request_id;
      },
      {middleware::correlate()});
  deliver(plain, second);
  ASSERT_EQ(published.size(), 1u);
  EXPECT_EQ(published[0].correlationid, second.id);
  EXPECT_EQ(published[0].causationid, second.id);
  EXPECT_EQ(published[0].traceparent, "");
  EXPECT_EQ(request_id_seen, "req-1");
}

TEST(Metrics, CountsHandledAndFailedPerTopicAndGroup) {
  metrics_registry reg;
  auto ok = middleware::chain([](const message&) {}, {middleware::metrics(reg)});
  auto bad = middleware::chain([](const message&) { throw std::runtime_error("x"); },
                               {middleware::metrics(reg)});
  deliver(ok, ev());
  deliver(ok, ev());
  EXPECT_THROW(deliver(bad, ev()), std::runtime_error);
  const std::string text = reg.render();
  EXPECT_NE(text.find("eventshop_events_handled_total{topic=\"orders\",group=\"g\"} 2"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("eventshop_events_failed_total{topic=\"orders\",group=\"g\"} 1"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("eventshop_handler_duration_seconds_count{topic=\"orders\",group=\"g\"} 2"),
            std::string::npos);
}

TEST(Dispatcher, RoutesByTypeSkipsKnownOthersAndRejectsUnknown) {
  using namespace eventshop::ecommerce;
  dispatcher d;
  std::vector<std::string> seen;
  d.on<OrderCreated>([&](const OrderCreated& oc) {
     seen.push_back("created " + oc.order_id);
   }).on<OrderCancelled>([&](const OrderCancelled& oc, const message& m) {
    seen.push_back("cancelled " + oc.order_id + " @" + std::string(m.topic));
  });
  const handler h = d.as_handler();
  deliver(h, make_event(OrderCreated{.order_id = "o1",
                                     .items = {{"product-1", 1, money{2999}}},
                                     .total = money{2999},
                                     .product_id = "product-1",
                                     .quantity = 1},
                        {.source = "/t", .subject = "o1"}));
  deliver(h, make_event(OrderCancelled{"o1", "r"}, {.source = "/t", .subject = "o1"}));
  deliver(h, make_event(OrderCancellationRequested{"o1", "r"},
                        {.source = "/t", .subject = "o1"}));  // skipped
  EXPECT_EQ(seen, (std::vector<std::string>{"created o1", "cancelled o1 @orders"}));

  envelope unknown = ev();
  unknown.type = "Nonsense";
  try {
    deliver(h, unknown);
    FAIL();
  } catch (const error& e) {
    EXPECT_EQ(e.code(), make_error_code(errc::unknown_event_type));
    EXPECT_FALSE(e.retriable());
  }
  envelope broken = make_event(OrderCancelled{"o1", "r"}, {.source = "/t", .subject = "o1"});
  broken.data = R"({"order_id":5})";
  EXPECT_THROW(deliver(h, broken), error);
}

TEST(TypedSubscribe, DeliversDecodedEventsThroughTheBus) {
  using namespace eventshop::ecommerce;
  memory_bus b;
  collector<std::string> got;
  auto sub = subscribe<PaymentFailed>(
      b, "payment", "status", [&](const PaymentFailed& p, const message& m) {
        got.add(p.order_id + ":" + p.amount.to_string() + ":" + std::to_string(m.attempt));
      });
  b.publish("payment", make_event(PaymentFailed{"o9", money{250001}, "amount exceeds limit"},
                                  {.source = "/eventshop/payment", .subject = "o9"}))
      .get();
  ASSERT_TRUE(got.wait_for_count(1, 5s));
  EXPECT_EQ(got.snapshot().front(), "o9:2500.01:1");
}

}  // namespace
}  // namespace eventshop
