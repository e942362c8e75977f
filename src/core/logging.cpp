#include "eventshop/core/logging.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>

#include "eventshop/core/clock.hpp"
#include "eventshop/core/context.hpp"
#include "eventshop/core/json.hpp"
#include "eventshop/core/time.hpp"

namespace eventshop {
namespace {

struct sink_state {
  std::mutex mutex;
  std::function<void(std::string_view)> sink;
};

sink_state& sinks() {
  static sink_state s;
  return s;
}

log_level env_level() {
  static const log_level level = [] {
    const char* v = std::getenv("EVENTSHOP_LOG_LEVEL");
    return v ? parse_log_level(v) : log_level::info;
  }();
  return level;
}

}  // namespace

log_level parse_log_level(std::string_view n, log_level fallback) noexcept {
  if (n == "trace") return log_level::trace;
  if (n == "debug") return log_level::debug;
  if (n == "info") return log_level::info;
  if (n == "warn" || n == "warning") return log_level::warn;
  if (n == "error") return log_level::error;
  if (n == "off" || n == "none") return log_level::off;
  return fallback;
}

std::string_view to_string(log_level level) noexcept {
  switch (level) {
    case log_level::trace:
      return "trace";
    case log_level::debug:
      return "debug";
    case log_level::info:
      return "info";
    case log_level::warn:
      return "warn";
    case log_level::error:
      return "error";
    case log_level::off:
      return "off";
  }
  return "info";
}

void set_log_sink(std::function<void(std::string_view)> sink) {
  auto& s = sinks();
  std::lock_guard lock(s.mutex);
  s.sink = std::move(sink);
}

logger::logger(std::string service) : service_(std::move(service)), level_(env_level()) {}

void logger::log(log_level level, std::string_view msg,
                 std::initializer_list<log_field> fields) const {
  if (!enabled(level)) return;
  try {
    std::string line;
    line.reserve(160 + msg.size());
    line += "{\"ts\":\"";
    append_rfc3339(line, clock::system().now());
    line += "\",\"level\":\"";
    line += to_string(level);
    line += '"';
    auto add = [&line](std::string_view key, std::string_view value) {
      line += ',';
      append_json_string(line, key);
      line += ':';
      append_json_string(line, value);
    };
    if (!service_.empty()) add("service", service_);
    add("msg", msg);
    if (const event_context* ctx = current_context()) {
      if (!ctx->correlationid.empty()) add("correlation_id", ctx->correlationid);
      if (!ctx->causationid.empty()) add("causation_id", ctx->causationid);
      if (!ctx->request_id.empty()) add("request_id", ctx->request_id);
    }
    for (const auto& f : fields) {
      line += ',';
      append_json_string(line, f.key);
      line += ':';
      std::visit(
          [&line](const auto& v) {
            using V = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<V, std::string_view>) {
              append_json_string(line, v);
            } else if constexpr (std::is_same_v<V, bool>) {
              line += v ? "true" : "false";
            } else if constexpr (std::is_same_v<V, double>) {
              if (std::isfinite(v))
                line += std::to_string(v);
              else
                line += "null";
            } else {
              line += std::to_string(v);
            }
          },
          f.value);
    }
    line += '}';
    auto& s = sinks();
    std::lock_guard lock(s.mutex);
    if (s.sink) {
      s.sink(line);
    } else {
      line += '\n';
      std::fwrite(line.data(), 1, line.size(), stderr);
    }
  } catch (...) {
    // Logging must never take the caller down (spdlog's rule); drop the line.
  }
}

}  // namespace eventshop
