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

work=$(mktemp -d "${TMPDIR:-/tmp}/pinnace-bench-pin.XXXXXX")
registry_pid=
helper_pid=
cleanup() {
  if [ -n "$helper_pid" ]; then
    kill "$helper_pid" 2>/dev/null || true
    wait "$helper_pid" 2>/dev/null || true
  fi
  if [ -n "$registry_pid" ]; then
    kill "$registry_pid" 2>/dev/null || true
    wait "$registry_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# docker-registry on a free port; the port can be taken between the probe and the bind, so
# try a few. REGISTRY_* variables would override its config file: drop them.
start_registry() {
  local port=$1
  mkdir -p "$work/registry"
  cat >"$work/registry/config.yml" <<EOF
version: 0.1
log:
  level: warn
  formatter: text
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: $work/registry/storage
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:$port
  secret: pinnace-bench
EOF
  # distribution writes the access log to stdout and everything else to stderr.
  env $(env | sed -n 's/^\(REGISTRY_[A-Za-z0-9_]*\)=.*/-u \1/p') \
    docker-registry serve "$work/registry/config.yml" \
    </dev/null >"$work/registry/access.log" 2>"$work/registry/registry.log" &
  registry_pid=$!
  python3 - "$port" "$registry_pid" <<'EOF'
import os, sys, time, urllib.request
port, pid = sys.argv[1], int(sys.argv[2])
deadline = time.time() + 20
while time.time() < deadline:
    try:  # exited early (the port was taken, a config error): a zombie or gone
        if open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] == "Z":
            sys.exit(1)
    except FileNotFoundError:
        sys.exit(1)
    try:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        if opener.open(f"http://127.0.0.1:{port}/v2/", timeout=2).status == 200:
            sys.exit(0)
    except OSError:
        pass
    time.sleep(0.05)
sys.exit(1)
EOF
}

port=
for _ in 1 2 3; do
  candidate=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  if start_registry "$candidate"; then port=$candidate; break; fi
  kill "$registry_pid" 2>/dev/null || true
  wait "$registry_pid" 2>/dev/null || true
  registry_pid=
done
if [ -z "$port" ]; then
  echo "bench/pin.sh: docker-registry did not come up:" >&2
  cat "$work/registry/registry.log" >&2
  exit 2
fi

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
