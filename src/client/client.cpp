#include "eventshop/client/client.hpp"

#include <cpprest/http_client.h>
#include <cpprest/ws_client.h>

#include "eventshop/core/error.hpp"
#include "eventshop/core/json.hpp"

namespace eventshop::client {

namespace http = web::http;
namespace ws = web::websockets::client;

void client_options::validate() const {
  if (host.empty()) throw error(errc::invalid_argument, "client_options.host must not be empty");
  if (base_port < 1 || base_port > 65535 - 5)
    throw error(errc::invalid_argument, "client_options.base_port must be 1..65530");
  if (timeout.count() <= 0)
    throw error(errc::invalid_argument, "client_options.timeout must be positive");
}

struct shop_client::impl {
  client_options options;
  std::vector<std::unique_ptr<http::client::http_client>> clients;  // one per service

  std::string url(int index) const {
    return "http://" + options.host + ":" + std::to_string(options.base_port + index);
  }

  // Sends and returns the body; throws api_error for >= 400.
  std::string call(int service, const http::method& m, const std::string& path,
                   const std::string& body, int expected,
                   const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    http::http_request req(m);
    req.set_request_uri(path);
    for (const auto& [k, v] : headers)
      req.headers().add(k, v);
    if (!body.empty() || m == http::methods::POST) req.set_body(body, "application/json");
    std::string text;
    int status = 0;
    try {
      auto res = clients[static_cast<std::size_t>(service)]->request(req).get();
      status = res.status_code();
      text = res.extract_utf8string(true).get();
    } catch (const http::http_exception& e) {
      throw error(errc::io_error, url(service) + path + ": " + e.what());
    }
    if (status >= 400) {
      std::string code = "http_" + std::to_string(status), message = text, field;
      try {
        json_document doc(text);
        const auto err = doc.root()["error"];
        if (err["code"].is_string()) code = std::string(err["code"].as_string());
        if (err["message"].is_string()) message = std::string(err["message"].as_string());
        if (err["field"].is_string()) field = std::string(err["field"].as_string());
      } catch (const eventshop::error&) {
      }
      throw api_error(status, code, message, field);
    }
    if (expected != 0 && status != expected)
      throw api_error(status, "unexpected_status",
                      "expected " + std::to_string(expected) + ", got " + std::to_string(status),
                      {});
    return text;
  }
};

shop_client::shop_client(client_options options) : impl_(std::make_unique<impl>()) {
  options.validate();
  impl_->options = options;
  http::client::http_client_config cfg;
  cfg.set_timeout(std::chrono::duration_cast<std::chrono::seconds>(options.timeout) +
                  std::chrono::seconds(options.timeout.count() % 1000 ? 1 : 0));
  for (int i = 0; i < 6; ++i)
    impl_->clients.push_back(std::make_unique<http::client::http_client>(impl_->url(i), cfg));
}

shop_client::~shop_client() = default;

order_info shop_client::parse_order(const std::string& json) {
  json_document doc(json);
  const auto o = doc.root();
  order_info info;
  info.json = json;
  auto str = [](json_view v) { return v.is_string() ? std::string(v.as_string()) : std::string(); };
  info.order_id = str(o["order_id"]);
  info.status = str(o["status"]);
  info.product_id = str(o["product_id"]);
  if (o["quantity"].is_integer()) info.quantity = static_cast<int>(o["quantity"].as_int64());
  std::int64_t cents = 0;
  if (o["total"].is_number() && o["total"].to_cents(cents)) info.total_cents = cents;
  if (o["payment_amount"].is_number() && o["payment_amount"].to_cents(cents))
    info.payment_amount_cents = cents;
  info.tracking_number = str(o["tracking_number"]);
  info.carrier = str(o["carrier"]);
  const auto events = o["events"];
  if (events.is_array())
    for (std::size_t i = 0; i < events.size(); ++i)
      info.event_types.push_back(str(events.at(i)["event_type"]));
  return info;
}

order_info shop_client::create_order(const std::vector<order_line>& items,
                                     const std::string& customer_id, const std::string& key) {
  json_writer w;
  w.begin_object();
  if (!customer_id.empty()) {
    w.key("customer_id");
    w.string(customer_id);
  }
  w.key("items");
  w.begin_array();
  for (const auto& it : items) {
    w.begin_object();
    w.key("product_id");
    w.string(it.product_id);
    w.key("quantity");
    w.int64(it.quantity);
    w.end_object();
  }
  w.end_array();
  w.end_object();
  std::vector<std::pair<std::string, std::string>> headers;
  if (!key.empty()) headers.emplace_back("Idempotency-Key", key);
  return parse_order(impl_->call(0, http::methods::POST, "/v1/orders", w.str(), 201, headers));
}

std::string shop_client::create_seed_order(const std::string& product_id, int quantity) {
  json_writer w;
  w.begin_object();
  w.key("product_id");
  w.string(product_id);
  w.key("quantity");
  w.int64(quantity);
  w.end_object();
  return parse_order(impl_->call(0, http::methods::POST, "/order", w.str(), 201)).order_id;
}

void shop_client::cancel_order(const std::string& order_id, const std::string& reason) {
  json_writer w;
  w.begin_object();
  if (!reason.empty()) {
    w.key("reason");
    w.string(reason);
  }
  w.end_object();
  impl_->call(0, http::methods::POST,
              "/v1/orders/" +
                  utility::conversions::to_utf8string(web::uri::encode_data_string(order_id)) +
                  "/cancel",
              w.str(), 202);
}

order_info shop_client::get_order(const std::string& order_id) {
  return parse_order(impl_->call(
      5, http::methods::GET,
      "/v1/orders/" + utility::conversions::to_utf8string(web::uri::encode_data_string(order_id)),
      {}, 200));
}

std::map<std::string, int> shop_client::inventory() {
  const json_document doc(impl_->call(1, http::methods::GET, "/inventory", {}, 200));
  std::map<std::string, int> out;
  doc.root()["inventory"].for_each_member([&](std::string_view k, json_view v) {
    if (v.is_integer()) out[std::string(k)] = static_cast<int>(v.as_int64());
  });
  return out;
}

int shop_client::restock(const std::string& product_id, int quantity) {
  json_writer w;
  w.begin_object();
  w.key("quantity");
  w.int64(quantity);
  w.end_object();
  const json_document doc(impl_->call(
      1, http::methods::POST,
      "/v1/products/" +
          utility::conversions::to_utf8string(web::uri::encode_data_string(product_id)) +
          "/restock",
      w.str(), 200));
  return static_cast<int>(doc.root()["stock"].as_int64());
}

std::vector<shipment_info> shop_client::shipments() {
  const json_document doc(impl_->call(4, http::methods::GET, "/shipments", {}, 200));
  std::vector<shipment_info> out;
  const auto list = doc.root()["shipments"];
  for (std::size_t i = 0; i < list.size(); ++i) {
    const auto s = list.at(i);
    out.push_back({std::string(s["order_id"].as_string()),
                   std::string(s["tracking_number"].as_string()),
                   std::string(s["carrier"].as_string()),
                   static_cast<int>(s["estimated_delivery_days"].as_int64())});
  }
  return out;
}

struct order_subscription::impl {
  ws::websocket_callback_client client;
  bool open = false;
};

order_subscription::~order_subscription() {
  close();
}

void order_subscription::close() {
  if (impl_ && impl_->open) {
    impl_->open = false;
    try {
      impl_->client.close().wait();
    } catch (const std::exception&) {
    }
  }
  impl_.reset();
}

order_subscription shop_client::subscribe_order(const std::string& order_id,
                                                std::function<void(const order_info&)> on_update) {
  auto s = std::make_shared<order_subscription::impl>();
  s->client.set_message_handler(
      [cb = std::move(on_update)](const ws::websocket_incoming_message& m) {
        try {
          cb(parse_order(m.extract_string().get()));
        } catch (const std::exception&) {
          // A frame that is not an order is ignored.
        }
      });
  const std::string url =
      "ws://" + impl_->options.host + ":" + std::to_string(impl_->options.base_port + 5) + "/ws/" +
      utility::conversions::to_utf8string(web::uri::encode_data_string(order_id));
  try {
    s->client.connect(url).wait();
  } catch (const std::exception& e) {
    throw error(errc::io_error, url + ": " + e.what());
  }
  s->open = true;
  return order_subscription(std::move(s));
}

}  // namespace eventshop::client
