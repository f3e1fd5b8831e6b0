#!/usr/bin/env python3
"""Runs pinnace's signature verification over sigstore-conformance's bundle-verify cases.

usage: bench/sigstore-conformance.py --pinnace BIN --assets DIR --public-good-root FILE [CASE...]

  DIR   test/assets of a checkout of github.com/sigstore/sigstore-conformance (its
        bundle-verify/ cases and a.txt); not part of this project
  FILE  Sigstore's public-good trusted_root.json, for cases without one of their own (the
        conformance clients fetch it from Sigstore's TUF repository; sigstore-go keeps a copy
        as pkg/testing/data/trusted-roots/public-good.json)

Each case is a bundle that a client must accept, or reject when its name ends in `_fail`.
pinnace verifies bundles it finds among an image's OCI referrers, for the image digest an
in-toto statement names, so each case becomes one image: the digest is the SHA-256 of the
case's artifact (the subject of its statement), and a registry on 127.0.0.1 (this script)
lists the bundle as that digest's only referrer. `pinnace check --online --select
unsigned-image` then passes (accepted) or reports the image (rejected), under a config that
trusts the case's identity and issuer (or key) and its trusted root.

A message signature's digest is the image digest (the signed blob stands for the image's
manifest). Each line says what pinnace found, so that a rejection for another reason than the
case's shows. Exits 1 when a case differs.
"""

import argparse
import hashlib
import http.server
import json
import os
import re
import subprocess
import sys
import tempfile
import threading

DEFAULT_IDENTITY = ("https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/"
                    ".github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main")
DEFAULT_ISSUER = "https://token.actions.githubusercontent.com"
BUNDLE_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
INDEX_TYPE = "application/vnd.oci.image.index.v1+json"


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Registry:
    """Serves, per repository, one referrer (a manifest whose layer is the bundle)."""

    def __init__(self):
        self.routes = {}
        registry = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                found = registry.routes.get(self.path)
                if found is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                media_type, body = found
                self.send_response(200)
                self.send_header("Content-Type", media_type)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Docker-Content-Digest", sha256(body))
                self.end_headers()
                self.wfile.write(body)

            do_HEAD = do_GET

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.host = f"127.0.0.1:{self.server.server_address[1]}"

    def attach(self, repository, digest, bundle):
        empty = b"{}"
        manifest = json.dumps({
            "schemaVersion": 2, "mediaType": MANIFEST_TYPE, "artifactType": BUNDLE_TYPE,
            "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": sha256(empty), "size": 2},
            "layers": [{"mediaType": BUNDLE_TYPE, "digest": sha256(bundle), "size": len(bundle)}],
            "subject": {"mediaType": MANIFEST_TYPE, "digest": digest, "size": 1},
        }).encode()
        index = json.dumps({"schemaVersion": 2, "mediaType": INDEX_TYPE, "manifests": [
            {"mediaType": MANIFEST_TYPE, "digest": sha256(manifest), "size": len(manifest),
             "artifactType": BUNDLE_TYPE}]}).encode()
        base = f"/v2/{repository}"
        self.routes[f"{base}/referrers/{digest}"] = (INDEX_TYPE, index)
        self.routes[f"{base}/manifests/{sha256(manifest)}"] = (MANIFEST_TYPE, manifest)
        self.routes[f"{base}/blobs/{sha256(bundle)}"] = ("application/octet-stream", bundle)


def read(path, default=None):
    if not os.path.exists(path):
        return default
    with open(path, "rb") as f:
        return f.read()


def run_case(args, registry, case_dir, name, work):
    bundle = read(os.path.join(case_dir, "bundle.sigstore.json"))
    artifact = read(os.path.join(case_dir, "artifact")) or read(os.path.join(args.assets, "a.txt"))
    identity = (read(os.path.join(case_dir, "identity")) or DEFAULT_IDENTITY.encode()).decode().strip()
    issuer = (read(os.path.join(case_dir, "issuer")) or DEFAULT_ISSUER.encode()).decode().strip()
    root = read(os.path.join(case_dir, "trusted_root.json")) or read(args.public_good_root)
    key = read(os.path.join(case_dir, "key.pub"))
    repository = "conformance/" + re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    digest = sha256(artifact)
    registry.attach(repository, digest, bundle)
    repo = tempfile.mkdtemp(dir=work)
    with open(os.path.join(repo, "trusted_root.json"), "wb") as f:
        f.write(root)
    entry = [f"  - images: [\"{registry.host}/{repository}\"]"]
    if key:
        with open(os.path.join(repo, "key.pub"), "wb") as f:
            f.write(key)
        entry.append("    keys: [key.pub]")
    else:
        entry += ["    keyless:", f"      - issuer: {json.dumps(issuer)}",
                  f"        identity: {json.dumps('^' + re.escape(identity) + '$')}",
                  "    trusted_root: trusted_root.json"]
    with open(os.path.join(repo, ".pinnace.yaml"), "w") as f:
        f.write(f"registries:\n  insecure: [\"{registry.host}\"]\nsignatures:\n" + "\n".join(entry) + "\n")
    with open(os.path.join(repo, "pod.yaml"), "w") as f:
        f.write("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n"
                f"  - name: c\n    image: {registry.host}/{repository}@{digest}\n")
    out = subprocess.run([args.pinnace, "check", "--online", "--select", "unsigned-image",
                          "--format", "json", "--config", os.path.join(repo, ".pinnace.yaml"), repo],
                         capture_output=True, timeout=120)
    try:
        findings = json.loads(out.stdout)["findings"]
    except (ValueError, KeyError):
        # A config pinnace refuses (a key file that is no key) rejects what it would verify.
        said = " ".join(out.stderr.decode().split())[-300:]
        return False, f"the run refused (exit {out.returncode}): {said}"
    if not findings:
        return True, "verified"
    message = findings[0]["message"]
    return False, message.split(": found ", 1)[-1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pinnace", required=True)
    parser.add_argument("--assets", required=True)
    parser.add_argument("--public-good-root", required=True)
    parser.add_argument("cases", nargs="*")
    args = parser.parse_args()
    cases_dir = os.path.join(args.assets, "bundle-verify")
    names = args.cases or sorted(n for n in os.listdir(cases_dir)
                                 if os.path.isdir(os.path.join(cases_dir, n)))
    registry = Registry()
    passed, failed = [], []
    with tempfile.TemporaryDirectory() as work:
        for name in names:
            case_dir = os.path.join(cases_dir, name)
            accepted, said = run_case(args, registry, case_dir, name, work)
            expected = not name.endswith("_fail")
            if accepted == expected:
                passed.append(name)
                print(f"ok    {name}: {said}")
            else:
                failed.append(name)
                print(f"FAIL  {name}: expected {'accept' if expected else 'reject'}, got {said}")
    print(f"{len(passed)}/{len(passed) + len(failed)} cases as the conformance suite expects")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
