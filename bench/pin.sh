#!/usr/bin/env bash
# Benchmark `pinnace pin` on the standard corpus, its images served by a local registry.
#
# usage: bench/pin.sh [APPS]      (default: 3000, the standard corpus)
#   RUNS=N       timed runs of each kind (default 5; one untimed warm-up run comes first)
#   PIN_ARGS=…   extra arguments for every `pinnace pin`, e.g. PIN_ARGS="--jobs 16"
#
# The corpus is generated once into target/bench-pin-corpus-APPS. Each run pins a fresh copy
# of it against `docker-registry` on 127.0.0.1 (its own config, storage and access log in a
# temp dir), which mirrors every registry the corpus names; bench/pin-registry.py fills the
# registry, times the runs and checks them. Needs python3, a Rust toolchain, docker-registry
# and skopeo (scripts/install-test-deps.sh installs the last two). Exits 1 when a check fails.
set -euo pipefail
cd "$(dirname "$0")/.."

apps=${1:-3000}
runs=${RUNS:-5}
for tool in python3 docker-registry skopeo; do
  command -v "$tool" >/dev/null || { echo "bench/pin.sh: $tool is missing (scripts/install-test-deps.sh installs docker-registry and skopeo)" >&2; exit 2; }
done

cargo build --release --locked --quiet
bin=target/release/pinnace

corpus=target/bench-pin-corpus-$apps
if [ ! -d "$corpus" ]; then
  rm -rf "$corpus.partial"
  python3 bench/gen-corpus.py "$corpus.partial" "$apps"
  mv "$corpus.partial" "$corpus"
fi


# docker-registry on a free port (bench/registry.sh).
source bench/registry.sh
bench_workdir pin
registry_up || exit 2

files=$(find "$corpus" -type f | wc -l)
echo "== pinnace pin, $apps apps ($files files), registry 127.0.0.1:$port${PIN_ARGS:+, pin $PIN_ARGS}, $runs runs, $(nproc) cores"
pin_args=()
for arg in ${PIN_ARGS:-}; do pin_args+=("--pin-arg=$arg"); done
python3 bench/pin-registry.py --bin "$bin" --corpus "$corpus" --host "127.0.0.1:$port" \
  --work "$work" --access-log "$work/registry/access.log" --registry-pid "$registry_pid" --runs "$runs" ${pin_args[@]+"${pin_args[@]}"} &
# In the background, so that a TERM or INT reaches the trap (and stops the registry) at once.
helper_pid=$!
status=0
wait "$helper_pid" || status=$?
helper_pid=
exit "$status"
