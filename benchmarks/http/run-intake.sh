#!/usr/bin/env bash
# HTTP order intake: wrk with benchmarks/http/post-order.lua on POST /order of the all-in-one
# eventshop-ecommerce (CONTRACT §4 seed route; issue 7 target >= 40,000 req/s), or of the
# standalone eventshop-order-service (TARGET=order-service).
#   benchmarks/http/run-intake.sh [BUILD_DIR] [DURATION] [CONNECTIONS]
# Defaults: BUILD_DIR=build, DURATION=10s, CONNECTIONS=64.
# Environment:
#   BUS=memory|sqlite   event bus of the server (default memory); sqlite uses a fresh temp dir,
#                       and each 201 waits for the order's event to be durable (fsync)
#   TARGET=ecommerce|order-service
#                       ecommerce (default): the all-in-one eventshop-ecommerce, the whole saga
#                       behind every order on the same cores; order-service: the standalone
#                       eventshop-order-service on its own bus (memory: its own in-process bus;
#                       sqlite: a fresh data dir), so only the order service's intake (route,
#                       OrderCreated published and acknowledged, its own read model) is measured
#   WRK_THREADS=N       wrk threads (default 1; wrk and the server share the machine's cores)
#   IO_THREADS=N        the server's --io-threads (default: the server's default)
#   SERVER_BIN=PATH     run this executable instead of the build's (A/B runs of two builds)
#   WARMUP=DURATION     a wrk run before the measured one, not reported (default 1s; 0 = none;
#                       whole seconds, as wrk takes them)
#   INTAKE_JSON=FILE    also write the figures as one JSON object to FILE
#   PERF_RECORD=FILE    record the server with `perf record -g` during the measured run
#   PERF_CALL_GRAPH=M   perf's --call-graph mode instead of -g (e.g. dwarf: whole stacks through
#                       libc, which has no frame pointers)
# Starts the server (fresh temp data dir, free ports, UI off, logs at warn), waits for
# GET /health, runs wrk --latency, prints wrk's report and a summary line, cross-checks wrk's
# count against the server's own 201 counter (GET /metrics), stops the server.
# Exits 1 if the server did not start, wrk saw non-2xx answers or socket errors, or the server
# counted fewer 201s than wrk completed requests.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
duration=${2:-10s}
connections=${3:-64}
bus=${BUS:-memory}
target=${TARGET:-ecommerce}
case $target in
  ecommerce) bin="$build/examples/ecommerce/eventshop-ecommerce" ;;
  order-service) bin="$build/services/eventshop-order-service" ;;
  *) echo "run-intake: TARGET must be ecommerce or order-service" >&2; exit 2 ;;
esac
bin=${SERVER_BIN:-$bin}
command -v wrk >/dev/null || { echo "run-intake: wrk is not installed (apt-get install wrk)" >&2; exit 1; }
command -v curl >/dev/null || { echo "run-intake: curl is not installed" >&2; exit 1; }
[ -x "$bin" ] || {
  echo "run-intake: build $bin first (cmake --build $build --target $(basename "$bin"))" >&2
  exit 1
}
case $bus in memory | sqlite) ;; *) echo "run-intake: BUS must be memory or sqlite" >&2; exit 2 ;; esac

# Six consecutive free ports (the services listen on BASE..BASE+5).
base=$(python3 - <<'PY'
import random, socket
for _ in range(200):
    base = random.randint(20000, 60000)
    socks = []
    try:
        for p in range(base, base + 6):
            s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", p)); socks.append(s)
        print(base); break
    except OSError:
        pass
    finally:
        for s in socks: s.close()
PY
)
[ -n "$base" ] || { echo "run-intake: no free port range found" >&2; exit 1; }
url="http://127.0.0.1:$base"

work=$(mktemp -d)
pid=""
perf_pid=""
cleanup() {
  [ -n "$perf_pid" ] && kill -INT "$perf_pid" 2>/dev/null && wait "$perf_pid" 2>/dev/null || true
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

if [ "$target" = ecommerce ]; then
  args=(--bus "$bus" --data-dir "$work/data" --ports "$base" --ui-port 0)
else
  args=(--bus "$bus" --data-dir "$work/data" --port "$base")
fi
[ -n "${IO_THREADS:-}" ] && args+=(--io-threads "$IO_THREADS")
EVENTSHOP_LOG_LEVEL=${EVENTSHOP_LOG_LEVEL:-warn} "$bin" "${args[@]}" >"$work/server.log" 2>&1 &
pid=$!
up=""
for _ in $(seq 1 300); do
  kill -0 "$pid" 2>/dev/null || break
  if curl -fsS -o /dev/null "$url/health" 2>/dev/null; then up=1; break; fi
  sleep 0.05
done
if [ -z "$up" ]; then
  echo "run-intake: the server did not answer GET /health; its output:" >&2
  cat "$work/server.log" >&2
  exit 1
fi

# One request by hand: the contract's answer, so a wrong route or body fails loudly here.
probe=$(curl -sS -w ' %{http_code}' -H 'Content-Type: application/json' \
  -d '{"product_id":"product-1","quantity":1}' "$url/order")
case $probe in
  *'"status":"created"'*' 201') ;;
  *) echo "run-intake: POST /order did not answer 201 created: $probe" >&2; exit 1 ;;
esac

threads=${WRK_THREADS:-1}
warmup=${WARMUP:-1s}
script="$here/post-order.lua"
if [ "$warmup" != 0 ]; then
  wrk -t"$threads" -c"$connections" -d"$warmup" -s "$script" "$url" >/dev/null || {
    echo "run-intake: the warm-up run of wrk failed (duration '$warmup'?)" >&2
    exit 1
  }
fi

created_before=$(curl -fsS "$url/metrics" | awk '
  /^eventshop_http_requests_total\{/ && /service="order"/ && /route="\/order"/ && /status="201"/ {s += $NF}
  END {printf "%d", s}')

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
# The server's CPU time (user + system, clock ticks) over the measured run: CPU per request is
# a figure that a busy machine disturbs less than req/s.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
ticks_before=$(cpu_ticks)
if [ -n "${PERF_RECORD:-}" ]; then
  graph=(-g)
  [ -n "${PERF_CALL_GRAPH:-}" ] && graph=(--call-graph "$PERF_CALL_GRAPH")
  perf record "${graph[@]}" -o "$PERF_RECORD" -p "$pid" >/dev/null 2>"$work/perf.log" &
  perf_pid=$!
  sleep 0.3
fi
echo "== wrk -t$threads -c$connections -d$duration POST /order, bus $bus, $(basename "$bin") $url"
report=$(wrk -t"$threads" -c"$connections" -d"$duration" --latency -s "$script" "$url")
if [ -n "$perf_pid" ]; then
  kill -INT "$perf_pid" 2>/dev/null || true
  wait "$perf_pid" 2>/dev/null || true
  perf_pid=""
fi
ticks_after=$(cpu_ticks)
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
echo "$report"

created_after=$(curl -fsS "$url/metrics" | awk '
  /^eventshop_http_requests_total\{/ && /service="order"/ && /route="\/order"/ && /status="201"/ {s += $NF}
  END {printf "%d", s}')
other=$(curl -fsS "$url/metrics" | awk '
  /^eventshop_http_requests_total\{/ && /service="order"/ && /route="\/order"/ && !/status="201"/ {s += $NF}
  END {printf "%d", s}')
created=$((created_after - created_before))

# wrk's figures: requests completed, req/s, latency percentiles (normalised to ms), errors.
to_ms() {
  awk -v v="$1" 'BEGIN {
    n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
    if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000
    printf "%.3f", n }'
}
rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$report")
requests=$(awk '/requests in/ {print $1}' <<<"$report")
p50=$(to_ms "$(awk '$1 == "50%" {print $2}' <<<"$report")")
p90=$(to_ms "$(awk '$1 == "90%" {print $2}' <<<"$report")")
p99=$(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$report")")
non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' <<<"$report")
non2xx=${non2xx:-0}
sockerr=$(awk '/Socket errors:/ {
  for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) { gsub(",", "", $i); s += $i } } END {printf "%d", s}' <<<"$report")

hz=$(getconf CLK_TCK)
seconds=$(awk '/requests in/ {v = $4; sub(/s,$/, "", v); print v}' <<<"$report")
cpu_us=$(awk -v t=$((ticks_after - ticks_before)) -v hz="$hz" -v n="${requests:-0}" \
  'BEGIN {printf "%.1f", (n > 0 ? t * 1e6 / hz / n : 0)}')
cores=$(awk -v t=$((ticks_after - ticks_before)) -v hz="$hz" -v s="${seconds:-0}" \
  'BEGIN {printf "%.2f", (s > 0 ? t / hz / s : 0)}')

echo "== order intake ($target, $bus): ${rps} req/s, p50 ${p50} ms, p90 ${p90} ms, p99 ${p99} ms," \
  "non-2xx ${non2xx}, socket errors ${sockerr}; server counted ${created} x 201" \
  "(other statuses on /order since start: ${other}); server CPU ${cpu_us} us/request" \
  "(${cores} cores busy); load average ${load_before} -> ${load_after}"

if [ -n "${INTAKE_JSON:-}" ]; then
  cat >"$INTAKE_JSON" <<EOF
{"target": "$target", "bus": "$bus", "duration": "$duration", "connections": $connections, "wrk_threads": $threads,
 "requests": ${requests:-0}, "requests_per_second": ${rps:-0}, "p50_ms": $p50, "p90_ms": $p90,
 "p99_ms": $p99, "non_2xx": $non2xx, "socket_errors": $sockerr, "server_201": $created,
 "server_cpu_us_per_request": $cpu_us, "server_cores_busy": $cores,
 "load_before": "$load_before", "load_after": "$load_after"}
EOF
fi

status=0
if [ "$non2xx" != 0 ]; then
  echo "run-intake: FAIL: $non2xx answers were not 2xx" >&2
  status=1
fi
if [ "$sockerr" != 0 ]; then
  echo "run-intake: FAIL: $sockerr socket errors" >&2
  status=1
fi
if [ -z "$requests" ] || [ "$created" -lt "$requests" ]; then
  echo "run-intake: FAIL: wrk completed ${requests:-?} requests but the server counted $created x 201" >&2
  status=1
fi
exit $status
