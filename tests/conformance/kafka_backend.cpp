// The Kafka backend in the conformance suite, against librdkafka's mock cluster started inside
// the test process (a fresh cluster per storage id, so tests never see each other's topics or
// groups; reopening a storage id reconnects to the same cluster). Feature table: durable (acks=all
// on a replicated cluster; the mock keeps data while the process lives), cross-process, replay.
// The suite runs at full scale: the mock consumed 46k-190k records/s here (docs/performance/
// kafka.md); what makes these tests take seconds is the mock coordinator's 3 s initial rebalance
// delay, hence the generous timeout.
#include <algorithm>
#include <map>
#include <memory>
#include <mutex>

#include "conformance/bus_conformance.hpp"
#include "eventshop/kafka/kafka_bus.hpp"
#include "eventshop/kafka/mock_cluster.hpp"

namespace eventshop::conformance {
namespace {

std::mutex clusters_mutex;
std::map<std::string, std::unique_ptr<kafka::mock_cluster>>& clusters() {
  static std::map<std::string, std::unique_ptr<kafka::mock_cluster>> instance;
  return instance;
}

bus_backend kafka_backend() {
  bus_backend b;
  b.name = "kafka";
  b.make_storage_id = [] {
    std::lock_guard lock(clusters_mutex);
    auto cluster = std::make_unique<kafka::mock_cluster>(3);
    std::string id = cluster->bootstrap_servers();
    clusters().emplace(id, std::move(cluster));
    return id;
  };
  b.open = [](const std::string& bootstrap, const bus_config& c) -> std::unique_ptr<bus> {
    kafka::mock_cluster* cluster = nullptr;
    {
      std::lock_guard lock(clusters_mutex);
      cluster = clusters().at(bootstrap).get();
    }
    kafka::kafka_options o;
    o.bootstrap_servers = bootstrap;
    // The mock brokers of librdkafka 2.0.2 have no CreateTopics; create on the mock itself.
    o.topic_creator = [cluster](const kafka::topic_spec& s) {
      cluster->create_topic(s.name, s.partitions, std::min(3, cluster->brokers()));
    };
    o.partitions = c.partitions;
    o.redelivery_delay = c.redelivery_delay;
    // The mock group coordinator waits session.timeout.ms - 1 s in each rebalance.
    o.consumer_properties = {{"session.timeout.ms", "2500"}, {"heartbeat.interval.ms", "300"}};
    return std::make_unique<kafka::kafka_bus>(std::move(o));
  };
  b.features = {.durable = true, .cross_process = true, .replay = true};
  b.scale_percent = 100;
  b.timeout = std::chrono::milliseconds(60'000);
  return b;
}

INSTANTIATE_TEST_SUITE_P(kafka, bus_conformance, testing::Values(kafka_backend()), backend_name);
INSTANTIATE_TEST_SUITE_P(kafka, durable_bus_conformance, testing::Values(kafka_backend()),
                         backend_name);

}  // namespace
}  // namespace eventshop::conformance
