#!/usr/bin/env bash
# quickstart.sh — airlock's main job, end to end, on a fresh machine.
#
# Today: sign fresh artifacts with real Sigstore clients (sigstore-js and
# sigstore-python against the local keyless Sigstore of sigstore-lab), then
# verify them offline with airlock, and watch tampered copies be refused.
# Then the connected side: push two images to a loopback registry, sign
# them keylessly (a cosign .sig and a v0.3 Sigstore bundle referrer), and
# bundle them with their evidence into a directory and a signed archive.
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

# ---------------------------------------------------------------- bundling
echo "==> the connected side: bundling signed images for the air gap"
lab_dir=$PWD/../shared/tools/sigstore-lab
read -r registry registry_pid registry_dir < <(scripts/registry.sh --background)
node "$lab_dir/mockserver.js" --out "$work/sigstore" --tlog-noise 2 >"$work/sigstore.ready" 2>"$work/sigstore.log" &
lab_pid=$!
trap 'kill $registry_pid $lab_pid 2>/dev/null; rm -rf "$registry_dir"' EXIT
for _ in $(seq 100); do [ -s "$work/sigstore.ready" ] && break; sleep 0.1; done
lab_url=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["url"])' "$work/sigstore.ready")
echo "registry on $registry, local Sigstore on $lab_url"
for spec in "web|legacy|hello from the web image" "worker|bundle|hello from the worker image"; do
  IFS='|' read -r name mode text <<<"$spec"
  digest=$(python3 "$lab_dir/mkimage.py" "$work/images/$name" "$text")
  skopeo copy -q --dest-tls-verify=false "oci:$work/images/$name:v1" "docker://$registry/demo/$name:v1"
  (cd "$lab_dir" && node oci-sign.js --url "$lab_url" --trust "$work/sigstore" \
     --image "$registry/demo/$name@$digest" --mode "$mode" >/dev/null)
  echo "pushed $registry/demo/$name:v1 ($digest), signed keylessly ($mode)"
done
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/transfer.key" 2>/dev/null
openssl pkey -in "$work/transfer.key" -pubout -out "$work/transfer.pub"
bundle_args=(--trusted-root "$work/sigstore/trusted_root.json" --rekor-url "$lab_url"
             --insecure-registry "$registry" "$registry/demo/web:v1" "$registry/demo/worker:v1")

step "bundle both images with their evidence into a directory (an OCI layout plus airlock's manifest)" \
  $airlock bundle create "${bundle_args[@]}" --out "$work/bundle"

step "the same as a signed, compressed archive, reproducible with --created" \
  $airlock bundle create "${bundle_args[@]}" --out "$work/bundle.tar.zst" \
    --sign-key "$work/transfer.key" --created 2026-11-23T10:00:00Z

mkdir -p "$work/extract"
tar --zstd -xf "$work/bundle.tar.zst" -C "$work/extract" airlock/manifest.json airlock/manifest.json.sig
base64 -d "$work/extract/airlock/manifest.json.sig" >"$work/extract/manifest.sig.der"
step "the transfer signature is cosign sign-blob's format: openssl checks it too" \
  openssl dgst -sha256 -verify "$work/transfer.pub" -signature "$work/extract/manifest.sig.der" "$work/extract/airlock/manifest.json"

step "OCI tools read the bundle's layout by reference" \
  skopeo inspect --raw "oci:$work/bundle:$registry/demo/web:v1"

printf '\n==> the machine-readable report of the directory bundle (excerpt):\n'
$airlock bundle create "${bundle_args[@]}" --out "$work/bundle" --output json 2>/dev/null \
  | python3 -c 'import json,sys; r=json.load(sys.stdin); print(json.dumps({"bundleId": r["bundleId"], "images": [{"reference": i["reference"], "digest": i["digest"], "evidence": [{"kind": e["kind"], "source": e["source"], "selfCheck": [l["status"] for l in e["layers"]]} for e in i["evidence"]], "logEntriesFetched": i["logEntriesFetched"]} for i in r["images"]], "blobs": r["blobs"]}, indent=2))'
echo
echo "Fixtures kept in $work"
