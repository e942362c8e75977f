// services/order/order_request.hpp - parsing and validating order requests (CONTRACT §3, §4),
// with no transport: JSON text in, a validated request or an api_error out.
//
//   seed: POST /order      {"product_id":"product-1","quantity":2}
//   v1:   POST /v1/orders  {"customer_id":"c-1","items":[{"product_id":"product-1","quantity":2}]}
//
// 400 for malformed JSON, a body that is not an object, missing fields, wrong types and
// out-of-range values (quantity 1..1000, 1..50 items, ids of 1..128 printable characters);
// 422 for a product the catalog does not have. Each error names the field.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/api_error.hpp"
#include "common/catalog.hpp"
#include "eventshop/ecommerce/events.hpp"

namespace eventshop::services::order {

struct order_request {
  std::string customer_id;  // "guest" when absent
  std::vector<ecommerce::StockItem> items;
};

// Throw api_error.
order_request parse_seed_order(std::string_view body, const catalog& products);
order_request parse_v1_order(std::string_view body, const catalog& products);

// Optional cancellation body {"reason": "..."}; empty body = no reason.
std::string parse_cancel_reason(std::string_view body);

// Idempotency-Key: 1..255 characters of visible ASCII. Throws api_error 400.
void validate_idempotency_key(std::string_view key);

// The OrderCreated an accepted request becomes (prices from the catalog).
ecommerce::OrderCreated make_order_created(const std::string& order_id, const order_request& r,
                                           const catalog& products);

// A stable fingerprint of a request, to tell a repeat from a different request with the same
// Idempotency-Key.
std::string request_fingerprint(const order_request& r);

}  // namespace eventshop::services::order
