// eventshop-broadcast: the smallest broadcaster. An http::server with the realtime routes
// (/v1/ws, /v1/events, /ws/{id}) publishing a synthetic channel "ticks" at a configurable rate,
// plus GET /json (a trivial JSON route for HTTP load tests) and /health, /ready, /metrics.
//
//   eventshop-broadcast [--port N] [--bind ADDR] [--rate MSGS_PER_S] [--payload BYTES]
//                       [--io-threads N] [--channel NAME]
//
// Each message is {"seq":N,"t":<CLOCK_MONOTONIC ns at publish>,"pad":"..."} so that a client on
// the same machine can compute the delivery latency. --rate 0 publishes nothing. Prints
// "listening on <port>" once ready; stops on SIGINT/SIGTERM.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "eventshop/http/http.hpp"
#include "eventshop/realtime/broadcaster.hpp"

namespace {

volatile std::sig_atomic_t stop_requested = 0;
void on_signal(int) {
  stop_requested = 1;
}

long long monotonic_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

int main(int argc, char** argv) {
  eventshop::http::server_config cfg;
  cfg.port = 8090;
  cfg.service_name = "broadcast";
  cfg.access_log = false;
  double rate = 10;
  std::size_t payload = 64;
  std::string channel = "ticks";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "missing value after %s\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--port") {
      cfg.port = static_cast<std::uint16_t>(std::stoi(next()));
    } else if (a == "--bind") {
      cfg.bind_address = next();
    } else if (a == "--rate") {
      rate = std::stod(next());
    } else if (a == "--payload") {
      payload = static_cast<std::size_t>(std::stoul(next()));
    } else if (a == "--io-threads") {
      cfg.io_threads = static_cast<unsigned>(std::stoul(next()));
    } else if (a == "--channel") {
      channel = next();
    } else {
      std::fprintf(stderr,
                   "usage: eventshop-broadcast [--port N] [--bind ADDR] [--rate MSGS_PER_S] "
                   "[--payload BYTES] [--io-threads N] [--channel NAME]\n");
      return a == "--help" ? 0 : 2;
    }
  }
  if (channel.find(':') != std::string::npos || channel.empty()) {
    std::fprintf(stderr, "--channel must be a name without ':'\n");
    return 2;
  }

  eventshop::realtime::broadcaster_config rc;
  rc.allowed_origins = {"*"};
  eventshop::realtime::broadcaster hub(rc);
  hub.add_channel_kind(channel, {.conflate = false, .snapshot = {}});

  eventshop::http::server server(cfg);
  eventshop::http::add_health_routes(server.routes(), {.service_name = "broadcast"});
  server.routes().get("/json", [](eventshop::http::request&) {
    return eventshop::http::response::json(200, R"({"message":"hello","service":"broadcast"})");
  });
  hub.attach(server);
  server.start();
  std::printf("listening on %u\n", server.port());
  std::fflush(stdout);

  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::string pad(payload, 'x');
  std::uint64_t seq = 0;
  auto start = std::chrono::steady_clock::now();
  while (!stop_requested) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (rate <= 0) continue;
    double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    auto due = static_cast<std::uint64_t>(elapsed * rate);
    while (seq < due) {
      ++seq;
      hub.publish(channel, "{\"seq\":" + std::to_string(seq) + ",\"t\":" +
                               std::to_string(monotonic_ns()) + ",\"pad\":\"" + pad + "\"}");
    }
  }
  server.stop();
  return 0;
}
