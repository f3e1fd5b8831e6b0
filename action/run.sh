#!/usr/bin/env bash
# The check step of the pinnace GitHub Action (action.yml), kept here so that it can be run,
# and tested, outside GitHub. It reads the action's inputs from PINNACE_* variables and the
# runner's files from GITHUB_*:
#
#   PINNACE_BIN           the pinnace to run (default: pinnace on PATH)
#   PINNACE_PATHS         files or folders, separated by spaces or newlines (default: .)
#   PINNACE_CONFIG        a .pinnace.yaml to use instead of the one found
#   PINNACE_FAIL_ON       error | warning | note | never (default: error)
#   PINNACE_CHANGED_ONLY  true: on a pull request, only what it changed (default: true)
#   PINNACE_SARIF_FILE    where to write SARIF (default: pinnace.sarif)
#   PINNACE_ONLINE        true: also ask registries about pinned digests
#   PINNACE_BASELINE      a baseline file: only findings not in it count
#   GITHUB_BASE_REF       the pull request's base branch (empty on other events)
#   GITHUB_OUTPUT         receives `findings` and `sarif-file`
#   GITHUB_STEP_SUMMARY   receives the Markdown summary
#
# Annotations go to stdout (`--format github`). The exit code is pinnace's: 1 when findings
# reach the fail-on severity, 2 when pinnace could not run.
set -uo pipefail

bin="${PINNACE_BIN:-pinnace}"
sarif="${PINNACE_SARIF_FILE:-pinnace.sarif}"
args=(check --format github --fail-on "${PINNACE_FAIL_ON:-error}" --sarif-file "$sarif")

if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
    args+=(--summary "$GITHUB_STEP_SUMMARY")
fi
if [ -n "${PINNACE_CONFIG:-}" ]; then
    args+=(--config "$PINNACE_CONFIG")
fi
if [ "${PINNACE_ONLINE:-false}" = "true" ]; then
    args+=(--online)
fi
if [ -n "${PINNACE_BASELINE:-}" ]; then
    args+=(--baseline "$PINNACE_BASELINE")
fi

if [ "${PINNACE_CHANGED_ONLY:-true}" = "true" ] && [ -n "${GITHUB_BASE_REF:-}" ]; then
    base="origin/$GITHUB_BASE_REF"
    refspec="+refs/heads/$GITHUB_BASE_REF:refs/remotes/origin/$GITHUB_BASE_REF"
    # actions/checkout fetches only the merge commit by default (fetch-depth 1): the merge
    # base needs the history of both sides.
    if [ "$(git rev-parse --is-shallow-repository 2>/dev/null)" = "true" ]; then
        git fetch --quiet --no-tags --unshallow origin "$refspec" || true
    elif ! git rev-parse --verify --quiet "$base^{commit}" >/dev/null; then
        git fetch --quiet --no-tags origin "$refspec" || true
    fi
    if git rev-parse --verify --quiet "$base^{commit}" >/dev/null; then
        args+=(--changed-since "$base")
    else
        echo "::warning title=pinnace::cannot find $base; checking everything instead of the changed files"
    fi
fi

# Word splitting on purpose: paths are separated by spaces or newlines.
# shellcheck disable=SC2206
paths=(${PINNACE_PATHS:-.})

annotations="$(mktemp)"
trap 'rm -f "$annotations"' EXIT
"$bin" "${args[@]}" -- "${paths[@]}" | tee "$annotations"
status="${PIPESTATUS[0]}"

findings="$(grep -c ',title=pinnace%3A ' "$annotations" || true)"
if [ -n "${GITHUB_OUTPUT:-}" ]; then
    {
        echo "findings=${findings:-0}"
        echo "sarif-file=$sarif"
    } >>"$GITHUB_OUTPUT"
fi
exit "$status"
