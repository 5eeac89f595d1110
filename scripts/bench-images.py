#!/usr/bin/env python3
"""bench-images.py DIR N TOTAL_MIB BASE_MIB [EXTRA=MIB ...]

Write one OCI image layout holding N images (tags img01, img02, ...) for
scripts/bench.sh: every image has the same base layer (BASE_MIB), a layer
shared by its group of five, and a layer of its own, all random (so nothing
compresses or deduplicates by accident); TOTAL_MIB is the number of
distinct bytes across all of them. Each EXTRA=MIB adds an image tagged
EXTRA made of one random layer of MIB (for memory-versus-size runs).
Layers are streamed to disk while hashed; memory stays small.
"""
import hashlib
import json
import os
import sys

CHUNK = 4 << 20


def main():
    out, n, total, base = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    extras = [a.split("=") for a in sys.argv[5:]]
    blobs = os.path.join(out, "blobs", "sha256")
    os.makedirs(blobs, exist_ok=True)

    def write_bytes(data):
        digest = hashlib.sha256(data).hexdigest()
        with open(os.path.join(blobs, digest), "wb") as f:
            f.write(data)
        return {"digest": "sha256:" + digest, "size": len(data)}

    def random_layer(mib):
        h = hashlib.sha256()
        tmp = os.path.join(out, "layer.tmp")
        size = mib << 20
        with open(tmp, "wb") as f:
            left = size
            while left:
                chunk = os.urandom(min(CHUNK, left))
                h.update(chunk)
                f.write(chunk)
                left -= len(chunk)
        digest = h.hexdigest()
        os.replace(tmp, os.path.join(blobs, digest))
        return {"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": "sha256:" + digest, "size": size}

    def image(tag, layers):
        config = json.dumps({"architecture": "amd64", "os": "linux",
                             "rootfs": {"type": "layers", "diff_ids": [l["digest"] for l in layers]}},
                            separators=(",", ":")).encode()
        cfg = write_bytes(config)
        cfg["mediaType"] = "application/vnd.oci.image.config.v1+json"
        manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                               "config": cfg, "layers": layers}, separators=(",", ":")).encode()
        m = write_bytes(manifest)
        return {"mediaType": "application/vnd.oci.image.manifest.v1+json", **m,
                "annotations": {"org.opencontainers.image.ref.name": tag}}

    groups = (n + 4) // 5
    # Distinct bytes: base + one group layer per group + one own layer per image.
    group_mib = max(1, (total - base) // (2 * groups))
    own_mib = max(1, (total - base - groups * group_mib) // n)
    base_layer = random_layer(base)
    group_layers = [random_layer(group_mib) for _ in range(groups)]
    entries = []
    for i in range(n):
        layers = [base_layer, group_layers[i // 5], random_layer(own_mib)]
        entries.append(image("img%02d" % (i + 1), layers))
    for tag, mib in extras:
        entries.append(image(tag, [random_layer(int(mib))]))
    with open(os.path.join(out, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": entries}, f)
    with open(os.path.join(out, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    distinct = base + groups * group_mib + n * own_mib
    print(json.dumps({"images": n, "distinctMiB": distinct, "baseMiB": base, "groupMiB": group_mib,
                      "ownMiB": own_mib, "perImageMiB": base + group_mib + own_mib}))


if __name__ == "__main__":
    main()
