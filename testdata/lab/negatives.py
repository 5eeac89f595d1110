#!/usr/bin/env python3
"""negatives.py OUT — airlock's own tampered bundles, made from the lab's
fresh fixtures in OUT (gen-fixtures.sh output). Each is a real bundle with one
piece of evidence replaced by a genuine-looking piece that belongs elsewhere.
Writes OUT/negatives.json: [{bundle, artifact, identity, issuer, why}]."""
import base64, copy, json, sys

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

D = sys.argv[1]
MAIL, G_ISS = "alice@example.com", "https://accounts.google.com"
GH_ID = "https://github.com/example/repo/.github/workflows/release.yml@refs/heads/main"
GH_ISS = "https://token.actions.githubusercontent.com"


def load(name):
    with open(f"{D}/{name}") as f:
        return json.load(f)


def tle(bundle):
    return bundle["verificationMaterial"]["tlogEntries"][0]


rows = []


def write(name, bundle, artifact, identity, issuer, why):
    with open(f"{D}/{name}", "w") as f:
        json.dump(bundle, f, indent=1)
    rows.append(dict(bundle=name, artifact=artifact, identity=identity, issuer=issuer, why=why))


a = load("js-blob-notsa.json")    # alice, Google, no TSA: the log is the only clock
b = load("py-blob-tsa.json")      # alice, Google, logged later in the same log
later = load("py-dsse-tsa.json")  # the last entry the lab logged
assert int(tle(a)["logIndex"]) < int(tle(b)["logIndex"]) < int(tle(later)["logIndex"])

# A genuine inclusion proof (with its signed checkpoint) for another leaf of
# a larger tree, relabelled with this entry's index.
x = copy.deepcopy(a)
tle(x)["inclusionProof"] = copy.deepcopy(tle(later)["inclusionProof"])
tle(x)["inclusionProof"]["logIndex"] = tle(a)["inclusionProof"]["logIndex"]
write("neg-proof-other-leaf.json", x, "artifact.txt", MAIL, G_ISS,
      "inclusion proof and checkpoint of another entry")

# A genuine SET, but over another entry's body.
x = copy.deepcopy(a)
tle(x)["inclusionPromise"] = copy.deepcopy(tle(b)["inclusionPromise"])
write("neg-set-other-body.json", x, "artifact.txt", MAIL, G_ISS,
      "SET signed over another entry's body")

# A checkpoint whose body is right but whose signature is by another key
# (claiming the log's key hint).
x = copy.deepcopy(a)
envelope = tle(x)["inclusionProof"]["checkpoint"]["envelope"]
body, _, sigs = envelope.partition("\n\n")
first = sigs.splitlines()[0]              # "— <origin> <base64(keyhint||sig)>"
dash, origin, blob = first.split(" ")
hint = base64.b64decode(blob)[:4]
other = ec.generate_private_key(ec.SECP256R1())
forged = other.sign((body + "\n").encode(), ec.ECDSA(hashes.SHA256()))
line = f"{dash} {origin} {base64.b64encode(hint + forged).decode()}"
tle(x)["inclusionProof"]["checkpoint"]["envelope"] = f"{body}\n\n{line}\n"
write("neg-checkpoint-other-key.json", x, "artifact.txt", MAIL, G_ISS,
      "checkpoint signed by a key that is not the log's")

# DSSE envelope with its payload type swapped: the PAE no longer matches.
x = load("js-dsse-tsa.json")
x["dsseEnvelope"]["payloadType"] = "application/json"
write("neg-dsse-payload-type.json", x, "", GH_ID, GH_ISS,
      "DSSE payload type swapped")

# A log entry whose body is another signature's (CVE-2022-36056 class).
x = copy.deepcopy(a)
tle(x)["canonicalizedBody"] = tle(b)["canonicalizedBody"]
write("neg-body-other-entry.json", x, "artifact.txt", MAIL, G_ISS,
      "log entry body of another signature")

with open(f"{D}/negatives.json", "w") as f:
    json.dump(rows, f, indent=1)
