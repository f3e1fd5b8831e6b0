#!/usr/bin/env python3
"""The Python half of bench/signatures.sh: fill a local registry with the corpus's images, pin
a copy of the corpus, sign every third pinned digest as cosign stores signatures, then time
`pinnace check --online --select unsigned-image` against it, cold and with a warm `--cache`,
counting the signature lookups each run makes in the registry's access log.

usage: signatures-registry.py --bin PINNACE --corpus DIR --host 127.0.0.1:PORT --work DIR
                              --access-log FILE --registry-pid PID [--runs N]

1. fills the registry as bench/pin-registry.py does (one tiny image per repository, every
   third a two-platform OCI index, every tag the corpus uses), and pins a copy of the corpus
   against it (`pinnace pin --update`, untimed: the digests the corpus pinned already are
   random, and the registry does not hold them);
2. makes a P-256 key with `openssl genpkey` and, for every third distinct pinned digest (in
   digest order, so signed and unsigned indexes and manifests mix), pushes a `sha256-<hex>.sig`
   manifest whose one layer is the simple-signing payload for it, signed with `openssl dgst
   -sha256 -sign` (cosign's signature specification), through the registry API;
3. times the check, with a config (named with `--config`) whose `signatures` covers every
   corpus registry with that key: RUNS cold runs, one run that fills a cache file, RUNS runs
   with it.

Exits 1 when a check fails: a cold run that does not look up each distinct pinned reference's
`.sig` tag exactly once, a warm run that looks up any, a signed digest reported unsigned or an
unsigned one not reported.
"""
import argparse, base64, importlib.util, json, os, shutil, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("pin_registry", os.path.join(HERE, "pin-registry.py"))
pr = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pr)

SIMPLE_SIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"


def log(msg):
    print(msg, flush=True)


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, stdout=subprocess.DEVNULL)


def push_blob(conn, repo, data):
    """A monolithic blob upload (POST, then PUT with the digest); its descriptor."""
    status, headers, text = conn.request("POST", f"/v2/{repo}/blobs/uploads/")
    if status != 202:
        raise RuntimeError(f"POST {repo} upload: HTTP {status} {text[:200]!r}")
    location = headers["Location"]
    location = location.split("://", 1)[1].split("/", 1)[1] if "://" in location else location.lstrip("/")
    digest = pr.sha256(data)
    separator = "&" if "?" in location else "?"
    status, _, text = conn.request("PUT", f"/{location}{separator}digest={digest}", data,
                                   {"Content-Type": "application/octet-stream"})
    if status != 201:
        raise RuntimeError(f"PUT {repo} blob: HTTP {status} {text[:200]!r}")
    return {"digest": digest, "size": len(data)}


def push_signature(conn, repo, name, digest, key):
    """The `.sig` manifest cosign would push for `digest` of image `name`, into `repo`."""
    payload = json.dumps({
        "critical": {
            "identity": {"docker-reference": name},
            "image": {"docker-manifest-digest": digest},
            "type": "cosign container image signature",
        },
        "optional": None,
    }, separators=(",", ":")).encode()
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "payload"), "wb") as f:
            f.write(payload)
        openssl("dgst", "-sha256", "-sign", key, "-out", os.path.join(tmp, "sig"),
                os.path.join(tmp, "payload"))
        with open(os.path.join(tmp, "sig"), "rb") as f:
            signature = base64.b64encode(f.read()).decode()
    layer = dict(push_blob(conn, repo, payload), mediaType=SIMPLE_SIGNING,
                 annotations={"dev.cosignproject.cosign/signature": signature})
    config = dict(push_blob(conn, repo, pr.as_json({
        "architecture": "", "os": "", "config": {},
        "rootfs": {"type": "layers", "diff_ids": [layer["digest"]]},
    })), mediaType=pr.CONFIG_TYPE)
    manifest = pr.as_json({"schemaVersion": 2, "mediaType": pr.MANIFEST_TYPE,
                           "config": config, "layers": [layer]})
    tag = digest.replace(":", "-") + ".sig"
    status, _, text = conn.request("PUT", f"/v2/{repo}/manifests/{tag}", manifest,
                                   {"Content-Type": pr.MANIFEST_TYPE})
    if status != 201:
        raise RuntimeError(f"PUT {repo}:{tag}: HTTP {status} {text[:200]!r}")


def signature_lookups(entries, pinned):
    """(.sig lookups of pinned digests, .sig lookups of other digests: platform manifests of
    unsigned indexes, and repeated paths) sent by pinnace, from access-log entries."""
    paths = [e[1] for e in entries if e[2].startswith("pinnace/") and e[1].endswith(".sig")]
    of_pinned = [p for p in paths if "sha256:" + p.rsplit("sha256-", 1)[1][:-4] in pinned]
    return len(of_pinned), len(paths) - len(of_pinned), len(paths) - len(set(paths))


def breakdown(entries):
    """pinnace's requests by method and what they ask for, most first."""
    kinds = {}
    for method, path, agent in entries:
        if not agent.startswith("pinnace/"):
            continue
        if path.endswith(".sig"):
            kind = "signature tag"
        elif "/referrers/" in path:
            kind = "referrers API"
        elif "/manifests/sha256-" in path:
            kind = "referrers tag"
        elif "/blobs/" in path:
            kind = "blob"
        elif "/manifests/sha256:" in path:
            kind = "manifest by digest"
        elif "/manifests/" in path:
            kind = "manifest by tag"
        else:
            kind = "other"
        kinds[f"{method} {kind}"] = kinds.get(f"{method} {kind}", 0) + 1
    return ", ".join(f"{n} {k}" for k, n in sorted(kinds.items(), key=lambda i: -i[1]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for flag in ("--bin", "--corpus", "--host", "--work", "--access-log"):
        parser.add_argument(flag, required=True)
    parser.add_argument("--registry-pid", type=int, required=True)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args()
    failures = []

    def check(ok, msg):
        if not ok:
            pr.fail(msg)
            failures.append(msg)

    # 1. The registry, and a pinned copy of the corpus.
    images = pr.list_images(args.bin, args.corpus)
    # The tags of the images the corpus pinned already too, so that `pin --update` re-pins them.
    keys = sorted({f"{e['normalized']}:{e['tag']}" for e in images
                   if pr.resolvable(e) or (e["status"] == "pinned" and e["tag"] not in (None, "latest"))})
    expected = pr.populate(args.host, args.work, keys)
    pr.verify_served(args.host, keys, expected)
    key = os.path.join(args.work, "bench.key")
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key)
    public = subprocess.run(["openssl", "pkey", "-in", key, "-pubout"], check=True,
                            stdout=subprocess.PIPE).stdout.decode()
    config = ("# written by bench/signatures.sh: every corpus registry is served by the local one\n"
              "registries:\n"
              f"  insecure: [\"{args.host}\"]\n"
              "  mirrors:\n"
              + "".join(f"    {r}: \"{args.host}\"\n" for r in pr.CORPUS_REGISTRIES)
              + "signatures:\n"
              f"  - images: {json.dumps(pr.CORPUS_REGISTRIES)}\n"
              "    keys: [keys/bench.pub]\n")
    corpus = pr.fresh_copy(args.corpus, args.work, config)
    os.makedirs(os.path.join(corpus, "keys"))
    with open(os.path.join(corpus, "keys", "bench.pub"), "w") as f:
        f.write(public)
    cfg = os.path.join(corpus, ".pinnace.yaml")
    # --update re-pins the digests the corpus pinned already (random ones, which the registry
    # does not hold: each would send pinnace from the mirror to the real registry, which is not
    # reachable here, and through its retries) to what their tags name.
    done = subprocess.run([args.bin, "pin", "--update", "--quiet", "--config", cfg, corpus],
                          stderr=subprocess.PIPE, env=pr.pinnace_env())
    check(done.returncode == 0, f"pin exited {done.returncode}: {done.stderr.decode()[-2000:]}")

    # 2. Every third distinct pinned digest the registry holds gets a signature.
    listed = subprocess.run([args.bin, "images", "--format", "json", "--config", cfg, corpus],
                            check=True, stdout=subprocess.PIPE).stdout
    rows = [e for e in json.loads(listed) if e["status"] == "pinned"]
    references = sorted({(e["normalized"], e["digest"]) for e in rows})
    pinned = {digest for _, digest in references}
    # Signatures live beside the digest, in the repository the mirror serves the name from.
    stored = sorted({(pr.mirror_path(f"{name}:x")[0], digest) for name, digest in references},
                    key=lambda r: (r[1], r[0]))
    held = {(repo, digest) for repo, digest in stored
            if expected.get(repo, (None, None))[1] == digest}
    # Every third in digest order: signed and unsigned indexes and manifests mix.
    signed = set(stored[::3])
    conn = pr.Connection(args.host)
    start = time.perf_counter()
    for repo, digest in sorted(signed):
        name = next(n for n, d in references if d == digest and pr.mirror_path(f"{n}:x")[0] == repo)
        push_signature(conn, repo, name, digest, key)
    indexes = sum(1 for repo, digest in signed & held if expected[repo][0] == pr.INDEX_TYPE)
    check(held == set(stored), f"{len(set(stored) - held)} pinned digests the registry does not hold")
    log(f"  signatures:    {len(rows)} pinned images, {len(references)} distinct pinned references "
        f"(name@digest), {len(stored)} digests in {len({r for r, _ in stored})} repositories; "
        f"signed {len(signed)} ({indexes} of them multi-arch indexes) in "
        f"{time.perf_counter() - start:.1f}s")
    is_signed = lambda name, digest: (pr.mirror_path(f"{name}:x")[0], digest) in signed

    # The verdicts: signed digests pass, every other covered digest is reported.
    out = subprocess.run([args.bin, "check", "--online", "--select", "unsigned-image", "--format",
                          "json", "--config", cfg, corpus], stdout=subprocess.PIPE,
                         env=pr.pinnace_env()).stdout
    flagged_digests = {f["image"].split("@", 1)[1] for f in json.loads(out)["findings"]
                       if "@" in (f.get("image") or "")}
    wrongly = [r for r in references if is_signed(*r) and r[1] in flagged_digests]
    missed = [r for r in references if not is_signed(*r) and r[1] not in flagged_digests]
    check(not wrongly, f"{len(wrongly)} signed references reported unsigned, e.g. {wrongly[:2]}")
    check(not missed, f"{len(missed)} unsigned references not reported, e.g. {missed[:2]}")
    log(f"  verdicts:      unsigned-image on {len(flagged_digests)} digests; "
        f"{len(wrongly)} signed ones among them, {len(missed)} unsigned ones missed (expected 0, 0)")

    # 3. Timed runs.
    access = pr.AccessLog(args.access_log)
    base = [args.bin, "check", "--online", "--select", "unsigned-image", "--format", "json",
            "--config", cfg]

    kinds = {}

    def run(extra, label):
        offset = access.size()
        wall, rss, code, stderr, noise = pr.timed(base + extra + [corpus], args.timeout,
                                                  args.registry_pid)
        check(code == 1, f"{label}: pinnace check exited {code} (expected 1: findings):\n{stderr[-2000:]}")
        entries = access.entries_since(offset)
        ours = sum(1 for e in entries if e[2].startswith("pinnace/"))
        kinds[label.split(" run")[0]] = breakdown(entries)
        return (wall, rss, noise, *signature_lookups(entries, pinned), ours)

    def series(extra, label, want):
        walls, peaks, noises, counts = [], [], [], []
        for i in range(args.runs):
            wall, rss, noise, lookups, others, repeated, requests = run(extra, f"{label} run {i}")
            walls.append(wall)
            peaks.append(rss)
            noises.append(noise)
            counts.append((lookups, others, repeated, requests))
            check(lookups == want and repeated == 0,
                  f"{label} run {i}: {lookups} .sig lookups of pinned digests ({repeated} repeated), "
                  f"expected {want}")
        log(f"  {label + ':':<14} {pr.summary(walls, peaks, noises)}")
        lookups = "/".join(sorted({str(c[0]) for c in counts}))
        others = "/".join(sorted({str(c[1]) for c in counts}))
        requests = "/".join(sorted({str(c[3]) for c in counts}))
        log(f"  {'':<14} per run: {lookups} .sig lookups of pinned digests (expected {want}), "
            f"{others} of platform manifests of unsigned indexes, {requests} requests in all")
        log(f"  {'':<14} the last: {kinds[label]}")

    series([], "cold", len(references))
    cache = os.path.join(args.work, "verdicts.json")
    wall, _, _, lookups, others, repeated, requests = run(["--cache", cache], "cache fill")
    check(lookups == len(references), f"cache fill: {lookups} .sig lookups, expected {len(references)}")
    log(f"  cache fill:    {wall:.3f}s, {lookups} .sig lookups, {requests} requests in all")
    series(["--cache", cache], "warm cache", 0)
    log(f"  ({os.cpu_count()} cores; compare minimums)")
    shutil.rmtree(corpus)
    if failures:
        log(f"  {len(failures)} check(s) failed")
        sys.exit(1)
    log("  all checks passed")


if __name__ == "__main__":
    try:
        main()
    except (RuntimeError, subprocess.CalledProcessError) as error:
        pr.fail(str(error))
        sys.exit(1)
