#include "order/order_request.hpp"

#include "eventshop/core/error.hpp"
#include "eventshop/core/json.hpp"

namespace eventshop::services::order {

using namespace eventshop::ecommerce;

namespace {

json_document parse_object(std::string_view body) {
  if (body.empty())
    throw api_error(400, "invalid_json", "request body is empty; expected a JSON object");
  try {
    json_document doc(body);
    if (!doc.root().is_object())
      throw api_error(400, "invalid_json", "request body must be a JSON object");
    return doc;
  } catch (const eventshop::error& e) {
    throw api_error(400, "invalid_json",
                    std::string("request body is not valid JSON: ") + e.what());
  }
}

bool printable(std::string_view s) {
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f) return false;
  return true;
}

std::string read_id(json_view v, const std::string& field, bool required) {
  if (!v.present() || v.is_null()) {
    if (required) throw api_error(400, "missing_field", field + " is required", field);
    return {};
  }
  if (!v.is_string()) throw api_error(400, "invalid_type", field + " must be a string", field);
  std::string s(v.as_string());
  if (s.empty()) throw api_error(400, "invalid_value", field + " must not be empty", field);
  if (s.size() > 128)
    throw api_error(400, "invalid_value", field + " must be at most 128 characters", field);
  if (!printable(s))
    throw api_error(400, "invalid_value", field + " must not contain control characters", field);
  return s;
}

int read_quantity(json_view v, const std::string& field) {
  if (!v.present() || v.is_null())
    throw api_error(400, "missing_field", field + " is required", field);
  if (!v.is_number() || v.is_bool())
    throw api_error(400, "invalid_type", field + " must be an integer", field);
  if (!v.is_integer()) {
    // A number with a fraction (2.5) or one too big for int64.
    const double d = v.as_double();
    if (d == static_cast<double>(static_cast<long long>(d)) && d >= -1e15 && d <= 1e15)
      throw api_error(400, "invalid_type", field + " must be an integer without a decimal point",
                      field);
    if (d > 0 && d >= 1e15)
      throw api_error(400, "out_of_range",
                      field + " must be from 1 to " + std::to_string(max_quantity), field);
    throw api_error(400, "invalid_type", field + " must be an integer", field);
  }
  const std::int64_t q = v.as_int64();
  if (q < 1 || q > max_quantity)
    throw api_error(
        400, "out_of_range",
        field + " must be from 1 to " + std::to_string(max_quantity) + ", got " + std::to_string(q),
        field);
  return static_cast<int>(q);
}

void check_products(const order_request& r, const catalog& products,
                    const std::vector<std::string>& fields) {
  for (std::size_t i = 0; i < r.items.size(); ++i)
    if (!products.find(r.items[i].product_id))
      throw api_error(422, "unknown_product", "unknown product '" + r.items[i].product_id + "'",
                      fields[i]);
}

}  // namespace

order_request parse_seed_order(std::string_view body, const catalog& products) {
  const auto doc = parse_object(body);
  const auto root = doc.root();
  order_request r;
  r.customer_id = read_id(root["customer_id"], "customer_id", false);
  if (r.customer_id.empty()) r.customer_id = "guest";
  StockItem item;
  item.product_id = read_id(root["product_id"], "product_id", true);
  item.quantity = read_quantity(root["quantity"], "quantity");
  r.items.push_back(std::move(item));
  check_products(r, products, {"product_id"});
  return r;
}

order_request parse_v1_order(std::string_view body, const catalog& products) {
  const auto doc = parse_object(body);
  const auto root = doc.root();
  order_request r;
  r.customer_id = read_id(root["customer_id"], "customer_id", false);
  if (r.customer_id.empty()) r.customer_id = "guest";
  const json_view items = root["items"];
  if (!items.present() || items.is_null())
    throw api_error(400, "missing_field", "items is required", "items");
  if (!items.is_array()) throw api_error(400, "invalid_type", "items must be an array", "items");
  if (items.size() == 0)
    throw api_error(400, "invalid_value", "items must contain at least one item", "items");
  if (items.size() > static_cast<std::size_t>(max_items))
    throw api_error(400, "out_of_range",
                    "items must contain at most " + std::to_string(max_items) + " items", "items");
  std::vector<std::string> fields;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const std::string prefix = "items[" + std::to_string(i) + "]";
    const json_view it = items.at(i);
    if (!it.is_object())
      throw api_error(400, "invalid_type", prefix + " must be an object", prefix);
    StockItem item;
    item.product_id = read_id(it["product_id"], prefix + ".product_id", true);
    item.quantity = read_quantity(it["quantity"], prefix + ".quantity");
    r.items.push_back(std::move(item));
    fields.push_back(prefix + ".product_id");
  }
  check_products(r, products, fields);
  return r;
}

std::string parse_cancel_reason(std::string_view body) {
  bool blank = true;
  for (char c : body)
    if (c != ' ' && c != '\n' && c != '\r' && c != '\t') blank = false;
  if (blank) return {};
  const auto doc = parse_object(body);
  const json_view reason = doc.root()["reason"];
  if (!reason.present() || reason.is_null()) return {};
  if (!reason.is_string())
    throw api_error(400, "invalid_type", "reason must be a string", "reason");
  std::string s(reason.as_string());
  if (s.size() > 500)
    throw api_error(400, "invalid_value", "reason must be at most 500 characters", "reason");
  return s;
}

void validate_idempotency_key(std::string_view key) {
  if (key.empty() || key.size() > 255)
    throw api_error(400, "invalid_idempotency_key", "Idempotency-Key must be 1 to 255 characters",
                    "Idempotency-Key");
  for (unsigned char c : key)
    if (c < 0x21 || c > 0x7e)
      throw api_error(400, "invalid_idempotency_key",
                      "Idempotency-Key must contain only visible ASCII characters",
                      "Idempotency-Key");
}

OrderCreated make_order_created(const std::string& order_id, const order_request& r,
                                const catalog& products) {
  OrderCreated c;
  c.order_id = order_id;
  c.customer_id = r.customer_id;
  c.currency = "USD";
  for (const auto& it : r.items) {
    const product_info* p = products.find(it.product_id);
    const money price = p ? p->price : money{0};
    c.items.push_back(OrderItem{it.product_id, it.quantity, price});
    c.total = c.total + price * it.quantity;
  }
  if (!c.items.empty()) {
    c.product_id = c.items.front().product_id;
    c.quantity = c.items.front().quantity;
  }
  return c;
}

std::string request_fingerprint(const order_request& r) {
  std::string s = r.customer_id;
  for (const auto& it : r.items)
    s += "|" + it.product_id + "*" + std::to_string(it.quantity);
  return s;
}

}  // namespace eventshop::services::order
