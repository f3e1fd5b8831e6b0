#!/usr/bin/env python3
"""Every overlay of a generated corpus, built by `pinnace build` and by `kubectl kustomize`,
compared as sets of resources.

usage: bench/kustomize-conformance.py [CORPUS_DIR]   (default target/bench-corpus-3000)

Needs kubectl and PyYAML (`pip install pyyaml`); build pinnace first (cargo build --release).
Prints the number of overlays that match and every one that does not; exits 1 if any differ.
"""
import json, os, subprocess, sys
from concurrent.futures import ThreadPoolExecutor

import yaml

corpus = sys.argv[1] if len(sys.argv) > 1 else "target/bench-corpus-3000"
pinnace = os.path.abspath("target/release/pinnace")

def resources(text):
    return sorted(json.dumps(doc, sort_keys=True) for doc in yaml.safe_load_all(text) if doc)

def compare(overlay):
    ours = subprocess.run([pinnace, "build", overlay], capture_output=True, text=True)
    theirs = subprocess.run(["kubectl", "kustomize", overlay], capture_output=True, text=True)
    if ours.returncode != 0 or theirs.returncode != 0:
        return overlay, f"pinnace exit {ours.returncode}: {ours.stderr.strip()[:200]}; kubectl exit {theirs.returncode}"
    return overlay, None if resources(ours.stdout) == resources(theirs.stdout) else "resources differ"

overlays = sorted(root for root, _, files in os.walk(corpus)
                  if "kustomization.yaml" in files and os.sep + "overlays" + os.sep in root + os.sep)
with ThreadPoolExecutor(max_workers=2) as pool:
    results = list(pool.map(compare, overlays))
bad = [(o, why) for o, why in results if why]
print(f"{len(overlays) - len(bad)} of {len(overlays)} overlays build the same resources as kubectl kustomize")
for overlay, why in bad:
    print(f"  {overlay}: {why}")
sys.exit(1 if bad else 0)
