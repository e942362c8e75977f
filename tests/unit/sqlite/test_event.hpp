// A small test event shared by the sqlite tests.
#pragma once

#include <string>

#include "eventshop/core/registry.hpp"

namespace eventshop::sqlite::testing {

// A "TestEvent" with subject `key` and data {"seq": seq}.
inline envelope ev(const std::string& key, int seq) {
  event_options o;
  o.source = "/eventshop/test";
  o.subject = key;
  return make_envelope("TestEvent", 1, "{\"seq\":" + std::to_string(seq) + "}", o);
}

}  // namespace eventshop::sqlite::testing
