// services/host/run.hpp - the main() of every service program and of eventshop-ecommerce:
// parse options, open the bus, start the service(s) and their servers, print where they listen,
// wait for SIGINT/SIGTERM, stop in order (servers, services, bus). Returns the exit code.
#pragma once

#include <string_view>

namespace eventshop::services {

// `service` empty: all six in one process (eventshop-ecommerce), else the named one.
int run_main(int argc, const char* const* argv, std::string_view service);

}  // namespace eventshop::services
