#include "eventshop/core/error.hpp"

namespace eventshop {
namespace {

class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "eventshop"; }

  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::ok:
        return "success";
      case errc::invalid_argument:
        return "invalid argument";
      case errc::malformed_event:
        return "malformed event";
      case errc::missing_attribute:
        return "missing attribute";
      case errc::wrong_type:
        return "wrong type";
      case errc::too_large:
        return "too large";
      case errc::unknown_event_type:
        return "unknown event type";
      case errc::unsupported_version:
        return "unsupported schema version";
      case errc::closed:
        return "closed";
      case errc::timeout:
        return "timed out";
      case errc::conflict:
        return "version conflict";
      case errc::not_found:
        return "not found";
      case errc::io_error:
        return "I/O error";
      case errc::backend_error:
        return "backend error";
      case errc::handler_failed:
        return "handler failed";
      case errc::queue_full:
        return "queue full";
    }
    return "unknown eventshop error";
  }
};

}  // namespace

const std::error_category& error_category() noexcept {
  static const category instance;
  return instance;
}

bool is_retriable(std::error_code ec) noexcept {
  if (ec.category() != error_category()) return true;  // foreign errors: assume transient
  switch (static_cast<errc>(ec.value())) {
    case errc::timeout:
    case errc::io_error:
    case errc::backend_error:
    case errc::handler_failed:
    case errc::queue_full:
    case errc::conflict:
      return true;
    default:
      return false;
  }
}

}  // namespace eventshop
