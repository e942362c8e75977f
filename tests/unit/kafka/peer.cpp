// kafka_peer: one side of the two-process test, a separate program on purpose.
//   kafka_peer publish <bootstrap> <topic> <count>        publishes, prints each acked id
//   kafka_peer consume <bootstrap> <topic> <group> <count> <timeout-s>
//                                                         prints each distinct id it handled
// Exit status 0 when everything was acknowledged / received, 1 otherwise.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <set>
#include <string>

#include "eventshop/core/registry.hpp"
#include "eventshop/kafka/kafka_bus.hpp"

using namespace eventshop;

namespace {
kafka::kafka_options options(const std::string& bootstrap) {
  kafka::kafka_options o;
  o.bootstrap_servers = bootstrap;
  o.create_topics = false;  // eventshop-devbroker made them
  o.consumer_properties = {{"session.timeout.ms", "2500"}, {"heartbeat.interval.ms", "300"}};
  return o;
}
}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  try {
    if (mode == "publish" && argc == 5) {
      kafka::kafka_bus bus(options(argv[2]));
      const int count = std::atoi(argv[4]);
      std::vector<std::future<publish_receipt>> acks;
      std::vector<std::string> ids;
      for (int i = 0; i < count; ++i) {
        event_options eo;
        eo.source = "/eventshop/order";
        eo.subject = "order-" + std::to_string(i % 25);
        auto e = make_envelope("OrderCreated", 1, "{\"seq\":" + std::to_string(i) + "}", eo);
        ids.push_back(e.id);
        acks.push_back(bus.publish(argv[3], std::move(e)));
      }
      for (std::size_t i = 0; i < acks.size(); ++i) {
        acks[i].get();
        std::cout << ids[i] << "\n";
      }
      bus.close();
      return 0;
    }
    if (mode == "consume" && argc == 7) {
      kafka::kafka_bus bus(options(argv[2]));
      const auto count = static_cast<std::size_t>(std::atoi(argv[5]));
      std::mutex m;
      std::condition_variable cv;
      std::set<std::string> ids;
      auto sub = bus.subscribe(argv[3], argv[4], [&](const message& msg) {
        std::lock_guard lock(m);
        ids.insert(msg.event.id);
        cv.notify_all();
      });
      std::unique_lock lock(m);
      const bool all = cv.wait_for(lock, std::chrono::seconds(std::atoi(argv[6])),
                                   [&] { return ids.size() >= count; });
      for (const auto& id : ids)
        std::cout << id << "\n";
      lock.unlock();
      sub.close();
      return all ? 0 : 1;
    }
  } catch (const std::exception& ex) {
    std::cerr << "kafka_peer: " << ex.what() << "\n";
    return 1;
  }
  std::cerr << "usage: kafka_peer publish <bootstrap> <topic> <count> | consume <bootstrap> "
               "<topic> <group> <count> <timeout-s>\n";
  return 2;
}
