#!/usr/bin/env bash
# run-six-kafka.sh: the e-commerce system as six processes on Kafka, with a local
# eventshop-devbroker (librdkafka's mock cluster - DEVELOPMENT ONLY, nothing is durable).
# Against a real cluster, set BROKERS=host:9092 and no dev broker is started.
#   scripts/run-six-kafka.sh [start|stop|status]       (default start)
#   BUILD_DIR (default ./build)  DATA_DIR (default ./data-six-kafka)  BASE_PORT (default 8080)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export DATA_DIR=${DATA_DIR:-$root/data-six-kafka}
exec "$root/scripts/run-six.sh" kafka "$@"
