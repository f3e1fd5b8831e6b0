#!/usr/bin/env bash
# The install step of the pinnace GitHub Action (action.yml). In order:
#   1. a pinnace already on PATH is used as it is;
#   2. on a released ref of the action (a `v*` tag, or a commit that such a tag points at), the
#      release archive for the runner's OS and architecture is downloaded from the action's
#      own repository, checked against the release's SHA256SUMS (a mismatch or a missing asset
#      fails the step) and unpacked: no Rust toolchain needed;
#   3. otherwise (a branch, an unreleased commit, a local `uses: ./`) pinnace is built from the
#      action's own source with `cargo install --locked` into PINNACE_ROOT (CARGO_TARGET_DIR
#      holds the build; the action caches both).
# Prints the binary's path to GITHUB_OUTPUT as `bin`.
#
# Environment: ACTION_PATH, ACTION_REF (github.action_ref), ACTION_REPOSITORY
# (github.action_repository), GITHUB_SERVER_URL, RUNNER_OS, RUNNER_ARCH, PINNACE_ROOT,
# PINNACE_CACHE_HIT, GITHUB_OUTPUT.
set -euo pipefail

root="${PINNACE_ROOT:-${RUNNER_TEMP:-${TMPDIR:-/tmp}}/pinnace}"
server="${GITHUB_SERVER_URL:-https://github.com}"

fail() {
    echo "::error title=pinnace::$1"
    exit 1
}

# The release target built for this runner, or nothing when no archive is published for it.
release_target() {
    case "${RUNNER_OS:-}/${RUNNER_ARCH:-}" in
        Linux/X64) echo x86_64-unknown-linux-musl ;;
        Linux/ARM64) echo aarch64-unknown-linux-musl ;;
        macOS/X64) echo x86_64-apple-darwin ;;
        macOS/ARM64) echo aarch64-apple-darwin ;;
        Windows/X64) echo x86_64-pc-windows-msvc ;;
        *) echo "" ;;
    esac
}

# The release tag the action runs at: ACTION_REF itself when it is a version tag, the tag of
# the action's own version when ACTION_REF is the commit that tag points at, else nothing.
release_tag() {
    local ref="${ACTION_REF:-}"
    if [[ "$ref" =~ ^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]]; then
        echo "$ref"
        return
    fi
    [[ "$ref" =~ ^[0-9a-f]{40}$ ]] && [ -n "${ACTION_REPOSITORY:-}" ] || return 0
    local version
    version="$(sed -n 's/^version = "\(.*\)"$/\1/p' "$ACTION_PATH/Cargo.toml" | head -n 1)"
    [ -n "$version" ] || return 0
    local tagged
    tagged="$(git ls-remote --tags "$server/$ACTION_REPOSITORY" "refs/tags/v$version^{}" "refs/tags/v$version" 2>/dev/null |
        sort -k2 -r | head -n 1 | cut -f1)" || true
    [ "$tagged" = "$ref" ] && echo "v$version"
    return 0
}

sha256_of() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum "$1" | cut -d' ' -f1
    else
        shasum -a 256 "$1" | cut -d' ' -f1
    fi
}

# Downloads URL to FILE; plain HTTP only when the server itself is plain HTTP, and never a
# redirect from HTTPS down to HTTP.
download() {
    local proto="=https"
    [[ "$server" == http://* ]] && proto="=http,https"
    curl --fail --silent --show-error --location --retry 3 --max-time 300 \
        --proto "$proto" --proto-redir "$proto" -o "$2" "$1"
}

install_release() {
    local tag="$1" target="$2"
    local name="pinnace-$tag-$target" ext=tar.gz exe=pinnace
    [[ "$target" == *windows* ]] && ext=zip exe=pinnace.exe
    local base="$server/$ACTION_REPOSITORY/releases/download/$tag"
    local dir="$root/$tag"
    mkdir -p "$dir"
    download "$base/SHA256SUMS" "$dir/SHA256SUMS" ||
        fail "release $tag of $ACTION_REPOSITORY has no SHA256SUMS ($base/SHA256SUMS)"
    download "$base/$name.$ext" "$dir/$name.$ext" ||
        fail "release $tag of $ACTION_REPOSITORY has no archive $name.$ext ($base/$name.$ext)"
    local want got
    want="$(awk -v f="$name.$ext" '$2 == f || $2 == "*" f {print $1}' "$dir/SHA256SUMS" | head -n 1)"
    [ -n "$want" ] || fail "SHA256SUMS of release $tag does not list $name.$ext"
    got="$(sha256_of "$dir/$name.$ext")"
    if [ "$got" != "$want" ]; then
        rm -f "$dir/$name.$ext"
        fail "checksum mismatch for $name.$ext: SHA256SUMS says $want, the download is $got; refusing to run it"
    fi
    if [ "$ext" = zip ]; then
        (cd "$dir" && { unzip -q -o "$name.zip" 2>/dev/null || 7z x -y -bso0 "$name.zip"; })
    else
        tar -C "$dir" -xzf "$dir/$name.$ext"
    fi
    bin="$dir/$name/$exe"
    [ -x "$bin" ] || fail "archive $name.$ext holds no $exe"
    echo "pinnace: installed $("$bin" --version) from release $tag ($target, sha256 $got)"
}

build_from_source() {
    command -v cargo >/dev/null 2>&1 || fail "no Rust toolchain to build pinnace with (the action runs at an unreleased ref); use a released version (uses: …/pinnace@vX.Y.Z), add a step with a Rust toolchain, or install pinnace first"
    cargo install --locked --quiet --root "$root" --path "$ACTION_PATH"
    bin="$root/bin/pinnace"
    echo "pinnace: built $("$bin" --version) from $ACTION_PATH"
}

if command -v pinnace >/dev/null 2>&1; then
    bin="$(command -v pinnace)"
    echo "pinnace: using $bin ($("$bin" --version))"
elif tag="$(release_tag)" && [ -n "$tag" ] && target="$(release_target)" && [ -n "$target" ]; then
    install_release "$tag" "$target"
elif [ "${PINNACE_CACHE_HIT:-false}" = "true" ] && [ -x "$root/bin/pinnace" ]; then
    bin="$root/bin/pinnace"
    echo "pinnace: using the cached build $("$bin" --version)"
else
    build_from_source
fi
echo "bin=$bin" >>"$GITHUB_OUTPUT"
