// bench_kafka: eventshop's Kafka publisher against a plain librdkafka producer, in the same run,
// against librdkafka's in-process mock cluster (3 brokers, one 8-partition topic each).
//
// Both producers use the same settings (enable.idempotence=true, acks=all,
// partitioner=murmur2_random, librdkafka's defaults otherwise) and send the same records: key =
// the event's subject (1,000 orders), a 300-byte JSON value, and the CloudEvents binary-mode
// headers. Each benchmark iteration sends a batch of 10,000 events and waits for every delivery
// report, so items_per_second counts acknowledged events. BM_KafkaConsume reports how fast a
// consumer group drains a topic on the mock (slow: a property of the mock's fetch path).
#include <benchmark/benchmark.h>
#include <librdkafka/rdkafka.h>

#include <atomic>
#include <charconv>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "eventshop/core/registry.hpp"
#include "eventshop/core/time.hpp"
#include "eventshop/kafka/kafka_bus.hpp"
#include "eventshop/kafka/mock_cluster.hpp"

namespace {

using namespace eventshop;
constexpr int batch = 10'000;
constexpr int partitions = 8;

kafka::mock_cluster& cluster() {
  static kafka::mock_cluster instance(3);
  return instance;
}

std::string fresh_topic(const std::string& prefix) {
  static std::atomic<int> n{0};
  const std::string name = prefix + "-" + std::to_string(n.fetch_add(1));
  cluster().create_topic(name, partitions, 3);
  return name;
}

// 1,000 orders, events with a 300-byte payload.
const std::vector<envelope>& events() {
  static const std::vector<envelope> instance = [] {
    std::vector<envelope> out;
    for (int i = 0; i < 4'000; ++i) {
      event_options o;
      o.source = "/eventshop/order";
      o.subject = "order-" + std::to_string(100'000 + i % 1'000);
      std::string data =
          "{\"order_id\":\"" + o.subject +
          "\",\"customer_id\":\"customer-42\",\"items\":[{\"product_id\":\"product-1\","
          "\"quantity\":2,\"unit_price\":29.99}],\"total\":59.98,\"currency\":\"USD\","
          "\"product_id\":\"product-1\",\"quantity\":2,\"pad\":\"";
      data.append(300 - data.size() - 2, 'x');
      data += "\"}";
      out.push_back(make_envelope("OrderCreated", 1, std::move(data), o));
    }
    return out;
  }();
  return instance;
}

// Counts acknowledgements; wakes the waiting thread once, when the awaited count is reached
// (a wake-up per acknowledgement would measure the scheduler, not the producer).
struct ack_counter {
  std::mutex m;
  std::condition_variable cv;
  std::atomic<std::int64_t> done{0};
  std::atomic<std::int64_t> target{-1};
  std::atomic<std::int64_t> failed{0};
  void add(bool ok) {
    if (!ok) failed.fetch_add(1);
    if (done.fetch_add(1) + 1 == target.load()) {
      std::lock_guard lock(m);
      cv.notify_all();
    }
  }
  void expect(std::int64_t n) { target.store(n); }  // before the batch that reaches n
  void wait(std::int64_t n) {
    std::unique_lock lock(m);
    cv.wait(lock, [&] { return done.load() >= n; });
  }
};

void BM_KafkaPublish(benchmark::State& state) {
  kafka::kafka_options o;
  o.bootstrap_servers = cluster().bootstrap_servers();
  o.create_topics = false;
  kafka::kafka_bus bus(o);
  const std::string topic = fresh_topic("bench-eventshop");
  bus.partitions(topic);
  const auto& ev = events();
  ack_counter acks;
  std::int64_t sent = 0;
  for (auto _ : state) {
    acks.expect(sent + batch);
    for (int i = 0; i < batch; ++i, ++sent)
      bus.publish(topic, ev[static_cast<std::size_t>(sent) % ev.size()],
                  [&acks](std::error_code ec, const publish_receipt&) { acks.add(!ec); });
    acks.wait(sent);
  }
  if (acks.failed.load()) state.SkipWithError("a publish failed");
  state.SetItemsProcessed(sent);
  state.SetBytesProcessed(sent * 300);
}

// The same records by hand: what an application writes without eventshop.
struct raw_producer {
  rd_kafka_t* rk = nullptr;
  rd_kafka_topic_t* rkt = nullptr;
  std::int64_t delivered = 0, failed = 0;

  static void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    auto* self = static_cast<raw_producer*>(opaque);
    ++self->delivered;
    if (m->err) ++self->failed;
  }

  explicit raw_producer(const std::string& topic) {
    char err[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    for (auto [k, v] : {std::pair{"bootstrap.servers", cluster().bootstrap_servers().c_str()},
                        std::pair{"enable.idempotence", "true"}, std::pair{"acks", "all"},
                        std::pair{"partitioner", "murmur2_random"}})
      rd_kafka_conf_set(conf, k, v, err, sizeof err);
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_opaque(conf, this);
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  }
  ~raw_producer() {
    rd_kafka_flush(rk, 10'000);
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
  }

  void produce(const envelope& e) {
    rd_kafka_headers_t* h = rd_kafka_headers_new(10);
    auto add = [h](const char* name, const std::string& v) {
      rd_kafka_header_add(h, name, -1, v.data(), static_cast<ssize_t>(v.size()));
    };
    add("ce_specversion", "1.0");
    add("ce_id", e.id);
    add("ce_source", e.source);
    add("ce_type", e.type);
    add("ce_subject", e.subject);
    add("ce_time", format_rfc3339(e.time));
    add("content-type", e.datacontenttype);
    add("ce_dataschemaversion", std::to_string(e.dataschemaversion));
    add("ce_correlationid", e.correlationid);
    rd_kafka_vu_t args[5];
    args[0].vtype = RD_KAFKA_VTYPE_RKT;
    args[0].u.rkt = rkt;
    args[1].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
    args[1].u.i = RD_KAFKA_MSG_F_COPY;
    args[2].vtype = RD_KAFKA_VTYPE_KEY;
    args[2].u.mem = {const_cast<char*>(e.subject.data()), e.subject.size()};
    args[3].vtype = RD_KAFKA_VTYPE_VALUE;
    args[3].u.mem = {const_cast<char*>(e.data.data()), e.data.size()};
    args[4].vtype = RD_KAFKA_VTYPE_HEADERS;
    args[4].u.headers = h;
    for (;;) {
      rd_kafka_error_t* error = rd_kafka_produceva(rk, args, 5);
      if (!error) return;
      const bool full = rd_kafka_error_code(error) == RD_KAFKA_RESP_ERR__QUEUE_FULL;
      rd_kafka_error_destroy(error);
      if (!full) {
        rd_kafka_headers_destroy(h);
        ++failed;
        return;
      }
      rd_kafka_poll(rk, 10);
    }
  }
};

void BM_RawLibrdkafkaProduce(benchmark::State& state) {
  const std::string topic = fresh_topic("bench-raw");
  raw_producer p(topic);
  const auto& ev = events();
  std::int64_t sent = 0;
  for (auto _ : state) {
    for (int i = 0; i < batch; ++i, ++sent) {
      p.produce(ev[static_cast<std::size_t>(sent) % ev.size()]);
      rd_kafka_poll(p.rk, 0);  // serve delivery reports as a producer loop does
    }
    if (rd_kafka_flush(p.rk, 30'000)) state.SkipWithError("flush timed out");
  }
  if (p.failed) state.SkipWithError("a produce failed");
  state.SetItemsProcessed(sent);
  state.SetBytesProcessed(sent * 300);
}

void BM_KafkaConsume(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  kafka::kafka_options o;
  o.bootstrap_servers = cluster().bootstrap_servers();
  o.create_topics = false;
  o.consumer_properties = {{"session.timeout.ms", "2500"}, {"heartbeat.interval.ms", "300"}};
  kafka::kafka_bus bus(o);
  std::int64_t total = 0;
  for (auto _ : state) {
    const std::string topic = fresh_topic("bench-consume");
    ack_counter acks;
    acks.expect(n);
    for (int i = 0; i < n; ++i)
      bus.publish(topic, events()[static_cast<std::size_t>(i) % events().size()],
                  [&acks](std::error_code ec, const publish_receipt&) { acks.add(!ec); });
    acks.wait(n);
    std::mutex m;
    std::condition_variable cv;
    int handled = 0;
    std::chrono::steady_clock::time_point first{};
    auto sub = bus.subscribe(topic, "bench", [&](const message&) {
      std::lock_guard lock(m);
      if (handled++ == 0) first = std::chrono::steady_clock::now();
      cv.notify_all();
    });
    std::unique_lock lock(m);
    cv.wait(lock, [&] { return handled >= n; });
    // From the first handled event (the group's 3 s initial rebalance delay is not counted).
    state.SetIterationTime(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - first).count());
    lock.unlock();
    sub.close();
    total += n;
  }
  state.SetItemsProcessed(total);
}

BENCHMARK(BM_KafkaPublish)->Unit(benchmark::kMillisecond)->MinTime(2.0)->UseRealTime();
BENCHMARK(BM_RawLibrdkafkaProduce)->Unit(benchmark::kMillisecond)->MinTime(2.0)->UseRealTime();
BENCHMARK(BM_KafkaConsume)
    ->Arg(20'000)
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
