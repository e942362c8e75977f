// eventshop/http/health.hpp - the /health, /ready and /metrics routes of CONTRACT §4.
//
//   GET /health  -> 200 {"status":"healthy","service":"<name>"}
//   GET /ready   -> 200 {"status":"ready","service":"<name>"} when `ready()` is true (or unset),
//                   else 503 {"status":"not_ready","service":"<name>"}
//   GET /metrics -> 200 Prometheus text (text/plain; version=0.0.4) of `metrics`
//                   (nullptr: metrics_registry::global())
// Thread safety: `ready` is called on io threads, concurrently; it must be thread-safe.
#pragma once

#include <functional>
#include <string>

#include "eventshop/http/router.hpp"

namespace eventshop {
class metrics_registry;
}

namespace eventshop::http {

struct health_options {
  std::string service_name = "service";
  std::function<bool()> ready;          // unset: always ready
  metrics_registry* metrics = nullptr;  // nullptr: metrics_registry::global()
  std::string health_path = "/health";
  std::string ready_path = "/ready";
  std::string metrics_path = "/metrics";
};

void add_health_routes(router& r, health_options options);

}  // namespace eventshop::http
