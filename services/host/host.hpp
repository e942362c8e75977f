// services/host/host.hpp - running services behind their HTTP servers: one server per service
// (its own port), the status service's realtime broadcaster, the web UI server, and waiting for
// SIGINT/SIGTERM. Used by the six eventshop-<name>-service programs and eventshop-ecommerce.
//
// Thread safety: build, start and stop from the main thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "eventshop/core/metrics.hpp"
#include "eventshop/http/server.hpp"
#include "host/options.hpp"
#include "host/routes.hpp"

namespace eventshop::services {

class host {
 public:
  host(run_options options, metrics_registry& metrics);
  ~host();

  // Adds the service's server (routes + /health /ready /metrics) on its port. The realtime
  // broadcaster is created with the status service's server and wired to its change feed, so
  // call add_status before the status service starts.
  http::server& add_order(order::order_service& s);
  http::server& add_inventory(inventory::inventory_service& s);
  http::server& add_payment(payment::payment_service& s);
  http::server& add_notification(notification::notification_service& s);
  http::server& add_shipping(shipping::shipping_service& s);
  http::server& add_status(status::status_service& s);
  // The UI server: static files of `dir` when it exists (else a page listing the endpoints),
  // plus GET /config.json. Returns nullptr when ui_port is 0.
  http::server* add_ui(const std::string& dir);

  void start();  // starts every server (throws naming the port that cannot be bound)
  void stop();

  const run_options& options() const noexcept { return options_; }
  std::string url_of(std::string_view service) const;

 private:
  http::server& add_server(const std::string& name, const service_base& svc, int port,
                           std::function<void()> before_metrics = {});

  run_options options_;
  metrics_registry& metrics_;
  std::vector<std::unique_ptr<http::server>> servers_;
  struct realtime_state;
  std::unique_ptr<realtime_state> realtime_;
};

// Call first thing in main(), before any thread starts: SIGINT/SIGTERM are then blocked in every
// thread and wait_for_signal() receives them synchronously.
void block_termination_signals();
// Blocks until SIGINT or SIGTERM; returns the signal.
int wait_for_signal();

// The page served on the UI port when the UI is not built.
std::string endpoints_page(const host& h);
// GET /config.json for the UI.
std::string ui_config_json(const host& h);

}  // namespace eventshop::services
