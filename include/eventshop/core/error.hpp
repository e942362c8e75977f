// eventshop/core/error.hpp - the library's error codes and its one exception type.
//
// Every failure eventshop reports is an `eventshop::errc` inside a std::error_code of
// `eventshop::error_category()`. Functions that throw, throw `eventshop::error` (a
// std::system_error), whose what() names the thing that was wrong. Where failure is routine
// (decoding input from the outside), a non-throwing overload returns a result instead.
#pragma once

#include <string>
#include <system_error>
#include <utility>

namespace eventshop {

enum class errc {
  ok = 0,
  invalid_argument = 1,  // a caller passed a value outside the documented range
  malformed_event,       // an envelope or payload is not valid JSON / not an object
  missing_attribute,     // a required envelope attribute or payload field is absent
  wrong_type,            // an attribute or field has the wrong JSON type or format
  too_large,             // over the configured size limit
  unknown_event_type,    // no decoder registered for the event's `type`
  unsupported_version,   // schema version newer than this build understands, or no upcaster
  closed,                // the bus or subscription is closed
  timeout,               // a deadline passed
  conflict,              // optimistic concurrency: expected version did not match
  not_found,             // unknown stream, id, or resource
  io_error,              // the file system or the network failed
  backend_error,         // a backend (SQLite, Kafka) reported an error
  handler_failed,        // a subscriber's handler threw
  queue_full,            // a bounded queue refused an item
};

const std::error_category& error_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

// True for failures that may succeed when tried again (timeouts, busy backends, I/O), false
// for failures that will fail the same way every time (malformed input, unknown type).
bool is_retriable(std::error_code ec) noexcept;

// The one exception type. Thread safety: immutable after construction.
class error : public std::system_error {
 public:
  error(errc code, std::string what) : error(make_error_code(code), std::move(what)) {}
  error(std::error_code code, std::string what)
      : std::system_error(code, what), what_(std::move(what)) {}

  // Exactly the message given (std::system_error would append ": <code message>").
  const char* what() const noexcept override { return what_.c_str(); }
  bool retriable() const noexcept { return is_retriable(code()); }

 private:
  std::string what_;
};

}  // namespace eventshop

template <>
struct std::is_error_code_enum<eventshop::errc> : std::true_type {};
