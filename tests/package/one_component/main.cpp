#include <eventshop/http/server.hpp>
#include <eventshop/realtime/broadcaster.hpp>

#include <cstdio>

int main() {
  eventshop::http::server_config config;
  config.validate();
  std::printf("realtime component linked; default port %d\n", static_cast<int>(config.port));
  return 0;
}
