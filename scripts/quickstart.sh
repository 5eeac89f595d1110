#!/usr/bin/env bash
# quickstart.sh — airlock's main job, end to end, on a fresh machine.
#
# Everything runs on 127.0.0.1: a local keyless Sigstore (sigstore-lab:
# Fulcio, Rekor, TSA), a source registry with sample images signed by real
# Sigstore clients, and the site's registry on the other side of the "gap".
#
#   connected side:    bundle create (policy self-check, transfer signature)
#   --- the air gap ---
#   disconnected side: verify -> load (re-signed with the site's key)
#                      -> verify-image -> policy export -> pin -> serve
#
# and a tampered bundle refused with nothing pushed.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
echo "==> building airlock (release)"
cargo build --release --locked --bin airlock 2>&1 | grep -E '^(error|warning: unused)' || true
airlock=$PWD/target/release/airlock
lab_dir=$PWD/../shared/tools/sigstore-lab
started=$(date +%s)

work=$(mktemp -d /tmp/airlock-quickstart.XXXXXX)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "${registry_dirs[@]:-}"; }
registry_dirs=()
trap cleanup EXIT
step() { printf '\n==> %s\n$ %s\n' "$1" "${*:2}"; "${@:2}"; }
refused() { printf '\n==> %s\n$ %s\n' "$1" "${*:2}"; if "${@:2}"; then echo "UNEXPECTED: accepted"; exit 1; else echo "(exit $?: refused, as it must be)"; fi; }

# ------------------------------------------------------------- the world
node "$lab_dir/mockserver.js" --out "$work/sigstore" --tlog-noise 2 >"$work/sigstore.ready" 2>"$work/sigstore.log" &
pids+=($!)
read -r source source_pid source_dir < <(scripts/registry.sh --background)
read -r site site_pid site_dir < <(scripts/registry.sh --background)
pids+=("$source_pid" "$site_pid"); registry_dirs+=("$source_dir" "$site_dir")
for _ in $(seq 100); do [ -s "$work/sigstore.ready" ] && break; sleep 0.1; done
sigstore=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["url"])' "$work/sigstore.ready")
echo "local Sigstore on $sigstore; source registry on $source; the site's registry on $site"

identity='https://github.com/example/repo/.github/workflows/release.yml@refs/heads/main'
sign() { (cd "$lab_dir" && node oci-sign.js --url "$sigstore" --trust "$work/sigstore" --image "$1" "${@:2}" >/dev/null); }
for name in web worker; do
  digest=$(python3 "$lab_dir/mkimage.py" "$work/images/$name" "hello from the $name image")
  skopeo copy -q --dest-tls-verify=false "oci:$work/images/$name:v1" "docker://$source/demo/$name:v1"
  echo "pushed $source/demo/$name:v1 ($digest)"
done
web=$(skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$source/demo/web:v1")
worker=$(skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$source/demo/worker:v1")
sign "$source/demo/web@$web" --mode legacy
sign "$source/demo/worker@$worker" --mode bundle --predicate-type https://sigstore.dev/cosign/sign/v1 --tsa
sign "$source/demo/worker@$worker" --mode bundle --predicate-type https://slsa.dev/provenance/v1
echo "signed keylessly by $identity:"
echo "  web:    a cosign .sig (Rekor SET);  worker: a cosign v3 signature bundle (with TSA) and SLSA provenance, as OCI referrers"

# The site's import policy: who must have signed what.
cat >"$work/policy.yaml" <<EOF
apiVersion: airlock.dev/v1alpha1
kind: ImportPolicy
spec:
  rules:
    - name: release-workflow
      images: ['$source/demo/**']
      authorities:
        - name: github-release
          keyless:
            - issuer: https://token.actions.githubusercontent.com
              subject: '$identity'
    - name: worker-provenance
      images: ['$source/demo/worker*']
      authorities:
        - name: builder
          keyless:
            - issuer: https://token.actions.githubusercontent.com
              subject: '$identity'
          require: {signature: false}
          attestations:
            - name: provenance
              predicateType: slsaprovenance1
              builderId: https://example.com/builder
EOF
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/transfer.key" 2>/dev/null
openssl pkey -in "$work/transfer.key" -pubout -out "$work/transfer.pub"

# ------------------------------------------------------------- connected side
step "CONNECTED SIDE: bundle both images with every signature, attestation and Rekor proof; self-check against the site's policy; sign the manifest with the transfer key" \
  "$airlock" bundle create "$source/demo/web:v1" "$source/demo/worker:v1" --insecure-registry "$source" \
    --trusted-root "$work/sigstore/trusted_root.json" --rekor-url "$sigstore" \
    --policy "$work/policy.yaml" --sign-key "$work/transfer.key" --out "$work/transfer/bundle.tar.zst"

# ------------------------------------------------------------- the air gap
echo; echo "=================== the air gap: only $work/transfer/ crosses ==================="
site_root=$work/site; mkdir -p "$site_root"
cp "$work/policy.yaml" "$work/transfer.pub" "$site_root/"
verify_flags=(--policy "$site_root/policy.yaml" --transfer-key "$site_root/transfer.pub" --state "$site_root/state")

step "DISCONNECTED SIDE: verify everything offline; the transfer key pins the bundle (and the trusted root it carries)" \
  "$airlock" verify "$work/transfer/bundle.tar.zst" "${verify_flags[@]}" --report "$site_root/report.json"

COSIGN_PASSWORD=quickstart "$airlock" key generate --output-key-prefix "$site_root/site" >/dev/null
step "load into the site's registry: verified again in the same process, pushed blobs -> manifests -> evidence -> tags, re-signed with the site's key" \
  env COSIGN_PASSWORD=quickstart "$airlock" load "$work/transfer/bundle.tar.zst" "${verify_flags[@]}" \
    --to "$site/mirror" --insecure-registry "$site" --resign-key "$site_root/site.key" --mapping "$site_root/mapping.txt"

echo; echo "mapping for pin:"; cat "$site_root/mapping.txt"
internal_web=$(grep "demo/web:v1 " "$site_root/mapping.txt" | cut -d' ' -f2)
internal_web="${internal_web%%:v1@*}@${internal_web##*@}"
step "the site's audit: the mirrored image carries the site's re-signature" \
  "$airlock" verify-image "$internal_web" --key "$site_root/site.pub" --insecure-registry "$site"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 2>/dev/null | openssl pkey -pubout -out "$work/stranger.pub"
refused "and it does not verify with another key" \
  "$airlock" verify-image "$internal_web" --key "$work/stranger.pub" --insecure-registry "$site"

step "admission policies for the site's clusters (policy-controller and Kyverno), from the site key" \
  "$airlock" policy export --key "$site_root/site.pub" --registry "$site/mirror"

cat >"$work/deployment.yaml" <<EOF
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      containers:
        - name: web
          image: $source/demo/web:v1   # pinned by airlock pin
EOF
step "point workloads at the mirror, by digest" \
  "$airlock" pin --mapping "$site_root/mapping.txt" "$work/deployment.yaml"

printf '\n==> serve the verified bundle read-only (for sites without a registry), and pull from it with skopeo\n'
"$airlock" serve "$work/transfer/bundle.tar.zst" "${verify_flags[@]}" >"$work/serve.out" 2>"$work/serve.err" &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/serve.out" ] && break; sleep 0.1; done
served=$(sed -n 's|.*http://\([^ ]*\).*|\1|p' "$work/serve.out")
echo "$(cat "$work/serve.out")"
step "skopeo reads it like any registry" \
  skopeo inspect --tls-verify=false --format '{{.Name}} {{.Digest}}' "docker://$served/${source/:/-}/demo/worker:v1"

# ------------------------------------------------------------- a tampered bundle
mkdir -p "$work/tampered"
tar --zstd -xf "$work/transfer/bundle.tar.zst" -C "$work/tampered"
layer=$(ls -S "$work/tampered/blobs/sha256" | head -1)
printf 'X' | dd of="$work/tampered/blobs/sha256/$layer" bs=1 seek=10 conv=notrunc 2>/dev/null
before=$(find "$site_dir" -type f | wc -l)
refused "a bundle with one flipped byte in a blob: refused, and nothing is pushed" \
  "$airlock" load "$work/tampered" "${verify_flags[@]}" --to "$site/other" --insecure-registry "$site"
after=$(find "$site_dir" -type f | wc -l)
echo "files in the site registry's storage before and after: $before / $after"

printf '\n==> the archived report (%s), summarised:\n' "$site_root/report.json"
python3 - "$site_root/report.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"verdict {r['verdict']}, bundle {r['bundle']['id']}, policy {r['policy']['sha256']}, airlock {r['airlockVersion']}")
for s in r["steps"]:
    print(f"  {s['check']:20} {s['outcome']:8} {s['detail']}")
for i in r["images"]:
    for a in i["accepted"]:
        f = a["facts"]
        logs = ", ".join(f"log index {e['logIndex']}" for e in f["logEntries"]) or "no log entry"
        print(f"  {i['reference']}: {a['role']} by {f['signer']['identity']['value']} ({logs})")
PY
echo
echo "Done in $(( $(date +%s) - started ))s after the build. Everything is kept in $work"
