// services/host/http_support.hpp - what every service's HTTP side shares: the error mapping of
// CONTRACT §4 (api_error and eventshop::error -> JSON error), the server configuration from the
// run options, and the standard /health, /ready, /metrics routes.
#pragma once

#include <functional>
#include <string>

#include "common/service_base.hpp"
#include "eventshop/http/http.hpp"
#include "host/options.hpp"

namespace eventshop::services {

// Wraps a handler so that api_error becomes its JSON error response.
http::handler guarded(std::function<http::response(http::request&)> f);

// A JSON response from a writer-filling function.
template <class F>
http::response json_reply(int status, F&& fill) {
  json_writer w;
  fill(w);
  return http::json_response(status, w);
}

// 415 unless the request declares a JSON body (application/json or +json).
void require_json(const http::request& req);

// Server settings for one service of `o` listening on `port`.
http::server_config server_config_for(const std::string& service, const run_options& o, int port,
                                      metrics_registry* metrics);

// GET /health, /ready (consumers caught up), /metrics (with consumer lag gauges refreshed).
// `before_metrics` (optional) refreshes service-specific gauges before each scrape.
void add_standard_routes(http::router& r, const service_base& svc, metrics_registry& metrics,
                         std::function<void()> before_metrics = {});

// Refreshes eventshop_consumer_lag{topic,group} for `svc` in `metrics`.
void update_lag_gauges(const service_base& svc, metrics_registry& metrics);

}  // namespace eventshop::services
