#!/usr/bin/env bash
# install-deps.sh — install what airlock's tests, benches and quickstart need
# on a fresh Debian machine. Idempotent and quiet when everything is present.
#   - Debian packages: docker-registry (CNCF distribution) and skopeo, the
#     real registry and the real image mover the tests talk to;
#   - the sigstore-lab peers (sigstore-js, sigstore-python) beside the checkout.
# Needs root for apt-get the first time.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(docker-registry skopeo)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: need root to install: ${missing[*]}" >&2
    exit 2
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null 2>&1 ||
    { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null; }
fi

lab=../shared/tools/sigstore-lab
[ -x "$lab/install.sh" ] || { echo "install-deps: $lab is missing (it lives beside the checkout)" >&2; exit 2; }
"$lab/install.sh" >/dev/null
