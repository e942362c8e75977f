#!/usr/bin/env bash
# wrk against eventshop-broadcast's GET /json (the same measurement as bench_http, from the shell).
#   benchmarks/http/run-wrk.sh [BUILD_DIR] [DURATION] [CONNECTIONS]
# Prints wrk's report with the latency distribution (req/s and p99).
set -euo pipefail
build=${1:-build}
duration=${2:-10s}
connections=${3:-64}
bin="$build/examples/broadcast/eventshop-broadcast"
command -v wrk >/dev/null || { echo "wrk is not installed" >&2; exit 1; }
[ -x "$bin" ] || { echo "build $bin first (cmake --build $build --target eventshop-broadcast)" >&2; exit 1; }
out=$(mktemp)
"$bin" --port 0 --rate 0 --io-threads "${IO_THREADS:-1}" >"$out" 2>/dev/null &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -f "$out"' EXIT
for _ in $(seq 1 100); do grep -q listening "$out" && break; sleep 0.05; done
port=$(awk '/listening on/ {print $3}' "$out")
[ -n "$port" ] || { echo "server did not start" >&2; exit 1; }
wrk -t1 -c"$connections" -d"$duration" --latency "http://127.0.0.1:$port/json"
