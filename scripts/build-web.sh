#!/usr/bin/env bash
# build-web.sh: builds the web UI (examples/ecommerce/web) into its static export
# examples/ecommerce/web/out, which eventshop-ecommerce serves on its UI port.
#
#   scripts/build-web.sh            # install deps if needed, build if sources changed
#   scripts/build-web.sh --force    # build even when out/ is up to date
#   scripts/build-web.sh --test     # also run the Vitest unit tests (npm test)
#
# Node >= 20.19 comes from scripts/node-env.sh (Debian's apt + the npm registry).
# Dependencies: `npm ci` from the committed package-lock.json, re-run when the lock
# file changed. The build is skipped when out/index.html is newer than every source.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
web=$root/examples/ecommerce/web
force=0
run_tests=0
for arg in "$@"; do
  case $arg in
    --force) force=1 ;;
    --test) run_tests=1 ;;
    -h | --help)
      sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "build-web: unknown argument '$arg' (expected --force, --test)" >&2
      exit 2
      ;;
  esac
done

cd "$web"
# One build at a time (ctest may start several tests that build the UI).
exec 9>"$web/.build.lock"
flock 9

# shellcheck source=node-env.sh
source "$root/scripts/node-env.sh"
export NEXT_TELEMETRY_DISABLED=1

# npm ci when node_modules is missing or older than the lock file.
stamp=node_modules/.package-lock.json
if [[ ! -f $stamp || package-lock.json -nt $stamp ]]; then
  echo "build-web: npm ci ($(node --version))" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
  touch "$stamp"
fi

sources=(src public package.json package-lock.json next.config.ts postcss.config.mjs tsconfig.json)
existing=()
for s in "${sources[@]}"; do [[ -e $s ]] && existing+=("$s"); done
if [[ $force == 0 && -f out/index.html ]] && [[ -z $(find "${existing[@]}" -newer out/index.html -print -quit) ]]; then
  echo "build-web: $web/out is up to date" >&2
else
  echo "build-web: next build -> $web/out" >&2
  rm -rf out
  npx --no-install next build >&2
  [[ -f out/index.html ]] || {
    echo "build-web: next build produced no out/index.html" >&2
    exit 1
  }
fi

if [[ $run_tests == 1 ]]; then
  npm test
fi
