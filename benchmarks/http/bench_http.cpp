// BM_HttpJsonRoute: `wrk` against a JSON route of eventshop::http (req/s and p99). The server
// runs in this process with 1 io thread (EVENTSHOP_BENCH_IO_THREADS overrides); wrk uses one
// thread and 64 keep-alive connections for 5 s. Skipped when wrk is not installed.
// server_cpu_us_per_req: this process's CPU time (user + system, i.e. the server's threads; wrk
// is a child and not counted) over the run / requests - less disturbed by a busy machine than
// req/s.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <regex>
#include <string>

#include <sys/resource.h>

#include "bench_server_config.hpp"
#include "eventshop/http/http.hpp"

namespace {

double process_cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

double to_ms(double v, const std::string& unit) {
  if (unit == "us") return v / 1000.0;
  if (unit == "s") return v * 1000.0;
  return v;
}

void BM_HttpJsonRoute(benchmark::State& state) {
  eventshop::http::server_config sc = bench_server_config();
  eventshop::http::server server(sc);
  server.routes().get("/v1/ping", [](eventshop::http::request&) {
    return eventshop::http::response::json(200, R"({"status":"ok","service":"bench"})");
  });
  server.start();
  std::string out;
  double cpu = 0;
  for (auto _ : state) {
    const double cpu_before = process_cpu_seconds();
    std::string cmd =
        "wrk -t1 -c64 -d5s --latency http://127.0.0.1:" + std::to_string(server.port()) +
        "/v1/ping 2>&1";
    FILE* p = popen(cmd.c_str(), "r");
    if (!p) return state.SkipWithError("cannot run wrk");
    char buf[4096];
    out.clear();
    while (std::fgets(buf, sizeof buf, p))
      out += buf;
    if (pclose(p) != 0) return state.SkipWithError("wrk failed or is not installed");
    cpu += process_cpu_seconds() - cpu_before;
    state.SetIterationTime(5.0);
  }
  std::smatch m;
  double rps = 0, p99 = 0, total = 0;
  if (std::regex_search(out, m, std::regex(R"(Requests/sec:\s+([0-9.]+))"))) rps = std::stod(m[1]);
  if (std::regex_search(out, m, std::regex(R"(99%\s+([0-9.]+)(us|ms|s))")))
    p99 = to_ms(std::stod(m[1]), m[2]);
  if (std::regex_search(out, m, std::regex(R"(([0-9]+) requests in)"))) total = std::stod(m[1]);
  if (std::regex_search(out, m, std::regex(R"(Non-2xx or 3xx responses:\s+([0-9]+))"))) {
    return state.SkipWithError("wrk saw error responses");
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(total));
  state.counters["req_per_s"] = rps;
  state.counters["p99_ms"] = p99;
  state.counters["server_cpu_us_per_req"] = total > 0 ? cpu * 1e6 / total : 0;
  server.stop();
}
BENCHMARK(BM_HttpJsonRoute)->Iterations(1)->UseManualTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
