// services/host/options.hpp - the command line and environment of eventshop-ecommerce and the
// eventshop-<name>-service programs (CONTRACT §6).
//
// Flags win over environment variables, which win over defaults. The original system's variables
// are honoured: KAFKA_BROKER (brokers), ORDER_SERVICE_PORT ... STATUS_SERVICE_PORT (one port
// each), FRONTEND_PORT (UI port). Bad values throw std::invalid_argument naming the flag.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace eventshop::services {

// The six services in the order of CONTRACT §4's table (port BASE+index).
inline constexpr std::array<const char*, 6> service_names = {"order",        "inventory", "payment",
                                                             "notification", "shipping",  "status"};

struct run_options {
  std::string bus = "sqlite";  // memory | sqlite | kafka
  std::string data_dir = "./data";
  std::string brokers = "localhost:9092";
  int base_port = 8080;
  std::array<int, 6> ports{8080, 8081, 8082, 8083, 8084, 8085};
  int ui_port = 3000;
  std::string bind = "127.0.0.1";
  int step_delay_ms = 0;
  double payment_decline_rate = 0.0;
  std::uint64_t seed = 0;
  std::vector<std::string> allow_origins;  // empty: the UI's own origins
  std::string ui_dir;                      // "" = look for examples/ecommerce/web/out
  int saga_timeout_ms = 30'000;
  // HTTP io threads per service; 0 (default): 2 for the order service (its POST handlers run on
  // them), 1 for the others. A second io thread on a server that is not saturated mostly hands
  // completions over between its two threads (a futex wake and a context switch each): on the
  // 2-core VM the all-in-one spent 415 instead of 704 us of CPU per order at 2,000 orders/s
  // with one io thread per server (docs/performance/http.md, fourth round).
  unsigned io_threads = 0;
  // --bus memory: dispatch threads shared by every subscription (memory_bus_options::
  // dispatch_threads); 0 = a thread per subscription.
  unsigned dispatch_threads = 0;
  int port = -1;  // single service: its port
  bool help = false;

  int port_of(std::string_view service) const;
  // The CORS / WebSocket origin allow-list in effect.
  std::vector<std::string> origins() const;
};

// `service` empty: the all-in-one program; else the one service's program.
run_options parse_options(int argc, const char* const* argv, std::string_view service,
                          const std::map<std::string, std::string>& env);
// The process environment as a map (only the variables parse_options reads).
std::map<std::string, std::string> read_environment();

std::string usage(std::string_view program, std::string_view service);

}  // namespace eventshop::services
