#!/bin/bash
# install-deps.sh — what airlock needs beyond cargo, in two sizes:
#
#   scripts/install-deps.sh               # the whole test suite (scripts/test.sh, CI)
#   scripts/install-deps.sh --quickstart  # only what scripts/quickstart.sh runs
#
# Both: Debian's docker-registry (CNCF distribution 2.8) and skopeo, python3,
# Node.js and npm, openssl (the test bed's private CA and token-server keys),
# zstd (apt-get: needs root when one is missing), and the local Sigstore of
# scripts/sigstore-local (npm ci). --quickstart then builds only cosign and
# crane from the Go module proxy (scripts/install-peers.sh; needs Go); the
# suite adds apache2-utils (bcrypt htpasswd entries), tinyproxy (the proxy
# tests), the sigstore-lab beside the repository in ../shared (node + python
# signers and verifiers the tests compare against) and every Go peer (cosign,
# crane, oras, olareg, policy-controller's tester, kyverno, osv-scanner).
# Idempotent and quiet when everything is there.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=suite
case "${1:-}" in
    "") ;;
    --quickstart) mode=quickstart ;;
    *) echo "usage: scripts/install-deps.sh [--quickstart]" >&2; exit 2 ;;
esac

wanted=(docker-registry:docker-registry skopeo:skopeo python3:python3 nodejs:node npm:npm openssl:openssl zstd:zstd)
[ $mode = suite ] && wanted+=(apache2-utils:htpasswd tinyproxy:tinyproxy)
missing=()
for pkg_bin in "${wanted[@]}"; do
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

scripts/sigstore-local/install.sh

if [ $mode = quickstart ]; then
    # cosign signs the sample images; crane builds them.
    scripts/install-peers.sh cosign crane
    exit 0
fi

lab=../shared/tools/sigstore-lab
if [ -x "$lab/install.sh" ]; then
    "$lab/install.sh" >/dev/null
else
    echo "install-deps.sh: $lab not found (the test suite needs shared/ beside the repository; scripts/quickstart.sh does not)" >&2
    exit 2
fi

# The field's own tools for the interoperability tests, built from the Go
# module proxy at pinned versions (minutes the first time, instant after).
scripts/install-peers.sh
