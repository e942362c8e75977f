#!/usr/bin/env bash
# http.sh METHOD URL [JSON]: a tiny HTTP/1.1 client on bash's /dev/tcp, so the Makefile's demo
# targets work on a machine without curl. Prints the response body (and the status on stderr).
set -euo pipefail
method=$1 url=$2 body=${3:-}
rest=${url#http://}
hostport=${rest%%/*}
path=/${rest#*/}
[[ $rest == */* ]] || path=/
host=${hostport%%:*}
port=${hostport##*:}
[[ $port == "$hostport" ]] && port=80
exec 3<>"/dev/tcp/$host/$port"
{
  printf '%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n' "$method" "$path" "$hostport"
  if [[ -n $body ]]; then
    printf 'Content-Type: application/json\r\nContent-Length: %s\r\n' "${#body}"
  fi
  printf '\r\n%s' "$body"
} >&3
response=$(cat <&3)
status=${response%%$'\r'*}
echo "$status" >&2
printf '%s\n' "${response#*$'\r\n\r\n'}"
