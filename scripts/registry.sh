#!/bin/bash
# registry.sh — a throwaway OCI registry (Debian docker-registry) on
# 127.0.0.1 with its storage in a temporary directory.
#
#   scripts/registry.sh [--port N] [--htpasswd USER:PASS]          # foreground, Ctrl-C stops
#   scripts/registry.sh --background [--port N] [--htpasswd U:P]  # prints ADDR PID DIR, returns
#
# In the background form, stop it with `kill PID` and remove DIR.
# Never uses the package's default /etc/docker/registry/config.yml (which
# listens on :5000 on every interface).
set -euo pipefail
port="" background=0 creds=""
while [ $# -gt 0 ]; do
    case "$1" in
        --port) port=$2; shift 2 ;;
        --background) background=1; shift ;;
        --htpasswd) creds=$2; shift 2 ;;
        -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
        *) echo "registry.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
command -v docker-registry >/dev/null || { echo "registry.sh: docker-registry missing; run scripts/install-deps.sh" >&2; exit 2; }
if [ -z "$port" ]; then
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
fi
dir=$(mktemp -d -t airlock-registry-XXXXXX)
auth=""
if [ -n "$creds" ]; then
    command -v htpasswd >/dev/null || { echo "registry.sh: htpasswd missing; run scripts/install-deps.sh" >&2; exit 2; }
    htpasswd -nbB "${creds%%:*}" "${creds#*:}" > "$dir/htpasswd"
    auth=$(printf 'auth:\n  htpasswd:\n    realm: airlock\n    path: %s\n' "$dir/htpasswd")
fi
cat > "$dir/config.yml" <<YAML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $dir/storage
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
  secret: airlock-local
$auth
YAML
wait_ready() {
    for _ in $(seq 1 150); do
        code=$(python3 - "$port" <<'PY' 2>/dev/null || true
import sys, urllib.request, urllib.error
try:
    print(urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/v2/", timeout=1).status)
except urllib.error.HTTPError as e:
    print(e.code)
PY
)
        [ "$code" = 200 ] || [ "$code" = 401 ] && return 0
        sleep 0.1
    done
    return 1
}
if [ $background = 1 ]; then
    docker-registry serve "$dir/config.yml" >"$dir/registry.log" 2>&1 &
    pid=$!
    wait_ready || { cat "$dir/registry.log" >&2; kill $pid; exit 1; }
    echo "127.0.0.1:$port $pid $dir"
else
    trap 'rm -rf "$dir"' EXIT
    docker-registry serve "$dir/config.yml" &
    pid=$!
    trap 'kill $pid 2>/dev/null; rm -rf "$dir"' EXIT INT TERM
    wait_ready || { echo "registry.sh: not ready" >&2; exit 1; }
    echo "registry on 127.0.0.1:$port (storage $dir/storage); Ctrl-C stops it" >&2
    wait $pid
fi
