#!/usr/bin/env bash
# Prepares this host for Skiff: system packages, a Docker engine with safe DNS, node modules,
# the build and the local images. Safe to run again: each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { echo "==> $*"; }
die() {
  echo "setup-host: $*" >&2
  exit 1
}
have() { command -v "$1" >/dev/null 2>&1; }

[ "$(id -u)" = 0 ] || die "needs root (Docker, iptables and apt do): run it as root, e.g. 'sudo make setup'"

# --- system packages: the binary each one provides, so a second run asks apt nothing ---
missing=()
want() { have "$1" || missing+=("$2"); }
want dockerd docker.io
want docker docker.io
want etcd etcd-server
want etcdctl etcd-client
want iptables iptables
want conntrack conntrack
want docker-registry docker-registry
want ip iproute2
want openssl openssl
want curl curl
want dig dnsutils # the DNS tests ask skiff-dns with dig
want make make
want debootstrap debootstrap           # the Skiff image's base where no registry answers
want docker-compose docker-compose     # the compose cluster (docker compose works too)
# The official Python client, for the apiserver's compatibility test (Debian's interpreter).
/usr/bin/python3 -c 'import kubernetes' >/dev/null 2>&1 || missing+=(python3-kubernetes)
# The image is built from a static busybox: a dynamic one would need libc inside it.
if ! [ -x /bin/busybox ] || [[ "$(LC_ALL=C ldd /bin/busybox 2>&1)" != *"not a dynamic"* ]]; then
  missing+=(busybox-static)
fi
mapfile -t missing < <(printf '%s\n' ${missing[@]+"${missing[@]}"} | sort -u | sed '/^$/d')

# Containers must never fall back to a public DNS server (Docker picks 8.8.8.8 when the host
# resolver is on loopback). Written before docker.io is installed so that an engine started
# by the package already uses it; an existing file is left alone.
if [ ! -e /etc/docker/daemon.json ]; then
  step "writing /etc/docker/daemon.json (dns: 127.0.0.1)"
  mkdir -p /etc/docker
  printf '{\n  "dns": ["127.0.0.1"]\n}\n' >/etc/docker/daemon.json
fi

if [ "${#missing[@]}" -gt 0 ]; then
  have apt-get || die "missing packages (${missing[*]}) and no apt-get to install them: install them by hand"
  step "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive NEEDRESTART_MODE=a
  # Packaged services (etcd, the registry on every interface) must not start by themselves:
  # Skiff starts its own. policy-rc.d is Debian's switch for that, removed afterwards.
  policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    policy=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod +x "$policy"
  fi
  apt-get update -q
  apt-get install -y -q "${missing[@]}"
  [ -z "$policy" ] || rm -f "$policy"
  if [ -d /run/systemd/system ] && systemctl cat docker-registry.service >/dev/null 2>&1; then
    systemctl disable --now docker-registry.service >/dev/null 2>&1 || true
  fi
else
  step "system packages present"
fi

# --- cgroups: every v1 hierarchy mounted (the engine's stats and OOM events need it) ---
bash scripts/cgroup-mounts.sh

# --- the Docker engine ---
if docker info >/dev/null 2>&1; then
  step "Docker engine answers"
else
  log=/var/log/skiff-dockerd.log
  if [ -d /run/systemd/system ] && systemctl cat docker.service >/dev/null 2>&1; then
    step "starting the Docker engine (systemctl start docker)"
    systemctl start docker || true
  else
    step "starting the Docker engine (log: $log)"
    dns=()
    grep -q '"dns"' /etc/docker/daemon.json 2>/dev/null || dns=(--dns 127.0.0.1)
    nohup dockerd ${dns[@]+"${dns[@]}"} >>"$log" 2>&1 </dev/null &
  fi
  for _ in $(seq 60); do
    docker info >/dev/null 2>&1 && break
    sleep 1
  done
  docker info >/dev/null 2>&1 ||
    die "the Docker engine did not answer within 60 s: see $log (or 'journalctl -u docker') and start dockerd by hand"
fi

# --- local images and registry (no registry on the internet is needed) ---
bash scripts/build-images.sh

step "checking that containers get no public DNS server"
resolv=$(docker run --rm skiff.local/busybox:1.36 cat /etc/resolv.conf) ||
  die "the engine cannot run a container: see /var/log/skiff-dockerd.log (or 'journalctl -u docker')"
for s in $(awk '$1 == "nameserver" { print $2 }' <<<"$resolv"); do
  case "$s" in
    127.* | ::1 | 10.* | 192.168.* | 172.1[6-9].* | 172.2[0-9].* | 172.3[01].*) ;;
    *) die "containers would use the public DNS server $s: set \"dns\": [\"127.0.0.1\"] in /etc/docker/daemon.json and restart dockerd" ;;
  esac
done

# --- node modules: npm ci only when package-lock.json changed since the last install ---
stamp=node_modules/.skiff-lock-sha256
lock_sum=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$lock_sum" ]; then
  step "node modules up to date"
elif [ -d node_modules ] && npm ls --all >/dev/null 2>&1; then
  # Installed by other means but complete: adopt it rather than reinstall.
  step "node modules complete; recording the lock's hash"
  echo "$lock_sum" >"$stamp"
else
  have npm || die "npm is missing: install Node.js 20 or newer (with npm)"
  step "npm ci"
  npm ci --no-audit --no-fund
  echo "$lock_sum" >"$stamp"
fi

step "building (tsc -b)"
npx tsc -b

step "host ready"
