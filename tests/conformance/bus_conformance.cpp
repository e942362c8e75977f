// The tests every bus backend must pass. See bus_conformance.hpp.
#include "conformance/bus_conformance.hpp"

#include <atomic>
#include <map>
#include <set>
#include <thread>

#include "eventshop/core/error.hpp"
#include "eventshop/core/middleware.hpp"
#include "eventshop/core/registry.hpp"
#include "eventshop/core/typed.hpp"

namespace eventshop::conformance {
namespace {

using namespace std::chrono_literals;

envelope make(const std::string& key, int seq, const std::string& type = "TestEvent") {
  event_options o;
  o.source = "/eventshop/conformance";
  o.subject = key;
  return make_envelope(type, 1, "{\"seq\":" + std::to_string(seq) + ",\"key\":\"" + key + "\"}", o);
}

struct seen {
  std::string key;
  int seq;
  std::string id;
  int attempt;
  std::int32_t partition;
  std::int64_t offset;
  int member = 0;
};

int seq_of(const envelope& e) {
  const auto p = e.data.find("\"seq\":");
  return std::stoi(e.data.substr(p + 6));
}

int scaled(const bus_backend& b, int n) {
  return std::max(4, n * b.scale_percent / 100);
}

// Publishes and waits for every acknowledgement.
std::vector<publish_receipt> publish_all(bus& b, const std::string& topic,
                                         std::vector<envelope> events) {
  std::vector<std::future<publish_receipt>> acks;
  acks.reserve(events.size());
  for (auto& e : events)
    acks.push_back(b.publish(topic, std::move(e)));
  std::vector<publish_receipt> out;
  for (auto& a : acks)
    out.push_back(a.get());
  return out;
}

handler record_into(collector<seen>& c, int member = 0) {
  return [&c, member](const message& m) {
    c.add(seen{m.event.subject, seq_of(m.event), m.event.id, m.attempt, m.partition, m.offset,
               member});
  };
}

TEST_P(bus_conformance, PublishIsAcknowledgedWithPartitionAndOffset) {
  const auto& be = GetParam();
  auto b = be.open(be.make_storage_id(), {});
  const auto receipt = b->publish("conf.ack", make("k1", 1)).get();
  EXPECT_GE(receipt.partition, 0);
  EXPECT_LT(receipt.partition, b->partitions("conf.ack"));
  EXPECT_GE(receipt.offset, 0);
  EXPECT_EQ(receipt.partition, partition_for("k1", b->partitions("conf.ack")));

  std::promise<std::error_code> done;
  b->publish("conf.ack", make("k1", 2),
             [&](std::error_code ec, const publish_receipt&) { done.set_value(ec); });
  EXPECT_FALSE(done.get_future().get());
}

TEST_P(bus_conformance, RejectsInvalidNames) {
  const auto& be = GetParam();
  auto b = be.open(be.make_storage_id(), {});
  EXPECT_THROW(b->subscribe("", "g", [](const message&) {}), error);
  EXPECT_THROW(b->subscribe("conf.names", "bad group!", [](const message&) {}), error);
  EXPECT_THROW(b->subscribe("conf.names", "g", handler{}), error);
}

TEST_P(bus_conformance, EnvelopeSurvivesTheTripUnchanged) {
  const auto& be = GetParam();
  auto b = be.open(be.make_storage_id(), {});
  envelope e = make("order-7", 7);
  e.causationid = "cause-1";
  e.traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
  e.extensions["tenant"] = "acme";
  e.data = R"({"seq":7,"key":"order-7","nested":{"a":[1,2.5,"x\u00e9"],"b":null}})";
  collector<envelope> got;
  auto sub = b->subscribe("conf.roundtrip", "g", [&](const message& m) { got.add(m.event); });
  b->publish("conf.roundtrip", e).get();
  ASSERT_TRUE(got.wait_for_count(1, be.timeout));
  const envelope r = got.snapshot().front();
  EXPECT_EQ(r.id, e.id);
  EXPECT_EQ(r.source, e.source);
  EXPECT_EQ(r.type, e.type);
  EXPECT_EQ(r.subject, e.subject);
  EXPECT_EQ(format_rfc3339(r.time), format_rfc3339(e.time));
  EXPECT_EQ(r.correlationid, e.correlationid);
  EXPECT_EQ(r.causationid, e.causationid);
  EXPECT_EQ(r.traceparent, e.traceparent);
  EXPECT_EQ(r.dataschemaversion, e.dataschemaversion);
  EXPECT_EQ(r.extensions.at("tenant"), "acme");
  EXPECT_EQ(json_document(r.data).root().dump(), json_document(e.data).root().dump());
}

// At-least-once: a rebalance may deliver some events twice, so tests that wait for "every
// event" wait for this many distinct event ids, not for this many deliveries.
auto distinct_ids_at_least(std::size_t n) {
  return [n](const std::vector<seen>& v) {
    std::set<std::string> ids;
    for (const auto& s : v)
      ids.insert(s.id);
    return ids.size() >= n;
  };
}

TEST_P(bus_conformance, EventsOfOneKeyArriveInPublishOrder) {
  const auto& be = GetParam();
  auto b = be.open(be.make_storage_id(), {});
  const int keys = 8, per_key = scaled(be, 250);
  collector<seen> got;
  auto sub = b->subscribe("conf.order", "g", record_into(got), {.concurrency = 2});
  std::vector<envelope> events;
  for (int i = 0; i < per_key; ++i)
    for (int k = 0; k < keys; ++k)
      events.push_back(make("key-" + std::to_string(k), i));
  publish_all(*b, "conf.order", std::move(events));
  ASSERT_TRUE(got.wait_until(distinct_ids_at_least(std::size_t(keys * per_key)), be.timeout));
  // A rebalance may replay a key from its last committed offset (a redelivery, allowed), but no
  // event of a key is ever delivered before every event published ahead of it.
  std::map<std::string, int> last;
  for (const auto& s : got.snapshot()) {
    auto [it, fresh] = last.try_emplace(s.key, -1);
    EXPECT_LE(s.seq, it->second + 1)
        << "key " << s.key << ": event " << s.seq << " came before event " << it->second + 1;
    it->second = s.seq;
  }
  EXPECT_EQ(last.size(), static_cast<std::size_t>(keys));
}

TEST_P(bus_conformance, EveryGroupSeesEveryEvent) {
  const auto& be = GetParam();
  auto b = be.open(be.make_storage_id(), {});
  const int n = scaled(be, 400);
  collector<seen> a, c;
  auto sa = b->subscribe("conf.fanout", "group-a", record_into(a));
  auto sc = b->subscribe("conf.fanout", "group-c", record_into(c));
  std::vector<envelope> events;
  for (int i = 0; i < n; ++i)
    events.push_back(make("k" + std::to_string(i % 13), i));
  publish_all(*b, "conf.fanout", std::move(events));
  ASSERT_TRUE(a.wait_for_count(static_cast<std::size_t>(n), be.timeout));
  ASSERT_TRUE(c.wait_for_count(static_cast<std::size_t>(n), be.timeout));
  std::set<std::string> ids_a, ids_c;
  for (const auto& s : a.snapshot())
    ids_a.insert(s.id);
  for (const auto& s : c.snapshot())
    ids_c.insert(s.id);
  EXPECT_EQ(ids_a.size(), static_cast<std::size_t>(n));
  EXPECT_EQ(ids_a, ids_c);
}

TEST_P(bus_conformance, MembersOfAGroupShareThePartitions) {
  const auto& be = GetParam();
  auto b = be.open(be.make_storage_id(), {});
  const int n = scaled(be, 400);
  collector<seen> got;
  auto s1 = b->subscribe("conf.share", "workers", record_into(got, 1));
  auto s2 = b->subscribe("conf.share", "workers", record_into(got, 2));
  // Both members must own partitions before the events arrive for the split to be observable.
  std::vector<envelope> events;
  for (int i = 0; i < n; ++i)
    events.push_back(make("k" + std::to_string(i), i));
  publish_all(*b, "conf.share", std::move(events));
  ASSERT_TRUE(got.wait_until(distinct_ids_at_least(static_cast<std::size_t>(n)), be.timeout));
  std::map<int, int> handled_by_member;
  for (const auto& s : got.snapshot())
    ++handled_by_member[s.member];
  EXPECT_EQ(handled_by_member.size(), 2u) << "one member handled everything";
}

TEST_P(bus_conformance, FailedHandlerGetsTheEventAgainAndOrderIsKept) {
  const auto& be = GetParam();
  auto b = be.open(be.make_storage_id(), {.partitions = 1});
  collector<seen> got;
  std::atomic<int> failures{0};
  auto sub = b->subscribe("conf.redeliver", "g", [&](const message& m) {
    if (seq_of(m.event) == 2 && failures.fetch_add(1) < 2) throw std::runtime_error("transient");
    got.add(seen{m.event.subject, seq_of(m.event), m.event.id, m.attempt, m.partition, m.offset});
  });
  std::vector<envelope> events;
  for (int i = 0; i < 5; ++i)
    events.push_back(make("same-key", i));
  publish_all(*b, "conf.redeliver", std::move(events));
  ASSERT_TRUE(got.wait_for_count(5, be.timeout));
  const auto v = got.snapshot();
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(v[static_cast<std::size_t>(i)].seq, i);
  EXPECT_EQ(v[2].attempt, 3);  // two failures, then success
  EXPECT_EQ(v[3].attempt, 1);
  EXPECT_EQ(failures.load(), 3);
}

TEST_P(bus_conformance, PoisonEventGoesToTheDeadLetterTopic) {
  const auto& be = GetParam();
  auto b = be.open(be.make_storage_id(), {});
  collector<seen> ok;
  collector<envelope> dead;
  auto dlq =
      b->subscribe("conf.poison.dlq", "inspect", [&](const message& m) { dead.add(m.event); });
  auto record = record_into(ok);
  auto guarded = [record](const message& m) {
    if (seq_of(m.event) == 1) throw std::runtime_error("cannot handle seq 1");
    record(m);
  };
  auto sub = b->subscribe(
      "conf.poison", "g",
      middleware::chain(
          guarded,
          {middleware::dead_letter(*b),
           middleware::retry({.max_attempts = 3, .initial_backoff = 1ms, .max_backoff = 2ms})}));
  publish_all(*b, "conf.poison", {make("k", 0), make("k", 1), make("k", 2)});
  ASSERT_TRUE(ok.wait_for_count(2, be.timeout));
  ASSERT_TRUE(dead.wait_for_count(1, be.timeout));
  const auto d = dead.snapshot().front();
  EXPECT_EQ(seq_of(d), 1);
  EXPECT_EQ(d.extensions.at("dlqerror"), "cannot handle seq 1");
  EXPECT_EQ(d.extensions.at("dlqtopic"), "conf.poison");
  EXPECT_EQ(d.extensions.at("dlqgroup"), "g");
  const auto v = ok.snapshot();
  EXPECT_EQ(v[0].seq, 0);
  EXPECT_EQ(v[1].seq, 2);
}

TEST_P(bus_conformance, UnknownEventTypeIsDeadLetteredNotRetried) {
  const auto& be = GetParam();
  auto b = be.open(be.make_storage_id(), {});
  event_registry registry;
  registry.add("Known", 1);
  collector<envelope> dead, handled;
  dispatcher d(registry);
  auto dlq =
      b->subscribe("conf.unknown.dlq", "inspect", [&](const message& m) { dead.add(m.event); });
  auto sub =
      b->subscribe("conf.unknown", "g",
                   middleware::chain(
                       [&](const message& m) {
                         d.as_handler()(m);
                         handled.add(m.event);
                       },
                       {middleware::dead_letter(*b), middleware::retry({.max_attempts = 5})}));
  publish_all(*b, "conf.unknown", {make("k", 0, "Mystery"), make("k", 1, "Known")});
  ASSERT_TRUE(dead.wait_for_count(1, be.timeout));
  ASSERT_TRUE(handled.wait_for_count(1, be.timeout));
  EXPECT_EQ(dead.snapshot().front().type, "Mystery");
  EXPECT_EQ(dead.snapshot().front().extensions.at("dlqattempt"), "1");
  EXPECT_NE(dead.snapshot().front().extensions.at("dlqerror").find("Mystery"), std::string::npos);
}

TEST_P(bus_conformance, NewGroupReplaysFromTheBeginningOrStartsAtTheEnd) {
  const auto& be = GetParam();
  if (!be.features.replay) return;  // feature table: replay
  auto b = be.open(be.make_storage_id(), {});
  const int n = scaled(be, 100);
  std::vector<envelope> before;
  for (int i = 0; i < n; ++i)
    before.push_back(make("k" + std::to_string(i % 5), i));
  publish_all(*b, "conf.replay", std::move(before));
  collector<seen> early, late;
  auto s1 = b->subscribe("conf.replay", "from-start", record_into(early));
  auto s2 =
      b->subscribe("conf.replay", "from-now", record_into(late), {.start = start_position::latest});
  ASSERT_TRUE(early.wait_for_count(static_cast<std::size_t>(n), be.timeout));
  publish_all(*b, "conf.replay", {make("k0", 1000)});
  ASSERT_TRUE(late.wait_for_count(1, be.timeout));
  ASSERT_TRUE(early.wait_for_count(static_cast<std::size_t>(n + 1), be.timeout));
  EXPECT_EQ(late.snapshot().front().seq, 1000);
  EXPECT_EQ(late.size(), 1u);
}

TEST_P(bus_conformance, ClosingASubscriptionHandsItsPartitionsToTheOthers) {
  const auto& be = GetParam();
  auto b = be.open(be.make_storage_id(), {});
  const int n = scaled(be, 300);
  collector<seen> got;
  auto s1 = b->subscribe("conf.rebalance", "g", record_into(got, 1));
  auto s2 = b->subscribe("conf.rebalance", "g", record_into(got, 2));
  std::vector<envelope> first, second;
  for (int i = 0; i < n; ++i)
    (i < n / 2 ? first : second).push_back(make("k" + std::to_string(i), i));
  publish_all(*b, "conf.rebalance", std::move(first));
  s1.close();
  EXPECT_FALSE(s1.active());
  publish_all(*b, "conf.rebalance", std::move(second));
  ASSERT_TRUE(got.wait_until(
      [n](const std::vector<seen>& v) {
        std::set<int> seqs;
        for (const auto& s : v)
          seqs.insert(s.seq);
        return seqs.size() >= static_cast<std::size_t>(n);
      },
      be.timeout))
      << "events were lost when a member left";
  for (const auto& s : got.snapshot())
    if (s.seq >= n / 2) {
      EXPECT_EQ(s.member, 2) << "a closed member still received events";
    }
}

TEST_P(bus_conformance, CloseDrainsWhatWasPublishedThenRefusesPublishes) {
  const auto& be = GetParam();
  auto b = be.open(be.make_storage_id(), {});
  const int n = scaled(be, 500);
  std::atomic<int> handled{0};
  auto sub = b->subscribe("conf.drain", "g", [&](const message&) { handled.fetch_add(1); });
  std::vector<envelope> events;
  for (int i = 0; i < n; ++i)
    events.push_back(make("k" + std::to_string(i % 7), i));
  publish_all(*b, "conf.drain", std::move(events));
  b->close(be.timeout);
  EXPECT_EQ(handled.load(), n);
  EXPECT_FALSE(sub.active());
  std::promise<std::error_code> ack;
  b->publish("conf.drain", make("k", 0),
             [&](std::error_code ec, const publish_receipt&) { ack.set_value(ec); });
  EXPECT_EQ(ack.get_future().get(), make_error_code(errc::closed));
  EXPECT_THROW(b->subscribe("conf.drain", "g2", [](const message&) {}), error);
  b->close();  // idempotent
}

TEST_P(bus_conformance, LagCountsWhatAGroupHasNotConsumed) {
  const auto& be = GetParam();
  auto b = be.open(be.make_storage_id(), {});
  EXPECT_EQ(b->lag("conf.lag", "nobody"), 0);
  std::promise<void> gate;
  auto gate_future = gate.get_future().share();
  collector<int> got;
  auto sub = b->subscribe("conf.lag", "g",
                          [&](const message&) {
                            gate_future.wait();
                            got.add(1);
                          },
                          {.concurrency = 1});
  publish_all(*b, "conf.lag", {make("a", 0), make("a", 1), make("a", 2)});
  EXPECT_GE(b->lag("conf.lag", "g"), 2);  // the first may be in flight, the rest wait
  gate.set_value();
  ASSERT_TRUE(got.wait_for_count(3, be.timeout));
  sub.close();
  EXPECT_EQ(b->lag("conf.lag", "g"), 0);
}

TEST_P(bus_conformance, ManyPublishersAtOnceLoseNothing) {
  const auto& be = GetParam();
  auto b = be.open(be.make_storage_id(), {});
  const int threads = 4, per_thread = scaled(be, 500);
  collector<seen> got;
  auto sub = b->subscribe("conf.concurrent", "g", record_into(got), {.concurrency = 2});
  std::vector<std::thread> pubs;
  for (int t = 0; t < threads; ++t)
    pubs.emplace_back([&, t] {
      std::vector<envelope> events;
      for (int i = 0; i < per_thread; ++i)
        events.push_back(make("t" + std::to_string(t), i));
      publish_all(*b, "conf.concurrent", std::move(events));
    });
  for (auto& t : pubs)
    t.join();
  const auto total = static_cast<std::size_t>(threads * per_thread);
  ASSERT_TRUE(got.wait_until(distinct_ids_at_least(total), be.timeout));
  std::set<std::string> ids;
  std::map<std::string, int> last;
  for (const auto& s : got.snapshot()) {
    ids.insert(s.id);
    auto [it, fresh] = last.try_emplace(s.key, -1);
    // A replay after a rebalance restarts a key earlier; nothing may skip ahead.
    EXPECT_LE(s.seq, it->second + 1) << "key " << s.key << ": event " << s.seq << " too early";
    it->second = s.seq;
  }
  EXPECT_EQ(ids.size(), total);
}

// ---- durable backends only -------------------------------------------------------------------

TEST_P(durable_bus_conformance, AcknowledgedEventsAndGroupPositionsSurviveReopening) {
  const auto& be = GetParam();
  const std::string storage = be.make_storage_id();
  const int n = scaled(be, 200);
  {
    auto b = be.open(storage, {});
    std::vector<envelope> events;
    for (int i = 0; i < n; ++i)
      events.push_back(make("k" + std::to_string(i % 3), i));
    publish_all(*b, "conf.durable", std::move(events));
    collector<seen> got;
    auto sub = b->subscribe("conf.durable", "g", record_into(got));
    ASSERT_TRUE(got.wait_for_count(static_cast<std::size_t>(n / 2), be.timeout));
    sub.close();
    b->close();
  }
  auto b = be.open(storage, {});
  collector<seen> again, fresh;
  auto s1 = b->subscribe("conf.durable", "g", record_into(again));
  auto s2 = b->subscribe("conf.durable", "new-group", record_into(fresh));
  ASSERT_TRUE(fresh.wait_for_count(static_cast<std::size_t>(n), be.timeout));
  b->close(be.timeout);
  // The old group resumes where it committed: it never sees all n again.
  EXPECT_LT(again.size(), static_cast<std::size_t>(n));
  std::set<int> seqs;
  for (const auto& s : fresh.snapshot())
    seqs.insert(s.seq);
  EXPECT_EQ(seqs.size(), static_cast<std::size_t>(n));
}

}  // namespace
}  // namespace eventshop::conformance

GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(durable_bus_conformance);
