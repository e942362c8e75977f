#!/usr/bin/env bash
# Extra HTTP figures for benchmarks/run: the order intake (wrk + post-order.lua on POST /order,
# issue 7 target >= 40,000 req/s) of the all-in-one eventshop-ecommerce on the memory and the
# SQLite bus (the whole saga behind each order shares the cores), and of the standalone
# eventshop-order-service on its own memory bus (the order service's intake alone).
# Called as   run-extra.sh <build-dir> <out-dir>
# Writes <out-dir>/http.json (Google Benchmark-shaped entries HttpOrderIntake/<bus> and
# HttpOrderIntake/order-service-memory) and <out-dir>/http.md. BENCH_QUICK=1: 2 s per run
# instead of 10 s. Skips (with a note in http.md) when wrk is not installed. Bounded: at most
# ~3 x (duration + 15 s) plus the build of the two programs if they are missing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: run-extra.sh <build-dir> <out-dir>}
out=${2:?usage: run-extra.sh <build-dir> <out-dir>}
mkdir -p "$out"
duration=10s
warmup=1s
[ -n "${BENCH_QUICK:-}" ] && duration=2s
connections=${INTAKE_CONNECTIONS:-64}

md="$out/http.md"
rm -f "$md" "$out/http.json"
if ! command -v wrk >/dev/null; then
  printf '## HTTP order intake\n\nSkipped: wrk is not installed.\n' >"$md"
  exit 0
fi
bin="$build/examples/ecommerce/eventshop-ecommerce"
if [ ! -x "$bin" ]; then
  cmake --build "$build" -j"$(nproc)" --target eventshop-ecommerce >&2 || {
    printf '## HTTP order intake\n\nSkipped: eventshop-ecommerce is not built in %s.\n' "$build" >"$md"
    exit 0
  }
fi
if [ ! -x "$build/services/eventshop-order-service" ]; then
  cmake --build "$build" -j"$(nproc)" --target eventshop-order-service >&2 || true
fi

status=0
for bus in memory sqlite; do
  BUS=$bus WARMUP=$warmup INTAKE_JSON="$out/.intake-$bus.json" \
    "$here/run-intake.sh" "$build" "$duration" "$connections" >&2 || status=1
done
if [ -x "$build/services/eventshop-order-service" ]; then
  TARGET=order-service BUS=memory WARMUP=$warmup INTAKE_JSON="$out/.intake-order-service-memory.json" \
    "$here/run-intake.sh" "$build" "$duration" "$connections" >&2 || status=1
fi

python3 - "$out" "$duration" <<'PY'
import json, os, sys
out, duration = sys.argv[1:3]
entries, rows = [], []
runs = [("memory", "eventshop-ecommerce (all six services)", "memory"),
        ("sqlite", "eventshop-ecommerce (all six services)", "sqlite"),
        ("order-service-memory", "eventshop-order-service alone", "memory")]
for name, what, bus in runs:
    path = os.path.join(out, f".intake-{name}.json")
    if not os.path.exists(path):
        rows.append(f"| {what} | {bus} | failed | | | | | | |")
        continue
    with open(path) as f:
        r = json.load(f)
    os.remove(path)
    seconds = float(r["duration"].rstrip("s"))
    entries.append({
        "name": f"HttpOrderIntake/{name}", "run_name": f"HttpOrderIntake/{name}",
        "run_type": "iteration", "iterations": 1, "real_time": seconds * 1000.0,
        "cpu_time": seconds * 1000.0, "time_unit": "ms",
        "items_per_second": r["requests_per_second"], "p50_ms": r["p50_ms"],
        "p99_ms": r["p99_ms"], "non_2xx": r["non_2xx"], "connections": r["connections"],
        "server_cpu_us_per_req": r["server_cpu_us_per_request"],
        "label": f"wrk POST /order on {what}"})
    rows.append(f"| {what} | {bus} | {r['requests_per_second']:,.0f} | {r['p50_ms']:.2f} | "
                f"{r['p99_ms']:.2f} | {r['non_2xx']} | {r['server_cpu_us_per_request']:.0f} | "
                f"{r['connections']} | "
                f"{r['load_before']} |")
with open(os.path.join(out, "http.json"), "w") as f:
    json.dump({"context": None, "benchmarks": entries}, f, indent=1)
md = ["## HTTP order intake (wrk, benchmarks/http/run-intake.sh)", "",
      f"`wrk -t1 -c<connections> -d{duration}` with benchmarks/http/post-order.lua on "
      "POST /order; target >= 40,000 req/s. eventshop-ecommerce runs the whole saga behind "
      "each order on the same cores; eventshop-order-service alone publishes to its own "
      "memory bus (its intake only). wrk and the server share the machine.", "",
      "| server | bus | req/s | p50 ms | p99 ms | non-2xx | server CPU us/request | "
      "connections | load average before |",
      "|---|---|---|---|---|---|---|---|---|"] + rows
with open(os.path.join(out, "http.md"), "w") as f:
    f.write("\n".join(md) + "\n")
PY
exit $status
