#!/usr/bin/env bash
# Seconds from `docker-compose up -d` (images present, no cluster) until all three nodes of the
# compose cluster are Ready, ROUNDS times (default 3), each from scratch (down -v between).
# Uses its own project, API port and network so that it leaves a user's cluster alone.
#   bash scripts/bench/compose-up.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-3}
if docker compose version >/dev/null 2>&1; then compose=(docker compose); else compose=(docker-compose); fi
state=$(mktemp -d)
export SKIFF_COMPOSE_STATE=$state SKIFF_API_PORT=16499 SKIFF_NET_PREFIX=172.28.242
project=skiffbench$$
dc() { "${compose[@]}" -p "$project" "$@"; }
trap 'dc down -v -t 5 >/dev/null 2>&1; rm -rf "$state"' EXIT
now_ms() { echo $((${EPOCHREALTIME/./} / 1000)); }
secs() { printf '%d.%d' $(($1 / 1000)) $(($1 % 1000 / 100)); } # MS → seconds, one decimal
ready() {
  KUBECONFIG=$state/kubeconfig kubectl get nodes --no-headers 2>/dev/null | awk '$2 == "Ready"' | wc -l
}
for r in $(seq "$rounds"); do
  dc down -v -t 5 >/dev/null 2>&1
  start=$(now_ms)
  dc up -d >/dev/null 2>&1
  up=$(now_ms)
  until [ "$(ready)" = 3 ]; do
    sleep 0.2
    [ $(($(now_ms) - start)) -lt 180000 ] || { echo "round $r: not Ready in 180 s" >&2; exit 1; }
  done
  done_at=$(now_ms)
  echo "round $r: compose up returned after $(secs $((up - start))) s, 3 nodes Ready after $(secs $((done_at - start))) s"
done
