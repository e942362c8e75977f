// /health, /ready and /metrics.
#include "eventshop/http/health.hpp"

#include "eventshop/core/json.hpp"
#include "eventshop/core/metrics.hpp"

namespace eventshop::http {

void add_health_routes(router& r, health_options options) {
  auto opts = std::make_shared<health_options>(std::move(options));
  r.get(opts->health_path, [opts](request&) {
    std::string body = R"({"status":"healthy","service":)";
    append_json_string(body, opts->service_name);
    body += '}';
    return response::json(200, std::move(body));
  });
  r.get(opts->ready_path, [opts](request&) {
    bool ready = !opts->ready || opts->ready();
    std::string body =
        ready ? R"({"status":"ready","service":)" : R"({"status":"not_ready","service":)";
    append_json_string(body, opts->service_name);
    body += '}';
    return response::json(ready ? 200 : 503, std::move(body));
  });
  r.get(opts->metrics_path, [opts](request&) {
    auto& reg = opts->metrics ? *opts->metrics : metrics_registry::global();
    return response(200, reg.render(), "text/plain; version=0.0.4; charset=utf-8");
  });
}

}  // namespace eventshop::http
