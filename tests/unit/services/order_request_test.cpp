// Validation of order requests: every malformed input gets the documented status, code and field.
#include <gtest/gtest.h>

#include "order/order_request.hpp"

using namespace eventshop::services;
using namespace eventshop::services::order;

namespace {
struct bad_case {
  const char* body;
  int status;
  const char* code;
  const char* field;
};

void expect_error(const bad_case& c, bool v1) {
  const catalog products;
  try {
    if (v1)
      (void)parse_v1_order(c.body, products);
    else
      (void)parse_seed_order(c.body, products);
    ADD_FAILURE() << "accepted: " << c.body;
  } catch (const api_error& e) {
    EXPECT_EQ(e.status(), c.status) << c.body << " -> " << e.what();
    EXPECT_EQ(e.code(), c.code) << c.body;
    EXPECT_EQ(e.field(), c.field) << c.body;
    EXPECT_NE(e.to_json().find("\"error\""), std::string::npos);
  }
}
}  // namespace

TEST(OrderRequest, SeedAccepted) {
  const auto r = parse_seed_order(R"({"product_id":"product-1","quantity":2})", catalog{});
  ASSERT_EQ(r.items.size(), 1u);
  EXPECT_EQ(r.items[0].quantity, 2);
  EXPECT_EQ(r.customer_id, "guest");
  const auto c = make_order_created("o1", r, catalog{});
  EXPECT_EQ(c.total.cents, 5998);
  EXPECT_EQ(c.product_id, "product-1");
  EXPECT_EQ(c.quantity, 2);
  EXPECT_EQ(c.items[0].unit_price.cents, 2999);
}

TEST(OrderRequest, V1Accepted) {
  const auto r = parse_v1_order(
      R"({"customer_id":"c-7","items":[{"product_id":"product-2","quantity":1},{"product_id":"product-3","quantity":1000}]})",
      catalog{});
  EXPECT_EQ(r.customer_id, "c-7");
  EXPECT_EQ(r.items.size(), 2u);
  EXPECT_EQ(make_order_created("o", r, catalog{}).total.cents, 4999 + 9999 * 1000);
}

TEST(OrderRequest, SeedRejected) {
  const bad_case cases[] = {
      {"", 400, "invalid_json", ""},
      {"{", 400, "invalid_json", ""},
      {"[]", 400, "invalid_json", ""},
      {"\"x\"", 400, "invalid_json", ""},
      {"{}", 400, "missing_field", "product_id"},
      {R"({"product_id":"product-1"})", 400, "missing_field", "quantity"},
      {R"({"product_id":1,"quantity":1})", 400, "invalid_type", "product_id"},
      {R"({"product_id":"","quantity":1})", 400, "invalid_value", "product_id"},
      {R"({"product_id":"product-1","quantity":"2"})", 400, "invalid_type", "quantity"},
      {R"({"product_id":"product-1","quantity":2.5})", 400, "invalid_type", "quantity"},
      {R"({"product_id":"product-1","quantity":true})", 400, "invalid_type", "quantity"},
      {R"({"product_id":"product-1","quantity":0})", 400, "out_of_range", "quantity"},
      {R"({"product_id":"product-1","quantity":-1})", 400, "out_of_range", "quantity"},
      {R"({"product_id":"product-1","quantity":1001})", 400, "out_of_range", "quantity"},
      {R"({"product_id":"product-1","quantity":99999999999999999999})", 400, "out_of_range",
       "quantity"},
      {R"({"product_id":"nope","quantity":1})", 422, "unknown_product", "product_id"},
  };
  for (const auto& c : cases)
    expect_error(c, false);
}

TEST(OrderRequest, V1Rejected) {
  std::string fifty_one = R"({"items":[)";
  for (int i = 0; i < 51; ++i)
    fifty_one += std::string(i ? "," : "") + R"({"product_id":"product-1","quantity":1})";
  fifty_one += "]}";
  const bad_case cases[] = {
      {"{}", 400, "missing_field", "items"},
      {R"({"items":null})", 400, "missing_field", "items"},
      {R"({"items":{}})", 400, "invalid_type", "items"},
      {R"({"items":[]})", 400, "invalid_value", "items"},
      {fifty_one.c_str(), 400, "out_of_range", "items"},
      {R"({"items":[1]})", 400, "invalid_type", "items[0]"},
      {R"({"items":[{"quantity":1}]})", 400, "missing_field", "items[0].product_id"},
      {R"({"items":[{"product_id":"product-1","quantity":1},{"product_id":"product-1","quantity":0}]})",
       400, "out_of_range", "items[1].quantity"},
      {R"({"items":[{"product_id":"product-1","quantity":1},{"product_id":"ghost","quantity":1}]})",
       422, "unknown_product", "items[1].product_id"},
      {R"({"customer_id":5,"items":[{"product_id":"product-1","quantity":1}]})", 400,
       "invalid_type", "customer_id"},
  };
  for (const auto& c : cases)
    expect_error(c, true);
}

TEST(OrderRequest, IdempotencyKeys) {
  EXPECT_NO_THROW(validate_idempotency_key("abc-123_XYZ.:"));
  EXPECT_THROW(validate_idempotency_key(""), api_error);
  EXPECT_THROW(validate_idempotency_key(std::string(256, 'a')), api_error);
  EXPECT_THROW(validate_idempotency_key("has space"), api_error);
  EXPECT_THROW(validate_idempotency_key("tab\there"), api_error);
}

TEST(OrderRequest, CancelReason) {
  EXPECT_EQ(parse_cancel_reason(""), "");
  EXPECT_EQ(parse_cancel_reason(R"({"reason":"late"})"), "late");
  EXPECT_THROW(parse_cancel_reason("{bad"), api_error);
  EXPECT_THROW(parse_cancel_reason(R"({"reason":3})"), api_error);
}
