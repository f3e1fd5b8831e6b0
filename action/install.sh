#!/usr/bin/env bash
# The install step of the pinnace GitHub Action (action.yml): a pinnace already on PATH is
# used as it is; otherwise pinnace is built from the action's own source (ACTION_PATH) with
# `cargo install --locked` into PINNACE_ROOT (CARGO_TARGET_DIR holds the build), both of
# which the action caches: with the cache of this very source, nothing is built.
# Prints the binary's path to GITHUB_OUTPUT as `bin`.
set -euo pipefail

root="${PINNACE_ROOT:-${RUNNER_TEMP:-${TMPDIR:-/tmp}}/pinnace}"
if command -v pinnace >/dev/null 2>&1; then
    bin="$(command -v pinnace)"
    echo "pinnace: using $bin ($("$bin" --version))"
elif [ "${PINNACE_CACHE_HIT:-false}" = "true" ] && [ -x "$root/bin/pinnace" ]; then
    bin="$root/bin/pinnace"
    echo "pinnace: using the cached build $("$bin" --version)"
else
    command -v cargo >/dev/null 2>&1 || {
        echo "::error title=pinnace::no Rust toolchain to build pinnace with; add a step with dtolnay/rust-toolchain@stable or install pinnace first"
        exit 2
    }
    cargo install --locked --quiet --root "$root" --path "$ACTION_PATH"
    bin="$root/bin/pinnace"
    echo "pinnace: built $("$bin" --version) from $ACTION_PATH"
fi
echo "bin=$bin" >>"$GITHUB_OUTPUT"
