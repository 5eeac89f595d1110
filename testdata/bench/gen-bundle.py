#!/usr/bin/env python3
"""gen-bundle.py OUT --images N --bytes TOTAL [--base-layers K]

Writes a synthetic airlock bundle directory for benchmarks: N single-platform
images that share K base layers (half the bytes) and each add one layer of
their own (the other half), with real OCI manifests and configs, an
index.json, and an airlock bundle manifest carrying the public-good trusted
root. Images are unsigned: benchmarks pair it with a static-pass policy, so
what is measured is reading and hashing every byte, and the per-image
structure checks. Layer content is pseudo-random (incompressible)."""
import argparse, hashlib, json, os, shutil

ap = argparse.ArgumentParser()
ap.add_argument("out")
ap.add_argument("--images", type=int, required=True)
ap.add_argument("--bytes", type=int, required=True)
ap.add_argument("--base-layers", type=int, default=4)
a = ap.parse_args()
root = os.path.abspath(a.out)
shutil.rmtree(root, ignore_errors=True)
blobs = os.path.join(root, "blobs", "sha256")
os.makedirs(blobs)
entries = {}

def put(data):
    h = hashlib.sha256(data).hexdigest()
    with open(os.path.join(blobs, h), "wb") as f:
        f.write(data)
    entries["sha256:" + h] = len(data)
    return "sha256:" + h, len(data)

def put_random(size, seed):
    """Write `size` pseudo-random bytes in 1 MiB chunks, hashing as we go."""
    h, path, left, block = hashlib.sha256(), os.path.join(blobs, "tmp"), size, hashlib.sha256(seed).digest() * 32768
    with open(path, "wb") as f:
        while left:
            chunk = block[: min(left, len(block))]
            block = hashlib.sha256(block[:32]).digest() + block[32:]  # vary every chunk
            f.write(chunk); h.update(chunk); left -= len(chunk)
    digest = "sha256:" + h.hexdigest()
    os.rename(path, os.path.join(blobs, h.hexdigest()))
    entries[digest] = size
    return digest, size

LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
base_size = max(1, a.bytes // 2 // max(1, a.base_layers))
own_size = max(1, a.bytes // 2 // a.images)
base = [put_random(base_size, b"base%d" % i) for i in range(a.base_layers)]
images, index = [], []
for i in range(a.images):
    own = put_random(own_size, b"image%d" % i)
    layers = base + [own]
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": [d for d, _ in layers]}}).encode()
    cfg = put(config)
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cfg[0], "size": cfg[1]},
        "layers": [{"mediaType": LAYER, "digest": d, "size": s} for d, s in layers]}, separators=(",", ":")).encode()
    digest, size = put(manifest)
    ref = "registry.example/bench/app%04d:v1" % i
    images.append({"reference": ref, "digest": digest, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                   "platforms": [], "droppedPlatforms": [], "evidence": [], "sboms": []})
    index.append({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest, "size": size,
                  "annotations": {"org.opencontainers.image.ref.name": ref, "dev.airlock.kind": "image", "dev.airlock.reference": ref}})

def write(rel, data):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    return {"path": rel, "sha256": "sha256:" + hashlib.sha256(data).hexdigest(), "size": len(data)}

here = os.path.dirname(os.path.abspath(__file__))
trusted_root = open(os.path.join(here, "../../trust-roots/data/public-good-trusted_root.json"), "rb").read()
files = [write("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'),
         write("index.json", json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": index}, sort_keys=True, separators=(",", ":")).encode() + b"\n"),
         write("airlock/trust/trusted_root.json", trusted_root)]
manifest = {"mediaType": "application/vnd.airlock.bundle.manifest.v1+json", "created": "2026-11-23T00:00:00Z",
            "tool": {"name": "gen-bundle.py", "version": "1"}, "extends": None,
            "trust": {"kind": "trusted-root", "path": "airlock/trust/trusted_root.json"},
            "images": sorted(images, key=lambda i: i["reference"]),
            "blobs": [{"digest": d, "size": s, "carried": True} for d, s in sorted(entries.items())],
            "files": sorted(files, key=lambda f: f["path"])}
write("airlock/manifest.json", json.dumps(manifest, sort_keys=True, indent=2).encode() + b"\n")
print(json.dumps({"images": a.images, "blobs": len(entries), "bytes": sum(entries.values())}))
