#!/usr/bin/env bash
# Three stand-in VMs on this machine for `make deploy` (behind `make vms` / `make vms-down`):
# containers that behave as Debian machines — systemd as PID 1, sshd, their own network and
# fixed addresses, an SSH key — since no hypervisor runs here. The VMs, their volumes and
# network are labelled io.skiff.vms=<network name> and removed by that label; the image
# (skiff.local/vm:bookworm, io.skiff.vms=image) stays as a build cache.
#   scripts/vms.sh up | down | image
# Environment: SKIFF_VMS_STATE (.skiff/vms), SKIFF_VMS_PREFIX (the network's /24, 172.30.213),
# SKIFF_VMS_NETWORK (skiff-vms), SKIFF_VMS_NAME (container name prefix, skiff-vm).
set -euo pipefail
cd "$(dirname "$0")/.."
state=$(realpath -m "${SKIFF_VMS_STATE:-.skiff/vms}")
prefix=${SKIFF_VMS_PREFIX:-172.30.213}
network=${SKIFF_VMS_NETWORK:-skiff-vms}
vm_prefix=${SKIFF_VMS_NAME:-skiff-vm}
image=skiff.local/vm:bookworm
label=io.skiff.vms
count=3

say() { echo "==> $*"; }
die() {
  echo "vms: $*" >&2
  exit 1
}

# The VM image: a Debian bookworm root file system from debootstrap with systemd, dbus and
# openssh-server; /sbin/vm-init makes /sys and the cgroups writable and execs systemd.
build_image() {
  if docker image inspect "$image" >/dev/null 2>&1; then return; fi
  command -v debootstrap >/dev/null || die "debootstrap is missing: apt-get install debootstrap"
  local started=$SECONDS
  rootfs=$(mktemp -d) # global: the EXIT trap reads it
  trap 'rm -rf "$rootfs" "$rootfs.log"' EXIT
  say "building $image with debootstrap (about 70 s)"
  debootstrap --variant=minbase \
    --include=systemd,systemd-sysv,dbus,openssh-server,iproute2,procps,ca-certificates,curl \
    bookworm "$rootfs" http://deb.debian.org/debian >"$rootfs.log" 2>&1 ||
    {
      tail -n 20 "$rootfs.log" >&2
      die "debootstrap failed (log above)"
    }
  cat >"$rootfs/sbin/vm-init" <<'EOF'
#!/bin/sh
# A container as a VM: what systemd needs writable (cgroup v1 hierarchies are read-only bind
# mounts in a container that is not --privileged), then systemd as PID 1.
mount -o remount,rw /sys 2>/dev/null
for m in /proc/sys $(awk '$2 ~ "^/sys/fs/cgroup" { print $2 }' /proc/self/mounts); do
  mount -o remount,bind,rw "$m" 2>/dev/null || mount -o remount,rw "$m" 2>/dev/null
done
exec /sbin/init
EOF
  chmod 0755 "$rootfs/sbin/vm-init"
  # Host keys are made per VM on its first boot, not shared through the image.
  rm -f "$rootfs"/etc/ssh/ssh_host_*
  cat >"$rootfs/etc/systemd/system/ssh-host-keys.service" <<'EOF'
[Unit]
Description=SSH host keys for this machine
Before=ssh.service
[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A
[Install]
WantedBy=multi-user.target
EOF
  ln -s /etc/systemd/system/ssh-host-keys.service "$rootfs/etc/systemd/system/multi-user.target.wants/"
  # Nothing of a console or hardware in a container.
  for u in getty@tty1.service console-getty.service systemd-udevd.service systemd-udev-trigger.service \
    systemd-modules-load.service systemd-remount-fs.service; do
    ln -sf /dev/null "$rootfs/etc/systemd/system/$u"
  done
  echo "PermitRootLogin prohibit-password" >"$rootfs/etc/ssh/sshd_config.d/skiff.conf"
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" --numeric-owner -c . |
    docker import --change "LABEL $label=image" --change 'ENV container=docker' \
      --change 'CMD ["/sbin/vm-init"]' - "$image" >/dev/null
  rm -rf "$rootfs" "$rootfs.log"
  trap - EXIT
  say "$image built in $((SECONDS - started))s ($(docker image inspect -f '{{.Size}}' "$image" | awk '{printf "%d MB", $1/1e6}'))"
}

up() {
  [ "$(id -u)" = 0 ] || die "needs root (Docker): run 'sudo make vms'"
  build_image
  mkdir -p "$state"
  [ -f "$state/id_ed25519" ] || ssh-keygen -q -t ed25519 -N "" -C skiff-vms -f "$state/id_ed25519"
  if ! docker network inspect "$network" >/dev/null 2>&1; then
    docker network create --label "$label=$network" --subnet "$prefix.0/24" "$network" >/dev/null
    say "network $network ($prefix.0/24)"
  fi
  # The VMs resolve names (Debian's mirror for apt) through this host's own resolver, named
  # explicitly; never a public one.
  local resolver i name ip
  resolver=$(awk '$1 == "nameserver" { print $2; exit }' /etc/resolv.conf)
  [ -n "$resolver" ] || die "no nameserver in /etc/resolv.conf: the VMs could not reach Debian's mirror"
  for i in $(seq "$count"); do
    name=$vm_prefix$i
    ip=$prefix.$((10 + i))
    if [ "$(docker inspect -f '{{.State.Running}}' "$name" 2>/dev/null)" = true ]; then
      say "$name already running ($ip)"
      continue
    fi
    if docker inspect "$name" >/dev/null 2>&1; then
      docker start "$name" >/dev/null
    else
      docker run -d --name "$name" --hostname "vm$i" --label "$label=$network" \
        --network "$network" --ip "$ip" --dns "$resolver" \
        --stop-signal SIGRTMIN+3 --cap-add ALL --cap-drop SYS_RESOURCE --security-opt seccomp=unconfined \
        --tmpfs /run --tmpfs /run/lock --tmpfs /tmp \
        --mount "type=volume,source=$name-docker,target=/var/lib/docker,volume-label=$label=$network" \
        "$image" >/dev/null
    fi
    say "started $name ($ip)"
  done
  for i in $(seq "$count"); do
    name=$vm_prefix$i
    # The key goes in through the engine, as a cloud's metadata service would put it.
    docker exec -i "$name" sh -c 'mkdir -p -m 0700 /root/.ssh && cat > /root/.ssh/authorized_keys' <"$state/id_ed25519.pub"
  done
  for i in $(seq "$count"); do
    name=$vm_prefix$i
    local ok=""
    for _ in $(seq 120); do
      if ssh -i "$state/id_ed25519" -o BatchMode=yes -o StrictHostKeyChecking=no \
        -o UserKnownHostsFile=/dev/null -o ConnectTimeout=2 -o LogLevel=ERROR \
        "root@$prefix.$((10 + i))" systemctl is-system-running --wait >/dev/null 2>&1; then
        ok=1
        break
      fi
      sleep 1
    done
    [ -n "$ok" ] || die "$name: systemd or sshd did not come up within 120 s: docker logs $name; docker exec $name systemctl --failed"
  done
  # systemd in the VMs mounted the controllers it found unbound, making new cgroup hierarchies
  # on the whole machine: mount them on the host too, or the engine loses stats and OOM events.
  bash scripts/cgroup-mounts.sh
  {
    echo "# The stand-in VMs of 'make vms' (scripts/vms.sh). Use: make deploy INVENTORY=$state/inventory.yaml"
    echo "hosts:"
    for i in $(seq "$count"); do
      echo "  - name: vm$i"
      echo "    address: $prefix.$((10 + i))"
      echo "    user: root"
      echo "    key: $state/id_ed25519"
    done
  } >"$state/inventory.yaml"
  say "3 VMs up (systemd running, sshd answering): $state/inventory.yaml"
}

down() {
  local ids
  ids=$(docker ps -aq --filter "label=$label=$network")
  [ -z "$ids" ] || docker rm -f -v $ids >/dev/null
  ids=$(docker volume ls -q --filter "label=$label=$network")
  [ -z "$ids" ] || docker volume rm $ids >/dev/null
  ids=$(docker network ls -q --filter "label=$label=$network")
  [ -z "$ids" ] || docker network rm $ids >/dev/null
  rm -rf "$state"
  # Fresh VMs at these addresses will have new host keys: deploy's known_hosts forgets the old.
  local known=${SKIFF_DEPLOY_STATE:-.skiff/deploy}/known_hosts i
  if [ -f "$known" ]; then
    for i in $(seq "$count"); do ssh-keygen -q -R "$prefix.$((10 + i))" -f "$known" >/dev/null 2>&1 || true; done
    rm -f "$known.old"
  fi
  say "removed the VMs, their volumes and network, and $state"
}

case ${1:-} in
  up) up ;;
  down) down ;;
  image) build_image ;;
  *) die "usage: vms.sh up|down|image" ;;
esac
