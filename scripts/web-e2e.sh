#!/usr/bin/env bash
# web-e2e.sh: browser end-to-end tests of the web UI against a real eventshop-ecommerce.
#
#   scripts/web-e2e.sh [--build-dir DIR] [--screenshots] [--bus sqlite|memory] [--only NAME,...]
#
# Builds the UI if needed (scripts/build-web.sh), starts
# DIR/examples/ecommerce/eventshop-ecommerce (DIR defaults to $EVENTSHOP_BUILD_DIR or build)
# on free loopback ports with a temporary data directory and a step delay (so a person,
# or a test, can act mid-saga), waits until it is ready, runs tests/e2e/run.mjs with
# playwright-core driving Debian's /usr/bin/chromium (installed with apt when missing;
# never a downloaded browser), then stops the server and removes the data directory.
# --screenshots saves a screenshot of each page into docs/images/.
# Exit status: 0 when every test passed; the last line of output is "N passed, N failed".
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
web=$root/examples/ecommerce/web
build_dir=${EVENTSHOP_BUILD_DIR:-$root/build}
bus=sqlite
shots=
only=
step_delay=${E2E_STEP_DELAY_MS:-1000}
while [[ $# -gt 0 ]]; do
  case $1 in
    --build-dir) build_dir=$2; shift 2 ;;
    --screenshots) shots=$root/docs/images; shift ;;
    --bus) bus=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    -h | --help) sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "web-e2e: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
[[ $build_dir = /* ]] || build_dir=$root/$build_dir

bin=$build_dir/examples/ecommerce/eventshop-ecommerce
if [[ ! -x $bin ]]; then
  echo "web-e2e: $bin not found: build the target eventshop-ecommerce first" >&2
  exit 1
fi

if [[ ! -x /usr/bin/chromium ]]; then
  sudo=()
  [[ $(id -u) == 0 ]] || sudo=(sudo)
  echo "web-e2e: installing Debian's chromium" >&2
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends chromium fonts-liberation >&2
fi

"$root/scripts/build-web.sh"
# shellcheck source=node-env.sh
source "$root/scripts/node-env.sh"

# Seven free loopback ports: BASE..BASE+5 for the services, one for the UI.
read -r base ui_port < <(node -e '
const net = require("node:net");
const free = (p) => new Promise((res) => { const s = net.createServer(); s.once("error", () => res(false)); s.listen(p, "127.0.0.1", () => s.close(() => res(true))); });
(async () => {
  for (let i = 0; i < 200; i++) {
    const base = 20000 + Math.floor(Math.random() * 30000);
    let ok = true;
    for (let p = base; p <= base + 6 && ok; p++) ok = await free(p);
    if (ok) { console.log(base, base + 6); return; }
  }
  process.exit(1);
})();')
[[ -n ${base:-} ]] || { echo "web-e2e: no free ports found" >&2; exit 1; }

data=$(mktemp -d "${TMPDIR:-/tmp}/eventshop-web-e2e.XXXXXX")
log=$data/server.log
args=(--bus "$bus" --data-dir "$data/data" --ports "$base" --ui-port "$ui_port" --bind 127.0.0.1
  --step-delay-ms "$step_delay" --ui-dir "$web/out")
mkdir -p "$data/data"
echo "web-e2e: starting $bin ${args[*]}" >&2
"$bin" "${args[@]}" >"$log" 2>&1 &
server_pid=$!

stop_server() {
  if kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
      kill -0 "$server_pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
  wait "$server_pid" 2>/dev/null || true
  rm -rf "$data"
}
trap stop_server EXIT

# Ready: every service's /ready answers 200 and the UI serves /config.json and /.
# (node's fetch, since a fresh Debian has no curl.)
ready() {
  node -e '
const [base, ui] = process.argv.slice(1).map(Number);
const urls = [0, 1, 2, 3, 4, 5].map((i) => `http://127.0.0.1:${base + i}/ready`);
urls.push(`http://127.0.0.1:${ui}/config.json`, `http://127.0.0.1:${ui}/`);
Promise.all(urls.map((u) => fetch(u, { signal: AbortSignal.timeout(2000) }).then((r) => r.ok)))
  .then((oks) => process.exit(oks.every(Boolean) ? 0 : 1), () => process.exit(1));
' "$base" "$ui_port"
}
deadline=$((SECONDS + 60))
until ready; do
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "web-e2e: eventshop-ecommerce exited; its log:" >&2
    cat "$log" >&2
    exit 1
  fi
  if ((SECONDS > deadline)); then
    echo "web-e2e: eventshop-ecommerce not ready after 60 s; its log:" >&2
    tail -50 "$log" >&2
    exit 1
  fi
  sleep 0.2
done

status=0
(
  cd "$web"
  E2E_BASE_URL="http://127.0.0.1:$ui_port" E2E_SCREENSHOTS=$shots E2E_ONLY=$only node tests/e2e/run.mjs
) || status=$?
if [[ $status != 0 ]]; then
  echo "web-e2e: last lines of the server log:" >&2
  tail -30 "$log" >&2
fi
exit "$status"
