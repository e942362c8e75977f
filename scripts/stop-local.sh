#!/usr/bin/env bash
# stop-local.sh: stops the eventshop-ecommerce started by run-local.sh (SIGTERM: it drains).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
pidfile=${DATA_DIR:-$root/data}/eventshop-ecommerce.pid
if [[ ! -f $pidfile ]] || ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  echo "eventshop is not running"
  rm -f "$pidfile"
  exit 0
fi
pid=$(cat "$pidfile")
kill -TERM "$pid"
for _ in $(seq 1 100); do
  kill -0 "$pid" 2>/dev/null || { rm -f "$pidfile"; echo "stopped"; exit 0; }
  sleep 0.1
done
echo "eventshop did not stop within 10 s; sending SIGKILL" >&2
kill -KILL "$pid" 2>/dev/null || true
rm -f "$pidfile"
