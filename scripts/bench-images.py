#!/usr/bin/env python3
"""bench-images.py ADDR SHAPE ARGS... > images.json

Push a set of benchmark images to the registry at ADDR (plain HTTP on
loopback) and print what was pushed as JSON: every image (repository, tag,
digest), every distinct blob once (the repository it is in, digest, size),
and totals. Layers are random bytes (so nothing compresses or deduplicates
by accident), streamed through a temporary file while hashed: memory stays
small. Blobs shared between repositories are mounted, not uploaded again.

Shapes:
  uniform N TOTAL_MIB BASE_MIB [EXTRA=MIB ...]
      scripts/bench.sh bundle/floor: N images bench/img01.. (tag v1), every
      one with the same base layer (BASE_MIB), a layer shared by its group
      of five and a layer of its own; TOTAL_MIB distinct bytes in all. Each
      EXTRA=MIB adds an image bench/EXTRA of one layer of MIB (for
      memory-versus-size runs); extras are listed apart.
  mix N
      scripts/bench.sh scale: N images bench/app0001.. (tag v1) as a
      catalog looks: one of FAMILIES base images (three shared layers of
      BASE_LAYERS_MIB) under each, SMALL_MIN..SMALL_MAX small layers of its
      own (sizes spread from 512 B to 2 MiB, most a few KiB to a few
      hundred), and one image in LARGE_EVERY with a large layer of
      LARGE_MIB. The environment variables of the same names tune it.

Signing is scripts/bench-sign.js's job (it reads this output).
"""
import concurrent.futures
import hashlib
import http.client
import json
import os
import random
import sys
import tempfile
import threading

CHUNK = 4 << 20
JOBS = 8
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
LAYER = "application/vnd.oci.image.layer.v1.tar"
CONFIG = "application/vnd.oci.image.config.v1+json"


class Registry:
    """One keep-alive connection per thread to a plain-HTTP registry."""

    def __init__(self, addr):
        self.host, self.port = addr.rsplit(":", 1)
        self.local = threading.local()

    def request(self, method, path, body=None, headers=None):
        for attempt in range(3):
            conn = getattr(self.local, "conn", None)
            if conn is None:
                conn = self.local.conn = http.client.HTTPConnection(self.host, int(self.port), timeout=300)
            try:
                if hasattr(body, "seek"):
                    body.seek(0)
                conn.request(method, path, body=body, headers=headers or {})
                resp = conn.getresponse()
                data = resp.read()
                return resp.status, resp.headers, data
            except (http.client.HTTPException, OSError):
                conn.close()
                self.local.conn = None
                if attempt == 2:
                    raise

    def put_blob(self, repo, digest, size, body):
        status, headers, data = self.request("POST", f"/v2/{repo}/blobs/uploads/", b"", {"Content-Length": "0"})
        if status != 202:
            raise SystemExit(f"start upload to {repo}: {status} {data[:200]!r}")
        location = headers["Location"]
        if location.startswith("http"):
            location = "/" + location.split("/", 3)[3]
        sep = "&" if "?" in location else "?"
        status, _, data = self.request("PUT", f"{location}{sep}digest={digest}", body,
                                       {"Content-Length": str(size), "Content-Type": "application/octet-stream"})
        if status != 201:
            raise SystemExit(f"upload {digest} to {repo}: {status} {data[:200]!r}")

    def mount(self, repo, digest, source):
        status, _, data = self.request("POST", f"/v2/{repo}/blobs/uploads/?mount={digest}&from={source}", b"",
                                       {"Content-Length": "0"})
        if status != 201:
            raise SystemExit(f"mount {digest} from {source} into {repo}: {status} {data[:200]!r}")

    def put_manifest(self, repo, tag, body):
        status, _, data = self.request("PUT", f"/v2/{repo}/manifests/{tag}", body,
                                       {"Content-Type": MANIFEST, "Content-Length": str(len(body))})
        if status != 201:
            raise SystemExit(f"put manifest {repo}:{tag}: {status} {data[:200]!r}")


class Pusher:
    """Pushes blobs and images, each distinct blob uploaded once and
    mounted wherever else it is needed."""

    def __init__(self, registry):
        self.registry = registry
        self.lock = threading.Lock()
        self.home = {}  # digest -> (repo, size): where it was first uploaded

    def random_layer(self, repo, size):
        h = hashlib.sha256()
        with tempfile.TemporaryFile(dir=os.environ.get("TMPDIR", "/var/tmp")) as f:
            left = size
            while left:
                chunk = os.urandom(min(CHUNK, left))
                h.update(chunk)
                f.write(chunk)
                left -= len(chunk)
            digest = "sha256:" + h.hexdigest()
            self.registry.put_blob(repo, digest, size, f)
        self.remember(digest, repo, size)
        return {"mediaType": LAYER, "digest": digest, "size": size}

    def bytes_blob(self, repo, data, media_type):
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        self.registry.put_blob(repo, digest, len(data), data)
        self.remember(digest, repo, len(data))
        return {"mediaType": media_type, "digest": digest, "size": len(data)}

    def remember(self, digest, repo, size):
        with self.lock:
            self.home.setdefault(digest, (repo, size))

    def reuse(self, repo, layer):
        home = self.home[layer["digest"]][0]
        if home != repo:
            self.registry.mount(repo, layer["digest"], home)
        return layer

    def image(self, repo, shared, own_sizes):
        """shared: layers already pushed somewhere; own_sizes: new random layers."""
        layers = [self.reuse(repo, l) for l in shared] + [self.random_layer(repo, s) for s in own_sizes]
        config = json.dumps({"architecture": "amd64", "os": "linux",
                             "rootfs": {"type": "layers", "diff_ids": [l["digest"] for l in layers]}},
                            separators=(",", ":")).encode()
        cfg = self.bytes_blob(repo, config, CONFIG)
        manifest = json.dumps({"schemaVersion": 2, "mediaType": MANIFEST, "config": cfg, "layers": layers},
                              separators=(",", ":")).encode()
        self.registry.put_manifest(repo, "v1", manifest)
        return {"repository": repo, "tag": "v1", "digest": "sha256:" + hashlib.sha256(manifest).hexdigest(),
                "layers": len(layers), "bytes": cfg["size"] + sum(l["size"] for l in layers)}


def parallel(fn, items):
    with concurrent.futures.ThreadPoolExecutor(JOBS) as pool:
        return list(pool.map(fn, items))


def uniform(pusher, args):
    n, total, base = int(args[0]), int(args[1]), int(args[2])
    extras = [a.split("=") for a in args[3:]]
    groups = (n + 4) // 5
    group_mib = max(1, (total - base) // (2 * groups))
    own_mib = max(1, (total - base - groups * group_mib) // n)
    name = lambda i: "bench/img%02d" % (i + 1)
    base_layer = pusher.random_layer(name(0), base << 20)
    group_layers = parallel(lambda g: pusher.random_layer(name(5 * g), group_mib << 20), range(groups))
    images = parallel(lambda i: pusher.image(name(i), [base_layer, group_layers[i // 5]], [own_mib << 20]), range(n))
    extra = [pusher.image("bench/" + tag, [], [int(mib) << 20]) for tag, mib in extras]
    shape = {"images": n, "distinctMiB": base + groups * group_mib + n * own_mib, "baseMiB": base,
             "groupMiB": group_mib, "ownMiB": own_mib, "perImageMiB": base + group_mib + own_mib}
    return images, extra, shape


def env_int(name, default):
    return int(os.environ.get(name, default))


def mix(pusher, args):
    n = int(args[0])
    families = env_int("FAMILIES", 8)
    base_mib = [int(x) for x in os.environ.get("BASE_LAYERS_MIB", "2,8,24").split(",")]
    small_min, small_max = env_int("SMALL_MIN", 2), env_int("SMALL_MAX", 10)
    large_every, large_mib = env_int("LARGE_EVERY", 50), env_int("LARGE_MIB", 64)
    rng = random.Random(env_int("SEED", 15))
    name = lambda i: "bench/app%04d" % (i + 1)
    bases = parallel(lambda f: [pusher.random_layer(name(f), m << 20) for m in base_mib], range(families))

    def small_size():
        # Log-uniform from 512 B to 2 MiB: mostly KiBs, some hundreds of KiB.
        return int(2 ** rng.uniform(9, 21))

    plans = []
    for i in range(n):
        own = [small_size() for _ in range(rng.randint(small_min, small_max))]
        if large_every and i % large_every == large_every // 2:
            own.append(large_mib << 20)
        plans.append((i, own))
    images = parallel(lambda p: pusher.image(name(p[0]), bases[p[0] % families], p[1]), plans)
    shape = {"images": n, "families": families, "baseLayersMiB": base_mib, "smallLayers": [small_min, small_max],
             "largeEvery": large_every, "largeMiB": large_mib}
    return images, [], shape


def main():
    addr, shape_name, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    pusher = Pusher(Registry(addr))
    images, extras, shape = {"uniform": uniform, "mix": mix}[shape_name](pusher, args)
    blobs = [{"repository": r, "digest": d, "size": s} for d, (r, s) in sorted(pusher.home.items())]
    shape.update({"blobs": len(blobs), "blobBytes": sum(b["size"] for b in blobs)})
    json.dump({"shape": shape, "images": images, "extras": extras, "blobs": blobs}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
