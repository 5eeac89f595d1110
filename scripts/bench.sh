#!/usr/bin/env bash
# bench.sh [verify-blob|verify|bundle|load|scan] — airlock's benchmarks, each
# against the physical limit or a peer in the same run, printing ratios.
# Not a test: numbers are for people; nothing here asserts a timing.
#
#   verify-blob   per-bundle CPU in-process and whole-process latency of
#                 `airlock verify-blob`, against sigstore-python on the same
#                 fresh bundles (sigstore-lab). Targets: >= 10x less CPU per
#                 bundle than sigstore-python; whole process < 10 ms.
#   bundle        `airlock bundle create` of IMAGES images (TOTAL_MIB distinct
#                 MiB, a BASE_MIB base layer shared by all, a layer shared
#                 per group of five), each keyless-signed by the sigstore-lab,
#                 from a loopback docker-registry, against `skopeo sync --src
#                 yaml --dest dir` with sigstore attachments on, in one run:
#                 wall time, ratio, peak RSS, bytes on disk and copies of the
#                 base layer; then peak RSS of single-image bundles of
#                 SMALL_MIB and LARGE_MIB to show memory stays flat as images
#                 grow. Targets: airlock <= half skopeo's time, shared layers
#                 stored once, flat RSS.
#   load          `airlock load` of a bundle of IMAGES images (default 20,
#                 ~2 GiB: shared base layers plus a unique layer each, each
#                 signed) into a loopback docker-registry, against a
#                 `skopeo copy oci:BUNDLE:REF` loop from the same layout into
#                 another; then a second load of the same bundle. Targets:
#                 airlock <= 0.5x skopeo; the second load uploads nothing and
#                 takes < 5% of the first. IMAGES, UNIQUE_MIB, BASE_MIB tune it.
#   scan          `airlock scan` of a PACKAGES-package SBOM (default 1,000)
#                 against a snapshot of RECORDS synthetic OSV records (default
#                 40,000, six ecosystems' all.zip, testdata/bench/gen-osv.py)
#                 fetched from loopback: fetch time, scan wall time and peak
#                 RSS (best of RUNS_SCAN, default 3). osv-scanner's figures on
#                 the same data come with the comparison (issue 14).
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
  trap "rm -rf '$work'" EXIT   # expanded now: $work is local
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

# /usr/bin/time -v: wall seconds and peak RSS (KiB) of a command, as
# "SECONDS KIB"; its own output goes to "$work/<name>.out|.err".
measure() {
  local name=$1; shift
  /usr/bin/time -v -o "$work/$name.time" "$@" >"$work/$name.out" 2>"$work/$name.err" || {
    echo "bench: $name failed:" >&2; tail -20 "$work/$name.err" >&2; exit 1; }
  python3 - "$work/$name.time" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", t).group(1).split(":")
secs = sum(float(x) * 60 ** i for i, x in enumerate(reversed(wall)))
rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1)
print(f"{secs:.2f} {rss}")
PY
}

bench_bundle() {
  local images=${IMAGES:-20} total=${TOTAL_MIB:-2048} base=${BASE_MIB:-256}
  local small=${SMALL_MIB:-64} large=${LARGE_MIB:-512}
  scripts/install-deps.sh
  [ -x /usr/bin/time ] || apt-get install -y -q time >/dev/null
  work=$(mktemp -d /var/tmp/airlock-bench-bundle.XXXXXX)
  registry_pid="" lab_pid="" registry_dir=""
  trap 'kill ${registry_pid:-} ${lab_pid:-} 2>/dev/null; rm -rf "$work" "${registry_dir:-}"' EXIT
  cargo build --release --locked --bin airlock -q
  local airlock=$PWD/target/release/airlock lab_dir=$PWD/../shared/tools/sigstore-lab

  read -r addr registry_pid registry_dir < <(scripts/registry.sh --background)
  node "$lab_dir/mockserver.js" --out "$work/lab" >"$work/lab.ready" 2>"$work/lab.log" &
  lab_pid=$!
  for _ in $(seq 100); do [ -s "$work/lab.ready" ] && break; sleep 0.1; done
  local lab_url
  lab_url=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["url"])' "$work/lab.ready")

  echo "==> generating $images images ($total MiB distinct, base layer $base MiB) and two of $small and $large MiB"
  python3 scripts/bench-images.py "$work/layout" "$images" "$total" "$base" "small=$small" "large=$large" | tee "$work/shape.json"
  echo "==> pushing to $addr and signing each (sigstore-lab, keyless, cosign .sig)"
  local list="$work/images.txt" yaml="$work/sync.yaml"
  printf '%s:\n  tls-verify: false\n  images:\n' "$addr" >"$yaml"
  : >"$list"
  for tag in $(python3 -c 'import json,sys; [print(m["annotations"]["org.opencontainers.image.ref.name"]) for m in json.load(open(sys.argv[1]))["manifests"]]' "$work/layout/index.json"); do
    skopeo copy -q --dest-tls-verify=false --preserve-digests "oci:$work/layout:$tag" "docker://$addr/bench/$tag:v1"
    local digest
    digest=$(skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$addr/bench/$tag:v1")
    (cd "$lab_dir" && node oci-sign.js --url "$lab_url" --trust "$work/lab" --image "$addr/bench/$tag@$digest" --mode legacy >/dev/null)
    case $tag in
      small|large) ;;
      *) echo "$addr/bench/$tag:v1" >>"$list"; printf '    bench/%s: [v1]\n' "$tag" >>"$yaml" ;;
    esac
  done
  rm -rf "$work/layout"
  mkdir -p "$work/registries.d"
  printf 'docker:\n  %s:\n    use-sigstore-attachments: true\n' "$addr" >"$work/registries.d/bench.yaml"

  local common=(--trusted-root "$work/lab/trusted_root.json" --rekor-url "$lab_url" --insecure-registry "$addr")
  echo "==> skopeo sync --src yaml --dest dir (sigstore attachments on)"
  read -r s_secs s_rss < <(measure skopeo skopeo sync --src yaml --dest dir --registries.d "$work/registries.d" "$yaml" "$work/skopeo")
  echo "==> airlock bundle create"
  read -r a_secs a_rss < <(measure airlock "$airlock" bundle create --images "$list" --out "$work/airlock" "${common[@]}" --output json)
  cp "$work/airlock.out" "$work/report.json"
  local s_sigs s_bytes a_bytes base_digest s_base a_base
  s_sigs=$(find "$work/skopeo" -name 'signature-*' | wc -l)
  s_bytes=$(du -sb "$work/skopeo" | cut -f1)
  a_bytes=$(du -sb "$work/airlock" | cut -f1)
  base_digest=$(python3 - "$work/airlock" <<'PY'
import json, sys, collections
root = sys.argv[1]
counts = collections.Counter()
for m in json.load(open(root + "/index.json"))["manifests"]:
    if m["annotations"]["dev.airlock.kind"] != "image":
        continue
    manifest = json.load(open(root + "/blobs/sha256/" + m["digest"].split(":")[1]))
    counts.update(l["digest"] for l in manifest["layers"])
print(counts.most_common(1)[0][0].split(":")[1])
PY
)
  s_base=$(find "$work/skopeo" -type f -name "$base_digest" | wc -l)
  a_base=$(find "$work/airlock" -type f -name "$base_digest" | wc -l)
  echo "==> memory as images grow: one image of $small MiB, then one of $large MiB"
  read -r m1_secs m1_rss < <(measure small "$airlock" bundle create "$addr/bench/small:v1" --out "$work/small" "${common[@]}")
  read -r m2_secs m2_rss < <(measure large "$airlock" bundle create "$addr/bench/large:v1" --out "$work/large" "${common[@]}")
  python3 - "$images" "$total" "$s_secs" "$s_rss" "$a_secs" "$a_rss" "$s_bytes" "$a_bytes" "$s_base" "$a_base" "$s_sigs" \
    "$small" "$m1_secs" "$m1_rss" "$large" "$m2_secs" "$m2_rss" "$work/report.json" <<'PY'
import json, sys
(n, total, s_secs, s_rss, a_secs, a_rss, s_bytes, a_bytes, s_base, a_base, s_sigs,
 small, m1_secs, m1_rss, large, m2_secs, m2_rss, report) = sys.argv[1:]
r = json.load(open(report))
verified = sum(i["selfCheck"]["verified"] for i in r["images"])
mib = lambda b: int(b) / 1048576
print()
print(f"{n} images, {total} MiB distinct, {r['blobs']['shared']} blobs shared between images")
print(f"{'':24} {'wall s':>8} {'peak RSS MiB':>13} {'on disk MiB':>12} {'base layer copies':>18}")
print(f"{'skopeo sync (dir)':24} {float(s_secs):8.1f} {int(s_rss)/1024:13.1f} {mib(s_bytes):12.0f} {s_base:>18}")
print(f"{'airlock bundle create':24} {float(a_secs):8.1f} {int(a_rss)/1024:13.1f} {mib(a_bytes):12.0f} {a_base:>18}")
print(f"ratio (skopeo / airlock): {float(s_secs)/float(a_secs):.2f}x  (target >= 2x)")
print(f"airlock: {verified} signatures verified, {sum(i['logEntriesFetched'] for i in r['images'])} Rekor proofs fetched; skopeo copied {s_sigs} signatures, verified none")
print(f"peak RSS by image size: {small} MiB image {int(m1_rss)/1024:.1f} MiB, {large} MiB image {int(m2_rss)/1024:.1f} MiB")
PY
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
  local admit=(--policy testdata/bench/pass-all.yaml --trusted-root trust-roots/data/public-good-trusted_root.json)
  target/release/airlock load "$work/bundle" "${admit[@]}" --to "$a_addr/bench" --insecure-registry "$a_addr" \
    --output json > "$work/first.json"
  t2=$(date +%s.%N)
  target/release/airlock load "$work/bundle" "${admit[@]}" --to "$a_addr/bench" --insecure-registry "$a_addr" \
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

bench_scan() {
  [ -x /usr/bin/time ] || apt-get install -y -q time >/dev/null
  cargo build --release --locked --bin airlock -q
  local airlock=target/release/airlock
  work=$(mktemp -d /tmp/airlock-bench.XXXXXX)
  scan_server=""
  trap '[ -n "$scan_server" ] && kill "$scan_server" 2>/dev/null; rm -rf "$work"' EXIT
  python3 testdata/bench/gen-osv.py "$work/data" --records "${RECORDS:-40000}" --packages "${PACKAGES:-1000}" >"$work/gen.json"
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  python3 -m http.server "$port" --bind 127.0.0.1 --directory "$work/data/osv" >/dev/null 2>&1 &
  scan_server=$!
  for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
  local sources=()
  for eco in "$work"/data/osv/*/; do sources+=(--source "http://127.0.0.1:$port/$(basename "$eco")/all.zip"); done
  /usr/bin/time -f '%e %M %U %S' -o "$work/fetch.time" "$airlock" advisories fetch --out "$work/snapshot" "${sources[@]}" >/dev/null
  for n in $(seq "${RUNS_SCAN:-3}"); do
    /usr/bin/time -f '%e %M %U %S' -o "$work/scan$n.time" "$airlock" scan --sbom "$work/data/sbom.cdx.json" \
      --advisories "$work/snapshot" --output json >"$work/scan.json"
  done
  python3 - "$work" "${RUNS_SCAN:-3}" <<'PY'
import json, sys
work, runs = sys.argv[1], int(sys.argv[2])
gen = json.load(open(f"{work}/gen.json"))
scan = json.load(open(f"{work}/scan.json"))
fetch = [float(x) for x in open(f"{work}/fetch.time").read().split()]
times = [[float(x) for x in open(f"{work}/scan{n}.time").read().split()] for n in range(1, runs + 1)]
best = min(times, key=lambda t: t[0])
print(f"data: {gen['records']} OSV records in {len(gen['ecosystems'])} ecosystems, SBOM of {gen['packages']} packages")
# Wall time depends on what else the machine runs; CPU time (user + system) less so.
print(f"airlock advisories fetch  {fetch[0]:7.2f} s wall  {fetch[2] + fetch[3]:6.2f} s CPU  peak RSS {fetch[1] / 1024:7.1f} MiB")
print(f"airlock scan (best of {runs})  {best[0]:7.2f} s wall  {best[2] + best[3]:6.2f} s CPU  peak RSS {best[1] / 1024:7.1f} MiB  "
      f"({scan['scanned']} packages scanned, {len(scan['findings'])} findings, {len(scan['notEvaluated'])} not evaluated)")
print("osv-scanner on the same data: not measured yet (issue 14's comparison)")
PY
}

case "$what" in
  verify-blob) bench_verify_blob ;;
  verify) bench_verify ;;
  bundle) bench_bundle ;;
  load) bench_load ;;
  scan) bench_scan ;;
  *) echo "usage: scripts/bench.sh [verify-blob|verify|bundle|load|scan]" >&2; exit 2 ;;
esac
