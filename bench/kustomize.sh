#!/usr/bin/env bash
# Kustomize: pinnace's in-process builds against `kubectl kustomize`, on the overlays of a
# generated corpus (3000 apps: 1,000 Kustomize apps, 2,000 overlays).
#
# usage: bench/kustomize.sh [APPS]    (needs kubectl on PATH, python3)
#
# kubectl side: `kubectl kustomize` on every overlay, two at a time (the machine's cores).
# pinnace side: `pinnace check` on only the Kustomize apps (a copy holding just them), which
# builds every overlay and checks the result. Both wall times are printed, and their ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
apps=${1:-3000}
cargo build --release --locked --quiet
bin=target/release/pinnace
corpus=target/bench-corpus-$apps
[ -d "$corpus" ] || python3 bench/gen-corpus.py "$corpus" "$apps"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Only the apps that are Kustomize bases with overlays.
(cd "$corpus" && find . -path '*/base/kustomization.yaml' -printf '%h\n' | sed 's|/base$||') > "$work/apps"
while read -r app; do
  mkdir -p "$work/repo/$app" && cp -r "$corpus/$app/." "$work/repo/$app/"
done < "$work/apps"
(cd "$work/repo" && find . -path '*/overlays/*/kustomization.yaml' -printf '%h\n') > "$work/overlays"
echo "== $(wc -l < "$work/overlays") overlays of $(wc -l < "$work/apps") Kustomize apps ($apps-app corpus)"

start=$(date +%s.%N)
(cd "$work/repo" && xargs -P 2 -I{} sh -c 'kubectl kustomize "$1" > /dev/null 2>&1' _ {} < "$work/overlays")
kubectl_wall=$(echo "$(date +%s.%N) - $start" | bc)
echo "  kubectl kustomize, each overlay, 2 at a time: ${kubectl_wall}s"

printf '  pinnace check (builds and checks all):     '
python3 bench/measure.py "${RUNS:-5}" -- "$bin" check --format json "$work/repo"
best=$(python3 bench/measure.py "${RUNS:-5}" -- "$bin" check --format json "$work/repo" | sed -E 's/wall min ([0-9.]+)s.*/\1/')
echo "  ratio: $(echo "scale=1; $kubectl_wall / $best" | bc)x less wall time"
