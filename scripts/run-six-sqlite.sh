#!/usr/bin/env bash
# run-six-sqlite.sh: the e-commerce system as six processes (eventshop-<name>-service) on one
# machine, sharing one SQLite bus file in a data directory.
#   scripts/run-six-sqlite.sh [start|stop|status]      (default start)
#   BUILD_DIR (default ./build)  DATA_DIR (default ./data-six)  BASE_PORT (default 8080)
#   EXTRA_ARGS (e.g. "--step-delay-ms 500 --payment-decline-rate 0.05")
# Logs: $DATA_DIR/<name>.log; pids: $DATA_DIR/<name>.pid.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
exec "$root/scripts/run-six.sh" sqlite "$@"
