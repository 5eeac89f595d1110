#!/usr/bin/env python3
"""gen-osv.py OUT [--records N] [--packages P] [--seed S]

Writes a synthetic but realistically shaped OSV data set for the scan
benchmark, deterministic for a seed:

  OUT/osv/<ECOSYSTEM>/all.zip   OSV's per-ecosystem export layout, N records
                                in all across Maven, npm, PyPI, Go, Debian:12
                                and Alpine:v3.19, shaped like GHSA and distro
                                records (aliases, CVSS v3.1 or v4.0 vectors or
                                only database_specific.severity, one to three
                                introduced/fixed intervals, some last_affected,
                                some versions lists, a few withdrawn, a few
                                with GIT ranges, about 1 KiB of details)
  OUT/sbom.cdx.json             a CycloneDX 1.5 SBOM of P packages over the
                                same ecosystems; about a third of them are
                                named by some record, so matching does real
                                range evaluation, most find nothing

Not real advisories: for timing and memory only. The real-data tests use
../shared/realdata."""
import argparse, io, json, os, random, shutil, zipfile

ap = argparse.ArgumentParser()
ap.add_argument("out")
ap.add_argument("--records", type=int, default=40000)
ap.add_argument("--packages", type=int, default=1000)
ap.add_argument("--seed", type=int, default=14)
a = ap.parse_args()
rnd = random.Random(a.seed)
out = os.path.abspath(a.out)
shutil.rmtree(out, ignore_errors=True)

# Version makers: the same numeric triple written each ecosystem's way, so
# that sorting triples sorts versions.
def triple():
    return (rnd.randint(0, 9), rnd.randint(0, 30), rnd.randint(0, 40))
def semver(t):
    return "%d.%d.%d" % t
def maven(t):
    return "%d.%d.%d" % t + (".Final" if t[2] % 3 == 0 else "")
def pypi(t):
    return "%d.%d.%d" % t + (".post1" if t[2] % 5 == 0 else "")
def debian(t):
    return "%d.%d.%d-%d" % (t + (1 + t[2] % 3,)) + ("+deb12u1" if t[2] % 4 == 0 else "")
def alpine(t):
    return "%d.%d.%d-r%d" % (t + (t[2] % 7,))

# (OSV ecosystem, share of records and packages, version maker, OSV name
# of a package, its purl without version)
ECOSYSTEMS = [
    ("Maven", 0.30, maven, lambda n: "org.example:" + n, lambda n: "pkg:maven/org.example/" + n),
    ("npm", 0.25, semver, lambda n: n, lambda n: "pkg:npm/" + n),
    ("PyPI", 0.15, pypi, lambda n: n, lambda n: "pkg:pypi/" + n),
    ("Go", 0.10, semver, lambda n: "github.com/example/" + n, lambda n: "pkg:golang/github.com/example/" + n),
    ("Debian:12", 0.12, debian, lambda n: n, lambda n: "pkg:deb/debian/" + n),
    ("Alpine:v3.19", 0.08, alpine, lambda n: n, lambda n: "pkg:apk/alpine/" + n),
]
VECTORS = [
    "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
    "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H",
    "CVSS:3.1/AV:L/AC:H/PR:L/UI:N/S:U/C:H/I:H/A:H",
    "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:L/A:N",
    "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
]
WORDS = "buffer overflow denial of service crafted input remote attacker allows execute arbitrary code via".split()

def package_names(eco, count):
    stem = eco.split(":")[0].lower()
    return [f"{stem}-lib-{i}" for i in range(count)]

def events(make):
    points = [make(t) for t in sorted({triple() for _ in range(rnd.randint(2, 6))})]
    evs, i = [], 0
    while i + 1 < len(points) and len(evs) < 6:
        evs.append({"introduced": points[i] if evs or rnd.random() < 0.6 else "0"})
        evs.append({"last_affected" if rnd.random() < 0.05 else "fixed": points[i + 1]})
        i += 2
    return evs or [{"introduced": "0"}]

def record(n, eco, make, name):
    rec = {
        "schema_version": "1.6.0",
        "id": f"BENCH-{n:06d}",
        "modified": f"2025-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}T00:00:00Z",
        "published": "2024-01-01T00:00:00Z",
        "aliases": [f"CVE-2025-{n:05d}"],
        "summary": " ".join(rnd.choice(WORDS) for _ in range(8)),
        "details": " ".join(rnd.choice(WORDS) for _ in range(150)),
        "affected": [{
            "package": {"ecosystem": eco, "name": name},
            "ranges": [{"type": "ECOSYSTEM", "events": events(make)}],
        }],
        "references": [{"type": "ADVISORY", "url": f"https://advisories.example/{n}"}],
        "database_specific": {"severity": rnd.choice(["LOW", "MODERATE", "HIGH", "CRITICAL"]), "cwe_ids": ["CWE-79"]},
    }
    if rnd.random() < 0.8:
        rec["severity"] = [{"type": "CVSS_V4" if v.startswith("CVSS:4") else "CVSS_V3", "score": v} for v in [rnd.choice(VECTORS)]]
    if rnd.random() < 0.2:
        rec["affected"][0]["versions"] = [make(t) for t in sorted({triple() for _ in range(rnd.randint(1, 20))})]
    if rnd.random() < 0.03:
        rec["affected"][0]["ranges"].append({"type": "GIT", "repo": "https://git.example/x", "events": [{"introduced": "0"}, {"fixed": "%040x" % n}]})
    if rnd.random() < 0.01:
        rec["withdrawn"] = "2025-06-01T00:00:00Z"
    return rec

n = 0
sbom_components = []
for eco, share, make, osv_name, purl_of in ECOSYSTEMS:
    count = int(a.records * share)
    names = package_names(eco, max(50, count // 3))
    path = os.path.join(out, "osv", eco.split(":")[0], "all.zip")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for _ in range(count):
            n += 1
            rec = record(n, eco, make, osv_name(rnd.choice(names)))
            z.writestr(rec["id"] + ".json", json.dumps(rec, indent=2))
    # The SBOM: this ecosystem's share of packages, a third named by records.
    for i in range(int(a.packages * share)):
        name = rnd.choice(names) if rnd.random() < 0.33 else f"{eco.split(':')[0].lower()}-other-{i}"
        base = purl_of(name)
        qualifiers = {"Debian:12": "?distro=debian-12", "Alpine:v3.19": "?distro=alpine-3.19.1"}.get(eco, "")
        version = make(triple())
        if eco == "Go":
            version = "v" + version
        sbom_components.append({"type": "library", "name": name, "version": version, "purl": f"{base}@{version}{qualifiers}"})

while len(sbom_components) < a.packages:
    i = len(sbom_components)
    sbom_components.append({"type": "library", "name": f"filler-{i}", "version": "1.0.0", "purl": f"pkg:npm/filler-{i}@1.0.0"})
sbom = {"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1, "components": sbom_components[: a.packages]}
with open(os.path.join(out, "sbom.cdx.json"), "w") as f:
    json.dump(sbom, f, indent=1)
print(json.dumps({"records": n, "packages": len(sbom["components"]), "ecosystems": [e[0] for e in ECOSYSTEMS]}))
