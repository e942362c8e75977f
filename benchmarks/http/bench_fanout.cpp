// BM_Fanout1000: 1,000 WebSocket clients on one channel; messages delivered per second and p99
// delivery latency, for eventshop::realtime and, in the same run, for a Node.js server on the
// `ws` package (benchmarks/peers/ws-server.js), with the ratio.
//
// Both servers get one thread (Node is single-threaded; the eventshop server runs 1 io thread,
// EVENTSHOP_BENCH_IO_THREADS overrides) and the load client one more, on this 2-core machine.
// The publisher keeps at most `window` messages in flight (published but not yet delivered to
// every client) so that queues stay bounded on both sides. Latency (publish -> client read) is
// measured in a separate unloaded phase; the p99 under full load is reported as *_loaded_p99.
#include <benchmark/benchmark.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cstdio>
#include <cstdlib>

#include "bench_server_config.hpp"
#include "eventshop/http/server.hpp"
#include "eventshop/realtime/broadcaster.hpp"
#include "ws_load.hpp"

namespace {

constexpr std::size_t clients = 1000;
constexpr std::uint64_t messages = 2000;  // per run; x1000 deliveries
constexpr std::uint64_t batch = 10;
constexpr std::uint64_t latency_messages = 200;
constexpr std::uint64_t window = 100;
constexpr std::size_t pad_bytes = 64;

struct result {
  double per_second = 0;
  double p50_us = 0;
  double p99_us = 0;
  double loaded_p99_us = 0;  // p99 during the throughput phase (includes queueing)
  std::uint64_t delivered = 0;
  double seconds = 0;
  bool ok = false;
};

// Phase 0 (latency): `latency_messages` published one at a time, each delivered to every
// client before the next, so the latency is that of one fan-out to 1,000 clients without
// queueing. Phase 1 (throughput): `messages` in batches with at most `window` in flight.
template <class Publish>
result drive(bench::ws_load& load, Publish publish) {
  result r;
  if (!bench::ws_load::wait_for([&] { return load.subscribed() == clients; },
                                std::chrono::seconds(60))) {
    std::fprintf(stderr, "only %zu of %zu clients subscribed\n", load.subscribed(), clients);
    return r;
  }
  std::uint64_t published = 0;
  for (std::uint64_t i = 0; i < latency_messages; ++i) {
    publish(1);
    ++published;
    if (!bench::ws_load::wait_for([&] { return load.received() >= published * clients; },
                                  std::chrono::seconds(30))) {
      return r;
    }
  }
  load.set_phase(1);
  std::uint64_t base = load.received();
  auto start = std::chrono::steady_clock::now();
  std::uint64_t sent = 0;
  while (sent < messages) {
    std::uint64_t floor = base + (sent > window ? (sent - window) * clients : 0);
    if (!bench::ws_load::wait_for([&] { return load.received() >= floor; },
                                  std::chrono::seconds(30)))
      break;
    publish(batch);
    sent += batch;
  }
  bool done = bench::ws_load::wait_for([&] { return load.received() >= base + messages * clients; },
                                       std::chrono::seconds(60));
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  load.stop();
  r.delivered = load.received() - base;
  r.per_second = static_cast<double>(r.delivered) / r.seconds;
  r.p50_us = load.latency_us(0, 50);
  r.p99_us = load.latency_us(0, 99);
  r.loaded_p99_us = load.latency_us(1, 99);
  r.ok = done;
  return r;
}

result run_eventshop() {
  eventshop::http::server_config sc = bench_server_config();
  eventshop::realtime::broadcaster_config rc;
  rc.history_size = 16;
  eventshop::realtime::broadcaster hub(rc);
  hub.add_channel_kind("bench", {});
  eventshop::http::server server(sc);
  hub.attach(server);
  server.start();
  bench::ws_load load(server.port(), clients, R"({"op":"subscribe","channel":"bench"})");
  load.start();
  std::string pad(pad_bytes, 'x');
  std::uint64_t seq = 0;
  auto r = drive(load, [&](std::uint64_t n) {
    for (std::uint64_t i = 0; i < n; ++i) {
      ++seq;
      hub.publish("bench", "{\"seq\":" + std::to_string(seq) + ",\"t\":" +
                               std::to_string(bench::monotonic_ns()) + ",\"pad\":\"" + pad + "\"}");
    }
  });
  server.stop();
  return r;
}

// Starts `node ws-server.js 0`, returns its pid and port (0 when unavailable).
std::pair<pid_t, std::uint16_t> start_node() {
  std::string dir = EVENTSHOP_PEERS_DIR;
  if (access((dir + "/node_modules/ws/package.json").c_str(), R_OK) != 0) {
    std::string cmd = "cd '" + dir + "' && npm install --no-audit --no-fund >/dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0) return {0, 0};
  }
  int fds[2];
  if (pipe(fds) != 0) return {0, 0};
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], 1);
    close(fds[0]);
    execlp("node", "node", (dir + "/ws-server.js").c_str(), "0", static_cast<char*>(nullptr));
    _exit(127);
  }
  close(fds[1]);
  char line[128] = {};
  FILE* f = fdopen(fds[0], "r");
  std::uint16_t port = 0;
  if (f && std::fgets(line, sizeof line, f)) {
    unsigned p = 0;
    if (std::sscanf(line, "listening on %u", &p) == 1) port = static_cast<std::uint16_t>(p);
  }
  if (f) std::fclose(f);
  return {pid, port};
}

result run_node_ws() {
  auto [pid, port] = start_node();
  if (port == 0) {
    if (pid > 0) kill(pid, SIGTERM);
    return {};
  }
  result r;
  {
    bench::ws_load load(port, clients, R"({"op":"subscribe","channel":"bench"})");
    load.start("/");
    // A control connection asks the peer to publish.
    bench::asio::io_context ioc;
    bench::tcp::socket control(ioc);
    control.connect({bench::asio::ip::make_address("127.0.0.1"), port});
    bench::asio::write(control, bench::asio::buffer(bench::upgrade_request("/")));
    bench::asio::streambuf head;
    bench::asio::read_until(control, head, "\r\n\r\n");
    std::string cmd = bench::masked_text(R"({"op":"publish","count":)" + std::to_string(batch) +
                                         R"(,"payload":)" + std::to_string(pad_bytes) + "}");
    std::string one = bench::masked_text(R"({"op":"publish","count":1,"payload":)" +
                                         std::to_string(pad_bytes) + "}");
    r = drive(load, [&](std::uint64_t n) {
      bench::asio::write(control, bench::asio::buffer(n == 1 ? one : cmd));
    });
  }
  kill(pid, SIGTERM);
  waitpid(pid, nullptr, 0);
  return r;
}

void BM_Fanout1000(benchmark::State& state) {
  result es, peer;
  for (auto _ : state) {
    es = run_eventshop();
    peer = run_node_ws();
    state.SetIterationTime(es.seconds > 0 ? es.seconds : 1e-9);
  }
  if (!es.ok) state.SkipWithError("eventshop fan-out did not complete");
  state.SetItemsProcessed(static_cast<std::int64_t>(es.delivered));
  state.counters["eventshop_msgs_per_s"] = es.per_second;
  state.counters["eventshop_p50_ms"] = es.p50_us / 1000.0;
  state.counters["eventshop_p99_ms"] = es.p99_us / 1000.0;
  state.counters["eventshop_loaded_p99_ms"] = es.loaded_p99_us / 1000.0;
  if (peer.ok) {
    state.counters["ws_peer_msgs_per_s"] = peer.per_second;
    state.counters["ws_peer_p50_ms"] = peer.p50_us / 1000.0;
    state.counters["ws_peer_p99_ms"] = peer.p99_us / 1000.0;
    state.counters["ws_peer_loaded_p99_ms"] = peer.loaded_p99_us / 1000.0;
    state.counters["ratio_vs_ws"] = es.per_second / peer.per_second;
  } else {
    state.SetLabel("node ws peer unavailable (node or npm install failed)");
  }
}
BENCHMARK(BM_Fanout1000)->Iterations(1)->UseManualTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
