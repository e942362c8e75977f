// services/common/api_error.hpp - the error answer of every service route (CONTRACT §4):
//   {"error":{"code":"<snake_case>","message":"<human text>","field":"<optional>"}}
//
// Domain code throws `api_error` for bad input or a state conflict; the HTTP layer turns it into
// the response with that status. It carries no transport types, so domain tests use it directly.
#pragma once

#include <stdexcept>
#include <string>

namespace eventshop::services {

class api_error : public std::runtime_error {
 public:
  api_error(int status, std::string code, const std::string& message, std::string field = {})
      : std::runtime_error(message),
        status_(status),
        code_(std::move(code)),
        field_(std::move(field)) {}

  int status() const noexcept { return status_; }
  const std::string& code() const noexcept { return code_; }
  const std::string& field() const noexcept { return field_; }

  // The JSON body of CONTRACT §4.
  std::string to_json() const;

 private:
  int status_;
  std::string code_;
  std::string field_;
};

// The same body without an exception.
std::string error_json(std::string_view code, std::string_view message,
                       std::string_view field = {});

}  // namespace eventshop::services
