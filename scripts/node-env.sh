#!/usr/bin/env bash
# node-env.sh: puts a Node.js >= 20.19 (what Next.js 16, Tailwind 4 and Vitest need)
# first on PATH, using only Debian's packages and the npm registry.
#
#   source scripts/node-env.sh          # in a bash script or shell: sets PATH
#   scripts/node-env.sh CMD [ARGS...]   # runs CMD with that PATH
#
# 1. A system `node` that is new enough is used as it is.
# 2. Otherwise `npm` is needed: when missing, `apt-get install nodejs npm` brings
#    Debian's (on Debian 12: Node 18 + npm 9, too old to build but able to install).
# 3. npm installs the registry package node-linux-<arch>@20 (a Node 20 binary) into
#    the cache directory $EVENTSHOP_NODE_DIR (default examples/ecommerce/web/.node,
#    git-ignored) once; later runs reuse it.
# Prints what it does on stderr; fails with a message naming the step that failed.

_eventshop_node_env() {
  local min_major=20 min_minor=19
  local root
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  local cache=${EVENTSHOP_NODE_DIR:-$root/examples/ecommerce/web/.node}

  _eventshop_node_ok() { # $1 = node binary
    local v
    v=$("$1" -p 'process.versions.node' 2>/dev/null) || return 1
    local major=${v%%.*} rest=${v#*.}
    local minor=${rest%%.*}
    [[ $major =~ ^[0-9]+$ && $minor =~ ^[0-9]+$ ]] || return 1
    ((major > min_major || (major == min_major && minor >= min_minor)))
  }

  # See the apt step below: certificates apt dropped from the system bundle.
  local extra_ca=$cache/ca-certificates.pem
  [[ -f $extra_ca ]] && export NODE_EXTRA_CA_CERTS=$extra_ca

  if command -v node >/dev/null 2>&1 && _eventshop_node_ok node; then
    return 0
  fi

  local arch
  case $(uname -m) in
    x86_64 | amd64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *)
      echo "node-env: no Node.js package for CPU $(uname -m); install Node >= $min_major.$min_minor yourself" >&2
      return 1
      ;;
  esac
  local pkg=node-linux-$arch
  local bin=$cache/node_modules/$pkg/bin

  if ! { [[ -x $bin/node ]] && _eventshop_node_ok "$bin/node"; }; then
    if ! command -v npm >/dev/null 2>&1; then
      local sudo=()
      if [[ $(id -u) != 0 ]]; then
        command -v sudo >/dev/null 2>&1 || {
          echo "node-env: npm is missing and installing it needs root or sudo (apt-get install nodejs npm)" >&2
          return 1
        }
        sudo=(sudo)
      fi
      echo "node-env: installing Debian's nodejs and npm" >&2
      # Installing them also installs Debian's ca-certificates, which rebuilds the system CA
      # bundle from /usr/share/ca-certificates: a bundle that had been provisioned directly
      # (e.g. with a site's proxy CA) would lose certificates npm needs. Keep the old ones.
      local bundle=/etc/ssl/certs/ca-certificates.crt saved=""
      if [[ -f $bundle ]]; then
        saved=$(mktemp)
        cp "$bundle" "$saved"
      fi
      DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get update -q >&2 || {
        echo "node-env: apt-get update failed" >&2
        return 1
      }
      DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends nodejs npm >&2 || {
        echo "node-env: apt-get install nodejs npm failed" >&2
        return 1
      }
      if [[ -n $saved ]]; then
        if ! cmp -s "$saved" "$bundle"; then
          mkdir -p "$cache"
          cat "$saved" "$bundle" >"$extra_ca"
          export NODE_EXTRA_CA_CERTS=$extra_ca
          echo "node-env: apt rebuilt $bundle; npm also trusts the certificates it had before ($extra_ca)" >&2
        fi
        rm -f "$saved"
      fi
    fi
    echo "node-env: installing $pkg@$min_major from the npm registry into $cache" >&2
    mkdir -p "$cache"
    npm install --prefix "$cache" --no-save --no-audit --no-fund --no-package-lock --loglevel=error "$pkg@$min_major" >&2 || {
      echo "node-env: npm install $pkg@$min_major failed" >&2
      return 1
    }
    _eventshop_node_ok "$bin/node" || {
      echo "node-env: $bin/node is not a Node >= $min_major.$min_minor" >&2
      return 1
    }
  fi
  export PATH="$bin:$PATH"
  hash -r 2>/dev/null || true
}

if [[ ${BASH_SOURCE[0]} != "$0" ]]; then
  _eventshop_node_env
else
  set -euo pipefail
  _eventshop_node_env
  if [[ $# -gt 0 ]]; then
    exec "$@"
  fi
  echo "node: $(command -v node) $(node --version)"
fi
