#include "common/api_error.hpp"
#include "eventshop/core/clock.hpp"
#include "host/http_support.hpp"
#include "host/routes.hpp"

namespace eventshop::services {

namespace {

order_view find_order(status::status_service& svc, std::string_view id) {
  auto v = svc.view().get(std::string(id));
  if (!v || !v->known)
    throw api_error(404, "order_not_found", "no order with id '" + std::string(id) + "'");
  return std::move(*v);  // not a second copy of the order
}

}  // namespace

void add_status_routes(http::router& r, status::status_service& svc) {
  r.get("/status/{order_id}", guarded([&svc](http::request& req) {
          return http::json_response(200, seed_order_json(find_order(svc, req.param("order_id"))));
        }));
  r.get("/orders", guarded([&svc](http::request&) {
          const auto all = svc.view().all();
          return json_reply(200, [&](json_writer& w) {
            w.begin_object();
            w.key("orders");
            w.begin_object();
            for (const auto& v : all) {
              w.key(v.order_id);
              write_seed_order(w, v);
            }
            w.end_object();
            w.end_object();
          });
        }));
  r.get("/orders/{order_id}/events", guarded([&svc](http::request& req) {
          const auto v = find_order(svc, req.param("order_id"));
          return json_reply(200, [&](json_writer& w) {
            w.begin_object();
            w.key("order_id");
            w.string(v.order_id);
            w.key("events");
            w.begin_array();
            for (const auto& e : v.events) {
              w.begin_object();
              w.key("id");
              w.string(e.id);
              w.key("event_type");
              w.string(e.type);
              w.key("topic");
              w.string(e.topic);
              w.key("offset");
              w.int64(e.offset);
              w.key("data");
              w.string(e.data);
              w.key("timestamp");
              w.string(format_rfc3339(e.time));
              w.end_object();
            }
            w.end_array();
            w.end_object();
          });
        }));
  auto stats = [&svc](http::request&) {
    const auto s = svc.view().stats(clock::system().now());
    return json_reply(200, [&](json_writer& w) { write_stats(w, s); });
  };
  r.get("/statistics", guarded(stats));
  r.get("/v1/stats", guarded(stats));
  r.get("/v1/orders", guarded([&svc](http::request& req) {
          std::optional<order_status> status;
          if (auto q = req.query_param("status"); q && !q->empty()) {
            status = parse_order_status(*q);
            if (!status)
              throw api_error(400, "invalid_parameter",
                              "status must be one of created, inventory_confirmed, "
                              "payment_completed, notification_sent, shipped, "
                              "inventory_rejected, payment_failed, cancelled",
                              "status");
          }
          const auto limit = http::query_int(req, "limit", 1, 1000).value_or(50);
          const auto offset = http::query_int(req, "offset", 0, 1'000'000'000).value_or(0);
          std::size_t total = 0;
          const auto page = svc.view().list(status, static_cast<std::size_t>(limit),
                                            static_cast<std::size_t>(offset), &total);
          return json_reply(200, [&](json_writer& w) {
            w.begin_object();
            w.key("orders");
            w.begin_array();
            for (const auto& v : page)
              write_v1_order(w, v);
            w.end_array();
            w.key("total");
            w.int64(static_cast<std::int64_t>(total));
            w.key("limit");
            w.int64(limit);
            w.key("offset");
            w.int64(offset);
            w.end_object();
          });
        }));
  r.get("/v1/orders/{order_id}", guarded([&svc](http::request& req) {
          return http::json_response(200, v1_order_json(find_order(svc, req.param("order_id"))));
        }));
}

}  // namespace eventshop::services
