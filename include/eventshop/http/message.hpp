// eventshop/http/message.hpp - the request and response an eventshop::http handler sees.
//
// Plain value types without any Boost.Beast in them, so that services including this header stay
// cheap to compile. A `request` is filled by the server (method, decoded path, raw query, headers,
// body, path parameters of the matched route, request id) and handed to exactly one handler; a
// `response` is what the handler returns. Header names compare case-insensitively.
// Thread safety: distinct objects safe, shared objects unsafe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace eventshop::http {

enum class method { get, head, post, put, patch, del, options, other };

// "GET", "POST", ... ("DELETE" for method::del, "OTHER" for method::other).
std::string_view to_string(method m) noexcept;
// The method for an upper-case token ("GET"); method::other for anything else.
method parse_method(std::string_view token) noexcept;

// The standard reason phrase of a status code ("Not Found"), or "" for an unknown one.
std::string_view reason_phrase(int status) noexcept;

using header_list = std::vector<std::pair<std::string, std::string>>;

// Case-insensitive ASCII comparison, as header names need.
bool iequals(std::string_view a, std::string_view b) noexcept;

// Percent-decodes `text` ('+' becomes a space when `plus_as_space`). Returns nullopt for a broken
// escape ("%4" or "%zz") or an encoded NUL.
std::optional<std::string> url_decode(std::string_view text, bool plus_as_space = false);

class request {
 public:
  http::method method = method::get;
  std::string method_name;  // the token as received ("GET", "PURGE", ...)
  std::string target;       // the raw request target ("/v1/orders?status=created")
  std::string path;         // percent-decoded path without the query ("/v1/orders")
  std::string query;        // raw query string without '?' ("status=created")
  header_list headers;      // in arrival order, names as sent
  std::string body;
  std::string remote_address;  // "127.0.0.1:53412"
  std::string request_id;      // X-Request-Id as received (if acceptable) or generated
  std::string traceparent;     // W3C traceparent as received (if valid) or generated
  // Path parameters of the matched route, in pattern order ({"id", "42"}).
  std::vector<std::pair<std::string, std::string>> params;

  // The first header of that name, or nullopt.
  std::optional<std::string_view> header(std::string_view name) const noexcept;
  // The value of path parameter `name` ("" if the route has none of that name).
  std::string_view param(std::string_view name) const noexcept;
  // The first query parameter of that name, percent-decoded ('+' = space); nullopt when absent
  // or when its encoding is broken.
  std::optional<std::string> query_param(std::string_view name) const;
  // The media type of Content-Type, lower-cased, without parameters ("application/json").
  std::string content_type() const;
};

class response {
 public:
  int status = 200;
  header_list headers;
  std::string body;

  response() = default;
  response(int status_code, std::string body_text, std::string_view content_type);

  // Replaces every header of that name with one `name: value`.
  response& set_header(std::string_view name, std::string_view value);
  // Adds a header without removing others of the same name.
  response& add_header(std::string_view name, std::string_view value);
  std::optional<std::string_view> header(std::string_view name) const noexcept;

  // Body `json` (already-encoded JSON), Content-Type application/json.
  static response json(int status_code, std::string json);
  // Content-Type text/plain; charset=utf-8.
  static response text(int status_code, std::string text);
  // No body (204 and friends, or an empty 200).
  static response empty(int status_code);
};

}  // namespace eventshop::http
