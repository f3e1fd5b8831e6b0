#!/usr/bin/env bash
# Benchmark `pinnace migrate` on a generated fleet of git repositories, their images served by
# a local registry.
#
# usage: bench/migrate.sh [REPOS] [APPS]     (default: 20 repositories of 100 apps each)
#   RUNS=N      timed runs of each kind (default 3)
#   JOBS="1 4"  the `--jobs` values to time (repositories at once)
#
# Each repository is made by bench/gen-corpus.py (seed = its number, so their images overlap
# as a real fleet's do), committed, and served as a bare repository that `migrate` clones by
# file:// URL. bench/migrate-registry.py fills the registry (with bench/pin-registry.py's
# code), times the runs and checks them. Needs python3, git, a Rust toolchain,
# docker-registry and skopeo (scripts/install-test-deps.sh installs the last two). Exits 1
# when a check fails.
set -euo pipefail
cd "$(dirname "$0")/.."

repos=${1:-20}
apps=${2:-100}
runs=${RUNS:-3}
jobs=${JOBS:-1 4}
for tool in python3 git docker-registry skopeo; do
  command -v "$tool" >/dev/null || { echo "bench/migrate.sh: $tool is missing" >&2; exit 2; }
done

cargo build --release --locked --quiet
bin=target/release/pinnace


source bench/registry.sh
bench_workdir migrate
registry_up || exit 2

echo "== pinnace migrate, $repos repositories of $apps apps, registry 127.0.0.1:$port, $runs runs, $(nproc) cores"
python3 bench/migrate-registry.py --bin "$bin" --host "127.0.0.1:$port" --work "$work" \
  --access-log "$work/registry/access.log" --registry-pid "$registry_pid" \
  --repos "$repos" --apps "$apps" --runs "$runs" --jobs $jobs &
# In the background, so that a TERM or INT reaches the trap (and stops the registry) at once.
helper_pid=$!
status=0
wait "$helper_pid" || status=$?
helper_pid=
exit "$status"
