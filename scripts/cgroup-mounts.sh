#!/usr/bin/env bash
# Mounts every cgroup v1 hierarchy the kernel has but this host has not mounted (cgroup v1
# hosts only). systemd as PID 1 in a container (make vms) mounts the controllers it finds
# unbound (perf_event, hugetlb, net_cls,net_prio), which makes new v1 hierarchies on the whole
# machine; unmounted here, they break the Docker engine's stats and OOM events ("cgroups:
# cannot find cgroup mount destination"). Safe to run again.
set -euo pipefail
[ -d /sys/fs/cgroup ] && grep -q ' /sys/fs/cgroup tmpfs ' /proc/self/mounts || exit 0
awk -F: '$1 != "0" && $2 != "" { print $2 }' /proc/self/cgroup | while read -r controllers; do
  dir=/sys/fs/cgroup/${controllers#name=}
  grep -q " $dir cgroup " /proc/self/mounts && continue
  opts=$controllers
  case $controllers in name=*) opts="none,$controllers" ;; esac
  mkdir -p "$dir"
  mount -t cgroup -o "$opts" cgroup "$dir"
  echo "==> mounted the cgroup hierarchy $controllers at $dir"
done
