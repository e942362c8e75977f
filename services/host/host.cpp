#include "host/host.hpp"

#include <pthread.h>
#include <csignal>
#include <filesystem>

#include "eventshop/core/clock.hpp"
#include "eventshop/core/logging.hpp"
#include "host/http_support.hpp"
#ifdef EVENTSHOP_SERVICES_WITH_REALTIME
#include "eventshop/realtime/broadcaster.hpp"
#endif

namespace eventshop::services {

struct host::realtime_state {
#ifdef EVENTSHOP_SERVICES_WITH_REALTIME
  std::unique_ptr<realtime::broadcaster> broadcaster;
#endif
};

host::host(run_options options, metrics_registry& metrics)
    : options_(std::move(options)),
      metrics_(metrics),
      realtime_(std::make_unique<realtime_state>()) {}

host::~host() {
  stop();
}

http::server& host::add_server(const std::string& name, const service_base& svc, int port,
                               std::function<void()> before_metrics) {
  auto server = std::make_unique<http::server>(server_config_for(name, options_, port, &metrics_));
  add_standard_routes(server->routes(), svc, metrics_, std::move(before_metrics));
  servers_.push_back(std::move(server));
  return *servers_.back();
}

http::server& host::add_order(order::order_service& s) {
  auto& srv = add_server("order", s, options_.port_of("order"));
  add_order_routes(srv.routes(), s);
  return srv;
}
http::server& host::add_inventory(inventory::inventory_service& s) {
  auto& srv = add_server("inventory", s, options_.port_of("inventory"));
  add_inventory_routes(srv.routes(), s);
  return srv;
}
http::server& host::add_payment(payment::payment_service& s) {
  auto& srv = add_server("payment", s, options_.port_of("payment"));
  add_payment_routes(srv.routes(), s);
  return srv;
}
http::server& host::add_notification(notification::notification_service& s) {
  auto& srv = add_server("notification", s, options_.port_of("notification"));
  add_notification_routes(srv.routes(), s);
  return srv;
}
http::server& host::add_shipping(shipping::shipping_service& s) {
  auto& srv = add_server("shipping", s, options_.port_of("shipping"));
  add_shipping_routes(srv.routes(), s);
  return srv;
}

http::server& host::add_status(status::status_service& s) {
  // Saga states: how many orders are in each status, refreshed on each scrape.
  auto& srv = add_server("status", s, options_.port_of("status"), [&s, &m = metrics_] {
    const auto st = s.view().stats(clock::system().now());
    for (const auto& [status, n] : st.by_status)
      m.gauge("eventshop_orders", "Orders per saga status (status read model)",
              {{"status", status}})
          .set(static_cast<double>(n));
  });
  add_status_routes(srv.routes(), s);
#ifdef EVENTSHOP_SERVICES_WITH_REALTIME
  realtime::broadcaster_config bc;
  bc.allowed_origins = options_.origins();
  // Resume window per channel. The "orders" channel carries every change of every order (six
  // per order): a client closed with 1008 for falling behind by 1,024 queued messages must find
  // more than that in the history to resume without a gap. ~1.5 KB per message: ~6 MB at most.
  bc.history_size = 4096;
  realtime_->broadcaster = std::make_unique<realtime::broadcaster>(bc);
  auto& b = *realtime_->broadcaster;
  // One "order:<id>" channel per order, most never watched, and "orders", watched by the UI at
  // most: a channel of theirs exists from its first subscription on (a subscriber gets a
  // snapshot first), so a status change nobody watches costs no JSON, history or channel.
  b.add_channel_kind("order",
                     {.conflate = true,
                      .snapshot = [&s](std::string_view channel) -> std::optional<std::string> {
                        const auto v = s.view().get(std::string(channel.substr(6)));
                        if (!v || !v->known) return std::nullopt;
                        return v1_order_json(*v);
                      },
                      .history_before_subscription = false});
  b.add_channel_kind("orders", {.conflate = false,
                                .snapshot = [&s](std::string_view) -> std::optional<std::string> {
                                  std::size_t total = 0;
                                  const auto page = s.view().list(std::nullopt, 100, 0, &total);
                                  json_writer w;
                                  w.begin_object();
                                  w.key("orders");
                                  w.begin_array();
                                  for (const auto& v : page)
                                    write_v1_order(w, v);
                                  w.end_array();
                                  w.key("total");
                                  w.int64(static_cast<std::int64_t>(total));
                                  w.end_object();
                                  return w.str();
                                },
                                .history_before_subscription = false});
  b.add_channel_kind(
      "stats", {.conflate = true, .snapshot = [&s](std::string_view) -> std::optional<std::string> {
                  json_writer w;
                  write_stats(w, s.view().stats(clock::system().now()));
                  return w.str();
                }});
  b.attach(srv);
  s.on_order([&b](const order_view& v) {
    if (!v.known) return;
    std::string json;  // built once for both channels, and only if one of them needs it
    const std::function<std::string_view()> make = [&]() -> std::string_view {
      if (json.empty()) json = v1_order_json(v);
      return json;
    };
    thread_local std::string channel;
    channel.assign("order:").append(v.order_id);
    b.publish_lazy(channel, make);
    b.publish_lazy("orders", make);
  });
  s.on_stats([&b](const order_stats& st) {
    json_writer w;
    write_stats(w, st);
    b.publish("stats", w.view());
  });
#endif
  return srv;
}

std::string host::url_of(std::string_view service) const {
  const std::string h = options_.bind == "0.0.0.0" ? "127.0.0.1" : options_.bind;
  return "http://" + h + ":" + std::to_string(options_.port_of(service));
}

namespace {
std::string config_for_host(const run_options& o, std::string hostname) {
  json_writer w;
  w.begin_object();
  const char* keys[] = {"order_api",        "inventory_api", "payment_api",
                        "notification_api", "shipping_api",  "status_api"};
  for (std::size_t i = 0; i < 6; ++i) {
    w.key(keys[i]);
    w.string("http://" + hostname + ":" + std::to_string(o.ports[i]));
  }
  w.key("status_ws");
  w.string("ws://" + hostname + ":" + std::to_string(o.ports[5]));
  w.end_object();
  return w.str();
}

std::string hostname_of(const http::request& req, const run_options& o) {
  if (auto h = req.header("Host")) {
    std::string host(*h);
    if (!host.empty() && host.front() == '[') {
      auto close = host.find(']');
      if (close != std::string::npos) return host.substr(0, close + 1);
    }
    if (auto colon = host.rfind(':'); colon != std::string::npos) host = host.substr(0, colon);
    bool ok = !host.empty();
    for (char c : host)
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-')) ok = false;
    if (ok) return host;
  }
  return o.bind == "0.0.0.0" ? "127.0.0.1" : o.bind;
}
}  // namespace

std::string ui_config_json(const host& h) {
  return config_for_host(h.options(),
                         h.options().bind == "0.0.0.0" ? "127.0.0.1" : h.options().bind);
}

std::string endpoints_page(const host& h) {
  std::string s =
      "<!doctype html><html><head><meta charset=\"utf-8\"><title>eventshop</title></head><body>"
      "<h1>eventshop e-commerce</h1><p>The web UI is not built (run <code>make run</code>, or "
      "build <code>examples/ecommerce/web</code>). The services answer here:</p><ul>";
  const char* routes[] = {
      "POST /order, POST /v1/orders, POST /v1/orders/{id}/cancel",
      "GET /inventory, GET /products, GET /v1/products, POST /v1/products/{id}/restock, GET "
      "/v1/alerts/low-stock",
      "GET /prices, GET /v1/payments/{order_id}",
      "GET /notifications, GET /v1/notifications?order_id=",
      "GET /shipments, GET /track/{tracking_number}, GET /v1/shipments/{order_id}",
      "GET /status/{id}, GET /orders, GET /statistics, GET /v1/orders, GET /v1/stats, WS /ws/{id}, "
      "WS /v1/ws, SSE /v1/events"};
  for (std::size_t i = 0; i < service_names.size(); ++i) {
    const std::string url = h.url_of(service_names[i]);
    s += "<li><b>" + std::string(service_names[i]) + "</b> <a href=\"" + url + "/health\">" + url +
         "</a>: " + routes[i] + "</li>";
  }
  s += "</ul><p><a href=\"/config.json\">/config.json</a></p></body></html>";
  return s;
}

http::server* host::add_ui(const std::string& dir) {
  if (options_.ui_port == 0) return nullptr;
  http::server_config c;
  c.bind_address = options_.bind;
  c.port = static_cast<std::uint16_t>(options_.ui_port);
  c.io_threads = 1;
  c.service_name = "ui";
  c.metrics = &metrics_;
  c.access_log = false;
  auto server = std::make_unique<http::server>(c);
  auto& r = server->routes();
  const run_options& o = options_;
  r.get("/config.json", [&o](http::request& req) {
    auto res = http::json_response(200, config_for_host(o, hostname_of(req, o)));
    res.set_header("Cache-Control", "no-store");
    return res;
  });
  r.get("/health", [](http::request&) {
    return http::json_response(200, R"({"status":"healthy","service":"ui"})");
  });
  std::error_code ec;
  if (!dir.empty() && std::filesystem::is_directory(dir, ec) &&
      std::filesystem::exists(std::filesystem::path(dir) / "index.html", ec)) {
    http::static_options so;
    so.spa_fallback = true;
    http::add_static_files(r, "/", dir, so);
  } else {
    const std::string page = endpoints_page(*this);
    r.get("/",
          [page](http::request&) { return http::response(200, page, "text/html; charset=utf-8"); });
  }
  servers_.push_back(std::move(server));
  return servers_.back().get();
}

void host::start() {
  for (auto& s : servers_)
    s->start();
}

void host::stop() {
  for (auto it = servers_.rbegin(); it != servers_.rend(); ++it)
    (*it)->stop();
}

namespace {
sigset_t termination_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}
}  // namespace

void block_termination_signals() {
  const sigset_t set = termination_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int wait_for_signal() {
  const sigset_t set = termination_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  int sig = 0;
  sigwait(&set, &sig);
  return sig;
}

}  // namespace eventshop::services
