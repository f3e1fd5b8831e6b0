#!/usr/bin/env bash
# Benchmark `pinnace check` on generated GitOps repositories.
#
# usage: bench/run.sh [APPS...]     (default: 3000 30000)
#
# 3000 apps is the standard corpus (about 9,000 files, 6 MB). Corpora are generated once into
# target/bench-corpus-APPS by bench/gen-corpus.py (fixed seed, so every machine checks the
# same files). Needs python3 and a Rust toolchain; nothing else.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --locked --quiet
bin=target/release/pinnace
runs=${RUNS:-10}

for apps in "${@:-3000 30000}"; do
  for n in $apps; do
    dir=target/bench-corpus-$n
    if [ ! -d "$dir" ]; then
      python3 bench/gen-corpus.py "$dir" "$n"
    fi
    files=$(find "$dir" -type f | wc -l)
    bytes=$(find "$dir" -type f -exec cat {} + | wc -c)
    echo "== $n apps: $files files, $(python3 -c "print(round($bytes / 1e6, 1))") MB"
    printf '  check (human output):  '
    python3 bench/measure.py "$runs" -- "$bin" check --color never "$dir"
    printf '  check --format json:   '
    python3 bench/measure.py "$runs" -- "$bin" check --format json "$dir"
    # The same without the rules that reason across resources: what their first pass (the
    # index of NetworkPolicies, ServiceAccounts and Secrets) costs.
    printf '  ... without scope rules: '
    python3 bench/measure.py "$runs" -- "$bin" check --format json \
      --ignore missing-pull-secret,dangling-pull-secret,missing-network-policy,missing-default-deny "$dir"
    printf '  images --format json:  '
    python3 bench/measure.py "$runs" -- "$bin" images --format json "$dir"
  done
done
