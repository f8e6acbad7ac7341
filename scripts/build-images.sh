#!/usr/bin/env bash
# Builds the images Skiff's tests run (no registry on the internet is reachable) and serves
# them from a local registry on 127.0.0.1:5000, so that real pulls can be exercised.
set -euo pipefail

step() { echo "==> $*"; }
die() {
  echo "build-images: $*" >&2
  exit 1
}

IMAGE=skiff.local/busybox:1.36
SECOND_TAG=skiff.local/busybox:1.36.1 # the same image under another tag, for rolling updates
REGISTRY=127.0.0.1:5000
PUSHED=$REGISTRY/skiff/busybox:1.36

docker info >/dev/null 2>&1 || die "no Docker engine answers: run 'make setup' (as root) first"

# --- skiff.local/busybox: a root filesystem of Debian's static busybox and its applets ---
if docker image inspect "$IMAGE" >/dev/null 2>&1; then
  step "$IMAGE present"
else
  step "building $IMAGE from /bin/busybox"
  bash "$(dirname "$0")/busybox-image.sh" "$IMAGE"
fi
if [ "$(docker image inspect -f '{{.Id}}' "$SECOND_TAG" 2>/dev/null)" != "$(docker image inspect -f '{{.Id}}' "$IMAGE")" ]; then
  step "tagging $SECOND_TAG"
  docker tag "$IMAGE" "$SECOND_TAG"
fi

# --- the local registry: Debian's docker-registry, on loopback only ---
registry_up() { curl --noproxy '*' -fsS -o /dev/null "http://$REGISTRY/v2/" 2>/dev/null; }
if registry_up; then
  step "registry answers on $REGISTRY"
else
  command -v docker-registry >/dev/null || die "docker-registry is missing: apt-get install docker-registry"
  # The packaged config listens on every interface and asks for htpasswd auth: use our own.
  config=/etc/skiff/registry.yml
  mkdir -p /etc/skiff /var/lib/docker-registry
  cat >"$config" <<EOF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: /var/lib/docker-registry
  delete:
    enabled: true
http:
  addr: $REGISTRY
EOF
  step "starting the registry on $REGISTRY (log: /var/log/skiff-registry.log)"
  nohup docker-registry serve "$config" >>/var/log/skiff-registry.log 2>&1 </dev/null &
  for _ in $(seq 50); do
    registry_up && break
    sleep 0.2
  done
  registry_up || die "the registry did not answer on $REGISTRY: see /var/log/skiff-registry.log"
fi

# --- push a copy and prove that a real pull works ---
if curl --noproxy '*' -fsS -o /dev/null \
  -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
  "http://$REGISTRY/v2/skiff/busybox/manifests/1.36" 2>/dev/null &&
  docker image inspect "$PUSHED" >/dev/null 2>&1; then
  step "$PUSHED pushed and pulled"
else
  step "pushing $PUSHED"
  docker tag "$IMAGE" "$PUSHED"
  docker push -q "$PUSHED" >/dev/null
  step "pulling $PUSHED back from the registry"
  docker rmi "$PUSHED" >/dev/null
  docker pull -q "$PUSHED" >/dev/null
fi

# --- the Skiff image (docker-compose.yml, the DNS addon) ---
bash "$(dirname "$0")/build-skiff-image.sh"

# --- skiff.local/dnsutils: dig, nslookup and curl for the DNS tests, on the Skiff image's base ---
if docker image inspect skiff.local/dnsutils:1 >/dev/null 2>&1; then
  step "skiff.local/dnsutils:1 present"
else
  step "building skiff.local/dnsutils:1"
  resolver=$(awk '$1 == "nameserver" { print $2; exit }' /etc/resolv.conf)
  docker build -q --network host --build-arg "BASE=${SKIFF_BASE:-skiff.local/node:20-bookworm}" \
    --build-arg "RESOLVER=$resolver" -t skiff.local/dnsutils:1 "$(dirname "$0")/../deploy/dnsutils" >/dev/null ||
    die "building skiff.local/dnsutils:1 failed"
fi
