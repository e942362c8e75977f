// eventshop/core/logging.hpp - structured JSON logging, one object per line.
//
//   eventshop::logger log("order");
//   log.info("order created", {{"order_id", id}, {"total_cents", 5998}});
// prints
//   {"ts":"2026-11-23T10:00:00.123Z","level":"info","service":"order","msg":"order created",
//    "correlation_id":"...","request_id":"...","order_id":"...","total_cents":5998}
// The correlation, causation and request ids come from the thread's current context_scope.
//
// The level comes from the constructor or, by default, from EVENTSHOP_LOG_LEVEL (trace, debug,
// info, warn, error, off; default info). Lines go to the process-wide sink (stderr unless
// set_log_sink was called). Logging never throws into the caller: a failing sink is ignored.
// Thread safety: safe; each line is written whole.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <variant>

namespace eventshop {

enum class log_level { trace, debug, info, warn, error, off };

log_level parse_log_level(std::string_view name, log_level fallback = log_level::info) noexcept;
std::string_view to_string(log_level level) noexcept;

struct log_field {
  using value_type = std::variant<std::string_view, std::int64_t, double, bool>;

  log_field(std::string_view k, std::string_view v) : key(k), value(v) {}
  log_field(std::string_view k, const std::string& v) : key(k), value(std::string_view(v)) {}
  log_field(std::string_view k, const char* v) : key(k), value(std::string_view(v)) {}
  log_field(std::string_view k, std::integral auto v)
      : key(k), value(static_cast<std::int64_t>(v)) {}
  log_field(std::string_view k, bool v) : key(k), value(v) {}
  log_field(std::string_view k, double v) : key(k), value(v) {}

  std::string_view key;
  value_type value;
};

// Replaces where every logger writes (nullptr restores stderr). The sink gets one complete
// line without the trailing newline.
void set_log_sink(std::function<void(std::string_view line)> sink);

class logger {
 public:
  explicit logger(std::string service = {});
  logger(std::string service, log_level level) : service_(std::move(service)), level_(level) {}

  bool enabled(log_level level) const noexcept {
    return level >= level_ && level_ != log_level::off;
  }
  void set_level(log_level level) noexcept { level_ = level; }
  log_level level() const noexcept { return level_; }
  const std::string& service() const noexcept { return service_; }

  void log(log_level level, std::string_view msg,
           std::initializer_list<log_field> fields = {}) const;
  void trace(std::string_view m, std::initializer_list<log_field> f = {}) const {
    log(log_level::trace, m, f);
  }
  void debug(std::string_view m, std::initializer_list<log_field> f = {}) const {
    log(log_level::debug, m, f);
  }
  void info(std::string_view m, std::initializer_list<log_field> f = {}) const {
    log(log_level::info, m, f);
  }
  void warn(std::string_view m, std::initializer_list<log_field> f = {}) const {
    log(log_level::warn, m, f);
  }
  void error(std::string_view m, std::initializer_list<log_field> f = {}) const {
    log(log_level::error, m, f);
  }

 private:
  std::string service_;
  log_level level_;
};

}  // namespace eventshop
