#!/usr/bin/env bash
# Re-run `kubectl kustomize <root>` for every golden case and rewrite expected.yaml.
#
#   testdata/kustomize/regenerate.sh            rewrite expected.yaml of all cases
#   testdata/kustomize/regenerate.sh --check    only compare, change nothing (exit 1 on drift)
#   testdata/kustomize/regenerate.sh 25-images-newtag 40-patch-smp-merge-keys   only these cases
#
# Per case (a folder NN-name/ holding case.yaml):
#   * case.yaml `root:` is the kustomization dir, relative to the case folder; kubectl runs
#     from the case folder, exactly as `cd NN-name && kubectl kustomize <root>`.
#   * `expect_error: <substring>`: kubectl must FAIL and its stderr must contain the substring;
#     such cases have no expected.yaml (a stale one is removed).
#   * `skip_kubectl: true`: not run at all.
#   * otherwise kubectl must succeed; its stdout (only stdout: deprecation warnings go to
#     stderr) becomes expected.yaml byte for byte.
# Needs only kubectl (kustomize is built in); no network: remote/helm cases fail fast offline.
set -u -o pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
check=0
cases=()
for arg in "$@"; do
  case "$arg" in
    --check) check=1 ;;
    -h|--help) sed -n '2,18p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) cases+=("${arg%/}") ;;
  esac
done
if [ ${#cases[@]} -eq 0 ]; then
  for d in "$here"/[0-9]*/; do cases+=("$(basename "$d")"); done
fi

command -v kubectl >/dev/null || { echo "kubectl not found" >&2; exit 2; }
echo "# $(kubectl version --client 2>/dev/null | tr '\n' ' ')"

# read a top-level scalar from case.yaml, strip one level of surrounding quotes
field() { # file key
  local v
  v="$(sed -n "s/^$2:[[:space:]]*//p" "$1" | head -n1 | sed 's/[[:space:]]*$//')"
  case "$v" in
    \"*\") v="${v#\"}"; v="${v%\"}"; v="${v//\\\"/\"}" ;;
    \'*\') v="${v#\'}"; v="${v%\'}"; v="${v//\'\'/\'}" ;;
  esac
  printf '%s' "$v"
}

# remote bases must never prompt for credentials or hang on the network
export GIT_TERMINAL_PROMPT=0
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
ok=0; failed=0; skipped=0; changed=0

for name in "${cases[@]}"; do
  dir="$here/$name"
  if [ ! -f "$dir/case.yaml" ]; then echo "FAIL $name: no case.yaml"; failed=$((failed+1)); continue; fi
  root="$(field "$dir/case.yaml" root)"
  want_err="$(field "$dir/case.yaml" expect_error)"
  skip="$(field "$dir/case.yaml" skip_kubectl)"
  if [ -z "$root" ]; then echo "FAIL $name: case.yaml has no root"; failed=$((failed+1)); continue; fi
  if [ "$skip" = "true" ]; then echo "skip $name"; skipped=$((skipped+1)); continue; fi

  (cd "$dir" && timeout 120 kubectl kustomize "$root") >"$tmp/out" 2>"$tmp/err"
  rc=$?

  if [ -n "$want_err" ]; then
    if [ $rc -eq 0 ]; then
      echo "FAIL $name: expected an error containing '$want_err', but kubectl succeeded"; failed=$((failed+1))
    elif ! grep -qF -- "$want_err" "$tmp/err"; then
      echo "FAIL $name: error does not contain '$want_err':"; sed 's/^/    /' "$tmp/err"; failed=$((failed+1))
    else
      if [ -e "$dir/expected.yaml" ]; then
        if [ $check -eq 1 ]; then echo "FAIL $name: error case has an expected.yaml"; failed=$((failed+1)); continue
        else rm -f "$dir/expected.yaml"; fi
      fi
      echo "ok   $name (fails as expected)"; ok=$((ok+1))
    fi
    continue
  fi

  if [ $rc -ne 0 ]; then
    echo "FAIL $name: kubectl kustomize $root exited $rc:"; sed 's/^/    /' "$tmp/err"; failed=$((failed+1)); continue
  fi
  if [ -f "$dir/expected.yaml" ] && cmp -s "$tmp/out" "$dir/expected.yaml"; then
    echo "ok   $name"; ok=$((ok+1))
  elif [ $check -eq 1 ]; then
    echo "FAIL $name: output differs from expected.yaml:"
    diff -u "$dir/expected.yaml" "$tmp/out" 2>&1 | sed 's/^/    /' | head -n 60
    failed=$((failed+1))
  else
    cp "$tmp/out" "$dir/expected.yaml"; echo "new  $name (expected.yaml written)"; ok=$((ok+1)); changed=$((changed+1))
  fi
done

echo "# ${#cases[@]} cases: $ok ok ($changed rewritten), $skipped skipped, $failed failed"
[ $failed -eq 0 ]
