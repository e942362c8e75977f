#include "host/http_support.hpp"

#include "common/api_error.hpp"
#include "eventshop/core/metrics.hpp"

namespace eventshop::services {

http::handler guarded(std::function<http::response(http::request&)> f) {
  return [f = std::move(f)](http::request& req) -> http::response {
    try {
      return f(req);
    } catch (const api_error& e) {
      return http::error_response(e.status(), e.code(), e.what(), e.field());
    }
  };
}

void require_json(const http::request& req) {
  const std::string ct = req.content_type();
  if (ct == "application/json" || (ct.size() > 5 && ct.ends_with("+json"))) return;
  throw api_error(415, "unsupported_media_type",
                  ct.empty() ? "Content-Type must be application/json (none was sent)"
                             : "Content-Type must be application/json, not " + ct,
                  "Content-Type");
}

http::server_config server_config_for(const std::string& service, const run_options& o, int port,
                                      metrics_registry* metrics) {
  http::server_config c;
  c.bind_address = o.bind;
  c.port = static_cast<std::uint16_t>(port);
  c.io_threads = o.io_threads ? o.io_threads : service == "order" ? 2 : 1;
  // Handlers wait for the bus to acknowledge (an fsync on SQLite, 5-40 ms on a shared VM): run
  // them off the io threads, and enough of them that concurrent requests share one group commit
  // (order intake <= handler threads / commit time). In memory the acknowledgement is immediate:
  // the order routes run on the io threads, without two thread hand-offs per request.
  c.handler_threads = service != "order" ? 4 : o.bus == "memory" ? 0 : 128;
  c.service_name = service;
  c.metrics = metrics;
  c.cors.allowed_origins = o.origins();
  c.access_log = false;
  return c;
}

void update_lag_gauges(const service_base& svc, metrics_registry& metrics) {
  for (const auto& [topic, group] : svc.consumers()) {
    // Per-start group names ("status-<random>") are folded into their service's name so the
    // label set stays bounded across restarts.
    std::string g = group;
    if (auto dash = g.find('-'); dash != std::string::npos) g = g.substr(0, dash);
    metrics
        .gauge("eventshop_consumer_lag", "Events published but not yet handled by a consumer group",
               {{"topic", topic}, {"group", g}})
        .set(static_cast<double>(svc.event_bus().lag(topic, group)));
  }
}

void add_standard_routes(http::router& r, const service_base& svc, metrics_registry& metrics,
                         std::function<void()> before_metrics) {
  http::health_options h;
  h.service_name = svc.name();
  h.ready = [&svc] { return svc.ready(); };
  h.metrics = &metrics;
  h.metrics_path = "/metrics-raw";
  http::add_health_routes(r, h);
  r.get("/metrics", [&svc, &metrics, before = std::move(before_metrics)](http::request&) {
    update_lag_gauges(svc, metrics);
    if (before) before();
    http::response res(200, metrics.render(), "text/plain; version=0.0.4; charset=utf-8");
    return res;
  });
}

}  // namespace eventshop::services
