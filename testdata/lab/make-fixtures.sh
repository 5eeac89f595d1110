#!/usr/bin/env bash
# make-fixtures.sh OUT — fresh keyless Sigstore fixtures for airlock's
# differential tests:
#   1. the lab's own set (gen-fixtures.sh: sigstore-js and sigstore-python
#      bundles, tampered copies, both peers' verdicts in OUT/fixtures.json);
#   2. airlock's extra negatives (negatives.py), listed in OUT/negatives.json;
#   3. a bundle whose certificate had expired when it was logged, signed by a
#      second lab instance whose CA clock runs an hour behind (OUT/expired/).
# Needs the lab installed (../shared/tools/sigstore-lab/install.sh).
set -euo pipefail
OUT=$(realpath -m "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
LAB=$(realpath "$HERE/../../../shared/tools/sigstore-lab")

"$LAB/gen-fixtures.sh" "$OUT" >"$OUT.gen.log" 2>&1 || { cat "$OUT.gen.log"; exit 1; }
mv "$OUT.gen.log" "$OUT/gen.log"
"$LAB/venv/bin/python" "$HERE/negatives.py" "$OUT"

# A CA an hour behind the log: the certificate (10 minutes of validity) is
# already expired when Rekor integrates the entry.
mkdir -p "$OUT/expired"
cd "$LAB"
node mockserver.js --out "$OUT/expired" --ca-offset -3600 >"$OUT/expired/server.out" 2>"$OUT/expired/server.err" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -s "$OUT/expired/server.out" ] && break; sleep 0.1; done
URL=$(node -p "require('$OUT/expired/server.json').url")
node sign.js --url "$URL" --kind blob --in "$OUT/artifact.txt" --out "$OUT/expired/bundle.json" \
  --identity alice@example.com --issuer https://accounts.google.com >/dev/null
