#!/usr/bin/env bash
# A Skiff node in a container (kind-style): its own Docker engine, then skiff-kubelet,
# skiff-proxy and skiff-net, each restarted with back-off when it dies. What fails says so in
# one line on the container's output (`docker compose logs nodeN`).
#
# The container needs what --privileged would give, which this entrypoint completes: compose
# grants every capability but SYS_RESOURCE (--privileged fails on VMs without it) and no
# seccomp filter; here /sys, /proc/sys and the cgroup mounts are made writable.
# Environment (all optional):
#   NODE_NAME          the Node's name (default: the hostname)
#   SKIFF_NET_BACKEND  vxlan (default) or host-gw
#   CLUSTER_CIDR       default 10.244.0.0/16
#   SKIFF_CERTS        certificates and kubeconfigs (default /etc/skiff/certs)
set -uo pipefail

say() { echo "skiff-node: $*"; }
fail() {
  echo "skiff-node: $*" >&2
  exit 1
}

node_name=${NODE_NAME:-$(hostname)}
certs=${SKIFF_CERTS:-/etc/skiff/certs}
cluster_cidr=${CLUSTER_CIDR:-10.244.0.0/16}
backend=${SKIFF_NET_BACKEND:-vxlan}
kubeconfig=$certs/kubelet-$node_name.kubeconfig

case $backend in vxlan | host-gw) ;; *) fail "SKIFF_NET_BACKEND=$backend: use vxlan or host-gw" ;; esac
[ -r "$kubeconfig" ] || fail "no kubeconfig for node $node_name at $kubeconfig (is NODES in the certs service's environment missing $node_name?)"

# --- 1. what --privileged would give ---
mount -o remount,rw /sys || fail "cannot remount /sys read-write: the container needs CAP_SYS_ADMIN (cap_add: [ALL])"
# /proc/sys and each cgroup hierarchy (v1: one per controller; v2: the unified one) are bind
# mounts: the inner engine writes sysctls and makes its containers' cgroups there.
for m in /proc/sys $(awk '$2 ~ "^/sys/fs/cgroup/" { print $2 }' /proc/self/mounts); do
  grep -q " $m " /proc/self/mounts || continue
  mount -o remount,bind,rw "$m" 2>/dev/null || mount -o remount,rw "$m" ||
    fail "cannot remount $m read-write"
done

# --- 2. the Docker engine ---
# PIDs repeat after a kill: a stale pid file would make dockerd or containerd refuse to start.
rm -f /var/run/docker.pid /run/docker/containerd/containerd.pid /var/run/docker/containerd/containerd.pid \
  /run/containerd/containerd.pid
# Pods on other nodes reach this node's pods through the FORWARD chain, whose policy Docker
# sets to DROP: accept the cluster CIDR in DOCKER-USER before the engine starts.
iptables -N DOCKER-USER 2>/dev/null
for dir in -s -d; do
  iptables -C DOCKER-USER "$dir" "$cluster_cidr" -j ACCEPT 2>/dev/null ||
    iptables -I DOCKER-USER "$dir" "$cluster_cidr" -j ACCEPT ||
    fail "cannot add the DOCKER-USER rule for $cluster_cidr (iptables)"
done
# No masquerade by the engine (skiff-net masquerades only what leaves the cluster) and an
# explicit DNS server: inside a container Docker would otherwise hand pods 8.8.8.8.
dockerd_flags=(--ip-masq=false --dns=127.0.0.1 --log-level=warn)

uplink=$(ip -o route show default | awk '{ for (i = 1; i < NF; i++) if ($i == "dev") { print $(i + 1); exit } }')
[ -n "$uplink" ] || fail "no default route: the node container has no network"
node_ip=$(ip -4 -o addr show dev "$uplink" | awk '{ split($4, a, "/"); print a[1]; exit }')
mtu=$(cat "/sys/class/net/$uplink/mtu")
[ "$backend" = vxlan ] && mtu=$((mtu - 50)) # the VXLAN header

# --- 3. supervision ---
# supervise NAME COMMAND...: runs COMMAND, and again after it exits, waiting 1 s, then twice as
# long each time up to 30 s (back to 1 s after a minute of running). Its output is the node's.
supervise() {
  local name=$1 delay=1 started code child
  shift
  trap 'kill -TERM "$child" 2>/dev/null; wait "$child"; exit 0' TERM
  while true; do
    started=$SECONDS
    "$@" &
    child=$!
    wait "$child"
    code=$?
    [ $((SECONDS - started)) -ge 60 ] && delay=1
    say "$name exited with code $code; restarting in ${delay}s"
    sleep "$delay" &
    child=$!
    wait "$child"
    delay=$((delay * 2 > 30 ? 30 : delay * 2))
  done
}

children=()
shutdown() {
  say "stopping"
  # The node's programs first, then the engine (which stops the pods' containers).
  for ((i = ${#children[@]} - 1; i >= 0; i--)); do
    kill -TERM "${children[$i]}" 2>/dev/null
    wait "${children[$i]}" 2>/dev/null
  done
  exit 0
}
trap shutdown TERM INT

supervise dockerd dockerd "${dockerd_flags[@]}" &
children+=($!)
for _ in $(seq 60); do
  docker info >/dev/null 2>&1 && break
  sleep 1
done
docker info >/dev/null 2>&1 ||
  fail "the Docker engine did not start within 60 s (see the dockerd lines above); is /var/lib/docker a volume and the container granted cap_add: [ALL]?"
bash /opt/skiff/scripts/busybox-image.sh || fail "cannot import the pod sandbox image into the node's engine"
# Cluster add-ons (DNS) run from the Skiff image; the node's engine gets it from the node's own
# root filesystem (once per /var/lib/docker volume and image build), since no registry serves it.
skiff_image=skiff.local/skiff:$(node -p 'require("/opt/skiff/package.json").version')
inputs=${SKIFF_IMAGE_INPUTS:-unknown}
if [ "$(docker image inspect -f '{{index .Config.Labels "io.skiff.inputs"}}' "$skiff_image" 2>/dev/null)" != "$inputs" ]; then
  say "importing $skiff_image into the node's engine"
  tar -C / --numeric-owner --one-file-system --exclude=./var/lib/docker --exclude=./var/lib/skiff-kubelet \
    --exclude=./proc --exclude=./sys --exclude=./dev --exclude=./run --exclude=./tmp --exclude=./etc/skiff -c . |
    docker import --change "LABEL io.skiff.inputs=$inputs" --change "ENV NODE_ENV=production" \
      --change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
      --change "WORKDIR /opt/skiff" - "$skiff_image" >/dev/null ||
    fail "cannot import $skiff_image into the node's engine"
fi

supervise skiff-net skiff-net --kubeconfig="$certs/net.kubeconfig" --node-name="$node_name" \
  --backend="$backend" --cluster-cidr="$cluster_cidr" --iface="$uplink" &
children+=($!)
supervise skiff-kubelet skiff-kubelet --kubeconfig="$kubeconfig" --node-name="$node_name" \
  --node-ip="$node_ip" --root-dir=/var/lib/skiff-kubelet --client-ca-file="$certs/ca.crt" \
  --pod-network-mtu="$mtu" &
children+=($!)
supervise skiff-proxy skiff-proxy --kubeconfig="$certs/proxy.kubeconfig" --hostname-override="$node_name" \
  --cluster-cidr="$cluster_cidr" &
children+=($!)
say "node $node_name: dockerd, skiff-net ($backend), skiff-kubelet and skiff-proxy started (pod MTU $mtu)"
wait
