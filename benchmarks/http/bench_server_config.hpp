// The server configuration every HTTP benchmark measures: one io thread (or
// EVENTSHOP_BENCH_IO_THREADS), no access log and no request metrics, so the figure is the
// server's own work.
#pragma once

#include <cstdlib>

#include "eventshop/http/server.hpp"

inline eventshop::http::server_config bench_server_config() {
  eventshop::http::server_config sc;
  sc.io_threads = 1;
  if (const char* t = std::getenv("EVENTSHOP_BENCH_IO_THREADS"))
    sc.io_threads = static_cast<unsigned>(std::atoi(t));
  sc.access_log = false;
  sc.record_metrics = false;
  return sc;
}
