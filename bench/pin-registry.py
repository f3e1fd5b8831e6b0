#!/usr/bin/env python3
"""The Python half of bench/pin.sh: fill a local registry with the corpus's images, then time
`pinnace pin` against it and check what it did.

usage: pin-registry.py --bin PINNACE --corpus DIR --host 127.0.0.1:PORT --work DIR
                       --access-log FILE [--runs N] [--pin-arg ARG]...

bench/pin.sh builds pinnace, generates the corpus, starts `docker-registry` (and stops it on
exit); this script does everything in between, with nothing but the standard library:

1. lists the references `pinnace pin` resolves (`pinnace images --format json`: status
   `tagged`, tag neither missing nor `latest`), keyed `normalized:tag` as pinnace keys them;
2. pushes one tiny image per repository with `skopeo copy` from an OCI layout built here
   (every third repository is a two-platform OCI index), then creates every needed tag with
   `PUT /v2/<repo>/manifests/<tag>` and the same manifest bytes;
3. times `pinnace pin --quiet` on a fresh copy of the corpus per run (a `.pinnace.yaml` in
   the copy mirrors every corpus registry to the local one), counts the registry requests
   each run made from the access log, repeats with a warm `--cache`, and checks the result
   with `pinnace check --select digest-pinning` and `pinnace images`.

Exits 1 when a check fails (requests != distinct references, a cached run that asked the
registry anything, an image left unpinned or pinned to the wrong digest).
"""
import argparse, concurrent.futures, gzip, hashlib, http.client, io, json, os, shutil
import statistics, subprocess, sys, tarfile, tempfile, threading, time

MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
INDEX_TYPE = "application/vnd.oci.image.index.v1+json"
CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"
LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip"
OUR_AGENT = "pinnace-bench-populate"
# Registries the corpus names (bench/gen-corpus.py), all served by the one local registry.
CORPUS_REGISTRIES = ["registry.example.com", "ghcr.io", "docker.io", "quay.io", "gcr.io"]
# Requests in flight while creating tags.
PUT_THREADS = 8


def log(msg):
    print(msg, flush=True)


def fail(msg):
    print(f"FAIL: {msg}", flush=True)


# --- 1. what pinnace would resolve ---------------------------------------------------------

def list_images(pinnace, corpus):
    out = subprocess.run([pinnace, "images", "--format", "json", corpus],
                         check=True, stdout=subprocess.PIPE).stdout
    return json.loads(out)


def resolvable(entry):
    return entry["status"] == "tagged" and entry["tag"] not in (None, "latest")


def tag_of(image):
    """The tag written in an image reference (None when there is none)."""
    last = image.split("@", 1)[0].rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else None


def relpath(entry, root):
    return os.path.relpath(entry["path"], root)


# --- 2. the local registry's contents ------------------------------------------------------

def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def write_blob(layout, media_type, data):
    digest = sha256(data)
    with open(os.path.join(layout, "blobs", "sha256", digest[7:]), "wb") as f:
        f.write(data)
    return {"mediaType": media_type, "digest": digest, "size": len(data)}


def as_json(value):
    return json.dumps(value, separators=(",", ":"), sort_keys=True).encode()


def image_manifest(layout, seed, arch):
    """Config, one-file layer and manifest blobs for one platform; the manifest descriptor."""
    payload = f"pinnace bench image\nseed: {seed}\narch: {arch}\n".encode()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo("pinnace-seed.txt")
        info.size, info.mode, info.mtime = len(payload), 0o644, 0
        tar.addfile(info, io.BytesIO(payload))
    tar_bytes = buf.getvalue()
    layer = write_blob(layout, LAYER_TYPE, gzip.compress(tar_bytes, mtime=0))
    config = write_blob(layout, CONFIG_TYPE, as_json({
        "architecture": arch, "os": "linux",
        "config": {"Labels": {"dev.pinnace.bench.seed": seed}},
        "rootfs": {"type": "layers", "diff_ids": [sha256(tar_bytes)]},
    }))
    manifest = {"schemaVersion": 2, "mediaType": MANIFEST_TYPE, "config": config, "layers": [layer]}
    return write_blob(layout, MANIFEST_TYPE, as_json(manifest))


def build_layout(layout, tag, seed, multi_arch):
    """An OCI layout (skopeo's `oci:` transport) whose `tag` names one small image, or an
    index over linux/amd64 and linux/arm64. Returns (media type, manifest bytes)."""
    os.makedirs(os.path.join(layout, "blobs", "sha256"))
    with open(os.path.join(layout, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    if multi_arch:
        children = []
        for arch in ("amd64", "arm64"):
            desc = image_manifest(layout, seed, arch)
            desc["platform"] = {"architecture": arch, "os": "linux"}
            children.append(desc)
        top = write_blob(layout, INDEX_TYPE, as_json(
            {"schemaVersion": 2, "mediaType": INDEX_TYPE, "manifests": children}))
    else:
        top = image_manifest(layout, seed, "amd64")
    tagged = dict(top, annotations={"org.opencontainers.image.ref.name": tag})
    with open(os.path.join(layout, "index.json"), "wb") as f:
        f.write(as_json({"schemaVersion": 2, "manifests": [tagged]}))
    with open(os.path.join(layout, "blobs", "sha256", top["digest"][7:]), "rb") as f:
        return top["mediaType"], f.read()


def mirror_path(key):
    """`docker.io/library/nginx:1.2.3` -> (`library/nginx`, `1.2.3`): the path a mirror of
    docker.io serves it under (pinnace asks the mirror for the same repository)."""
    name, tag = key.rsplit(":", 1)
    return name.split("/", 1)[1], tag


class Connection(threading.local):
    """One keep-alive HTTP connection per thread."""

    def __init__(self, host):
        self.host, self.conn = host, None

    def request(self, method, path, body=None, headers=None):
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, timeout=60)
            try:
                self.conn.request(method, path, body=body,
                                  headers={"User-Agent": OUR_AGENT, **(headers or {})})
                response = self.conn.getresponse()
                return response.status, dict(response.getheaders()), response.read()
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise


def populate(host, work, keys):
    """Pushes one image per repository and tags it with every tag the corpus uses. Returns
    {repository path: (media type, digest)}."""
    repos = {}
    for key in keys:
        repo, tag = mirror_path(key)
        repos.setdefault(repo, []).append(tag)
    authfile = os.path.join(work, "empty-auth.json")
    with open(authfile, "w") as f:
        f.write("{}")

    def push(item):
        number, repo = item
        layout = tempfile.mkdtemp(prefix="layout-", dir=work)
        first_tag = repos[repo][0]
        media_type, body = build_layout(layout, first_tag, repo, multi_arch=number % 3 == 0)
        cmd = ["skopeo", "--insecure-policy", "copy", "--all", "--preserve-digests", "--quiet",
               "--retry-times", "2", f"--authfile={authfile}", "--dest-tls-verify=false",
               "--dest-no-creds", f"oci:{layout}:{first_tag}", f"docker://{host}/{repo}:{first_tag}"]
        done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        shutil.rmtree(layout)
        if done.returncode != 0:
            raise RuntimeError(f"skopeo copy to {repo} failed:\n{done.stdout.decode()}")
        return repo, media_type, body

    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        pushed = list(pool.map(push, enumerate(sorted(repos))))
    skopeo_s = time.perf_counter() - start

    conn = Connection(host)
    manifests = {repo: (media_type, body) for repo, media_type, body in pushed}

    def put(item):
        repo, tag = item
        media_type, body = manifests[repo]
        status, headers, text = conn.request("PUT", f"/v2/{repo}/manifests/{tag}", body,
                                             {"Content-Type": media_type})
        if status != 201 or headers.get("Docker-Content-Digest") != sha256(body):
            raise RuntimeError(f"PUT {repo}:{tag}: HTTP {status} {text[:300]!r}")

    tags = [(repo, tag) for repo in sorted(repos) for tag in repos[repo][1:]]
    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(PUT_THREADS) as pool:
        list(pool.map(put, tags))
    put_s = time.perf_counter() - start
    multi = sum(1 for _, media_type, _ in pushed if media_type == INDEX_TYPE)
    log(f"  registry: {len(repos)} repositories ({multi} multi-arch OCI indexes) pushed with skopeo "
        f"in {skopeo_s:.1f}s, {len(tags)} more tags by PUT in {put_s:.1f}s")
    return {repo: (media_type, sha256(body)) for repo, media_type, body in pushed}


def verify_served(host, keys, expected):
    """Every key answers HEAD with the digest pushed for its repository (before timing pinnace,
    so a failure there is the benchmark's fault, not pinnace's)."""
    conn = Connection(host)
    accept = ", ".join([INDEX_TYPE, MANIFEST_TYPE])

    def head(key):
        repo, tag = mirror_path(key)
        status, headers, _ = conn.request("HEAD", f"/v2/{repo}/manifests/{tag}",
                                          headers={"Accept": accept})
        return key if status != 200 or headers.get("Docker-Content-Digest") != expected[repo][1] else None

    with concurrent.futures.ThreadPoolExecutor(PUT_THREADS) as pool:
        bad = [k for k in pool.map(head, keys) if k]
    if bad:
        raise RuntimeError(f"the registry does not serve {len(bad)} references, e.g. {bad[:3]}")


# --- 3. timing pinnace ---------------------------------------------------------------------

class AccessLog:
    """The registry's access log (Apache combined format, one line per request, written when
    the handler returns)."""

    def __init__(self, path):
        self.path = path

    def size(self):
        return os.path.getsize(self.path)

    def entries_since(self, offset):
        """(method, path, user agent) of each line written after `offset`, once the file has
        stopped growing."""
        previous = -1
        for _ in range(40):
            current = self.size()
            if current == previous:
                break
            previous = current
            time.sleep(0.05)
        with open(self.path, "rb") as f:
            f.seek(offset)
            text = f.read().decode("utf-8", "replace")
        entries = []
        for line in text.splitlines():
            quoted = line.split('"')[1::2]
            if not quoted:
                continue
            request = quoted[0].split(" ")
            if len(request) == 3 and request[2].startswith("HTTP/"):
                entries.append((request[0], request[1], quoted[-1]))
        return entries


def count_pinnace(entries):
    """(manifest HEADs, all requests) sent with pinnace's User-Agent."""
    ours = [e for e in entries if e[2].startswith("pinnace/")]
    heads = [e for e in ours if e[0] == "HEAD" and "/manifests/" in e[1]]
    return len(heads), len(ours)


def pinnace_env():
    """No proxy for the local registry; any request that falls back from the mirror to the real
    registry hits a closed loopback port instead of the internet."""
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env.update(HTTPS_PROXY="http://127.0.0.1:9", HTTP_PROXY="http://127.0.0.1:9",
               NO_PROXY="127.0.0.1,localhost")
    return env


def fresh_copy(corpus, work, config):
    copy = tempfile.mkdtemp(prefix="corpus-", dir=work)
    os.rmdir(copy)
    shutil.copytree(corpus, copy, symlinks=True)
    with open(os.path.join(copy, ".pinnace.yaml"), "w") as f:
        f.write(config)
    # Write the copy back now, so that pinnace's own fsyncs do not wait for it (a checkout
    # someone pins has usually long been on disk).
    os.sync()
    return copy


TICKS = os.sysconf("SC_CLK_TCK")


def machine_busy():
    """CPU seconds the whole machine has been busy (all cores, /proc/stat)."""
    with open("/proc/stat") as f:
        user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, f.readline().split()[1:9])
    return (user + nice + system + irq + softirq + steal) / TICKS


def process_cpu(pid):
    """CPU seconds used so far by a running process (all its threads)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS
    except (OSError, ValueError, IndexError):
        return 0.0


def timed(cmd, timeout, registry_pid):
    """Wall seconds, peak RSS (MiB), exit code and stderr of one run, and the cores that other
    processes than pinnace and the registry kept busy meanwhile (the noise in the figure)."""
    with tempfile.TemporaryFile() as err:
        busy, registry = machine_busy(), process_cpu(registry_pid)
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=pinnace_env())
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        own = usage.ru_utime + usage.ru_stime + process_cpu(registry_pid) - registry
        others = max(0.0, machine_busy() - busy - own) / wall
        timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace")
    return wall, usage.ru_maxrss / 1024, proc.returncode, stderr, others


def summary(walls, peaks, noise):
    return (f"wall min {min(walls):.3f}s median {statistics.median(walls):.3f}s  "
            f"peak RSS {max(peaks):.1f} MiB\n"
            f"                 runs: " + " ".join(f"{w:.2f}s" for w in walls)
            + "; other processes kept " + " ".join(f"{n:.2f}" for n in noise)
            + " cores busy meanwhile")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin", required=True)
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--host", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--access-log", required=True)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--registry-pid", type=int, required=True)
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--pin-arg", action="append", default=[],
                        help="extra argument for every `pinnace pin` (e.g. --jobs=16)")
    args = parser.parse_args()
    failures = []

    def check(ok, msg):
        if not ok:
            fail(msg)
            failures.append(msg)

    images = list_images(args.bin, args.corpus)
    targets = [e for e in images if resolvable(e)]
    keys = sorted({f"{e['normalized']}:{e['tag']}" for e in targets})
    skipped = [e for e in images if e["status"] == "tagged" and not resolvable(e)]
    pinned_before = sum(1 for e in images if e["status"] == "pinned")
    log(f"  images: {len(images)} in the corpus: {len(targets)} to pin ({len(keys)} distinct "
        f"references), {len(skipped)} latest/untagged (skipped by pin), {pinned_before} already pinned")
    unknown = sorted({e["normalized"].split("/")[0] for e in targets} - set(CORPUS_REGISTRIES))
    check(not unknown, f"the corpus names registries this benchmark does not mirror: {unknown}")

    expected = populate(args.host, args.work, keys)
    verify_served(args.host, keys, expected)

    config = ("# written by bench/pin.sh: every corpus registry is served by the local one\n"
              "registries:\n"
              f"  insecure: [\"{args.host}\"]\n"
              "  mirrors:\n"
              + "".join(f"    {r}: \"{args.host}\"\n" for r in CORPUS_REGISTRIES))
    access = AccessLog(args.access_log)
    pin = [args.bin, "pin", "--quiet", *args.pin_arg]

    def run_pin(extra, label, quiet=True):
        """One pin on a fresh copy; returns (wall, rss, heads, requests, copy, noise)."""
        copy = fresh_copy(args.corpus, args.work, config)
        offset = access.size()
        cmd = (pin if quiet else [p for p in pin if p != "--quiet"]) + extra + [copy]
        wall, rss, code, stderr, noise = timed(cmd, args.timeout, args.registry_pid)
        heads, requests = count_pinnace(access.entries_since(offset))
        check(code == 0, f"{label}: pinnace pin exited {code}:\n{stderr[-3000:]}")
        if not quiet:
            log(f"  warm-up says:  {stderr.splitlines()[0] if stderr else '(nothing)'}")
        return wall, rss, heads, requests, copy, noise

    # Plain runs: one warm-up (page cache, registry; its summary is printed), then RUNS timed.
    walls, peaks, counts, noises = [], [], [], []
    copy = None
    for i in range(args.runs + 1):
        wall, rss, heads, requests, new_copy, noise = run_pin([], f"run {i}", quiet=i > 0)
        if copy:
            shutil.rmtree(copy)
        copy = new_copy
        counts.append((heads, requests))
        check(heads == len(keys) and requests == len(keys),
              f"run {i}: {heads} manifest HEADs / {requests} requests by pinnace, "
              f"expected {len(keys)} (one per distinct reference)")
        if i:
            walls.append(wall)
            peaks.append(rss)
            noises.append(noise)
    log(f"  pin:           {summary(walls, peaks, noises)}")
    heads = sorted({c[0] for c in counts})
    requests = sorted({c[1] for c in counts})
    log(f"  requests:      {len(keys)} distinct references; per run the registry logged "
        f"{'/'.join(map(str, heads))} manifest HEADs, {'/'.join(map(str, requests))} requests "
        f"in all from pinnace (over {len(counts)} runs, warm-up included)")

    # The pinned copy of the last run: every resolvable image has its repository's digest, and
    # digest-pinning reports exactly the latest/untagged ones.
    # A Kustomize images: entry moves down when pin adds `digest:` to an entry above it, so
    # those rows are matched by file, workload and container instead of by line.
    def where(e, root):
        if e["field"] == "kustomize images":
            return (relpath(e, root), e["name"], e["container"])
        return (relpath(e, root), e["line"], e["column"])
    after = {where(e, copy): e for e in list_images(args.bin, copy)}
    wrong = []
    for e in targets:
        got = after.get(where(e, args.corpus))
        want = expected[mirror_path(f"{e['normalized']}:{e['tag']}")[0]][1]
        if not got or got["status"] != "pinned" or got["digest"] != want or got["tag"] != e["tag"]:
            wrong.append((e["image"], got and got["image"]))
    check(not wrong, f"{len(wrong)} images not pinned to the digest their tag names, e.g. {wrong[:3]}")
    out = subprocess.run([args.bin, "check", "--select", "digest-pinning", "--format", "json", copy],
                         stdout=subprocess.PIPE, env=pinnace_env()).stdout
    findings = json.loads(out)["findings"]
    # What pin skips by design (latest/untagged) may still be reported; anything else is an
    # image that check wants pinned and pin left alone.
    unpinned = [f for f in findings if tag_of(f["image"]) not in (None, "latest")]
    log(f"  after pin:     {len(targets) - len(wrong)}/{len(targets)} images pinned to the pushed digest; "
        f"check --select digest-pinning: {len(findings)} findings, {len(findings) - len(unpinned)} "
        f"on latest/untagged images ({len(skipped)} such images in the corpus), "
        f"{len(unpinned)} on other images (expected 0)")
    if unpinned:
        where = {}
        for f in unpinned:
            name = os.path.basename(f["path"])
            kind = "Kustomize images: entries" if name == "kustomization.yaml" else f"{name} files"
            where.setdefault(kind, []).append(f["image"])
        for kind, found in sorted(where.items(), key=lambda item: -len(item[1])):
            log(f"                 {len(found)} in {kind}, e.g. {', '.join(sorted(set(found))[:3])}")
    check(not unpinned, f"check --select digest-pinning still reports {len(unpinned)} tagged, "
          "non-latest images after pin")
    shutil.rmtree(copy)

    # Cache runs: the first one fills the cache file, then RUNS runs on fresh copies read it.
    cache = os.path.join(args.work, "resolutions.json")
    wall, _, heads, requests, copy, _ = run_pin(["--cache", cache], "cache fill")
    shutil.rmtree(copy)
    check(heads == len(keys), f"cache fill: {heads} manifest HEADs, expected {len(keys)}")
    log(f"  cache fill:    {wall:.3f}s, {heads} manifest HEADs ({requests} requests)")
    walls, peaks, cached, noises = [], [], [], []
    for i in range(args.runs):
        wall, rss, heads, requests, copy, noise = run_pin(["--cache", cache], f"cached run {i}")
        shutil.rmtree(copy)
        walls.append(wall)
        peaks.append(rss)
        noises.append(noise)
        cached.append(requests)
        check(requests == 0, f"cached run {i}: {requests} registry requests, expected 0")
    log(f"  pin --cache:   {summary(walls, peaks, noises)}")
    log(f"  cached runs:   registry requests {'/'.join(map(str, cached))} (expected 0)")

    log(f"  ({os.cpu_count()} cores; the min is the figure to compare: a run during which other "
        "processes kept a core busy is inflated by them)")
    if failures:
        log(f"  {len(failures)} check(s) failed")
        sys.exit(1)
    log("  all checks passed")


if __name__ == "__main__":
    try:
        main()
    except (RuntimeError, subprocess.CalledProcessError) as error:
        fail(str(error))
        sys.exit(1)
