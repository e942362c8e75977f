// Routes of the payment, notification and shipping services.
#include "common/api_error.hpp"
#include "host/http_support.hpp"
#include "host/routes.hpp"

namespace eventshop::services {

namespace {

void write_notification(json_writer& w, const ecommerce::NotificationSent& n) {
  w.begin_object();
  w.key("order_id");
  w.string(n.order_id);
  w.key("kind");
  w.string(n.kind);
  w.key("channel");
  w.string(n.channel);
  w.key("message");
  w.string(n.message);
  w.key("sent_at");
  w.string(format_rfc3339(n.sent_at));
  w.end_object();
}

void write_shipment(json_writer& w, const shipping::shipment& s) {
  w.begin_object();
  w.key("order_id");
  w.string(s.order_id);
  w.key("tracking_number");
  w.string(s.tracking_number);
  w.key("carrier");
  w.string(s.carrier);
  w.key("status");
  w.string("shipped");
  w.key("estimated_delivery_days");
  w.int64(s.estimated_delivery_days);
  w.key("shipped_at");
  w.string(format_rfc3339(s.shipped_at));
  w.key("estimated_delivery");
  w.string(format_rfc3339(s.estimated_delivery));
  w.end_object();
}

}  // namespace

void add_payment_routes(http::router& r, payment::payment_service& svc) {
  r.get("/prices", guarded([&svc](http::request&) {
          return json_reply(200, [&](json_writer& w) {
            w.begin_object();
            w.key("prices");
            w.begin_object();
            for (const auto& p : svc.domain().prices().products()) {
              w.key(p.id);
              w.cents(p.price.cents);
            }
            w.end_object();
            w.key("currency");
            w.string("USD");
            w.key("limit");
            w.cents(svc.domain().config().limit.cents);
            w.end_object();
          });
        }));
  r.get("/v1/payments/{order_id}", guarded([&svc](http::request& req) {
          const std::string id(req.param("order_id"));
          const auto p = svc.domain().find(id);
          if (!p) throw api_error(404, "payment_not_found", "no payment for order '" + id + "'");
          return json_reply(200, [&](json_writer& w) {
            w.begin_object();
            w.key("order_id");
            w.string(p->order_id);
            w.key("status");
            w.string(p->status);
            w.key("payment_id");
            if (p->payment_id.empty())
              w.null();
            else
              w.string(p->payment_id);
            w.key("amount");
            w.cents(p->amount.cents);
            w.key("currency");
            w.string(p->currency);
            if (!p->reason.empty()) {
              w.key("reason");
              w.string(p->reason);
            }
            w.key("processed_at");
            w.string(format_rfc3339(p->processed_at));
            if (p->refunded_at) {
              w.key("refunded_at");
              w.string(format_rfc3339(*p->refunded_at));
            }
            w.end_object();
          });
        }));
}

void add_notification_routes(http::router& r, notification::notification_service& svc) {
  auto list = [&svc](http::request& req) {
    std::string order_id;
    if (auto q = req.query_param("order_id")) order_id = *q;
    const auto limit = http::query_int(req, "limit", 1, 10'000).value_or(1000);
    const auto items = svc.domain().list(order_id, static_cast<std::size_t>(limit));
    return json_reply(200, [&](json_writer& w) {
      w.begin_object();
      w.key("notifications");
      w.begin_array();
      for (const auto& n : items)
        write_notification(w, n);
      w.end_array();
      w.key("count");
      w.int64(static_cast<std::int64_t>(items.size()));
      w.end_object();
    });
  };
  r.get("/notifications", guarded(list));
  r.get("/v1/notifications", guarded(list));
}

void add_shipping_routes(http::router& r, shipping::shipping_service& svc) {
  r.get("/shipments", guarded([&svc](http::request&) {
          const auto all = svc.domain().list();
          return json_reply(200, [&](json_writer& w) {
            w.begin_object();
            w.key("shipments");
            w.begin_array();
            for (const auto& s : all)
              write_shipment(w, s);
            w.end_array();
            w.end_object();
          });
        }));
  r.get("/track/{tracking_number}", guarded([&svc](http::request& req) {
          const std::string tn(req.param("tracking_number"));
          const auto s = svc.domain().find_by_tracking(tn);
          if (!s)
            throw api_error(404, "shipment_not_found",
                            "no shipment with tracking number '" + tn + "'");
          return json_reply(200, [&](json_writer& w) { write_shipment(w, *s); });
        }));
  r.get("/v1/shipments/{order_id}", guarded([&svc](http::request& req) {
          const std::string id(req.param("order_id"));
          const auto s = svc.domain().find(id);
          if (!s) throw api_error(404, "shipment_not_found", "no shipment for order '" + id + "'");
          return json_reply(200, [&](json_writer& w) { write_shipment(w, *s); });
        }));
}

}  // namespace eventshop::services
