// Faults injected with the mock cluster: brokers going down and up, produce / fetch / commit
// requests failing, a group member leaving mid-stream. In every case: each event is handled at
// least once, an idempotent consumer's effects equal the distinct events, nothing is stuck.
#include <atomic>
#include <cstdlib>
#include <deque>
#include <future>
#include <mutex>
#include <set>
#include <string>

#include "conformance/bus_conformance.hpp"
#include "eventshop/core/error.hpp"
#include "eventshop/core/logging.hpp"
#include "eventshop/core/middleware.hpp"
#include "kafka_test_util.hpp"

namespace eventshop::kafka::test {
namespace {

using conformance::collector;

// What an idempotent consumer does: one effect per distinct event, however often it is seen.
struct idempotent_consumer {
  memory_idempotency_store store;
  collector<std::string> deliveries;  // every call that reached the middleware
  collector<std::string> effects;     // every effect applied

  handler make(int member = 0, std::atomic<int>* per_member = nullptr) {
    handler effect = [this, member, per_member](const message& m) {
      (void)member;
      if (per_member) per_member->fetch_add(1);
      effects.add(m.event.id);
    };
    auto guarded = middleware::chain(effect, {middleware::idempotent(store)});
    return [this, guarded](const message& m) {
      deliveries.add(m.event.id);
      guarded(m);
    };
  }

  bool wait_distinct(std::size_t n, std::chrono::milliseconds timeout) {
    return deliveries.wait_until(
        [n](const std::vector<std::string>& v) {
          return std::set<std::string>(v.begin(), v.end()).size() >= n;
        },
        timeout);
  }

  void expect_effects_equal_distinct(const std::set<std::string>& published) {
    const auto e = effects.snapshot();
    const std::set<std::string> distinct(e.begin(), e.end());
    EXPECT_EQ(e.size(), distinct.size()) << "an effect was applied twice";
    EXPECT_EQ(distinct, published);
  }
};

struct publisher {
  std::atomic<int> acked{0};
  std::atomic<int> failed{0};
  std::set<std::string> ids;

  void publish(kafka_bus& bus, const std::string& topic, int from, int to) {
    for (int i = from; i < to; ++i) {
      auto e = make_event("order-" + std::to_string(i % 40), i);
      ids.insert(e.id);
      bus.publish(topic, std::move(e), [this](std::error_code ec, const publish_receipt&) {
        (ec ? failed : acked).fetch_add(1);
      });
    }
  }
};

// Polls a predicate that has no notification of its own (the cluster's committed offsets),
// bounded by `timeout`.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(50ms);
  }
  return true;
}

// The log lines containing `needle`, from construction to destruction.
struct log_capture {
  collector<std::string> lines;
  explicit log_capture(std::string needle) {
    set_log_sink([this, needle = std::move(needle)](std::string_view line) {
      if (line.find(needle) != std::string_view::npos) lines.add(std::string(line));
    });
  }
  ~log_capture() { set_log_sink(nullptr); }
  log_capture(const log_capture&) = delete;
  log_capture& operator=(const log_capture&) = delete;
};

// Keeps the last `capacity` log lines of every logger, printed only when asked: the group
// protocol's debug log (librdkafka's debug=cgrp) of a test that failed says which member's join
// got stuck where.
struct log_tail {
  std::mutex mutex;
  std::deque<std::string> lines;
  std::size_t capacity;
  explicit log_tail(std::size_t n) : capacity(n) {
    set_log_sink([this](std::string_view line) {
      std::lock_guard lock(mutex);
      lines.emplace_back(line);
      if (lines.size() > capacity) lines.pop_front();
    });
  }
  ~log_tail() { set_log_sink(nullptr); }
  log_tail(const log_tail&) = delete;
  log_tail& operator=(const log_tail&) = delete;
  std::string dump() {
    std::lock_guard lock(mutex);
    std::string out = "last " + std::to_string(lines.size()) + " log lines:\n";
    for (const auto& l : lines)
      out.append(l).push_back('\n');
    return out;
  }
};

kafka_options cooperative_sticky_options(mock_cluster& cluster) {
  auto o = mock_options(cluster);
  o.consumer_properties.emplace("partition.assignment.strategy", "cooperative-sticky");
  return o;
}

// Nothing is stuck: a member of the group (re)joining catches up to lag 0. (Commits that the
// mock refused during a rebalance only mean records are seen again - at-least-once - which the
// idempotent handlers absorb.)
void expect_group_catches_up(kafka_bus& bus, const std::string& topic, const std::string& group,
                             handler h) {
  auto sub = bus.subscribe(topic, group, std::move(h));
  EXPECT_TRUE(eventually([&] { return bus.lag(topic, group) == 0; }, 30s))
      << "lag stays at " << bus.lag(topic, group);
  sub.close();
  EXPECT_EQ(bus.lag(topic, group), 0);
}

TEST(KafkaFaults, BrokerDownAndUpMidStreamLosesNothing) {
  mock_cluster cluster(3);
  auto o = mock_options(cluster);
  o.producer_properties = {{"reconnect.backoff.max.ms", "200"}};
  o.consumer_properties.emplace("reconnect.backoff.max.ms", "200");
  kafka_bus bus(std::move(o));
  idempotent_consumer consumer;
  auto sub = bus.subscribe("faults.down", "g", consumer.make());
  publisher pub;
  pub.publish(bus, "faults.down", 0, 200);
  ASSERT_TRUE(consumer.deliveries.wait_for_count(50, 30s));

  ASSERT_TRUE(eventually([&] { return pub.acked.load() == 200; }, 30s));

  log_capture transport_errors("_TRANSPORT");
  cluster.set_broker_down(2);
  // Whatever happens below, the broker comes back (a failed assertion must not leave the
  // clients' teardown waiting for it).
  struct broker_up_guard {
    mock_cluster& c;
    bool up = false;
    void bring_up() {
      if (!up) c.set_broker_up(2);
      up = true;
    }
    ~broker_up_guard() { bring_up(); }
  } guard{cluster};
  // The clients noticed (librdkafka reports the lost connection through the error callback,
  // which eventshop logs).
  ASSERT_TRUE(transport_errors.lines.wait_for_count(1, 15s));
  // Published while broker 2 is down: its partitions' records wait in the producer (the
  // idempotent producer may also hold the others back until it is sure of the sequence).
  pub.publish(bus, "faults.down", 200, 400);
  EXPECT_EQ(pub.failed.load(), 0);
  guard.bring_up();

  ASSERT_TRUE(eventually([&] { return pub.acked.load() + pub.failed.load() == 400; }, 60s));
  EXPECT_EQ(pub.failed.load(), 0);
  ASSERT_TRUE(consumer.wait_distinct(400, 60s));
  sub.close();
  expect_group_catches_up(bus, "faults.down", "g", consumer.make());
  consumer.expect_effects_equal_distinct(pub.ids);
}

TEST(KafkaFaults, InjectedProduceFetchAndCommitErrorsAreRetried) {
  mock_cluster cluster(1);
  kafka_bus bus(mock_options(cluster));
  bus.partitions("faults.inject");
  // Retriable produce errors: the idempotent producer retries without duplicating records.
  cluster.push_request_errors(
      mock_cluster::api_produce,
      {RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
       RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS});
  publisher pub;
  pub.publish(bus, "faults.inject", 0, 300);
  ASSERT_TRUE(eventually([&] { return pub.acked.load() + pub.failed.load() == 300; }, 30s));
  EXPECT_EQ(pub.failed.load(), 0);

  cluster.push_request_errors(mock_cluster::api_fetch, {RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
                                                        RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE,
                                                        RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT});
  cluster.push_request_errors(
      mock_cluster::api_offset_commit,
      {RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT});
  idempotent_consumer consumer;
  auto sub = bus.subscribe("faults.inject", "g", consumer.make());
  ASSERT_TRUE(consumer.wait_distinct(300, 60s));
  pub.publish(bus, "faults.inject", 300, 350);  // still flowing after the errors
  ASSERT_TRUE(consumer.wait_distinct(350, 30s));
  sub.close();
  expect_group_catches_up(bus, "faults.inject", "g", consumer.make());
  consumer.expect_effects_equal_distinct(pub.ids);

  // Each event is in the log exactly once despite the produce retries.
  raw_reader reader(cluster.bootstrap_servers(), "faults.inject", 4);
  const auto records = reader.read(350, 30s);
  std::set<std::string> ids;
  for (const auto& r : records)
    ids.insert(r.headers.at("ce_id"));
  EXPECT_EQ(records.size(), 350u);
  EXPECT_EQ(ids, pub.ids);
}

TEST(KafkaFaults, AMemberLeavingMidStreamHandsOverWithoutLoss) {
  mock_cluster cluster(1);
  kafka_bus bus(mock_options(cluster));
  idempotent_consumer consumer;
  std::atomic<int> by_first{0}, by_second{0};
  auto first = bus.subscribe("faults.leave", "g", consumer.make(1, &by_first));
  auto second = bus.subscribe("faults.leave", "g", consumer.make(2, &by_second));
  publisher pub;
  pub.publish(bus, "faults.leave", 0, 600);
  ASSERT_TRUE(consumer.deliveries.wait_for_count(100, 30s));
  first.close();  // leaves with work in flight: what it finished is committed, the rest moves
  const int first_final = by_first.load();
  ASSERT_TRUE(consumer.wait_distinct(600, 60s)) << "events were lost when a member left";
  EXPECT_EQ(by_first.load(), first_final) << "a closed member ran a handler";
  EXPECT_GT(by_second.load(), 0);
  ASSERT_TRUE(eventually([&] { return pub.acked.load() == 600; }, 10s));
  second.close();
  expect_group_catches_up(bus, "faults.leave", "g", consumer.make());
  consumer.expect_effects_equal_distinct(pub.ids);
}

TEST(KafkaFaults, CooperativeStickyRebalancesLoseNothingEither) {
  // It failed once in about 25 runs (the last 100 events never reached the remaining member
  // within 60 s): on failure, the members' group protocol log says where they stood.
  ::setenv("EVENTSHOP_LOG_LEVEL", "debug", 1);  // before the first kafka logger is made
  log_tail tail(3000);
  mock_cluster cluster(1);
  auto options = cooperative_sticky_options(cluster);
  options.consumer_properties.emplace("debug", "cgrp");
  kafka_bus bus(options);
  idempotent_consumer consumer;
  std::atomic<int> by_first{0}, by_second{0};
  auto first = bus.subscribe("faults.coop", "g", consumer.make(1, &by_first));
  publisher pub;
  pub.publish(bus, "faults.coop", 0, 300);
  ASSERT_TRUE(consumer.deliveries.wait_for_count(50, 30s));
  // A member joins (incremental assignment), then the first one leaves (incremental revoke).
  auto second = bus.subscribe("faults.coop", "g", consumer.make(2, &by_second));
  pub.publish(bus, "faults.coop", 300, 400);
  ASSERT_TRUE(consumer.wait_distinct(400, 60s));
  first.close();
  pub.publish(bus, "faults.coop", 400, 500);
  ASSERT_TRUE(consumer.wait_distinct(500, 60s))
      << "events were lost in a cooperative rebalance; lag " << bus.lag("faults.coop", "g") << "\n"
      << tail.dump();
  EXPECT_GT(by_second.load(), 0);
  ASSERT_TRUE(eventually([&] { return pub.acked.load() == 500; }, 10s));
  second.close();
  expect_group_catches_up(bus, "faults.coop", "g", consumer.make());
  consumer.expect_effects_equal_distinct(pub.ids);
}

// librdkafka before 2.3.0 aborts when it destroys a cooperative-sticky member that has joined
// its group but not yet received its first assignment (confluentinc/librdkafka#4312): between
// the JoinGroup and the SyncGroup responses. The mock answers the first JoinGroup of a group
// after 3 s; its SyncGroup response is held back 3 s more, and the member is closed in between.
// It finishes its join before it leaves, and a member that joins afterwards gets every event.
TEST(KafkaFaults, CooperativeStickyMemberClosedWhileJoiningDoesNotAbort) {
  mock_cluster cluster(1);
  kafka_bus bus(cooperative_sticky_options(cluster));
  publisher pub;
  pub.publish(bus, "faults.coopjoin", 0, 50);
  ASSERT_TRUE(eventually([&] { return pub.acked.load() == 50; }, 10s));
  cluster.delay_responses(1, mock_cluster::api_sync_group, 1, 3s);
  idempotent_consumer consumer;
  auto brief = bus.subscribe("faults.coopjoin", "g", consumer.make());
  std::this_thread::sleep_for(4500ms);  // the middle of the window
  brief.close();
  expect_group_catches_up(bus, "faults.coopjoin", "g", consumer.make());
  EXPECT_TRUE(consumer.wait_distinct(50, 30s));
  consumer.expect_effects_equal_distinct(pub.ids);
}

// The same, but the SyncGroup response comes later than session.timeout.ms after the close: the
// close gives up waiting and leaves the member's handle allocated, saying so, instead of aborting.
TEST(KafkaFaults, CooperativeStickyMemberWithoutAssignmentInTimeIsLeftAllocated) {
  mock_cluster cluster(1);
  kafka_bus bus(cooperative_sticky_options(cluster));
  log_capture errors("\"level\":\"error\"");
  cluster.delay_responses(1, mock_cluster::api_sync_group, 1, 8s);
  auto brief = bus.subscribe("faults.coopslow", "g", [](const message&) {});
  std::this_thread::sleep_for(4s);  // JoinGroup answered after 3 s; SyncGroup after 11 s
  const auto started = std::chrono::steady_clock::now();
  brief.close();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 6s);  // session.timeout.ms is 2.5 s
  const auto logged = errors.lines.snapshot();
  ASSERT_EQ(logged.size(), 1u);
  EXPECT_NE(logged[0].find("not destroyed"), std::string::npos) << logged[0];
}

// The coordinator goes away while the member has commits in flight: librdkafka 2.0.2's
// consumer_close() then waits forever for the commit. Closing is bounded by
// leave_timeout; the member is left to finish on its own thread, and says so.
TEST(KafkaFaults, ClosingWithTheBrokerGoneIsBoundedByLeaveTimeout) {
  mock_cluster cluster(1);
  auto o = mock_options(cluster);
  o.leave_timeout = 4s;
  kafka_bus bus(std::move(o));
  idempotent_consumer consumer;
  auto sub = bus.subscribe("faults.gone", "g", consumer.make());
  publisher pub;
  pub.publish(bus, "faults.gone", 0, 50);
  ASSERT_TRUE(consumer.wait_distinct(50, 30s));
  log_capture errors("did not finish leaving");
  // The next commits stay in flight for 5 s, and the broker goes down meanwhile.
  cluster.delay_responses(1, mock_cluster::api_offset_commit, 20, 5s);
  pub.publish(bus, "faults.gone", 50, 60);
  ASSERT_TRUE(consumer.wait_distinct(60, 30s));
  std::this_thread::sleep_for(300ms);  // > commit_interval: a commit is in flight
  cluster.set_broker_down(1);
  auto closing = std::async(std::launch::async, [&] { sub.close(); });
  ASSERT_EQ(closing.wait_for(30s), std::future_status::ready) << "close() hangs";
  auto closing_bus = std::async(std::launch::async, [&] { bus.close(1s); });
  ASSERT_EQ(closing_bus.wait_for(30s), std::future_status::ready) << "kafka_bus::close() hangs";

  EXPECT_EQ(errors.lines.snapshot().size(), 1u);
}

TEST(KafkaFaults, AHandlerThatKeepsFailingHoldsOnlyItsPartition) {
  mock_cluster cluster(1);
  auto o = mock_options(cluster, 2);
  kafka_bus bus(std::move(o));
  // Two keys on different partitions.
  std::string stuck_key, free_key;
  for (int i = 0; stuck_key.empty() || free_key.empty(); ++i) {
    const auto k = "order-" + std::to_string(i);
    (partition_for(k, 2) == 0 ? stuck_key : free_key) = k;
  }
  collector<int> handled;
  std::atomic<bool> heal{false};
  auto sub = bus.subscribe("faults.stuck", "g",
                           [&](const message& m) {
                             if (m.event.subject == stuck_key && !heal.load())
                               throw std::runtime_error("not yet");
                             handled.add(seq_of(m.event));
                           },
                           {.concurrency = 2});
  bus.publish("faults.stuck", make_event(stuck_key, 0)).get();
  for (int i = 1; i <= 20; ++i)
    bus.publish("faults.stuck", make_event(free_key, i)).get();
  ASSERT_TRUE(handled.wait_for_count(20, 30s));  // the other partition is not held up
  EXPECT_GE(bus.lag("faults.stuck", "g"), 1);
  heal = true;
  ASSERT_TRUE(handled.wait_for_count(21, 30s));
  sub.close();
  expect_group_catches_up(bus, "faults.stuck", "g", [](const message&) {});
}

}  // namespace
}  // namespace eventshop::kafka::test
