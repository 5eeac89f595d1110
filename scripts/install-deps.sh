#!/bin/bash
# install-deps.sh — what airlock's tests need beyond cargo: Debian's
# docker-registry (CNCF distribution 2.8) and skopeo for the real-registry
# test bed, apache2-utils for bcrypt htpasswd entries, openssl (the test
# bed's private CA and token-server keys), tinyproxy (the proxy tests), and
# the sigstore-lab
# (node + python peers) beside the repository in ../shared; then the Go peers
# (cosign, crane, oras, olareg, policy-controller's tester, kyverno,
# osv-scanner) through scripts/install-peers.sh.
# Idempotent and quiet when everything is there. Needs root for apt-get.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
for pkg_bin in docker-registry:docker-registry skopeo:skopeo apache2-utils:htpasswd openssl:openssl tinyproxy:tinyproxy python3:python3 nodejs:node npm:npm; do
    pkg=${pkg_bin%%:*} bin=${pkg_bin##*:}
    command -v "$bin" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "install-deps.sh: need root to install: ${missing[*]}" >&2
        exit 2
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    # docker-registry's and tinyproxy's packages enable system services
    # (:5000 on all interfaces, :8888); the tests never use them, and
    # policy-rc.d keeps them stopped.
    ours=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && ours=1
    fi
    apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
    if [ $ours = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
fi

lab=../shared/tools/sigstore-lab
if [ -x "$lab/install.sh" ]; then
    "$lab/install.sh" >/dev/null
else
    echo "install-deps.sh: $lab not found (shared/ must sit beside the repository)" >&2
    exit 2
fi

# The field's own tools for the interoperability tests, built from the Go
# module proxy at pinned versions (minutes the first time, instant after).
scripts/install-peers.sh
