#!/usr/bin/env bash
# run-local.sh: starts the whole system (eventshop-ecommerce: six services + web UI) in the
# background with demo settings, waits until it answers, and prints the URLs.
#   STEP_DELAY_MS (default 700)   pause before each saga step, to watch orders move
#   DECLINE_RATE  (default 0.05)  random payment declines, as the original system had
#   BUS           (default sqlite) memory | sqlite | kafka
#   DATA_DIR      (default ./data) where SQLite keeps orders across restarts
# Stop it with `make stop-local`; follow its logs with `make logs-local`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
bin=$build/examples/ecommerce/eventshop-ecommerce
data=${DATA_DIR:-$root/data}
mkdir -p "$data"
pidfile=$data/eventshop-ecommerce.pid
log=$data/eventshop-ecommerce.log

if [[ ! -x $bin ]]; then
  echo "run-local: $bin is not built; running the quickstart example instead" >&2
  exec "$build/examples/quickstart/eventshop-quickstart"
fi
if [[ -f $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  echo "eventshop is already running (pid $(cat "$pidfile")); 'make stop-local' stops it."
  exit 0
fi

if ! "$root/scripts/build-web.sh"; then
  echo "run-local: the web UI could not be built; port 3000 serves a plain page of endpoints" >&2
fi

echo "starting eventshop-ecommerce (log: $log)"
nohup "$bin" --bus "${BUS:-sqlite}" --data-dir "$data" --ui-dir "$root/examples/ecommerce/web/out" \
  --step-delay-ms "${STEP_DELAY_MS:-700}" --payment-decline-rate "${DECLINE_RATE:-0.05}" \
  >>"$log" 2>&1 &
echo $! >"$pidfile"

# Wait for the order service's /health (bash's /dev/tcp: no curl needed on a fresh machine).
for _ in $(seq 1 100); do
  if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    echo "eventshop-ecommerce exited; last log lines:" >&2
    tail -n 20 "$log" >&2
    rm -f "$pidfile"
    exit 1
  fi
  if (exec 3<>/dev/tcp/127.0.0.1/8080 && printf 'GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' >&3 &&
      head -c 12 <&3 | grep -q 200) 2>/dev/null; then
    cat <<EOM

eventshop is running.
  Web UI              http://localhost:3000
  Order API           http://localhost:8080   (POST /order, POST /v1/orders)
  Inventory API       http://localhost:8081   (GET /inventory)
  Payment API         http://localhost:8082
  Notification API    http://localhost:8083
  Shipping API        http://localhost:8084
  Status API + WS     http://localhost:8085   (GET /orders, ws://localhost:8085/v1/ws)

  make test-order     create an order       make logs-local   follow the logs
  make health-check   check every service   make stop-local   stop it
EOM
    exit 0
  fi
  sleep 0.2
done
echo "eventshop-ecommerce did not answer on :8080 within 20 s; see $log" >&2
exit 1
