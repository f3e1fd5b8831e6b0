#!/usr/bin/env bash
# Packs one release archive, laid out as the release workflow publishes it and as the GitHub
# Action's installer (action/install.sh) expects it:
#
#   pinnace-VERSION-TARGET.tar.gz (.zip for Windows targets)
#     pinnace-VERSION-TARGET/
#       pinnace (pinnace.exe)   README.md   LICENSE-MIT   LICENSE-APACHE
#       completions/pinnace.bash  completions/_pinnace  completions/pinnace.fish  completions/_pinnace.ps1
#       man/pinnace.1  man/pinnace-check.1 …
#
# usage: scripts/release-archive.sh VERSION TARGET BINARY OUT_DIR
# BINARY must run on this machine (it writes its own completions and man pages); the release
# workflow builds each target on a runner of that platform. Prints the archive's path.
set -euo pipefail
[ "$#" -eq 4 ] || { echo "usage: $0 VERSION TARGET BINARY OUT_DIR" >&2; exit 2; }
version="$1" target="$2" binary="$3" out="$4"
root="$(cd "$(dirname "$0")/.." && pwd)"
name="pinnace-${version}-${target}"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
stage="$work/$name"
mkdir -p "$stage/completions" "$stage/man" "$out"

exe=pinnace
case "$target" in *windows*) exe=pinnace.exe ;; esac
cp "$binary" "$stage/$exe"
chmod 0755 "$stage/$exe"
cp "$root/README.md" "$root/LICENSE-MIT" "$root/LICENSE-APACHE" "$stage/"

"$binary" completions bash >"$stage/completions/pinnace.bash"
"$binary" completions zsh >"$stage/completions/_pinnace"
"$binary" completions fish >"$stage/completions/pinnace.fish"
"$binary" completions powershell >"$stage/completions/_pinnace.ps1"
"$binary" man --out-dir "$stage/man"

out="$(cd "$out" && pwd)"
case "$target" in
    *windows*)
        archive="$out/$name.zip"
        (cd "$work" && if command -v 7z >/dev/null 2>&1; then 7z a -tzip -bso0 "$archive" "$name"; else zip -qr "$archive" "$name"; fi)
        ;;
    *)
        archive="$out/$name.tar.gz"
        tar -C "$work" -czf "$archive" "$name"
        ;;
esac
echo "$archive"
