#include "common/api_error.hpp"
#include "host/http_support.hpp"
#include "host/routes.hpp"

namespace eventshop::services {

namespace {

// The answer of the request that created the order: the order as it was then.
order_view as_created(order_view v) {
  std::vector<timeline_entry> first;
  for (auto& e : v.events)
    if (e.type == "OrderCreated") first.push_back(e);
  v.events = std::move(first);
  v.status = order_status::created;
  v.tracking_number.clear();
  v.carrier.clear();
  v.estimated_delivery_days = 0;
  v.payment_amount.reset();
  v.refunded = v.stock_released = false;
  v.failure_reason.clear();
  v.completed_at.reset();
  v.last_updated = v.created_at;
  return v;
}

std::string idempotency_key(const http::request& req) {
  auto k = req.header("Idempotency-Key");
  if (!k) return {};
  if (k->empty())
    throw api_error(400, "invalid_idempotency_key", "Idempotency-Key must not be empty",
                    "Idempotency-Key");
  order::validate_idempotency_key(*k);
  return std::string(*k);
}

}  // namespace

void add_order_routes(http::router& r, order::order_service& svc) {
  // Seed: like the original (Gin's ShouldBindJSON), the body is read as JSON whatever the
  // Content-Type says, so its curl calls work unchanged.
  r.post("/order", guarded([&svc](http::request& req) {
           const auto request = order::parse_seed_order(req.body, svc.products());
           const auto key = idempotency_key(req);
           bool replayed = false;
           // A seed order has one item; a replay's first request had the same one.
           const std::string id = svc.create_id(request, key, &replayed);
           const auto& item = request.items.front();
           return json_reply(201, [&](json_writer& w) {
             w.begin_object();
             w.key("order_id");
             w.string(id);
             w.key("product_id");
             w.string(item.product_id);
             w.key("quantity");
             w.int64(item.quantity);
             w.key("status");
             w.string("created");
             w.end_object();
           });
         }));
  r.post("/v1/orders", guarded([&svc](http::request& req) {
           require_json(req);
           const auto key = idempotency_key(req);
           const auto request = order::parse_v1_order(req.body, svc.products());
           bool replayed = false;
           const auto v = svc.create(request, key, &replayed);
           auto res = http::json_response(201, v1_order_json(as_created(v)));
           res.set_header("Location", "/v1/orders/" + v.order_id);
           if (replayed) res.set_header("Idempotent-Replayed", "true");
           return res;
         }));
  r.post("/v1/orders/{id}/cancel", guarded([&svc](http::request& req) {
           if (!req.body.empty() && !req.content_type().empty()) require_json(req);
           const std::string reason = order::parse_cancel_reason(req.body);
           const std::string id(req.param("id"));
           svc.request_cancel(id, reason);
           return json_reply(202, [&](json_writer& w) {
             w.begin_object();
             w.key("order_id");
             w.string(id);
             w.key("status");
             w.string("cancellation_requested");
             w.end_object();
           });
         }));
  // The order as the order service knows it (the status service has the full read model).
  r.get("/v1/orders/{id}", guarded([&svc](http::request& req) {
          const auto v = svc.view().get(std::string(req.param("id")));
          if (!v || !v->known)
            throw api_error(404, "order_not_found",
                            "no order with id '" + std::string(req.param("id")) + "'");
          return http::json_response(200, v1_order_json(*v));
        }));
}

}  // namespace eventshop::services
