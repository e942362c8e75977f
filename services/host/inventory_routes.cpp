#include "common/api_error.hpp"
#include "eventshop/core/error.hpp"
#include "host/http_support.hpp"
#include "host/routes.hpp"

namespace eventshop::services {

namespace {

void write_product(json_writer& w, const inventory::product_state& p, bool v1) {
  w.begin_object();
  w.key("product_id");
  w.string(p.info.id);
  w.key("id");
  w.string(p.info.id);
  w.key("name");
  w.string(p.info.name);
  w.key("price");
  w.cents(p.info.price.cents);
  w.key("stock");
  w.int64(p.stock);
  w.key("alert_level");
  w.int64(p.info.alert_level);
  if (v1) {
    w.key("reserved");
    w.int64(p.reserved);
    w.key("initial_stock");
    w.int64(p.info.initial_stock);
    w.key("restocked");
    w.int64(p.restocked);
    w.key("low_stock");
    w.boolean(p.low);
  }
  w.end_object();
}

http::response product_list(inventory::inventory_service& svc, bool v1) {
  return json_reply(200, [&](json_writer& w) {
    w.begin_object();
    w.key("products");
    w.begin_array();
    for (const auto& p : svc.domain().products())
      write_product(w, p, v1);
    w.end_array();
    w.end_object();
  });
}

inventory::product_state find_product(inventory::inventory_service& svc, std::string_view id) {
  auto p = svc.domain().product(std::string(id));
  if (!p) throw api_error(404, "product_not_found", "no product with id '" + std::string(id) + "'");
  return *p;
}

}  // namespace

void add_inventory_routes(http::router& r, inventory::inventory_service& svc) {
  r.get("/inventory", guarded([&svc](http::request&) {
          return json_reply(200, [&](json_writer& w) {
            w.begin_object();
            w.key("inventory");
            w.begin_object();
            for (const auto& p : svc.domain().products()) {
              w.key(p.info.id);
              w.int64(p.stock);
            }
            w.end_object();
            w.end_object();
          });
        }));
  r.get("/products", guarded([&svc](http::request&) { return product_list(svc, false); }));
  r.get("/products/{id}", guarded([&svc](http::request& req) {
          const auto p = find_product(svc, req.param("id"));
          return json_reply(200, [&](json_writer& w) { write_product(w, p, false); });
        }));
  r.get("/v1/products", guarded([&svc](http::request&) { return product_list(svc, true); }));
  r.get("/v1/products/{id}", guarded([&svc](http::request& req) {
          const auto p = find_product(svc, req.param("id"));
          return json_reply(200, [&](json_writer& w) { write_product(w, p, true); });
        }));
  r.get("/v1/products/{id}/history", guarded([&svc](http::request& req) {
          const auto p = find_product(svc, req.param("id"));
          const auto limit = http::query_int(req, "limit", 1, 1000).value_or(100);
          const auto moves = svc.domain().history(p.info.id, static_cast<std::size_t>(limit));
          return json_reply(200, [&](json_writer& w) {
            w.begin_object();
            w.key("product_id");
            w.string(p.info.id);
            w.key("movements");
            w.begin_array();
            for (const auto& m : moves) {
              w.begin_object();
              w.key("kind");
              w.string(m.kind);
              w.key("quantity");
              w.int64(m.quantity);
              w.key("stock_after");
              w.int64(m.stock_after);
              if (!m.order_id.empty()) {
                w.key("order_id");
                w.string(m.order_id);
              }
              w.key("at");
              w.string(format_rfc3339(m.at));
              w.end_object();
            }
            w.end_array();
            w.end_object();
          });
        }));
  r.post("/v1/products/{id}/restock", guarded([&svc](http::request& req) {
           require_json(req);
           const std::string id(req.param("id"));
           (void)find_product(svc, id);
           json_document doc = [&] {
             try {
               json_document d(req.body);
               if (!d.root().is_object())
                 throw api_error(400, "invalid_json", "request body must be a JSON object");
               return d;
             } catch (const eventshop::error& e) {
               throw api_error(400, "invalid_json",
                               std::string("request body is not valid JSON: ") + e.what());
             }
           }();
           const json_view q = doc.root()["quantity"];
           if (!q.present() || q.is_null())
             throw api_error(400, "missing_field", "quantity is required", "quantity");
           if (!q.is_integer())
             throw api_error(400, "invalid_type", "quantity must be an integer", "quantity");
           const std::int64_t n = q.as_int64();
           if (n < 1 || n > 1'000'000)
             throw api_error(400, "out_of_range", "quantity must be from 1 to 1000000", "quantity");
           try {
             const auto ev = svc.restock(id, static_cast<int>(n));
             return json_reply(200, [&](json_writer& w) {
               w.begin_object();
               w.key("product_id");
               w.string(ev.product_id);
               w.key("stock");
               w.int64(ev.stock);
               w.key("quantity");
               w.int64(ev.quantity);
               w.end_object();
             });
           } catch (const eventshop::error& e) {
             if (e.code() == make_error_code(errc::invalid_argument))
               throw api_error(400, "out_of_range", e.what(), "quantity");
             if (e.code() == make_error_code(errc::not_found))
               throw api_error(404, "product_not_found", e.what());
             throw api_error(503, "unavailable", std::string("restock not recorded: ") + e.what());
           }
         }));
  r.get("/v1/alerts/low-stock", guarded([&svc](http::request&) {
          const auto low = svc.domain().low_stock();
          const auto alerts = svc.domain().alerts();
          return json_reply(200, [&](json_writer& w) {
            w.begin_object();
            w.key("alerts");
            w.begin_array();
            for (const auto& p : low) {
              w.begin_object();
              w.key("product_id");
              w.string(p.info.id);
              w.key("name");
              w.string(p.info.name);
              w.key("stock");
              w.int64(p.stock);
              w.key("alert_level");
              w.int64(p.info.alert_level);
              w.end_object();
            }
            w.end_array();
            w.key("history");
            w.begin_array();
            for (auto it = alerts.rbegin(); it != alerts.rend(); ++it) {
              w.begin_object();
              w.key("product_id");
              w.string(it->product_id);
              w.key("stock");
              w.int64(it->stock);
              w.key("alert_level");
              w.int64(it->alert_level);
              w.end_object();
            }
            w.end_array();
            w.end_object();
          });
        }));
}

}  // namespace eventshop::services
