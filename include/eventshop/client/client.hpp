// eventshop/client/client.hpp - a typed C++ REST client for the reference services (CONTRACT §4,
// §5), on cpprestsdk (kept out of this header: pimpl).
//
//   eventshop::client::shop_client shop({.base_url = "http://127.0.0.1", .base_port = 8080});
//   auto order = shop.create_order({{"product-1", 2}});        // POST /v1/orders
//   auto sub = shop.subscribe_order(order.order_id, [](const order_info& o) { ... });  // /ws/{id}
//   shop.cancel_order(order.order_id);                          // 202, else throws api_error
//
// Every call is synchronous and throws `api_error` for an HTTP error answer (status, code,
// message, field from the JSON error body) and eventshop::error(io_error / timeout) when the
// service cannot be reached. Throughput is modest (cpprestsdk: a few thousand requests/s here);
// eventshop-loadgen does not use it. Thread safety: a shop_client may be shared by threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace eventshop::client {

struct client_options {
  std::string host = "127.0.0.1";
  int base_port = 8080;  // order; inventory +1 ... status +5 (CONTRACT §4)
  std::chrono::milliseconds timeout{10'000};

  void validate() const;  // throws eventshop::error(invalid_argument)
};

class api_error : public std::runtime_error {
 public:
  api_error(int status, std::string code, const std::string& message, std::string field)
      : std::runtime_error(message),
        status_(status),
        code_(std::move(code)),
        field_(std::move(field)) {}
  int status() const noexcept { return status_; }
  const std::string& code() const noexcept { return code_; }
  const std::string& field() const noexcept { return field_; }

 private:
  int status_;
  std::string code_;
  std::string field_;
};

struct order_line {
  std::string product_id;
  int quantity = 1;
};

struct order_info {
  std::string order_id;
  std::string status;
  std::string product_id;
  int quantity = 0;
  std::int64_t total_cents = 0;
  std::optional<std::int64_t> payment_amount_cents;
  std::string tracking_number;
  std::string carrier;
  std::vector<std::string> event_types;  // the timeline, oldest first
  std::string json;                      // the order as received
};

struct shipment_info {
  std::string order_id;
  std::string tracking_number;
  std::string carrier;
  int estimated_delivery_days = 0;
};

// An open order subscription; destroying or close()ing it closes the WebSocket.
class order_subscription {
 public:
  struct impl;
  explicit order_subscription(std::shared_ptr<impl> i) : impl_(std::move(i)) {}
  order_subscription(order_subscription&&) noexcept = default;
  order_subscription& operator=(order_subscription&&) noexcept = default;
  ~order_subscription();
  void close();

 private:
  std::shared_ptr<impl> impl_;
};

class shop_client {
 public:
  explicit shop_client(client_options options = {});
  ~shop_client();
  shop_client(const shop_client&) = delete;
  shop_client& operator=(const shop_client&) = delete;

  // POST /v1/orders (with Idempotency-Key when given); the created order.
  order_info create_order(const std::vector<order_line>& items, const std::string& customer_id = {},
                          const std::string& idempotency_key = {});
  // POST /order (seed): the new order's id.
  std::string create_seed_order(const std::string& product_id, int quantity);
  // POST /v1/orders/{id}/cancel: returns on 202.
  void cancel_order(const std::string& order_id, const std::string& reason = {});
  // GET /v1/orders/{id} on the status service.
  order_info get_order(const std::string& order_id);
  // GET /inventory.
  std::map<std::string, int> inventory();
  // POST /v1/products/{id}/restock: the new stock.
  int restock(const std::string& product_id, int quantity);
  // GET /shipments.
  std::vector<shipment_info> shipments();
  // The seed WebSocket /ws/{id}: `on_update` gets the order now (if known) and after every
  // change, on a cpprestsdk thread.
  order_subscription subscribe_order(const std::string& order_id,
                                     std::function<void(const order_info&)> on_update);

  // Parses an order object (seed or v1 JSON). Throws eventshop::error for malformed JSON.
  static order_info parse_order(const std::string& json);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace eventshop::client
