#include "host/run.hpp"

#include <cstdio>
#include <filesystem>
#include <iostream>

#include "eventshop/core/logging.hpp"
#include "host/bus_factory.hpp"
#include "host/host.hpp"
#include "system/system.hpp"

namespace eventshop::services {

namespace {

std::string find_ui_dir(const run_options& o, const char* argv0) {
  if (!o.ui_dir.empty()) return o.ui_dir;
  namespace fs = std::filesystem;
  std::error_code ec;
  // The source tree's UI build, found from the working directory or next to the executable's
  // build tree.
  std::vector<fs::path> candidates = {fs::path("examples/ecommerce/web/out")};
#ifdef EVENTSHOP_SOURCE_DIR
  candidates.push_back(fs::path(EVENTSHOP_SOURCE_DIR) / "examples/ecommerce/web/out");
#endif
  (void)argv0;
  for (const auto& c : candidates)
    if (fs::exists(c / "index.html", ec)) return fs::absolute(c, ec).string();
  return {};
}

service_env make_env(bus& b, metrics_registry& m, const run_options& o) {
  service_env env;
  env.bus = &b;
  env.metrics = &m;
  env.step_delay = std::chrono::milliseconds(o.step_delay_ms);
  // In memory a handler never waits for a disk: one dispatch thread per subscription is fastest.
  // On SQLite and Kafka handlers wait for acknowledgements: overlap them.
  env.concurrency = o.bus == "memory" ? 1 : 8;
  // SQLite commits a handler's output events with (or before) its input's offset (bus_factory
  // sets max_commit_batch = max_pending), so handlers need not wait for one fsync each, and two
  // dispatch threads are plenty - unless the demo's step delay makes handlers sleep.
  env.ordered_handler_acks = o.bus == "sqlite";
  if (env.ordered_handler_acks && env.step_delay.count() == 0) env.concurrency = 2;
  return env;
}

}  // namespace

int run_main(int argc, const char* const* argv, std::string_view service) {
  tune_allocator();
  block_termination_signals();
  const std::string program =
      argc > 0 ? std::filesystem::path(argv[0]).filename().string() : "eventshop";
  run_options o;
  try {
    o = parse_options(argc, argv, service, read_environment());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", program.c_str(), e.what());
    return 2;
  }
  if (o.help) {
    std::fputs(usage(program, service).c_str(), stdout);
    return 0;
  }
  logger log(service.empty() ? "ecommerce" : std::string(service));
  try {
    metrics_registry& metrics = metrics_registry::global();
    auto b = make_bus(o);
    const service_env env = make_env(*b, metrics, o);
    catalog products;
    payment::payment_config pay{.decline_rate = o.payment_decline_rate, .seed = o.seed};
    order::order_config oc{.saga_timeout = std::chrono::milliseconds(o.saga_timeout_ms)};
    host h(o, metrics);

    std::unique_ptr<ecommerce_system> all;
    std::vector<std::unique_ptr<service_base>> one;
    if (service.empty()) {
      all = std::make_unique<ecommerce_system>(
          env, system_config{.products = products, .payment = pay, .order = oc, .seed = o.seed});
      h.add_order(all->order());
      h.add_inventory(all->inventory());
      h.add_payment(all->payment());
      h.add_notification(all->notification());
      h.add_shipping(all->shipping());
      h.add_status(all->status());
      h.add_ui(find_ui_dir(o, argv[0]));
      all->start();
    } else {
      if (service == "order") {
        auto s = std::make_unique<order::order_service>(env, products, oc);
        h.add_order(*s);
        one.push_back(std::move(s));
      } else if (service == "inventory") {
        auto s = std::make_unique<inventory::inventory_service>(env, products);
        h.add_inventory(*s);
        one.push_back(std::move(s));
      } else if (service == "payment") {
        auto s = std::make_unique<payment::payment_service>(env, products, pay);
        h.add_payment(*s);
        one.push_back(std::move(s));
      } else if (service == "notification") {
        auto s = std::make_unique<notification::notification_service>(env);
        h.add_notification(*s);
        one.push_back(std::move(s));
      } else if (service == "shipping") {
        auto s = std::make_unique<shipping::shipping_service>(env, o.seed);
        h.add_shipping(*s);
        one.push_back(std::move(s));
      } else {
        auto s = std::make_unique<status::status_service>(env);
        h.add_status(*s);
        one.push_back(std::move(s));
      }
      // A single service's port: --port wins over the table.
      for (auto& s : one)
        s->start();
    }
    h.start();
    if (service.empty()) {
      std::printf("eventshop-ecommerce: all six services on the %s bus%s\n", o.bus.c_str(),
                  o.bus == "sqlite" ? (" (data in " + o.data_dir + ")").c_str() : "");
      for (auto name : service_names)
        std::printf("  %-13s %s\n", name, h.url_of(name).c_str());
      if (o.ui_port != 0)
        std::printf("  %-13s http://%s:%d\n", "web UI",
                    o.bind == "0.0.0.0" ? "127.0.0.1" : o.bind.c_str(), o.ui_port);
    } else {
      std::printf("eventshop-%s-service: listening on %s (bus %s)\n", std::string(service).c_str(),
                  h.url_of(service).c_str(), o.bus.c_str());
    }
    std::fflush(stdout);
    const int sig = wait_for_signal();
    log.info("stopping", {{"signal", sig}});
    h.stop();
    if (all) all->stop();
    for (auto& s : one)
      s->stop();
    b->close(std::chrono::seconds(5));
    return 0;
  } catch (const std::exception& e) {
    log.error("fatal", {{"error", e.what()}});
    std::fprintf(stderr, "%s: %s\n", program.c_str(), e.what());
    return 1;
  }
}

}  // namespace eventshop::services
