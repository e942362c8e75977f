#include "host/options.hpp"

#include <cctype>
#include <charconv>
#include <cstdlib>
#include <stdexcept>

namespace eventshop::services {

namespace {

long long to_int(std::string_view flag, std::string_view text, long long lo, long long hi) {
  long long v = 0;
  const auto* end = text.data() + text.size();
  const auto [p, ec] = std::from_chars(text.data(), end, v);
  if (ec != std::errc() || p != end || text.empty())
    throw std::invalid_argument(std::string(flag) + ": expected an integer, got '" +
                                std::string(text) + "'");
  if (v < lo || v > hi)
    throw std::invalid_argument(std::string(flag) + ": must be from " + std::to_string(lo) +
                                " to " + std::to_string(hi) + ", got " + std::string(text));
  return v;
}

double to_double(std::string_view flag, const std::string& text, double lo, double hi) {
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size())
    throw std::invalid_argument(std::string(flag) + ": expected a number, got '" + text + "'");
  if (!(v >= lo && v <= hi))
    throw std::invalid_argument(std::string(flag) + ": must be from " + std::to_string(lo) +
                                " to " + std::to_string(hi) + ", got " + text);
  return v;
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == ',') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else if (!std::isspace(static_cast<unsigned char>(c))) {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

int index_of(std::string_view service) {
  for (std::size_t i = 0; i < service_names.size(); ++i)
    if (service == service_names[i]) return static_cast<int>(i);
  return -1;
}

std::string env_name(std::string_view service) {
  std::string s;
  for (char c : service)
    s += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s + "_SERVICE_PORT";
}

}  // namespace

int run_options::port_of(std::string_view service) const {
  const int i = index_of(service);
  return i < 0 ? -1 : ports[static_cast<std::size_t>(i)];
}

std::vector<std::string> run_options::origins() const {
  if (!allow_origins.empty()) return allow_origins;
  return {"http://localhost:" + std::to_string(ui_port),
          "http://127.0.0.1:" + std::to_string(ui_port)};
}

std::map<std::string, std::string> read_environment() {
  std::map<std::string, std::string> env;
  auto take = [&](const std::string& name) {
    if (const char* v = std::getenv(name.c_str())) env[name] = v;
  };
  take("KAFKA_BROKER");
  take("FRONTEND_PORT");
  for (auto s : service_names)
    take(env_name(s));
  return env;
}

run_options parse_options(int argc, const char* const* argv, std::string_view service,
                          const std::map<std::string, std::string>& env) {
  run_options o;
  const bool single = !service.empty();
  if (single && index_of(service) < 0)
    throw std::invalid_argument("unknown service '" + std::string(service) + "'");
  // Environment first.
  if (auto it = env.find("KAFKA_BROKER"); it != env.end() && !it->second.empty())
    o.brokers = it->second;
  if (auto it = env.find("FRONTEND_PORT"); it != env.end())
    o.ui_port = static_cast<int>(to_int("FRONTEND_PORT", it->second, 1, 65535));
  std::array<bool, 6> env_port{};
  for (std::size_t i = 0; i < service_names.size(); ++i)
    if (auto it = env.find(env_name(service_names[i])); it != env.end()) {
      o.ports[i] = static_cast<int>(to_int(env_name(service_names[i]), it->second, 1, 65535));
      env_port[i] = true;
    }

  bool base_set = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value;
    bool has_value = false;
    if (auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      has_value = true;
    }
    auto need = [&]() -> std::string {
      if (has_value) return value;
      if (i + 1 >= argc) throw std::invalid_argument(arg + ": missing value");
      return argv[++i];
    };
    if (arg == "-h" || arg == "--help") {
      o.help = true;
    } else if (arg == "--bus") {
      o.bus = need();
      if (o.bus != "memory" && o.bus != "sqlite" && o.bus != "kafka")
        throw std::invalid_argument("--bus: expected memory, sqlite or kafka, got '" + o.bus + "'");
    } else if (arg == "--data-dir") {
      o.data_dir = need();
      if (o.data_dir.empty()) throw std::invalid_argument("--data-dir: must not be empty");
    } else if (arg == "--brokers") {
      o.brokers = need();
      if (o.brokers.empty()) throw std::invalid_argument("--brokers: must not be empty");
    } else if (arg == "--bind") {
      o.bind = need();
      if (o.bind.empty()) throw std::invalid_argument("--bind: must not be empty");
    } else if (arg == "--step-delay-ms") {
      o.step_delay_ms = static_cast<int>(to_int(arg, need(), 0, 60'000));
    } else if (arg == "--payment-decline-rate") {
      o.payment_decline_rate = to_double(arg, need(), 0.0, 1.0);
    } else if (arg == "--seed") {
      o.seed = static_cast<std::uint64_t>(to_int(arg, need(), 0, (1LL << 62)));
    } else if (arg == "--saga-timeout-ms") {
      o.saga_timeout_ms = static_cast<int>(to_int(arg, need(), 0, 86'400'000));
    } else if (arg == "--io-threads") {
      o.io_threads = static_cast<unsigned>(to_int(arg, need(), 1, 64));
    } else if (arg == "--dispatch-threads") {
      o.dispatch_threads = static_cast<unsigned>(to_int(arg, need(), 0, 256));
    } else if (!single && arg == "--ports") {
      o.base_port = static_cast<int>(to_int(arg, need(), 1, 65535 - 5));
      base_set = true;
    } else if (!single && arg == "--ui-port") {
      o.ui_port = static_cast<int>(to_int(arg, need(), 0, 65535));
    } else if (!single && arg == "--ui-dir") {
      o.ui_dir = need();
    } else if (arg == "--allow-origin") {
      o.allow_origins = split(need());
      if (o.allow_origins.empty()) throw std::invalid_argument("--allow-origin: empty list");
    } else if (single && arg == "--port") {
      o.port = static_cast<int>(to_int(arg, need(), 0, 65535));
    } else {
      throw std::invalid_argument("unknown option '" + arg + "' (see --help)");
    }
  }
  if (base_set)
    for (std::size_t i = 0; i < o.ports.size(); ++i)
      o.ports[i] = o.base_port + static_cast<int>(i);
  else
    for (std::size_t i = 0; i < o.ports.size(); ++i)
      if (!env_port[i]) o.ports[i] = o.base_port + static_cast<int>(i);
  if (single) {
    if (o.port < 0)
      o.port = o.port_of(service);
    else
      o.ports[static_cast<std::size_t>(index_of(service))] = o.port;
  }
  return o;
}

std::string usage(std::string_view program, std::string_view service) {
  std::string s = "usage: " + std::string(program) + " [options]\n\n";
  if (service.empty())
    s += "Runs the six e-commerce services in one process on one bus, and the web UI.\n\n";
  else
    s += "Runs the " + std::string(service) + " service of the e-commerce system.\n\n";
  s += "  --bus memory|sqlite|kafka   event bus (default sqlite)\n"
       "  --data-dir DIR              SQLite data directory (default ./data)\n"
       "  --brokers HOST:PORT[,...]   Kafka bootstrap servers (default $KAFKA_BROKER or "
       "localhost:9092)\n";
  if (service.empty())
    s +=
        "  --ports BASE                services on BASE..BASE+5 (default 8080; or *_SERVICE_PORT)\n"
        "  --ui-port N                 web UI port (default 3000 or $FRONTEND_PORT; 0 = none)\n"
        "  --ui-dir DIR                web UI directory (default examples/ecommerce/web/out)\n";
  else
    s += "  --port N                    listening port (default: its port in CONTRACT §4)\n";
  s += "  --bind ADDR                 listen address (default 127.0.0.1)\n"
       "  --step-delay-ms N           pause before each saga step (default 0)\n"
       "  --payment-decline-rate F    random payment declines, 0..1 (default 0)\n"
       "  --seed N                    seed of the random declines and tracking numbers\n"
       "  --allow-origin LIST         CORS/WebSocket origins, comma-separated, or * (default the "
       "UI's)\n"
       "  --saga-timeout-ms N         compensate a saga step silent for N ms (default 30000; 0 = "
       "off)\n"
       "  --io-threads N              HTTP io threads per service (default 2 for order, 1 for the "
       "others)\n"
       "  --dispatch-threads N        --bus memory: N dispatch threads shared by every "
       "subscription\n"
       "                              (default 0: a thread per subscription)\n";
  return s;
}

}  // namespace eventshop::services
