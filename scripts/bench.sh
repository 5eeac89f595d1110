#!/usr/bin/env bash
# bench.sh [verify-blob|load] — airlock's benchmarks, each against the physical
# limit or a peer in the same run, printing ratios. Not a test: numbers are
# for people; nothing here asserts a timing.
#
#   verify-blob   per-bundle CPU in-process and whole-process latency of
#                 `airlock verify-blob`, against sigstore-python on the same
#                 fresh bundles (sigstore-lab). Targets: >= 10x less CPU per
#                 bundle than sigstore-python; whole process < 10 ms.
#   load          `airlock load` of a bundle of IMAGES images (default 20,
#                 ~2 GiB: shared base layers plus a unique layer each, each
#                 signed) into a loopback docker-registry, against a
#                 `skopeo copy oci:BUNDLE:REF` loop from the same layout into
#                 another; then a second load of the same bundle. Targets:
#                 airlock <= 0.5x skopeo; the second load uploads nothing and
#                 takes < 5% of the first. IMAGES, UNIQUE_MIB, BASE_MIB tune it.
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-verify-blob}
N=${N:-200}
RUNS=${RUNS:-100}

lab_fixtures() {
  scripts/install-deps.sh
  command -v hyperfine >/dev/null || apt-get install -y -q hyperfine >/dev/null
  work=$(mktemp -d /tmp/airlock-bench.XXXXXX)
  trap 'rm -rf "$work"' EXIT
  testdata/lab/make-fixtures.sh "$work/lab" >/dev/null
  lab=$work/lab
}

bench_verify_blob() {
  lab_fixtures
  cargo build --release --locked --bin airlock -q
  cargo bench --locked --bench verify_blob --no-run -q 2>/dev/null
  local bench_bin
  bench_bin=$(ls -t target/release/deps/verify_blob-* | grep -v '\.d$' | head -1)
  local py=../shared/tools/sigstore-lab/venv/bin/python
  local pyverify=../shared/tools/sigstore-lab/pyverify.py
  local root=$lab/trusted_root.json art=$lab/artifact.txt
  printf '%-22s %14s %14s %8s %14s %14s %8s\n' bundle "airlock cpu ms" "python cpu ms" ratio "airlock run ms" "python run ms" ratio
  for spec in "py-blob-tsa.json|alice@example.com|https://accounts.google.com" \
              "js-blob-notsa.json|alice@example.com|https://accounts.google.com" \
              "js-blob-tsa.json|https://github.com/example/repo/.github/workflows/release.yml@refs/heads/main|https://token.actions.githubusercontent.com"; do
    IFS='|' read -r bundle id iss <<<"$spec"
    local ours theirs
    ours=$("$bench_bin" "$root" "$lab/$bundle" "$art" "$id" "$iss" "$N")
    theirs=$("$py" "$pyverify" --trusted-root "$root" --bundle "$lab/$bundle" --artifact "$art" --identity "$id" --issuer "$iss" --n "$N")
    # Whole process, measured by hyperfine (no shell in between).
    hyperfine -N --warmup 10 --runs "$RUNS" --export-json "$work/a.json" \
      "target/release/airlock verify-blob --bundle $lab/$bundle --certificate-identity $id --certificate-oidc-issuer $iss --trusted-root $root $art" >/dev/null 2>&1
    hyperfine -N --runs 5 --export-json "$work/p.json" \
      "$py $pyverify --trusted-root $root --bundle $lab/$bundle --artifact $art --identity $id --issuer $iss" >/dev/null 2>&1
    python3 - "$bundle" "$ours" "$theirs" "$work/a.json" "$work/p.json" <<'PY'
import json, sys
name, ours, theirs = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
a_run = json.load(open(sys.argv[4]))["results"][0]["mean"] * 1e3
p_run = json.load(open(sys.argv[5]))["results"][0]["mean"] * 1e3
a, p = ours["per_bundle_cpu_ms"], theirs["per_bundle_cpu_ms"]
print(f"{name:22} {a:14.3f} {p:14.3f} {p/a:7.1f}x {a_run:14.2f} {p_run:14.1f} {p_run/a_run:7.0f}x")
PY
  done
  echo "(cpu: in-process parse+verify, mean of N=$N; run: whole process by hyperfine, mean of $RUNS airlock / 5 python runs)"
}

bench_load() {
  scripts/install-deps.sh >/dev/null
  local images=${IMAGES:-20} unique=${UNIQUE_MIB:-80} base=${BASE_MIB:-448}
  cargo build --release --locked --bin airlock -q
  cargo build --release --locked -p verifier --example bench_bundle -q
  work=$(mktemp -d /tmp/airlock-bench-load.XXXXXX)
  local pids=()
  trap 'kill "${pids[@]}" 2>/dev/null; rm -rf "$work" "${dirs[@]}"' EXIT
  local dirs=()
  echo "writing a bundle of $images images (${base} MiB shared + ${unique} MiB each)..."
  target/release/examples/bench_bundle "$work/bundle" "$images" "$unique" "$base" > "$work/refs"
  du -sh "$work/bundle" | sed 's/^/bundle size: /'
  read -r a_addr a_pid a_dir < <(scripts/registry.sh --background)
  read -r s_addr s_pid s_dir < <(scripts/registry.sh --background)
  pids+=("$a_pid" "$s_pid"); dirs+=("$a_dir" "$s_dir")
  # Warm the page cache for both contenders alike.
  cat "$work"/bundle/blobs/sha256/* > /dev/null

  local t0 t1 t2 t3
  t0=$(date +%s.%N)
  while read -r ref; do
    skopeo copy --all --quiet --preserve-digests --dest-tls-verify=false \
      "oci:$work/bundle:$ref" "docker://$s_addr/bench/${ref#*/}"
  done < "$work/refs"
  t1=$(date +%s.%N)
  target/release/airlock load "$work/bundle" --to "$a_addr/bench" --insecure-registry "$a_addr" \
    --output json > "$work/first.json"
  t2=$(date +%s.%N)
  target/release/airlock load "$work/bundle" --to "$a_addr/bench" --insecure-registry "$a_addr" \
    --output json > "$work/second.json"
  t3=$(date +%s.%N)
  python3 - "$t0" "$t1" "$t2" "$t3" "$work/first.json" "$work/second.json" <<'PY'
import json, sys
t0, t1, t2, t3 = map(float, sys.argv[1:5])
first, second = (json.load(open(p)) for p in sys.argv[5:7])
skopeo, ours, again = t1 - t0, t2 - t1, t3 - t2
f, s = first["report"]["totals"], second["report"]["totals"]
print(f"skopeo copy loop        {skopeo:8.2f} s")
print(f"airlock load            {ours:8.2f} s  ({ours / skopeo:.2f}x skopeo; push alone {first['pushSeconds']:.2f} s, "
      f"the rest is checking every blob of the bundle)  {f['blobsUploaded']} blobs, {f['bytesUploaded'] / 2**30:.2f} GiB uploaded, {f['blobsMounted']} mounted")
print(f"airlock load, again     {again:8.2f} s  ({100 * again / ours:.1f}% of the first; push alone {second['pushSeconds']:.2f} s = "
      f"{100 * second['pushSeconds'] / first['pushSeconds']:.1f}% of the first push)  {s['blobsUploaded']} blobs uploaded")
PY
}

case "$what" in
  verify-blob) bench_verify_blob ;;
  load) bench_load ;;
  *) echo "usage: scripts/bench.sh [verify-blob|load]" >&2; exit 2 ;;
esac
