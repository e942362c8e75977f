// eventshop/http/json.hpp - JSON bodies and the error format of CONTRACT §4.
//
// Errors are answered as {"error":{"code":"<snake_case>","message":"<human text>","field":"..."}}
// ("field" only when one field is to blame). A handler can either return `error_response(...)` or
// throw `http_error`: the server turns an escaping http_error into exactly that response, an
// escaping eventshop::error into 400/404/409/413/500 by its errc, and anything else into a 500
// `internal_error` (logged; the message does not leak the exception text).
//
// `parse_json_body` checks Content-Type (415 `unsupported_media_type` unless application/json or
// a +json type) and syntax (400 `malformed_json`) and requires an object (400 `invalid_body`).
// The `require_*` / `optional_*` field readers throw 400 `invalid_field` (wrong type or range)
// or `missing_field` naming the field, so a handler validates input in one line per field.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "eventshop/core/json.hpp"
#include "eventshop/http/message.hpp"

namespace eventshop::http {

// An HTTP error a handler throws; becomes error_response(status, code, message, field).
class http_error : public std::runtime_error {
 public:
  http_error(int status, std::string code, const std::string& message, std::string field = {})
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

// {"error":{"code":..,"message":..[,"field":..]}} with Content-Type application/json.
response error_response(int status, std::string_view code, std::string_view message,
                        std::string_view field = {});
inline response error_response(const http_error& e) {
  return error_response(e.status(), e.code(), e.what(), e.field());
}

// 200/201/... with the writer's text as body.
response json_response(int status, const json_writer& w);
inline response json_response(int status, std::string json) {
  return response::json(status, std::move(json));
}

// Parses the request body as a JSON object (see the header comment for the errors thrown).
json_document parse_json_body(const request& req);

// Field readers on an object view. `name` is used as the error's `field`.
std::string require_string(json_view obj, std::string_view name, std::size_t max_length = 256);
std::optional<std::string> optional_string(json_view obj, std::string_view name,
                                           std::size_t max_length = 256);
// An integer (no fraction) in [min, max].
std::int64_t require_int(json_view obj, std::string_view name, std::int64_t min, std::int64_t max);
std::optional<std::int64_t> optional_int(json_view obj, std::string_view name, std::int64_t min,
                                         std::int64_t max);
// An array (possibly empty) of at most max_items elements.
json_view require_array(json_view obj, std::string_view name, std::size_t max_items);

// Parses a query parameter as an integer in [min, max]: nullopt when absent, 400
// `invalid_parameter` naming it when not an integer or out of range.
std::optional<std::int64_t> query_int(const request& req, std::string_view name, std::int64_t min,
                                      std::int64_t max);

}  // namespace eventshop::http
