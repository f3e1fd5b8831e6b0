# Sourced by bench/pin.sh and bench/migrate.sh: a work folder removed on exit, and
# `docker-registry` on 127.0.0.1 with its own config, storage and access log under
# "$work/registry", stopped on exit (with the caller's $helper_pid, when it sets one).

# Makes $work (named after $1) and arranges for it, the registry and the helper to go on exit.
bench_workdir() {
  work=$(mktemp -d "${TMPDIR:-/tmp}/pinnace-bench-$1.XXXXXX")
  registry_pid=
  helper_pid=
  trap bench_cleanup EXIT
  trap 'exit 130' INT TERM
}

bench_cleanup() {
  local pid
  for pid in "$helper_pid" "$registry_pid"; do
    if [ -n "$pid" ]; then
      kill "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  rm -rf "$work"
}

# One try on `port`. REGISTRY_* variables would override its config file: drop them.
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

# Starts the registry on a free port, trying a few (the port can be taken between the probe and
# the bind). Sets `port` and `registry_pid`; returns 1 with the registry's log when it fails.
registry_up() {
  port=
  for _ in 1 2 3; do
    local candidate
    candidate=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    if start_registry "$candidate"; then port=$candidate; return 0; fi
    kill "$registry_pid" 2>/dev/null || true
    wait "$registry_pid" 2>/dev/null || true
    registry_pid=
  done
  echo "$0: docker-registry did not come up:" >&2
  cat "$work/registry/registry.log" >&2
  return 1
}
