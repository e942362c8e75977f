// kafka_bus against an in-process mock cluster: what goes on the wire (CloudEvents Kafka binding),
// what comes back, errors and their retriable/fatal split, close().
#include <atomic>
#include <future>

#include "conformance/bus_conformance.hpp"
#include "eventshop/core/codec.hpp"
#include "eventshop/core/error.hpp"
#include "eventshop/kafka/topics.hpp"
#include "kafka_test_util.hpp"

namespace eventshop::kafka::test {
namespace {

using conformance::collector;

TEST(KafkaBus, BinaryModePutsAttributesInCeHeadersAndDataInTheValue) {
  mock_cluster cluster(1);
  kafka_bus bus(mock_options(cluster));
  envelope e = make_event("order-42", 1, "OrderCreated");
  e.causationid = "cause-9";
  e.traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
  e.extensions["tenant"] = "acme";
  const auto receipt = bus.publish("orders", e).get();
  EXPECT_EQ(receipt.partition, partition_for("order-42", 4));

  raw_reader reader(cluster.bootstrap_servers(), "orders", 4);
  const auto records = reader.read(1, 10s);
  ASSERT_EQ(records.size(), 1u);
  const auto& r = records.front();
  EXPECT_EQ(r.key, "order-42");
  EXPECT_EQ(r.value, e.data);
  EXPECT_EQ(r.partition, receipt.partition);
  EXPECT_EQ(r.offset, receipt.offset);
  EXPECT_EQ(r.headers.at("ce_specversion"), "1.0");
  EXPECT_EQ(r.headers.at("ce_id"), e.id);
  EXPECT_EQ(r.headers.at("ce_source"), "/eventshop/kafka-test");
  EXPECT_EQ(r.headers.at("ce_type"), "OrderCreated");
  EXPECT_EQ(r.headers.at("ce_subject"), "order-42");
  EXPECT_EQ(r.headers.at("ce_time"), format_rfc3339(e.time));
  EXPECT_EQ(r.headers.at("content-type"), "application/json");
  EXPECT_EQ(r.headers.at("ce_dataschemaversion"), "1");
  EXPECT_EQ(r.headers.at("ce_correlationid"), e.correlationid);
  EXPECT_EQ(r.headers.at("ce_causationid"), "cause-9");
  EXPECT_EQ(r.headers.at("ce_traceparent"), e.traceparent);
  EXPECT_EQ(r.headers.at("ce_tenant"), "acme");
  EXPECT_FALSE(r.headers.contains("ce_data"));
}

TEST(KafkaBus, StructuredModeIsReadByABinaryModeConsumer) {
  mock_cluster cluster(1);
  auto structured_options = mock_options(cluster);
  structured_options.mode = content_mode::structured;
  kafka_bus structured(std::move(structured_options));
  kafka_bus binary(mock_options(cluster));
  envelope e = make_event("order-1", 7);
  e.extensions["tenant"] = "acme";
  structured.publish("structured", e).get();

  raw_reader reader(cluster.bootstrap_servers(), "structured", 4);
  const auto records = reader.read(1, 10s);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].headers.at("content-type"), "application/cloudevents+json");
  EXPECT_EQ(records[0].key, "order-1");
  const envelope wire = decode(records[0].value);
  EXPECT_EQ(wire.id, e.id);
  EXPECT_EQ(wire.subject, e.subject);
  EXPECT_EQ(wire.extensions, e.extensions);
  EXPECT_EQ(wire.data, e.data);

  collector<envelope> got;
  auto sub = binary.subscribe("structured", "g", [&](const message& m) { got.add(m.event); });
  ASSERT_TRUE(got.wait_for_count(1, 30s));
  EXPECT_EQ(got.snapshot()[0].id, e.id);
  EXPECT_EQ(got.snapshot()[0].extensions.at("tenant"), "acme");
}

TEST(KafkaBus, RecordsThatAreNotCloudEventsGoUnchangedToTheDeadLetterTopic) {
  mock_cluster cluster(1);
  kafka_bus bus(mock_options(cluster, 1));
  bus.partitions("raw");  // creates it with one partition: the records below keep their order
  const std::string boot = cluster.bootstrap_servers();
  raw_produce(boot, "raw", "k", R"({"a":1})",
              {{"ce_specversion", "1.0"},
               {"ce_source", "/x"},
               {"ce_type", "T"},
               {"ce_time", "2026-11-23T10:00:00.123Z"}});
  raw_produce(boot, "raw", "k", R"({"a":2})",
              {{"ce_specversion", "1.0"},
               {"ce_id", "id-2"},
               {"ce_source", "/x"},
               {"ce_type", "T"},
               {"ce_time", "yesterday"}});
  raw_produce(boot, "raw", "k", "not json",
              {{"ce_specversion", "1.0"},
               {"ce_id", "id-3"},
               {"ce_source", "/x"},
               {"ce_type", "T"},
               {"ce_time", "2026-11-23T10:00:00.123Z"}});
  bus.publish("raw", make_event("k", 4)).get();

  collector<envelope> handled;
  auto sub = bus.subscribe("raw", "g", [&](const message& m) { handled.add(m.event); });
  ASSERT_TRUE(handled.wait_for_count(1, 30s));
  EXPECT_EQ(seq_of(handled.snapshot()[0]), 4);

  raw_reader dlq(boot, "raw.dlq", 1);
  const auto dead = dlq.read(3, 20s);
  ASSERT_EQ(dead.size(), 3u);
  EXPECT_EQ(dead[0].value, R"({"a":1})");
  EXPECT_NE(dead[0].headers.at("dlqerror").find("ce_id"), std::string::npos)
      << dead[0].headers.at("dlqerror");
  EXPECT_EQ(dead[0].headers.at("ce_type"), "T");  // the original headers travel along
  EXPECT_NE(dead[1].headers.at("dlqerror").find("ce_time"), std::string::npos);
  EXPECT_NE(dead[2].headers.at("dlqerror").find("JSON object"), std::string::npos);
  EXPECT_EQ(dead[2].headers.at("dlqtopic"), "raw");
  EXPECT_EQ(dead[2].headers.at("dlqoffset"), "2");
  sub.close();
  EXPECT_EQ(bus.lag("raw", "g"), 0);  // the forwarded records are committed, nothing is stuck
}

TEST(KafkaBus, OptionsAreValidatedWithTheFieldNamed) {
  auto expect_invalid = [](kafka_options o, const std::string& needle) {
    try {
      kafka_bus bus(std::move(o));
      ADD_FAILURE() << "accepted, expected an error about " << needle;
    } catch (const error& ex) {
      EXPECT_EQ(ex.code(), make_error_code(errc::invalid_argument));
      EXPECT_NE(std::string(ex.what()).find(needle), std::string::npos) << ex.what();
    }
  };
  kafka_options ok;
  ok.bootstrap_servers = "127.0.0.1:1";
  auto o = ok;
  o.bootstrap_servers.clear();
  expect_invalid(o, "bootstrap_servers");
  o = ok;
  o.partitions = 0;
  expect_invalid(o, "partitions");
  o = ok;
  o.leave_timeout = 0ms;
  expect_invalid(o, "leave_timeout");
  o = ok;
  o.replication_factor = 0;
  expect_invalid(o, "replication_factor");
  o = ok;
  o.consumer_properties = {{"enable.auto.commit", "true"}};
  expect_invalid(o, "enable.auto.commit");
  o = ok;
  o.producer_properties = {{"acks", "1"}};
  expect_invalid(o, "acks");
  o = ok;
  o.properties = {{"enable.idempotence", "false"}};
  expect_invalid(o, "enable.idempotence");
  o = ok;
  o.properties = {{"group.id", "x"}};
  expect_invalid(o, "group.id");
  o = ok;
  o.properties = {{"no.such.property", "1"}};
  expect_invalid(o, "no.such.property");
  o = ok;
  o.producer_properties = {{"linger.ms", "-5"}};
  expect_invalid(o, "linger.ms");
  // Pass-through: any real librdkafka property is accepted.
  o = ok;
  o.properties = {{"security.protocol", "plaintext"}, {"socket.keepalive.enable", "true"}};
  o.producer_properties = {{"compression.type", "lz4"}, {"linger.ms", "2"}};
  o.consumer_properties = {{"fetch.wait.max.ms", "50"}};
  EXPECT_NO_THROW(kafka_bus{o});
}

TEST(KafkaBus, ErrorsSayWhetherARetryCanHelp) {
  using detail::to_error_code;
  EXPECT_EQ(to_error_code(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT), make_error_code(errc::timeout));
  EXPECT_TRUE(is_retriable(to_error_code(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT)));
  EXPECT_TRUE(is_retriable(to_error_code(RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS)));
  EXPECT_TRUE(is_retriable(to_error_code(RD_KAFKA_RESP_ERR__TRANSPORT)));
  EXPECT_TRUE(is_retriable(to_error_code(RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS)));
  EXPECT_FALSE(is_retriable(to_error_code(RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE)));
  EXPECT_FALSE(is_retriable(to_error_code(RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED)));
  EXPECT_FALSE(is_retriable(to_error_code(RD_KAFKA_RESP_ERR__FATAL)));
  EXPECT_FALSE(is_retriable(to_error_code(RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)));
  EXPECT_FALSE(to_error_code(RD_KAFKA_RESP_ERR_NO_ERROR));
}

TEST(KafkaBus, UnreachableClusterFailsPublishesRetriablyAndRecovers) {
  mock_cluster cluster(1);
  auto o = mock_options(cluster);
  o.producer_properties = {{"message.timeout.ms", "600"}, {"reconnect.backoff.max.ms", "200"}};
  kafka_bus bus(std::move(o));
  bus.publish("t", make_event("k", 0)).get();  // topic known, connection up
  cluster.set_broker_down(1);
  std::promise<std::error_code> failed;
  bus.publish("t", make_event("k", 1),
              [&](std::error_code ec, const publish_receipt&) { failed.set_value(ec); });
  const auto ec = failed.get_future().get();
  EXPECT_EQ(ec, make_error_code(errc::timeout));
  EXPECT_TRUE(is_retriable(ec));
  cluster.set_broker_up(1);
  // What a caller does with a retriable error: try again (the reconnect backoff may need a few).
  bool delivered = false;
  for (int attempt = 0; attempt < 40 && !delivered; ++attempt) {
    try {
      EXPECT_GE(bus.publish("t", make_event("k", 2)).get().offset, 1);
      delivered = true;
    } catch (const error& ex) {
      ASSERT_TRUE(ex.retriable()) << ex.what();
    }
  }
  EXPECT_TRUE(delivered);
}

TEST(KafkaBus, OversizedEventsAndBadEnvelopesAreRefused) {
  mock_cluster cluster(1);
  auto o = mock_options(cluster);
  o.max_event_bytes = 1000;
  kafka_bus bus(std::move(o));
  envelope big = make_event("k", 0);
  big.data = "{\"pad\":\"" + std::string(2000, 'x') + "\"}";
  std::promise<std::error_code> ack;
  bus.publish("t", big, [&](std::error_code ec, const publish_receipt&) { ack.set_value(ec); });
  const auto ec = ack.get_future().get();
  EXPECT_EQ(ec, make_error_code(errc::too_large));
  EXPECT_FALSE(is_retriable(ec));

  envelope no_type = make_event("k", 0);
  no_type.type.clear();
  EXPECT_THROW(bus.publish("t", no_type, {}), error);
  EXPECT_THROW(bus.publish("bad topic!", make_event("k", 0), {}), error);
  EXPECT_EQ(bus.in_flight(), 0);
}

TEST(KafkaBus, CloseFlushesEveryOutstandingPublishFirst) {
  mock_cluster cluster(1);
  kafka_bus bus(mock_options(cluster));
  const int n = 5000;
  std::atomic<int> ok{0}, failed{0};
  for (int i = 0; i < n; ++i)
    bus.publish(
        "flush", make_event("k" + std::to_string(i % 50), i),
        [&](std::error_code ec, const publish_receipt&) { (ec ? failed : ok).fetch_add(1); });
  bus.close(std::chrono::milliseconds(0));
  EXPECT_EQ(ok.load(), n);  // every callback ran before close() returned
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(bus.in_flight(), 0);
  std::int64_t total = 0;
  auto rk = detail::make_handle(
      RD_KAFKA_PRODUCER, detail::make_conf({{"bootstrap.servers", cluster.bootstrap_servers()}}));
  for (std::int32_t p = 0; p < 4; ++p) {
    std::int64_t lo = 0, hi = 0;
    ASSERT_EQ(rd_kafka_query_watermark_offsets(rk.get(), "flush", p, &lo, &hi, 5000), 0);
    total += hi - lo;
  }
  EXPECT_EQ(total, n);  // and each is in the log exactly once (idempotent producer)
}

TEST(KafkaBus, PublishesAfterCloseFailAsClosed) {
  mock_cluster cluster(1);
  kafka_bus bus(mock_options(cluster));
  bus.close();
  std::promise<std::error_code> ack;
  bus.publish("t", make_event("k", 0),
              [&](std::error_code ec, const publish_receipt&) { ack.set_value(ec); });
  EXPECT_EQ(ack.get_future().get(), make_error_code(errc::closed));
  EXPECT_THROW(bus.subscribe("t", "g", [](const message&) {}), error);
}

TEST(KafkaBus, OnTheMockClusterRebalancesDoNotTakeTheDefaultSessionTimeout) {
  mock_cluster cluster(1);
  auto o = mock_options(cluster);
  o.consumer_properties.clear();  // librdkafka's default session.timeout.ms is 45 s
  kafka_bus bus(std::move(o));
  collector<std::string> got;
  auto first = bus.subscribe("devloop", "g", [&](const message& m) { got.add(m.event.id); });
  bus.publish("devloop", make_event("k", 0)).get();
  ASSERT_TRUE(got.wait_for_count(1, 15s));
  // A second member joins and the first leaves: two rebalances, each session.timeout.ms - 1 s
  // on the mock - 44 s each with the default, ~2 s with what kafka_bus picks for the mock.
  auto second = bus.subscribe("devloop", "g", [&](const message& m) { got.add(m.event.id); });
  first.close();
  bus.publish("devloop", make_event("k", 1)).get();
  EXPECT_TRUE(got.wait_for_count(2, 15s));
}

TEST(KafkaBus, AHandlerMayCloseItsOwnSubscription) {
  mock_cluster cluster(1);
  kafka_bus bus(mock_options(cluster, 1));
  std::promise<void> assigned;
  auto assigned_future = assigned.get_future().share();
  collector<int> got;
  subscription sub;
  sub = bus.subscribe("self", "g", [&](const message& m) {
    assigned_future.wait();  // `sub` is set
    got.add(seq_of(m.event));
    sub.close();  // from its own dispatch thread: must not deadlock
  });
  assigned.set_value();
  for (int i = 0; i < 3; ++i)
    bus.publish("self", make_event("k", i)).get();
  ASSERT_TRUE(got.wait_for_count(1, 30s));
  bus.close(std::chrono::milliseconds(0));  // waits for the member to finish and commit
  EXPECT_FALSE(sub.active());
  EXPECT_EQ(got.snapshot(), std::vector<int>{0});
  EXPECT_EQ(bus.lag("self", "g"), 2);  // the handled one was committed, the others wait
}

TEST(TopicAdmin, ChecksExistingTopicsAndReportsMismatches) {
  mock_cluster cluster(3);
  cluster.create_topic("small", 2, 1);
  for (const auto& t : contract_topics(4))
    cluster.create_topic(t.name, t.partitions, 3);
  topic_admin admin(cluster.bootstrap_servers());
  auto specs = contract_topics(4, 3);
  specs.push_back({.name = "small", .partitions = 4});
  for (int round = 0; round < 2; ++round) {  // idempotent: the same answer twice
    const auto status = admin.ensure(specs);
    ASSERT_EQ(status.size(), 11u);
    for (std::size_t i = 0; i < 10; ++i) {
      EXPECT_EQ(status[i].problem, "") << status[i].name;
      EXPECT_EQ(status[i].partitions, 4);
      EXPECT_EQ(status[i].replication_factor, 3);
      EXPECT_FALSE(status[i].created);
    }
    EXPECT_EQ(status[10].problem, "has 2 partitions, expected 4");
  }
  EXPECT_EQ(admin.partitions("orders.dlq"), 4);
  const auto names = admin.list();
  for (const char* t :
       {"orders", "inventory", "payment", "notification", "shipping", "orders.dlq", "shipping.dlq"})
    EXPECT_TRUE(std::find(names.begin(), names.end(), t) != names.end()) << t;
  EXPECT_THROW(admin.ensure({{.name = "bad name!"}}), error);
  EXPECT_THROW(admin.ensure({{.name = "ok", .partitions = 0}}), error);
}

}  // namespace
}  // namespace eventshop::kafka::test
