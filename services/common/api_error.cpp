#include "common/api_error.hpp"

#include "eventshop/core/json.hpp"

namespace eventshop::services {

std::string error_json(std::string_view code, std::string_view message, std::string_view field) {
  json_writer w;
  w.begin_object();
  w.key("error");
  w.begin_object();
  w.key("code");
  w.string(code);
  w.key("message");
  w.string(message);
  if (!field.empty()) {
    w.key("field");
    w.string(field);
  }
  w.end_object();
  w.end_object();
  return w.str();
}

std::string api_error::to_json() const {
  return error_json(code_, what(), field_);
}

}  // namespace eventshop::services
