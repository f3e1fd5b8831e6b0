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
#   PINNACE_POLICY_FROM_BASE  true: on a pull request, the policy (signatures and their keys,
#                         trusted registries, rules) is the base branch's config, not the
#                         pull request's (default: true; ignored when PINNACE_CONFIG is set)
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

changed_only=false
if [ "${PINNACE_CHANGED_ONLY:-true}" = "true" ] && [ -n "${GITHUB_BASE_REF:-}" ]; then
    changed_only=true
fi
# On a pull request the tree's .pinnace.yaml is the author's: the policy comes from the base.
policy_from_base=false
if [ "${PINNACE_POLICY_FROM_BASE:-true}" = "true" ] && [ -n "${GITHUB_BASE_REF:-}" ] &&
    [ -z "${PINNACE_CONFIG:-}" ]; then
    policy_from_base=true
fi

if [ "$changed_only" = "true" ] || [ "$policy_from_base" = "true" ]; then
    base="origin/$GITHUB_BASE_REF"
    refspec="+refs/heads/$GITHUB_BASE_REF:refs/remotes/origin/$GITHUB_BASE_REF"
    # actions/checkout fetches only the merge commit by default (fetch-depth 1): the merge
    # base needs the history of both sides; the policy needs only the base's last commit.
    if [ "$changed_only" = "true" ] && [ "$(git rev-parse --is-shallow-repository 2>/dev/null)" = "true" ]; then
        git fetch --quiet --no-tags --unshallow origin "$refspec" || true
    elif ! git rev-parse --verify --quiet "$base^{commit}" >/dev/null; then
        depth=()
        if [ "$(git rev-parse --is-shallow-repository 2>/dev/null)" = "true" ]; then
            depth=(--depth 1)
        fi
        git fetch --quiet --no-tags "${depth[@]}" origin "$refspec" || true
    fi
    if git rev-parse --verify --quiet "$base^{commit}" >/dev/null; then
        if [ "$changed_only" = "true" ]; then
            args+=(--changed-since "$base")
        fi
        if [ "$policy_from_base" = "true" ]; then
            args+=(--policy-from "$base")
        fi
    elif [ "$policy_from_base" = "true" ]; then
        # Without the base, the pull request's own config would decide what passes.
        echo "::error title=pinnace::cannot find $base, whose config is the policy this pull request is checked by; fetch it (actions/checkout fetch-depth: 0), or name a config with the config input"
        exit 2
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
