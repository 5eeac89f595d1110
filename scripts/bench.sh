#!/usr/bin/env bash
# bench.sh [verify-blob] — airlock's benchmarks, each against the physical
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

case "$what" in
  verify-blob) bench_verify_blob ;;
  *) echo "usage: scripts/bench.sh [verify-blob]" >&2; exit 2 ;;
esac
