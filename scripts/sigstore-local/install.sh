#!/usr/bin/env bash
# install.sh — install the local Sigstore's npm packages exactly as
# package-lock.json pins them (npm ci, from the npm registry) into
# node_modules/. Quiet and instant when they are already there; a failure
# prints npm's output and exits non-zero. Needs Node.js >= 20.17 and npm.
set -euo pipefail
cd "$(dirname "$0")"
command -v node >/dev/null && command -v npm >/dev/null || {
    echo "sigstore-local/install.sh: node and npm are needed (Debian: apt-get install nodejs npm)" >&2; exit 2; }
node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 17) ? 0 : 1)' || {
    echo "sigstore-local/install.sh: Node.js >= 20.17 is needed, this is $(node --version)" >&2; exit 2; }
# npm ci records the lockfile it installed as node_modules/.package-lock.json;
# the stamp holds the hash of the package-lock.json that produced it.
want=$(sha256sum package-lock.json | cut -d' ' -f1)
[ "$(cat node_modules/.airlock-lock-sha256 2>/dev/null)" = "$want" ] && exit 0
if ! out=$(npm ci --ignore-scripts --no-audit --no-fund 2>&1); then
    printf '%s\n' "$out" >&2
    echo "sigstore-local/install.sh: npm ci failed" >&2
    exit 1
fi
echo "$want" > node_modules/.airlock-lock-sha256
