// BM_IdleWebSocketMemory: resident bytes per idle WebSocket connection at 10,000 connections
// (target <= 30 KiB). The server runs in a forked child process (1 io thread) so that its
// VmRSS holds only server-side memory; each client handshakes and subscribes to a channel,
// then stays silent. Figure = (RSS at 10,100 connections - RSS at 100) / 10,000.
#include <benchmark/benchmark.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cstdio>
#include <fstream>
#include <string>

#include "eventshop/http/server.hpp"
#include "eventshop/realtime/broadcaster.hpp"
#include "ws_load.hpp"

namespace {

long rss_bytes(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string key;
  while (in >> key) {
    if (key == "VmRSS:") {
      long kb = 0;
      in >> kb;
      return kb * 1024;
    }
    std::getline(in, key);
  }
  return -1;
}

[[noreturn]] void child_server(int fd) {
  eventshop::http::server_config sc;
  sc.io_threads = 1;
  sc.access_log = false;
  sc.record_metrics = false;
  eventshop::realtime::broadcaster hub;
  hub.add_channel_kind("order", {.conflate = true, .snapshot = {}});
  eventshop::http::server server(sc);
  hub.attach(server);
  server.start();
  std::uint16_t port = server.port();
  if (write(fd, &port, sizeof port) != sizeof port) _exit(1);
  close(fd);
  for (;;)
    pause();
}

void BM_IdleWebSocketMemory(benchmark::State& state) {
  const std::size_t n = 10'000, warm = 100;
  long before = 0, after = 0;
  std::size_t connected = 0;
  for (auto _ : state) {
    int fds[2];
    if (pipe(fds) != 0) return state.SkipWithError("pipe failed");
    pid_t pid = fork();
    if (pid == 0) {
      close(fds[0]);
      child_server(fds[1]);
    }
    close(fds[1]);
    std::uint16_t port = 0;
    if (read(fds[0], &port, sizeof port) != sizeof port) {
      kill(pid, SIGKILL);
      return state.SkipWithError("server child did not start");
    }
    close(fds[0]);
    auto t0 = std::chrono::steady_clock::now();
    {
      bench::ws_load w(port, warm, R"({"op":"subscribe","channel":"order:warm"})", 512, false);
      w.start();
      bench::ws_load::wait_for([&] { return w.subscribed() == warm; }, std::chrono::seconds(30));
      before = rss_bytes(pid);
      bench::ws_load load(port, n, R"({"op":"subscribe","channel":"order:idle"})", 512, false);
      load.start();
      bench::ws_load::wait_for([&] { return load.subscribed() + load.failed() >= n; },
                               std::chrono::seconds(120));
      connected = load.subscribed();
      // Let the server finish its bookkeeping for the last handshakes.
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      after = rss_bytes(pid);
      state.SetIterationTime(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    kill(pid, SIGTERM);
    waitpid(pid, nullptr, 0);
  }
  if (connected < n) state.SkipWithError("not every connection subscribed");
  state.counters["connections"] = static_cast<double>(connected);
  state.counters["rss_before_MiB"] = static_cast<double>(before) / (1024.0 * 1024.0);
  state.counters["rss_after_MiB"] = static_cast<double>(after) / (1024.0 * 1024.0);
  state.counters["bytes_per_connection"] =
      connected ? static_cast<double>(after - before) / static_cast<double>(connected) : 0.0;
}
BENCHMARK(BM_IdleWebSocketMemory)->Iterations(1)->UseManualTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
