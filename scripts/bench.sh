#!/usr/bin/env bash
# bench.sh [verify-blob|verify|bundle|floor|scale|load|scan] — airlock's benchmarks, each
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
#   floor         one image set timed against the registry's and the
#                 machine's limits in the same run (parallel curl GETs and
#                 monolithic PUTs, skopeo sync/copy, openssl dgst, zstd -dc):
#                 bundle create in every output form, verify, load, re-load.
#   scale         IMAGES (default 1,000) catalog-shaped images, signed, at a
#                 tenth and at full size: bundle create, verify and load, per
#                 phase wall time, peak RSS, blobs/s, ms per image.
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
#                 RSS (best of RUNS_SCAN, default 3); then osv-scanner v2.6.0
#                 (scripts/install-peers.sh) offline on the same SBOM and the
#                 same all.zip files as its local database, best of
#                 RUNS_SCAN, and whether both found the same (package,
#                 advisory) pairs.
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
  local verify_cmd="$airlock verify $work/big --policy testdata/bench/pass-all.yaml --trusted-root trust-roots/data/public-good-trusted_root.json --allow-unsigned-bundle --jobs 2"
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
      "$airlock verify $work/n$n --policy testdata/bench/pass-all.yaml --trusted-root trust-roots/data/public-good-trusted_root.json --allow-unsigned-bundle --jobs 2" >/dev/null 2>&1
    /usr/bin/time -f '%M' -o "$work/rss$n" "$airlock" verify "$work/n$n" --policy testdata/bench/pass-all.yaml \
      --trusted-root trust-roots/data/public-good-trusted_root.json --allow-unsigned-bundle --jobs 2 >/dev/null 2>&1
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

# Services for the registry benches: a loopback docker-registry ($addr) and
# the sigstore-lab ($lab_url, trust in $work/lab), stopped on exit.
start_services() {
  scripts/install-deps.sh >/dev/null
  [ -x /usr/bin/time ] || apt-get install -y -q time >/dev/null
  work=$(mktemp -d /var/tmp/airlock-bench-$1.XXXXXX)
  pids=() dirs=()
  trap 'kill "${pids[@]}" 2>/dev/null; rm -rf "$work" "${dirs[@]}"' EXIT
  # AIRLOCK=/path/to/airlock measures that binary (an older build, for a
  # before/after table) instead of building this checkout.
  airlock=${AIRLOCK:-$PWD/target/release/airlock} lab_dir=$PWD/../shared/tools/sigstore-lab
  [ -n "${AIRLOCK:-}" ] || cargo build --release --locked --bin airlock -q
  local pid dir
  read -r addr pid dir < <(scripts/registry.sh --background)
  pids+=("$pid"); dirs+=("$dir")
  node "$lab_dir/mockserver.js" --out "$work/lab" >"$work/lab.ready" 2>"$work/lab.log" &
  pids+=($!)
  for _ in $(seq 100); do [ -s "$work/lab.ready" ] && break; sleep 0.1; done
  lab_url=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["url"])' "$work/lab.ready")
  common=(--trusted-root "$work/lab/trusted_root.json" --rekor-url "$lab_url" --insecure-registry "$addr")
}

# another_registry VAR: start another empty loopback registry and set VAR
# to its address. Not a $(...) subshell: the pid must reach the EXIT trap,
# or the registry outlives the run.
another_registry() {
  local a pid dir
  read -r a pid dir < <(scripts/registry.sh --background)
  pids+=("$pid"); dirs+=("$dir")
  printf -v "$1" '%s' "$a"
}

# push_set SHAPE ARGS...: push and sign an image set (scripts/bench-images.py
# shapes) to $addr; writes $work/images.json, the requested references in
# $work/images.txt and a `skopeo sync --src yaml` file in $work/sync.yaml.
push_set() {
  local t0 t1
  t0=$(date +%s.%N)
  python3 scripts/bench-images.py "$addr" "$@" >"$work/images.json"
  t1=$(date +%s.%N)
  local signed
  signed=$(node scripts/bench-sign.js "$lab_dir" "$lab_url" "$work/lab" "$addr" <"$work/images.json")
  python3 - "$work" "$addr" "$t0" "$t1" "$(date +%s.%N)" "$signed" <<'PY'
import json, sys
work, addr, t0, t1, t2, signed = sys.argv[1], sys.argv[2], *map(float, sys.argv[3:6]), sys.argv[6]
d = json.load(open(f"{work}/images.json"))
with open(f"{work}/images.txt", "w") as refs, open(f"{work}/sync.yaml", "w") as sync:
    sync.write(f"{addr}:\n  tls-verify: false\n  images:\n")
    for i in d["images"]:
        refs.write(f"{addr}/{i['repository']}:{i['tag']}\n")
        sync.write(f"    {i['repository']}: [{i['tag']}]\n")
s = d["shape"]
print(f"pushed {len(d['images'])} images (+{len(d['extras'])} extra), {s['blobs']} distinct blobs, "
      f"{s['blobBytes'] / 2**20:.0f} MiB in {t1 - t0:.1f} s; {signed} signed (keyless, sigstore-lab) in {t2 - t1:.1f} s")
PY
}

# best_of N NAME CMD...: run CMD N times (a noisy machine only ever makes
# things slower), printing "SECONDS KIB" of the fastest run; each run's
# load average goes to stderr so a noisy run is visible.
best_of() {
  local n=$1 name=$2; shift 2
  local best="" i line
  for i in $(seq "$n"); do
    [ -n "${BEFORE_RUN:-}" ] && eval "$BEFORE_RUN"
    # No run pays for the writeback of the one before it.
    sync
    line=$(measure "$name" "$@")
    echo "  $name run $i: ${line% *} s, load $(cut -d' ' -f1 /proc/loadavg)" >&2
    if [ -z "$best" ] || python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) < float(sys.argv[2]) else 1)" "${line% *}" "${best% *}"; then
      best=$line
    fi
  done
  echo "$best"
}

bench_bundle() {
  local images=${IMAGES:-20} total=${TOTAL_MIB:-2048} base=${BASE_MIB:-256}
  local small=${SMALL_MIB:-64} large=${LARGE_MIB:-512}
  start_services bundle
  echo "==> pushing $images images ($total MiB distinct, base layer $base MiB) and two of $small and $large MiB; signing each"
  push_set uniform "$images" "$total" "$base" "small=$small" "large=$large"
  mkdir -p "$work/registries.d"
  printf 'docker:\n  %s:\n    use-sigstore-attachments: true\n' "$addr" >"$work/registries.d/bench.yaml"

  echo "==> skopeo sync --src yaml --dest dir (sigstore attachments on)"
  read -r s_secs s_rss < <(measure skopeo skopeo sync --src yaml --dest dir --registries.d "$work/registries.d" "$work/sync.yaml" "$work/skopeo")
  echo "==> airlock bundle create"
  read -r a_secs a_rss < <(measure airlock "$airlock" bundle create --images "$work/images.txt" --out "$work/airlock" "${common[@]}" --output json)
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

# floor: the same image set (IMAGES images, TOTAL_MIB distinct MiB with a
# BASE_MIB base layer, each keyless-signed) timed against what the machine
# and the registry can do at best, in one run, best of RUNS (default 3):
#   - the serving floor: JOBS parallel `curl` GETs of every distinct blob,
#     each through `openssl dgst -sha256` to disk (`tee`);
#   - the upload floor: JOBS parallel monolithic PUTs (POST + PUT) of the
#     same blobs into another registry;
#   - `skopeo sync --src yaml --dest dir` (sigstore attachments on), and
#     a `skopeo copy` loop from the bundle's layout into a registry;
#   - verify's floors: single-process `openssl dgst -sha256` over the
#     bundle's blobs, and `zstd -dc | openssl dgst -sha256` of the .tar.zst.
# airlock: bundle create to a directory, a .tar, a .tar.zst and split
# volumes (JOBS fetches in flight); verify of the directory and the
# .tar.zst; load of the directory, and again with everything present.
# Targets: bundle create <= 1.3x the serving floor in every form.
bench_floor() {
  local images=${IMAGES:-20} total=${TOTAL_MIB:-1024} base=${BASE_MIB:-256} jobs=${JOBS:-4} runs=${RUNS:-3}
  start_services floor
  echo "==> load average $(cut -d' ' -f1-3 /proc/loadavg); pushing $images images ($total MiB distinct, base $base MiB), signing each"
  push_set uniform "$images" "$total" "$base"
  mkdir -p "$work/registries.d"
  printf 'docker:\n  %s:\n    use-sigstore-attachments: true\n' "$addr" >"$work/registries.d/bench.yaml"
  python3 -c 'import json,sys; [print(b["repository"], b["digest"], b["size"]) for b in json.load(open(sys.argv[1]))["blobs"]]' \
    "$work/images.json" >"$work/blobs.txt"
  local put_addr load_addr
  another_registry put_addr; another_registry load_addr
  export addr work
  declare -A t rss

  echo "==> serving floor: $jobs parallel curl GETs | tee FILE | openssl dgst -sha256"
  BEFORE_RUN='rm -rf "$work/get"; mkdir -p "$work/get"'
  read -r t[get] rss[get] < <(best_of "$runs" get bash -c 'xargs -P '"$jobs"' -n 3 bash -c '\''curl -sf "http://$addr/v2/$0/blobs/$1" | tee "$work/get/${1#sha256:}" | openssl dgst -sha256 >/dev/null'\'' < "$work/blobs.txt"')
  BEFORE_RUN=
  echo "==> upload floor: $jobs parallel monolithic PUTs into another registry"
  export put_addr
  read -r t[put] rss[put] < <(best_of 1 put bash -c 'xargs -P '"$jobs"' -n 3 bash -c '\''loc=$(curl -sf -D- -o /dev/null -X POST "http://$put_addr/v2/floor/blobs/uploads/" | tr -d "\r" | sed -n "s/^[Ll]ocation: //p"); case $loc in http*) ;; *) loc="http://$put_addr$loc";; esac; case $loc in *\?*) sep="&";; *) sep="?";; esac; curl -sf -X PUT -H "Content-Type: application/octet-stream" --data-binary @"$work/get/${1#sha256:}" "$loc${sep}digest=$1" >/dev/null'\'' < "$work/blobs.txt"')

  echo "==> skopeo sync --src yaml --dest dir"
  BEFORE_RUN='rm -rf "$work/skopeo"'
  read -r t[skopeo] rss[skopeo] < <(best_of "$runs" skopeo skopeo sync --src yaml --dest dir --registries.d "$work/registries.d" "$work/sync.yaml" "$work/skopeo")
  BEFORE_RUN=

  local form out
  for form in dir tar tar.zst split; do
    case $form in
      dir) out=$work/b-dir; extra=() ;;
      split) out=$work/b-split.tar.zst; extra=(--split-size "${SPLIT:-256MiB}") ;;
      *) out=$work/b.$form; extra=() ;;
    esac
    echo "==> airlock bundle create ($form)"
    BEFORE_RUN="rm -rf '$out' '$out'.* '$out.airlock-work'"
    read -r t[$form] rss[$form] < <(best_of "$runs" "bundle-$form" "$airlock" bundle create --images "$work/images.txt" --out "$out" "${common[@]}" --jobs "$jobs" "${extra[@]}")
    BEFORE_RUN=
    [ "$form" = dir ] || [ "$form" = tar.zst ] || rm -rf "$out" "$out".*
  done

  echo "==> verify floors and airlock verify"
  # The bundles are not transfer-signed (checking one signature over the
  # manifest costs nothing measurable); the site waives it explicitly.
  local verify=(--policy testdata/bench/lab-keyless.yaml --trusted-root "$work/lab/trusted_root.json" --allow-unsigned-bundle)
  cat "$work"/b-dir/blobs/sha256/* "$work/b.tar.zst" >/dev/null
  read -r t[dgst] rss[dgst] < <(best_of "$runs" dgst bash -c "openssl dgst -sha256 $work/b-dir/blobs/sha256/* >/dev/null")
  read -r t[zdgst] rss[zdgst] < <(best_of "$runs" zdgst bash -c "zstd -dc $work/b.tar.zst | openssl dgst -sha256 >/dev/null")
  read -r t[vdir] rss[vdir] < <(best_of "$runs" verify-dir "$airlock" verify "$work/b-dir" "${verify[@]}")
  read -r t[vzst] rss[vzst] < <(best_of "$runs" verify-zst "$airlock" verify "$work/b.tar.zst" "${verify[@]}")

  echo "==> load, and skopeo copy from the same layout"
  read -r t[load] rss[load] < <(best_of 1 load "$airlock" load "$work/b-dir" "${verify[@]}" --to "$load_addr/site" --insecure-registry "$load_addr" --jobs "$jobs")
  read -r t[reload] rss[reload] < <(best_of "$runs" reload "$airlock" load "$work/b-dir" "${verify[@]}" --to "$load_addr/site" --insecure-registry "$load_addr" --jobs "$jobs")
  local skopeo_addr; another_registry skopeo_addr
  local copy_loop='while read -r ref; do skopeo copy -q --preserve-digests --dest-tls-verify=false "oci:'"$work"'/b-dir:$ref" "docker://'"$skopeo_addr"'/site/${ref#*/}"; done < '"$work"'/images.txt'
  read -r t[scopy] rss[scopy] < <(best_of 1 skopeo-copy bash -c "$copy_loop")
  read -r t[srecopy] rss[srecopy] < <(best_of "$runs" skopeo-recopy bash -c "$copy_loop")

  local summary=""
  for k in "${!t[@]}"; do summary+="$k=${t[$k]}:${rss[$k]} "; done
  python3 - "$summary" "$(du -sb "$work/b-dir" | cut -f1)" "$images" "$jobs" <<'PY'
import sys
m = {k: (float(v.split(":")[0]), int(v.split(":")[1]) / 1024) for k, v in (x.split("=") for x in sys.argv[1].split())}
size, n, jobs = int(sys.argv[2]) / 2**30, sys.argv[3], sys.argv[4]
def row(label, key, floor, floor_label):
    secs, rss = m[key]
    print(f"{label:34} {secs:7.2f} s {rss:8.1f} MiB   {secs / m[floor][0]:5.2f}x {floor_label}")
print(f"\n{n} images, {size:.2f} GiB bundle, {jobs} requests in flight; best of the runs above\n")
print(f"{'floor: curl GETs | openssl dgst':34} {m['get'][0]:7.2f} s")
print(f"{'floor: monolithic PUTs':34} {m['put'][0]:7.2f} s")
print(f"{'floor: openssl dgst (bundle dir)':34} {m['dgst'][0]:7.2f} s")
print(f"{'floor: zstd -dc | openssl dgst':34} {m['zdgst'][0]:7.2f} s")
row("skopeo sync (dir)", "skopeo", "get", "serving floor")
for form in ["dir", "tar", "tar.zst", "split"]:
    row(f"airlock bundle create ({form})", form, "get", "serving floor (target <= 1.3x)")
row("airlock verify (dir)", "vdir", "dgst", "openssl dgst")
row("airlock verify (.tar.zst)", "vzst", "zdgst", "zstd -dc | openssl dgst")
row("airlock load (dir)", "load", "put", "monolithic PUTs")
row("skopeo copy loop (oci: -> registry)", "scopy", "put", "monolithic PUTs")
row("airlock load again (all present)", "reload", "srecopy", "skopeo copy loop, all present")
PY
}

# scale: IMAGES (default 1,000) images as a catalog looks (scripts/
# bench-images.py `mix`: shared base layers, many small layers, one image
# in 50 with a large one), each keyless-signed, bundled, verified (with a
# keyless policy: one signature checked per image) and loaded with today's
# load; per phase: wall time, peak RSS (/usr/bin/time -v), blobs/s and ms
# per image. The same at a tenth of the images first, to show how time
# grows. Targets: RSS < 128 MiB in every phase; time linear in bytes and
# blobs; a few ms per image at most.
bench_scale() {
  local images=${IMAGES:-1000} jobs=${JOBS:-8} form=${FORM:-dir}
  start_services scale
  echo "==> load average $(cut -d' ' -f1-3 /proc/loadavg); pushing $images images (mix), signing each"
  push_set mix "$images"
  # The bundles are not transfer-signed (checking one signature over the
  # manifest costs nothing measurable); the site waives it explicitly.
  local verify=(--policy testdata/bench/lab-keyless.yaml --trusted-root "$work/lab/trusted_root.json" --allow-unsigned-bundle)
  local rows="" n out ext
  case $form in dir) ext="" ;; *) ext=".$form" ;; esac
  for n in $((images / 10)) "$images"; do
    head -n "$n" "$work/images.txt" >"$work/refs-$n.txt"
    out=$work/b-$n$ext
    local load_addr; another_registry load_addr
    echo "==> $n images: bundle create ($form), verify, load (load average $(cut -d' ' -f1 /proc/loadavg))"
    read -r bs br < <(measure "bundle-$n" "$airlock" bundle create --images "$work/refs-$n.txt" --out "$out" "${common[@]}" --jobs "$jobs" --output json)
    cp "$work/bundle-$n.out" "$work/bundle-$n.json"
    read -r vs vr < <(measure "verify-$n" "$airlock" verify "$out" "${verify[@]}" --output json)
    read -r ls lr < <(measure "load-$n" "$airlock" load "$out" "${verify[@]}" --to "$load_addr/site" --insecure-registry "$load_addr" --jobs "$jobs")
    rows+="$n:$bs:$br:$vs:$vr:$ls:$lr "
    tail -3 "$work/bundle-$n.err" | sed 's/^/  bundle progress, last lines: /'
    rm -rf "$out" "$out".*
  done
  python3 - "$work" "$rows" <<'PY'
import json, sys
work, rows = sys.argv[1], sys.argv[2].split()
print(f"\n{'images':>7} {'phase':8} {'wall s':>8} {'peak RSS MiB':>13} {'blobs':>7} {'blobs/s':>8} {'MiB/s':>8} {'ms/image':>9}")
for row in rows:
    n, bs, br, vs, vr, ls, lr = row.split(":")
    r = json.load(open(f"{work}/bundle-{n}.json"))
    blobs, size = r["blobs"]["count"], r["blobs"]["bytes"] / 2**20
    for phase, secs, rss in [("bundle", bs, br), ("verify", vs, vr), ("load", ls, lr)]:
        secs, rss = float(secs), int(rss) / 1024
        print(f"{n:>7} {phase:8} {secs:8.2f} {rss:13.1f} {blobs:7d} {blobs / secs:8.0f} {size / secs:8.1f} {1000 * secs / int(n):9.2f}")
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
  local admit=(--policy testdata/bench/pass-all.yaml --trusted-root trust-roots/data/public-good-trusted_root.json --allow-unsigned-bundle)
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
  # osv-scanner's offline database: DB/osv-scalibr/<ECOSYSTEM>/all.zip, the
  # same files (by base ecosystem name: Debian:12 -> Debian).
  local osv_scanner
  osv_scanner="$(scripts/install-peers.sh --bin-dir)/osv-scanner"
  scripts/install-peers.sh osv-scanner
  for eco in "$work"/data/osv/*/; do
    local name; name=$(basename "$eco"); name=${name%%:*}
    mkdir -p "$work/osvdb/osv-scalibr/$name"
    ln -s "$eco/all.zip" "$work/osvdb/osv-scalibr/$name/all.zip"
  done
  for n in $(seq "${RUNS_SCAN:-3}"); do
    # Exit 1 means "found vulnerabilities".
    /usr/bin/time -f '%e %M %U %S' -o "$work/osv$n.time" "$osv_scanner" scan source --offline \
      --local-db-path "$work/osvdb" --format json -L "$work/data/sbom.cdx.json" >"$work/osv.json" 2>"$work/osv.err" || [ $? -eq 1 ]
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
# GNU time writes "Command exited with non-zero status 1" first when
# osv-scanner reports findings (its exit 1): the figures are the last line.
osv_times = [[float(x) for x in open(f"{work}/osv{n}.time").read().splitlines()[-1].split()] for n in range(1, runs + 1)]
osv_best = min(osv_times, key=lambda t: t[0])
osv = json.load(open(f"{work}/osv.json"))
theirs = {(p["package"]["name"].rsplit(":", 1)[-1].rsplit("/", 1)[-1], p["package"]["version"], v["id"])
          for r in osv.get("results", []) for p in r["packages"] for v in p["vulnerabilities"]}
ours = {(f["package"].rsplit(":", 1)[-1].rsplit("/", 1)[-1], f["version"], i) for f in scan["findings"] for i in f["ids"]}
print(f"osv-scanner (best of {runs})  {osv_best[0]:7.2f} s wall  {osv_best[2] + osv_best[3]:6.2f} s CPU  peak RSS {osv_best[1] / 1024:7.1f} MiB  "
      f"({len(theirs)} (package, advisory) pairs)")
print(f"airlock / osv-scanner: {best[0] / osv_best[0]:.2f}x wall, {(best[2] + best[3]) / max(osv_best[2] + osv_best[3], 0.01):.2f}x CPU, "
      f"{best[1] / osv_best[1]:.2f}x peak RSS; same pairs: {ours == theirs} ({len(ours - theirs)} only airlock, {len(theirs - ours)} only osv-scanner)")
PY
}

case "$what" in
  verify-blob) bench_verify_blob ;;
  verify) bench_verify ;;
  bundle) bench_bundle ;;
  floor) bench_floor ;;
  scale) bench_scale ;;
  load) bench_load ;;
  scan) bench_scan ;;
  *) echo "usage: scripts/bench.sh [verify-blob|verify|bundle|floor|scale|load|scan]" >&2; exit 2 ;;
esac
