#!/usr/bin/env bash
# `make load IMAGE=…`: copies an image from this host's Docker engine into the engine of every
# node of the compose cluster, then checks that each node has it under the same image ID (an
# import that reports success without the image is a known failure of other tools).
#   scripts/load-image.sh IMAGE [COMPOSE_PROJECT]
set -euo pipefail
cd "$(dirname "$0")/.."
image=${1:?usage: make load IMAGE=name:tag}
die() {
  echo "load: $*" >&2
  exit 1
}
if docker compose version >/dev/null 2>&1; then compose=(docker compose); else compose=(docker-compose); fi
[ -z "${2:-}" ] || compose+=(-p "$2")

want=$(docker image inspect -f '{{.Id}}' "$image" 2>/dev/null) || die "no image $image in this host's Docker engine (docker images lists what there is)"
nodes=()
for svc in node1 node2 node3; do
  id=$("${compose[@]}" ps -q "$svc" 2>/dev/null) || true
  [ -n "$id" ] && nodes+=("$svc=$id")
done
[ "${#nodes[@]}" -gt 0 ] || die "no node of the compose cluster runs here: start it with 'docker compose up -d'"
for entry in "${nodes[@]}"; do
  svc=${entry%%=*} id=${entry#*=}
  docker save "$image" | docker exec -i "$id" docker load -q >/dev/null ||
    die "$svc: docker load failed"
  got=$(docker exec "$id" docker image inspect -f '{{.Id}}' "$image" 2>/dev/null) ||
    die "$svc: the load reported success but the node's engine has no $image"
  [ "$got" = "$want" ] || die "$svc: $image is $got there, not $want"
  echo "==> $svc: $image ($want)"
done
