#!/usr/bin/env bash
# bench.sh [verify-blob|verify] — airlock's benchmarks, each against the physical
# limit or a peer in the same run, printing ratios. Not a test: numbers are
# for people; nothing here asserts a timing.
#
#   verify-blob   per-bundle CPU in-process and whole-process latency of
#                 `airlock verify-blob`, against sigstore-python on the same
#                 fresh bundles (sigstore-lab). Targets: >= 10x less CPU per
#                 bundle than sigstore-python; whole process < 10 ms.
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

# verify: a bundle of several GiB checked by `airlock verify` (both cores)
# against single-process `openssl dgst -sha256` over the same blob files,
# the physical limit per core; peak RSS; then how time grows with the
# number of images. Targets: wall time <= 0.65x openssl, RSS <= 64 MiB.
bench_verify() {
  command -v hyperfine >/dev/null || apt-get install -y -q hyperfine >/dev/null
  [ -x /usr/bin/time ] || apt-get install -y -q time >/dev/null
  cargo build --release --locked --bin airlock -q
  local work bytes=${BYTES:-4294967296}
  work=$(mktemp -d /tmp/airlock-bench.XXXXXX)
  trap 'rm -rf "$work"' EXIT
  local airlock="target/release/airlock"
  local verify_cmd="$airlock verify $work/big --policy testdata/bench/pass-all.yaml --trusted-root trust-roots/data/public-good-trusted_root.json --jobs 2"
  testdata/bench/gen-bundle.py "$work/big" --images 20 --bytes "$bytes" >/dev/null
  cat "$work"/big/blobs/sha256/* >/dev/null   # warm the page cache: measure hashing, not the disk
  hyperfine -N --warmup 1 --runs 3 --export-json "$work/openssl.json" \
    "bash -c 'openssl dgst -sha256 $work/big/blobs/sha256/* >/dev/null'" >/dev/null 2>&1
  hyperfine -N --warmup 1 --runs 3 --export-json "$work/airlock.json" "$verify_cmd" >/dev/null 2>&1
  /usr/bin/time -f '%M' -o "$work/rss" $verify_cmd >/dev/null 2>&1
  python3 - "$work" "$bytes" <<'PY'
import json, sys
work, size = sys.argv[1], int(sys.argv[2])
o = json.load(open(f"{work}/openssl.json"))["results"][0]["mean"]
a = json.load(open(f"{work}/airlock.json"))["results"][0]["mean"]
rss = int(open(f"{work}/rss").read().split()[-1]) / 1024
gib = size / 2**30
print(f"{gib:.1f} GiB, 20 images: openssl dgst -sha256 {o:.2f} s ({gib/o:.2f} GiB/s), airlock verify {a:.2f} s ({gib/a:.2f} GiB/s)")
print(f"ratio airlock/openssl = {a/o:.2f} (target <= 0.65); airlock peak RSS {rss:.1f} MiB (target <= 64)")
PY
  echo "scaling (100 MiB in total):"
  for n in 10 100 1000; do
    testdata/bench/gen-bundle.py "$work/n$n" --images "$n" --bytes 104857600 >/dev/null
    hyperfine -N --warmup 1 --runs 3 --export-json "$work/n$n.json" \
      "$airlock verify $work/n$n --policy testdata/bench/pass-all.yaml --trusted-root trust-roots/data/public-good-trusted_root.json --jobs 2" >/dev/null 2>&1
    /usr/bin/time -f '%M' -o "$work/rss$n" "$airlock" verify "$work/n$n" --policy testdata/bench/pass-all.yaml \
      --trusted-root trust-roots/data/public-good-trusted_root.json --jobs 2 >/dev/null 2>&1
    python3 -c "import json,sys; m=json.load(open('$work/n$n.json'))['results'][0]['mean']; r=int(open('$work/rss$n').read().split()[-1])/1024; print(f'  {$n:5d} images: {m*1000:8.1f} ms, {m*1000/$n:6.2f} ms/image, peak RSS {r:.1f} MiB')"
    rm -rf "$work/n$n"
  done
}

case "$what" in
  verify-blob) bench_verify_blob ;;
  verify) bench_verify ;;
  *) echo "usage: scripts/bench.sh [verify-blob|verify]" >&2; exit 2 ;;
esac
