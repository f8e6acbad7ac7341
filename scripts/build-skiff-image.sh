#!/usr/bin/env bash
# Builds the Skiff image, skiff.local/skiff:<version>: everything a Skiff machine runs (Node.js
# 20, the built packages with their production dependencies, etcd, the Docker engine, iptables,
# conntrack, iproute2, busybox), from deploy/Dockerfile.
#
# The Dockerfile's base is an ARG. Where a registry is reachable, SKIFF_BASE=node:20-bookworm-slim
# (the Dockerfile's default, what `docker compose build` uses) is pulled as usual. Where none is
# (this machine), the base is built here first: a minbase Debian bookworm from debootstrap with
# this host's Node 20 binary and npm copied in (bookworm ships Node 18; the binary runs on its
# glibc). Nothing else differs. An image whose inputs did not change is not rebuilt.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { echo "==> $*"; }
die() {
  echo "build-skiff-image: $*" >&2
  exit 1
}

version=$(node -p 'require("./package.json").version')
image=skiff.local/skiff:$version
local_base=skiff.local/node:20-bookworm
base=${SKIFF_BASE:-$local_base}

docker info >/dev/null 2>&1 || die "no Docker engine answers: run 'make setup' (as root) first"

if [ "$base" = "$local_base" ] && ! docker image inspect "$base" >/dev/null 2>&1; then
  command -v debootstrap >/dev/null || die "debootstrap is missing: apt-get install debootstrap (or set SKIFF_BASE=node:20-bookworm-slim where a registry is reachable)"
  node_bin=$(readlink -f "$(command -v node)")
  npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
  [ "$(node -p 'process.versions.node.split(".")[0]')" = 20 ] || die "the base needs this host's Node 20 ($node_bin is $(node --version))"
  step "building $base: debootstrap bookworm (minbase) + $node_bin + $npm_dir"
  rootfs=$(mktemp -d)
  trap 'rm -rf "$rootfs"' EXIT
  started=$SECONDS
  debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian >"$rootfs.log" 2>&1 ||
    die "debootstrap failed: see $rootfs.log"
  rm -f "$rootfs.log"
  # The layout of the public node images: node and npm under /usr/local.
  install -D -m 0755 "$node_bin" "$rootfs/usr/local/bin/node"
  mkdir -p "$rootfs/usr/local/lib/node_modules"
  cp -a "$npm_dir" "$rootfs/usr/local/lib/node_modules/npm"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" --numeric-owner -c . |
    docker import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'CMD ["node"]' - "$base" >/dev/null
  rm -rf "$rootfs"
  trap - EXIT
  step "$base built in $((SECONDS - started))s ($(docker image inspect -f '{{.Size}}' "$base" | awk '{printf "%d MB", $1/1e6}'))"
fi

# The inputs of the image: what the Dockerfile copies (.dockerignore leaves out the rest).
inputs=$( (
  echo "$base $(docker image inspect -f '{{.Id}}' "$base" 2>/dev/null || true)"
  git ls-files -co --exclude-standard -- package.json package-lock.json .npmrc tsconfig.base.json \
    tsconfig.json packages deploy/Dockerfile deploy/node.sh deploy/certs.sh deploy/audit-policy.yaml deploy/addons \
    scripts/make-certs.sh scripts/busybox-image.sh scripts/addons.sh |
    grep -v '/test/' | sort | xargs sha256sum
) | sha256sum | cut -c1-16)
if [ "$(docker image inspect -f '{{index .Config.Labels "io.skiff.inputs"}}' "$image" 2>/dev/null)" = "$inputs" ]; then
  step "$image up to date"
  exit 0
fi
step "building $image on $base (log: /tmp/skiff-image-build.log)"
started=$SECONDS
# The build's apt and npm steps run on the host's network with the host's resolver: the
# engine hands containers 127.0.0.1 as their DNS server (never a public one), which answers
# nothing there. A resolver on loopback works as it is on the host's network.
resolver=$(awk '$1 == "nameserver" { print $2; exit }' /etc/resolv.conf)
# And the host's own CA certificates (a TLS-inspecting proxy's, where there is one) for npm.
extra_ca=$(cat /usr/local/share/ca-certificates/*.crt 2>/dev/null || true)
if ! docker build --network host --build-arg "BASE=$base" --build-arg "RESOLVER=$resolver" \
  --build-arg "EXTRA_CA_CERTS=$extra_ca" \
  --label "io.skiff.inputs=$inputs" --build-arg "SKIFF_INPUTS=$inputs" \
  -t "$image" -f deploy/Dockerfile . >/tmp/skiff-image-build.log 2>&1; then
  tail -n 30 /tmp/skiff-image-build.log >&2
  die "docker build failed: see /tmp/skiff-image-build.log"
fi
# The build stage's image and the image this one replaces are left untagged: remove them
# (an old one still used by a container stays).
docker image prune -f --filter label=io.skiff.stage=build >/dev/null 2>&1 || true
docker image prune -f --filter label=io.skiff.inputs >/dev/null 2>&1 || true
step "$image built in $((SECONDS - started))s ($(docker image inspect -f '{{.Size}}' "$image" | awk '{printf "%d MB", $1/1e6}'))"
