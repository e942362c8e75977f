// The CONTRACT §4 error body, JSON request bodies and field readers.
#include "eventshop/http/json.hpp"

#include <charconv>

#include "eventshop/core/error.hpp"

namespace eventshop::http {

response error_response(int status, std::string_view code, std::string_view message,
                        std::string_view field) {
  std::string body;
  body.reserve(64 + code.size() + message.size() + field.size());
  body += R"({"error":{"code":)";
  append_json_string(body, code);
  body += R"(,"message":)";
  append_json_string(body, message);
  if (!field.empty()) {
    body += R"(,"field":)";
    append_json_string(body, field);
  }
  body += "}}";
  return response::json(status, std::move(body));
}

response json_response(int status, const json_writer& w) {
  return response::json(status, std::string(w.view()));
}

json_document parse_json_body(const request& req) {
  std::string ct = req.content_type();
  bool json_type =
      ct == "application/json" || (ct.starts_with("application/") && ct.ends_with("+json"));
  if (!json_type) {
    throw http_error(415, "unsupported_media_type",
                     ct.empty() ? "Content-Type must be application/json (none was sent)"
                                : "Content-Type must be application/json, not " + ct);
  }
  if (req.body.empty()) throw http_error(400, "malformed_json", "the request body is empty");
  try {
    json_document doc(req.body);
    if (!doc.root().is_object()) {
      throw http_error(400, "invalid_body", "the request body must be a JSON object");
    }
    return doc;
  } catch (const eventshop::error& e) {
    throw http_error(400, "malformed_json",
                     std::string("the request body is not valid JSON: ") + e.what());
  }
}

namespace {
[[noreturn]] void missing(std::string_view name) {
  throw http_error(400, "missing_field", "field '" + std::string(name) + "' is required",
                   std::string(name));
}
[[noreturn]] void invalid(std::string_view name, const std::string& why) {
  throw http_error(400, "invalid_field", "field '" + std::string(name) + "' " + why,
                   std::string(name));
}
std::string range_text(std::int64_t min, std::int64_t max) {
  return "must be an integer from " + std::to_string(min) + " to " + std::to_string(max);
}
}  // namespace

std::optional<std::string> optional_string(json_view obj, std::string_view name,
                                           std::size_t max_length) {
  json_view v = obj[name];
  if (!v.present() || v.is_null()) return std::nullopt;
  if (!v.is_string()) invalid(name, "must be a string");
  std::string_view s = v.as_string();
  if (s.empty()) invalid(name, "must not be empty");
  if (s.size() > max_length) {
    invalid(name, "must be at most " + std::to_string(max_length) + " characters");
  }
  return std::string(s);
}

std::string require_string(json_view obj, std::string_view name, std::size_t max_length) {
  auto s = optional_string(obj, name, max_length);
  if (!s) missing(name);
  return *s;
}

std::optional<std::int64_t> optional_int(json_view obj, std::string_view name, std::int64_t min,
                                         std::int64_t max) {
  json_view v = obj[name];
  if (!v.present() || v.is_null()) return std::nullopt;
  if (!v.is_number()) invalid(name, range_text(min, max));
  if (!v.is_integer()) invalid(name, range_text(min, max));
  std::int64_t i = v.as_int64();
  if (i < min || i > max) invalid(name, range_text(min, max));
  return i;
}

std::int64_t require_int(json_view obj, std::string_view name, std::int64_t min, std::int64_t max) {
  auto i = optional_int(obj, name, min, max);
  if (!i) missing(name);
  return *i;
}

json_view require_array(json_view obj, std::string_view name, std::size_t max_items) {
  json_view v = obj[name];
  if (!v.present() || v.is_null()) missing(name);
  if (!v.is_array()) invalid(name, "must be an array");
  if (v.size() > max_items) {
    invalid(name, "must have at most " + std::to_string(max_items) + " elements");
  }
  return v;
}

std::optional<std::int64_t> query_int(const request& req, std::string_view name, std::int64_t min,
                                      std::int64_t max) {
  auto text = req.query_param(name);
  if (!text) return std::nullopt;
  std::int64_t value = 0;
  const char* end = text->data() + text->size();
  auto [ptr, ec] = std::from_chars(text->data(), end, value);
  if (text->empty() || ec != std::errc{} || ptr != end || value < min || value > max) {
    throw http_error(400, "invalid_parameter",
                     "query parameter '" + std::string(name) + "' " + range_text(min, max),
                     std::string(name));
  }
  return value;
}

}  // namespace eventshop::http
