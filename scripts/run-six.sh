#!/usr/bin/env bash
# run-six.sh BUS [start|stop|status]: shared by run-six-sqlite.sh and run-six-kafka.sh.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bus=${1:?usage: run-six.sh sqlite|kafka [start|stop|status]}
cmd=${2:-start}
build=${BUILD_DIR:-$root/build}
data=${DATA_DIR:-$root/data-six}
base=${BASE_PORT:-8080}
services=(order inventory payment notification shipping status)
mkdir -p "$data"

alive() { [[ -f $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

stop_all() {
  for name in "${services[@]}" devbroker; do
    local pidfile=$data/$name.pid
    if alive "$pidfile"; then
      kill -TERM "$(cat "$pidfile")" 2>/dev/null || true
      for _ in $(seq 1 50); do alive "$pidfile" || break; sleep 0.1; done
      alive "$pidfile" && kill -KILL "$(cat "$pidfile")" 2>/dev/null || true
      echo "stopped $name"
    fi
    rm -f "$pidfile"
  done
}

wait_health() {  # port
  for _ in $(seq 1 150); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1" && printf 'GET /ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' >&3 &&
        head -c 12 <&3 | grep -q 200) 2>/dev/null; then return 0; fi
    sleep 0.2
  done
  return 1
}

case $cmd in
  stop) stop_all; exit 0 ;;
  status)
    for name in "${services[@]}" devbroker; do
      if alive "$data/$name.pid"; then echo "$name running (pid $(cat "$data/$name.pid"))"; fi
    done
    exit 0 ;;
  start) ;;
  *) echo "usage: $0 [start|stop|status]" >&2; exit 2 ;;
esac

args=(--bus "$bus" --data-dir "$data")
if [[ $bus == kafka ]]; then
  brokers=${BROKERS:-}
  if [[ -z $brokers ]]; then
    broker_bin=$build/src/kafka/eventshop-devbroker
    [[ -x $broker_bin ]] || broker_bin=$(find "$build" -name eventshop-devbroker -type f -perm -u+x | head -n 1)
    [[ -x $broker_bin ]] || { echo "eventshop-devbroker is not built in $build" >&2; exit 1; }
    rm -f "$data/bootstrap"
    nohup "$broker_bin" --partitions 8 --bootstrap-file "$data/bootstrap" >>"$data/devbroker.log" 2>&1 &
    echo $! >"$data/devbroker.pid"
    for _ in $(seq 1 100); do [[ -s $data/bootstrap ]] && break; sleep 0.1; done
    [[ -s $data/bootstrap ]] || { echo "devbroker did not start; see $data/devbroker.log" >&2; exit 1; }
    brokers=$(cat "$data/bootstrap")
    echo "dev broker (mock cluster, not durable) at $brokers"
  fi
  args+=(--brokers "$brokers")
fi
# shellcheck disable=SC2206
args+=(${EXTRA_ARGS:-})

i=0
for name in "${services[@]}"; do
  bin=$build/services/eventshop-$name-service
  [[ -x $bin ]] || { echo "$bin is not built" >&2; stop_all; exit 1; }
  port=$((base + i))
  if alive "$data/$name.pid"; then
    echo "$name already running"
  else
    nohup "$bin" --port "$port" "${args[@]}" >>"$data/$name.log" 2>&1 &
    echo $! >"$data/$name.pid"
  fi
  i=$((i + 1))
done
i=0
for name in "${services[@]}"; do
  port=$((base + i))
  if ! wait_health "$port"; then
    echo "$name did not become ready on :$port; see $data/$name.log" >&2
    stop_all
    exit 1
  fi
  printf '  %-13s http://127.0.0.1:%d\n' "$name" "$port"
  i=$((i + 1))
done
echo "six services on the $bus bus; stop them with: scripts/run-six-$bus.sh stop"
