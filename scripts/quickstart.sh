#!/usr/bin/env bash
# quickstart.sh — airlock's main job, end to end, on a fresh machine.
#
# Today: sign fresh artifacts with real Sigstore clients (sigstore-js and
# sigstore-python against the local keyless Sigstore of sigstore-lab), then
# verify them offline with airlock, and watch tampered copies be refused.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cargo build --release --locked --bin airlock 2>&1 | grep -E '^(error|warning: unused)' || true
airlock=target/release/airlock

work=$(mktemp -d /tmp/airlock-quickstart.XXXXXX)
echo "==> signing fresh artifacts with sigstore-js and sigstore-python (local Sigstore on 127.0.0.1)"
testdata/lab/make-fixtures.sh "$work/lab" >/dev/null
lab=$work/lab
root=$lab/trusted_root.json
step() { printf '\n==> %s\n$ %s\n' "$1" "${*:2}"; "${@:2}" || true; }

step "a keyless blob signature made by sigstore-python, verified offline" \
  $airlock verify-blob --bundle "$lab/py-blob-tsa.json" \
    --certificate-identity alice@example.com --certificate-oidc-issuer https://accounts.google.com \
    --trusted-root "$root" --require-timestamp "$lab/artifact.txt"

step "an in-toto attestation (DSSE) made by sigstore-js, bound to the artifact's digest" \
  $airlock verify-blob --bundle "$lab/js-dsse-tsa.json" \
    --certificate-identity-regexp '^https://github.com/example/repo/' \
    --certificate-oidc-issuer https://token.actions.githubusercontent.com \
    --trusted-root "$root" "sha256:$(sha256sum "$lab/artifact.txt" | cut -d' ' -f1)"

step "the same signature, but the signer is not who the policy expects (refused, exit 1)" \
  $airlock verify-blob --bundle "$lab/py-blob-tsa.json" \
    --certificate-identity mallory@example.com --certificate-oidc-issuer https://accounts.google.com \
    --trusted-root "$root" "$lab/artifact.txt"

step "an inclusion proof borrowed from another log entry (refused, exit 1)" \
  $airlock verify-blob --bundle "$lab/neg-proof-other-leaf.json" \
    --certificate-identity alice@example.com --certificate-oidc-issuer https://accounts.google.com \
    --trusted-root "$root" "$lab/artifact.txt"

step "a certificate that had expired when it was logged (refused, exit 1)" \
  $airlock verify-blob --bundle "$lab/expired/bundle.json" \
    --certificate-identity alice@example.com --certificate-oidc-issuer https://accounts.google.com \
    --trusted-root "$lab/expired/trusted_root.json" "$lab/artifact.txt"

printf '\n==> the machine-readable result of the first verification:\n'
$airlock verify-blob --bundle "$lab/py-blob-tsa.json" \
  --certificate-identity alice@example.com --certificate-oidc-issuer https://accounts.google.com \
  --trusted-root "$root" --output json "$lab/artifact.txt"
echo
echo "Fixtures kept in $work"
