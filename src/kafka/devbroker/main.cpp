// eventshop-devbroker: a local Kafka-protocol cluster for development and tests.
//
// Starts librdkafka's mock cluster (in memory, DEV ONLY: no durability, no security, slow
// consumers), creates the CONTRACT §2 topics and their .dlq topics,
// prints the bootstrap address on stdout (one line, nothing else), optionally writes it to a
// file, and runs until SIGINT or SIGTERM.
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "eventshop/core/error.hpp"
#include "eventshop/kafka/mock_cluster.hpp"
#include "eventshop/kafka/topics.hpp"

namespace {

constexpr const char* usage =
    "usage: eventshop-devbroker [--brokers N] [--partitions N] [--bootstrap-file PATH]\n"
    "                           [--topic NAME]... [--no-contract-topics]\n"
    "\n"
    "Starts an in-memory Kafka-protocol cluster on 127.0.0.1 for development and tests\n"
    "(librdkafka's mock cluster: nothing is durable, consumers are slow). Creates the topics\n"
    "orders inventory payment notification shipping and their .dlq topics, prints the\n"
    "bootstrap address, and runs until SIGINT or SIGTERM.\n"
    "\n"
    "  --brokers N            brokers in the cluster, 1..16 (default 1)\n"
    "  --partitions N         partitions per topic, 1..1000 (default 4)\n"
    "  --bootstrap-file PATH  also write the bootstrap address to PATH (removed on exit)\n"
    "  --topic NAME           create this topic too (repeatable)\n"
    "  --no-contract-topics   do not create the CONTRACT topics\n"
    "\n"
    "Clients should use a short session.timeout.ms (e.g. 3000): the mock group coordinator\n"
    "waits session.timeout.ms - 1 s in every rebalance.\n";

int parse_int(std::string_view flag, const char* text, int lo, int hi) {
  char* end = nullptr;
  const long v = std::strtol(text, &end, 10);
  if (!*text || *end || v < lo || v > hi) {
    std::cerr << "eventshop-devbroker: " << flag << " must be an integer in " << lo << ".." << hi
              << ", got '" << text << "'\n";
    std::exit(2);
  }
  return static_cast<int>(v);
}

}  // namespace

int main(int argc, char** argv) {
  int brokers = 1, partitions = 4;
  bool contract = true;
  std::string bootstrap_file;
  std::vector<std::string> extra_topics;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::cerr << "eventshop-devbroker: " << arg << " needs a value\n" << usage;
        std::exit(2);
      }
      return argv[++i];
    };
    if (arg == "--help" || arg == "-h") {
      std::cout << usage;
      return 0;
    } else if (arg == "--brokers") {
      brokers = parse_int(arg, value(), 1, 16);
    } else if (arg == "--partitions") {
      partitions = parse_int(arg, value(), 1, 1000);
    } else if (arg == "--bootstrap-file") {
      bootstrap_file = value();
    } else if (arg == "--topic") {
      extra_topics.emplace_back(value());
    } else if (arg == "--no-contract-topics") {
      contract = false;
    } else {
      std::cerr << "eventshop-devbroker: unknown argument '" << arg << "'\n" << usage;
      return 2;
    }
  }

  // Block the signals before librdkafka starts its threads, so that only sigwait() sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  try {
    eventshop::kafka::mock_cluster cluster(brokers);
    std::vector<eventshop::kafka::topic_spec> specs;
    if (contract) specs = eventshop::kafka::contract_topics(partitions);
    for (const auto& t : extra_topics)
      specs.push_back({.name = t, .partitions = partitions});
    // librdkafka 2.0.2's mock brokers do not implement CreateTopics, so the topics are created
    // on the mock directly; topic_admin then checks them through the cluster's metadata, as a
    // client would see them.
    for (const auto& s : specs)
      cluster.create_topic(s.name, s.partitions, std::min(brokers, 3));
    if (!specs.empty()) {
      eventshop::kafka::topic_admin admin(cluster.bootstrap_servers(), {{"log_level", "3"}});
      for (const auto& s : specs) {
        const auto count = admin.partitions(s.name);
        if (count != s.partitions) {
          std::cerr << "eventshop-devbroker: topic '" << s.name << "' has " << count
                    << " partitions, expected " << s.partitions << "\n";
          return 1;
        }
      }
    }
    if (!bootstrap_file.empty()) {
      // Written whole under a temporary name, then renamed: a reader never sees half of it.
      const std::string tmp = bootstrap_file + ".tmp";
      {
        std::ofstream out(tmp, std::ios::trunc);
        out << cluster.bootstrap_servers() << "\n";
        if (!out.flush()) {
          std::cerr << "eventshop-devbroker: cannot write '" << tmp << "'\n";
          return 1;
        }
      }
      std::filesystem::rename(tmp, bootstrap_file);
    }
    std::cout << cluster.bootstrap_servers() << std::endl;
    std::cerr << "eventshop-devbroker: DEV ONLY (in memory, not durable): " << brokers
              << " broker(s), " << specs.size() << " topic(s) with " << partitions
              << " partitions; Ctrl-C to stop\n";
    int sig = 0;
    sigwait(&signals, &sig);
    std::cerr << "eventshop-devbroker: stopping on signal " << sig << "\n";
    if (!bootstrap_file.empty()) {
      std::error_code ec;
      std::filesystem::remove(bootstrap_file, ec);
    }
  } catch (const std::exception& ex) {
    std::cerr << "eventshop-devbroker: " << ex.what() << "\n";
    return 1;
  }
  return 0;
}
