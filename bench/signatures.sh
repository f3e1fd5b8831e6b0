#!/usr/bin/env bash
# Benchmark signature verification (`pinnace check --online`, rule `unsigned-image`) on the
# standard corpus, pinned against a local registry, every third pinned digest signed.
#
# usage: bench/signatures.sh [APPS]      (default: 3000, the standard corpus)
#   RUNS=N   timed runs of each kind (default 5)
#
# The corpus is the one bench/pin.sh generates (target/bench-pin-corpus-APPS). The registry is
# `docker-registry` on 127.0.0.1 (bench/registry.sh); bench/signatures-registry.py fills it,
# pins a copy of the corpus, pushes cosign signatures (signed by openssl), times the checks
# and counts the `.sig` lookups in the registry's access log. Needs python3, openssl, a Rust
# toolchain, docker-registry and skopeo. Exits 1 when a check fails.
set -euo pipefail
cd "$(dirname "$0")/.."

apps=${1:-3000}
runs=${RUNS:-5}
for tool in python3 openssl docker-registry skopeo; do
  command -v "$tool" >/dev/null || { echo "bench/signatures.sh: $tool is missing (scripts/install-test-deps.sh installs it)" >&2; exit 2; }
done

cargo build --release --locked --quiet
bin=target/release/pinnace

corpus=target/bench-pin-corpus-$apps
if [ ! -d "$corpus" ]; then
  rm -rf "$corpus.partial"
  python3 bench/gen-corpus.py "$corpus.partial" "$apps"
  mv "$corpus.partial" "$corpus"
fi

source bench/registry.sh
bench_workdir signatures
registry_up || exit 2

echo "== pinnace check --online (unsigned-image), $apps apps, registry 127.0.0.1:$port, $runs runs, $(nproc) cores"
python3 bench/signatures-registry.py --bin "$bin" --corpus "$corpus" --host "127.0.0.1:$port" \
  --work "$work" --access-log "$work/registry/access.log" --registry-pid "$registry_pid" \
  --runs "$runs" &
# In the background, so that a TERM or INT reaches the trap (and stops the registry) at once.
helper_pid=$!
status=0
wait "$helper_pid" || status=$?
helper_pid=
exit "$status"
