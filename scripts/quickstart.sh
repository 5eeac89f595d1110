#!/usr/bin/env bash
# quickstart.sh — airlock's main job, end to end, from a clone of this
# repository and nothing else.
#
# Everything runs on 127.0.0.1: airlock's local keyless Sigstore
# (scripts/sigstore-local: Fulcio, Rekor, a TSA, an OIDC issuer), a source
# registry where three sample images are published and signed by cosign v3,
# the publishers' own tool, and the site's registry on the other side of the
# "gap":
#
#   web     signed keylessly, cosign's classic .sig tag (Rekor SET, TSA timestamp)
#   worker  signed keylessly in cosign v3's format (a Sigstore bundle as an OCI
#           referrer) with SLSA provenance attested the same way
#   tools   signed with the publisher's key and no transparency log
#
#   connected side:    bundle create (policy self-check, transfer signature)
#   --- the air gap ---
#   disconnected side: verify -> load (re-signed with the site's key)
#                      -> verify-image -> policy export -> pin -> serve
#
# then a tampered bundle refused with nothing pushed, and cosign accepting
# the site's re-signatures. Needs Debian with Go >= 1.26.7 and Rust; apt
# packages it lacks are installed when run as root (scripts/install-deps.sh
# --quickstart). The first run builds cosign, crane and airlock (minutes).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh --quickstart
peers=$(scripts/install-peers.sh --bin-dir)
cosign=$peers/cosign crane=$peers/crane
echo "==> building airlock (release; a few minutes the first time)"
command -v cargo >/dev/null || { echo "quickstart.sh: cargo is missing: install Rust (https://rustup.rs)" >&2; exit 2; }
cargo build --release --locked --quiet --bin airlock
airlock=$PWD/target/release/airlock
started=$(date +%s)

work=$(mktemp -d /tmp/airlock-quickstart.XXXXXX)
pids=() registry_dirs=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "${registry_dirs[@]:-}"; }
trap cleanup EXIT
step() { printf '\n==> %s\n$ %s\n' "$1" "${*:2}"; "${@:2}"; }
refused() { printf '\n==> %s\n$ %s\n' "$1" "${*:2}"; if "${@:2}"; then echo "UNEXPECTED: accepted"; exit 1; else echo "(exit $?: refused, as it must be)"; fi; }
# quiet CMD... — run a chatty tool, showing its output only if it fails.
quiet() { "$@" >"$work/last.log" 2>&1 || { cat "$work/last.log" >&2; echo "quickstart.sh: failed: $*" >&2; return 1; }; }
json() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$@"; }

# ------------------------------------------------------------- the world
node scripts/sigstore-local/server.js --out "$work/sigstore" >"$work/sigstore.ready" 2>"$work/sigstore.log" &
pids+=($!)
read -r source source_pid source_dir < <(scripts/registry.sh --background)
read -r site site_pid site_dir < <(scripts/registry.sh --background)
pids+=("$source_pid" "$site_pid"); registry_dirs+=("$source_dir" "$site_dir")
for _ in $(seq 100); do [ -s "$work/sigstore.ready" ] && break; sleep 0.1; done
[ -s "$work/sigstore.ready" ] || { cat "$work/sigstore.log" >&2; echo "quickstart.sh: the local Sigstore did not start" >&2; exit 1; }
sigstore=$(json "$work/sigstore.ready" url) issuer=$(json "$work/sigstore.ready" issuer)
trust=(--trusted-root "$work/sigstore/trusted_root.json")
echo "local Sigstore on $sigstore (OIDC issuer $issuer); source registry on $source; the site's registry on $site"

# Three one-layer images, built and pushed by crane.
for name in web worker tools; do
  mkdir -p "$work/images/$name" && echo "hello from the $name image" >"$work/images/$name/hello.txt"
  tar -C "$work/images/$name" -cf "$work/images/$name.tar" hello.txt
  quiet "$crane" append --oci-empty-base -f "$work/images/$name.tar" -t "$source/demo/$name:v1"
  quiet "$crane" mutate "$source/demo/$name:v1" --set-platform linux/amd64
  declare "$name=$("$crane" digest "$source/demo/$name:v1")"
  echo "pushed $source/demo/$name:v1 (${!name})"
done

# The publisher's CI identity: an ID token from the local issuer, which
# Fulcio turns into a 10-minute certificate for each signature.
identity='https://github.com/example/repo/.github/workflows/release.yml@refs/heads/main'
python3 - "$issuer/token" "$identity" >"$work/token" <<'PY'
import json, sys, urllib.request
claims = {"sub": sys.argv[2], "repository": "example/repo", "ref": "refs/heads/main",
          "job_workflow_ref": "example/repo/.github/workflows/release.yml@refs/heads/main"}
answer = urllib.request.urlopen(urllib.request.Request(sys.argv[1], json.dumps(claims).encode()))
sys.stdout.write(json.load(answer)["id_token"])
PY
keyless=(--identity-token "$work/token" "${trust[@]}")
cat >"$work/provenance.json" <<'EOF'
{"buildDefinition": {"buildType": "https://example.com/build/v1", "externalParameters": {"ref": "refs/heads/main"}},
 "runDetails": {"builder": {"id": "https://example.com/builder"}}}
EOF
quiet "$cosign" sign --yes "${keyless[@]}" --new-bundle-format=false --use-signing-config=false \
  --fulcio-url "$sigstore" --rekor-url "$sigstore" --timestamp-server-url "$sigstore/api/v1/timestamp" "$source/demo/web@$web"
quiet "$cosign" sign --yes "${keyless[@]}" --signing-config "$work/sigstore/signing_config.json" "$source/demo/worker@$worker"
quiet "$cosign" attest --yes "${keyless[@]}" --signing-config "$work/sigstore/signing_config.json" \
  --type slsaprovenance1 --predicate "$work/provenance.json" "$source/demo/worker@$worker"
# The tools publisher signs with a key and logs nothing (a signing config with no services).
export COSIGN_PASSWORD=quickstart
quiet "$cosign" generate-key-pair --output-key-prefix "$work/publisher"
quiet "$cosign" signing-config create --out "$work/key-only.json"
quiet "$cosign" sign --yes --key "$work/publisher.key" --signing-config "$work/key-only.json" "${trust[@]}" "$source/demo/tools@$tools"
echo "cosign $("$cosign" version 2>/dev/null | sed -n 's/^GitVersion: *//p') signed:"
echo "  web:    keyless as $identity: a .sig tag (certificate, Rekor SET, TSA timestamp)"
echo "  worker: keyless, the same identity: a Sigstore bundle and SLSA provenance, as OCI referrers (Rekor inclusion proofs)"
echo "  tools:  with publisher.key, no transparency log: a Sigstore bundle as an OCI referrer"

# The site's import policy: who must have signed what.
cat >"$work/policy.yaml" <<EOF
apiVersion: airlock.dev/v1alpha1
kind: ImportPolicy
spec:
  rules:
    - name: release-workflow
      images: ['$source/demo/web*', '$source/demo/worker*']
      authorities:
        - name: github-release
          keyless:
            - issuer: $issuer
              subject: '$identity'
    - name: worker-provenance
      images: ['$source/demo/worker*']
      authorities:
        - name: builder
          keyless:
            - issuer: $issuer
              subject: '$identity'
          require: {signature: false}
          attestations:
            - name: provenance
              predicateType: slsaprovenance1
              builderId: https://example.com/builder
    - name: tools-publisher
      images: ['$source/demo/tools*']
      authorities:
        - name: publisher-key
          key:
            - pem: |
$(sed 's/^/                /' "$work/publisher.pub")
          require: {transparencyLog: false}
EOF
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/transfer.key" 2>/dev/null
openssl pkey -in "$work/transfer.key" -pubout -out "$work/transfer.pub"

# ------------------------------------------------------------- connected side
step "CONNECTED SIDE: bundle the three images with every signature, attestation and Rekor proof; self-check against the site's policy; sign the manifest with the transfer key" \
  "$airlock" bundle create "$source/demo/web:v1" "$source/demo/worker:v1" "$source/demo/tools:v1" --insecure-registry "$source" \
    "${trust[@]}" --rekor-url "$sigstore" \
    --policy "$work/policy.yaml" --sign-key "$work/transfer.key" --out "$work/transfer/bundle.tar.zst"

# ------------------------------------------------------------- the air gap
echo; echo "=================== the air gap: only $work/transfer/ crosses ==================="
site_root=$work/site; mkdir -p "$site_root"
cp "$work/policy.yaml" "$work/transfer.pub" "$site_root/"
verify_flags=(--policy "$site_root/policy.yaml" --transfer-key "$site_root/transfer.pub" --state "$site_root/state")

step "DISCONNECTED SIDE: verify everything offline; the transfer key pins the bundle (and the trusted root it carries)" \
  "$airlock" verify "$work/transfer/bundle.tar.zst" "${verify_flags[@]}" --report "$site_root/report.json"

"$airlock" key generate --output-key-prefix "$site_root/site" >/dev/null
step "load into the site's registry: verified again in the same process, pushed blobs -> manifests -> evidence -> tags, re-signed with the site's key" \
  "$airlock" load "$work/transfer/bundle.tar.zst" "${verify_flags[@]}" \
    --to "$site/mirror" --insecure-registry "$site" --resign-key "$site_root/site.key" --mapping "$site_root/mapping.txt"

echo; echo "mapping for pin:"; cat "$site_root/mapping.txt"
# mapping.txt: SOURCE_REF TARGET_REF@sha256:… ; by digest, without the tag.
loaded=()
while read -r _ target; do loaded+=("${target%%:v1@*}@${target##*@}"); done <"$site_root/mapping.txt"
step "the site's audit: the mirrored image carries the site's re-signature" \
  "$airlock" verify-image "${loaded[0]}" --key "$site_root/site.pub" --insecure-registry "$site"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 2>/dev/null | openssl pkey -pubout -out "$work/stranger.pub"
refused "and it does not verify with another key" \
  "$airlock" verify-image "${loaded[0]}" --key "$work/stranger.pub" --insecure-registry "$site"

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
cat "$work/serve.out"
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
[ "$before" = "$after" ] || { echo "UNEXPECTED: the site registry changed"; exit 1; }

# ------------------------------------------------------------- the field's own tool
# airlock re-signs in cosign's classic .sig format, which every admission
# controller reads; cosign v3 reads only the Sigstore bundles when an image
# has any (worker, tools), so it is told which format to read.
for image in "${loaded[@]}"; do
  step "cosign accepts the site's re-signature on ${image#"$site/"}" \
    "$cosign" verify --key "$site_root/site.pub" --insecure-ignore-tlog --new-bundle-format=false --output text "$image"
done
refused "and refuses it with another key" \
  "$cosign" verify --key "$work/stranger.pub" --insecure-ignore-tlog --new-bundle-format=false --output text "${loaded[0]}"

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
        signer = f["signer"]
        who = signer["identity"]["value"] if signer["kind"] == "certificate" else f"key {signer['fingerprint']}"
        logs = ", ".join(f"log index {e['logIndex']}" for e in f["logEntries"]) or "no log entry"
        print(f"  {i['reference']}: {a['role']} by {who} ({logs})")
PY
echo
echo "Done in $(( $(date +%s) - started ))s after the build. Everything is kept in $work"
