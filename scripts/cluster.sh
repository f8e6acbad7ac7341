#!/usr/bin/env bash
# The local cluster launcher behind `make up`, `make down`, `make status`, `make logs` and
# `make clean`: etcd (1 or 3 members on loopback) and every Skiff component as a separate
# process on this host, with data, logs and pid files under .skiff/.
#   scripts/cluster.sh up [ETCD=1|3] | down | status | logs [COMPONENT] | clean
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
state=$(realpath -m "${SKIFF_STATE:-$root/.skiff}") # absolute: the kubelet's root dir labels its containers
logs=$state/logs
run=$state/run
certs=$state/certs
node_name=$(hostname)
# The API-heavy components allocate fast: a 64 MiB young generation (V8's default is 16)
# cuts their garbage collection a lot (docs/benchmarks.md, scheduler: ~15 % more pods/s).
node_flags=--max-semi-space-size=64
api_port=${SKIFF_API_PORT:-6443}
server=https://127.0.0.1:$api_port
# ETCD=1 or 3; by default what the existing data was made with, else 1.
etcd_members=${ETCD:-$(cat "$state/etcd/members" 2>/dev/null || echo 1)}
etcd_port=${SKIFF_ETCD_PORT:-2379} # client port of the first member; peers and others follow

say() { echo "==> $*"; }
die() {
  echo "cluster: $*" >&2
  exit 1
}

running() { # NAME
  [ -f "$run/$1.pid" ] && kill -0 "$(cat "$run/$1.pid")" 2>/dev/null
}

# start NAME COMMAND... : runs a component in the background unless it already runs.
start() {
  local name=$1
  shift
  if running "$name"; then
    say "$name already running (pid $(cat "$run/$name.pid"))"
    return
  fi
  nohup "$@" >>"$logs/$name.log" 2>&1 </dev/null &
  echo $! >"$run/$name.pid"
  say "started $name (pid $!, log $logs/$name.log)"
}

curl_api() { # PATH
  curl -fsS --max-time 3 --cacert "$certs/ca.crt" --cert "$certs/admin.crt" --key "$certs/admin.key" "$server$1"
}

wait_for() { # WHAT SECONDS COMMAND...
  local what=$1 seconds=$2
  shift 2
  for _ in $(seq $((seconds * 10))); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  die "$what did not come up within ${seconds}s: see $logs/"
}

node_ready() {
  curl_api "/api/v1/nodes/$node_name" | node -e '
    let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
      const c = (JSON.parse(s).status?.conditions ?? []).find((c) => c.type === "Ready");
      process.exit(c?.status === "True" ? 0 : 1);
    });'
}

etcd_endpoints() {
  local eps=() i
  for i in $(seq "$etcd_members"); do eps+=("http://127.0.0.1:$((etcd_port + (i - 1) * 10))"); done
  (IFS=,; echo "${eps[*]}")
}

up() {
  [ "$(id -u)" = 0 ] || die "needs root (Docker and iptables): run 'sudo make up'"
  for b in packages/apiserver/dist/main.js packages/controller-manager/dist/main.js packages/scheduler/dist/main.js packages/kubelet/dist/main.js packages/kube-proxy/dist/main.js packages/net/dist/main.js; do
    [ -f "$b" ] || die "$b is missing: run 'make setup' (it builds)"
  done
  local started=$SECONDS
  mkdir -p "$logs" "$run" "$state/etcd"
  [ -f "$certs/ca.crt" ] || say "making certificates and kubeconfigs in $certs"
  bash scripts/make-certs.sh "$certs" "$server" >/dev/null
  cp "$certs/admin.kubeconfig" "$state/kubeconfig"

  # etcd: one member, or three on loopback (ETCD=3). Its data is kept across `make down`, so
  # the member count cannot change under it.
  if [ -f "$state/etcd/members" ] && [ "$(cat "$state/etcd/members")" != "$etcd_members" ]; then
    die "the etcd data in $state/etcd has $(cat "$state/etcd/members") member(s); run 'make clean' to start over with ETCD=$etcd_members"
  fi
  echo "$etcd_members" >"$state/etcd/members"
  local cluster="" i
  for i in $(seq "$etcd_members"); do
    cluster+="${cluster:+,}etcd$i=http://127.0.0.1:$((etcd_port + 1 + (i - 1) * 10))"
  done
  for i in $(seq "$etcd_members"); do
    local client=$((etcd_port + (i - 1) * 10)) peer=$((etcd_port + 1 + (i - 1) * 10))
    start "etcd$i" etcd --name "etcd$i" --data-dir "$state/etcd/etcd$i" \
      --listen-client-urls "http://127.0.0.1:$client" --advertise-client-urls "http://127.0.0.1:$client" \
      --listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
      --initial-cluster "$cluster" --initial-cluster-token skiff-local --initial-cluster-state new
  done
  wait_for etcd 20 curl -fsS --max-time 1 "http://127.0.0.1:$etcd_port/health"

  start apiserver node $node_flags packages/apiserver/dist/main.js \
    --etcd-servers="$(etcd_endpoints)" --bind-address=0.0.0.0 --secure-port="$api_port" \
    --tls-cert-file="$certs/apiserver.crt" --tls-private-key-file="$certs/apiserver.key" \
    --client-ca-file="$certs/ca.crt" --service-account-signing-key-file="$certs/sa.key" \
    --kubelet-client-certificate="$certs/apiserver-kubelet-client.crt" \
    --kubelet-client-key="$certs/apiserver-kubelet-client.key"
  wait_for apiserver 30 curl_api /readyz

  start controller-manager node $node_flags packages/controller-manager/dist/main.js --kubeconfig="$certs/controller-manager.kubeconfig" \
    --local-path-root="$state/local-path"
  start scheduler node $node_flags packages/scheduler/dist/main.js --kubeconfig="$certs/scheduler.kubeconfig"
  start kubelet node packages/kubelet/dist/main.js --kubeconfig="$certs/kubelet.kubeconfig" \
    --node-name="$node_name" --root-dir="$state/kubelet" --client-ca-file="$certs/ca.crt"
  start proxy node packages/kube-proxy/dist/main.js --kubeconfig="$certs/proxy.kubeconfig" \
    --hostname-override="$node_name"
  # The pod network agent: with one node it only masquerades what leaves the cluster (the
  # kubelet's pod bridge does not) and lets cluster traffic through FORWARD.
  start net node packages/net/dist/main.js --kubeconfig="$certs/net.kubeconfig" \
    --node-name="$node_name" --backend=host-gw
  say "waiting for node $node_name to be Ready"
  wait_for "node $node_name" 60 node_ready
  say "cluster up in $((SECONDS - started))s"
  status
  echo
  echo "Use it with:  export KUBECONFIG=$state/kubeconfig; kubectl get nodes"
}

stop_one() { # NAME
  local name=$1 pid
  running "$name" || {
    rm -f "$run/$name.pid"
    return 0
  }
  pid=$(cat "$run/$name.pid")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$run/$name.pid"
  say "stopped $name"
}

down() {
  local name
  for name in net proxy kubelet scheduler controller-manager apiserver; do stop_one "$name"; done
  for name in etcd1 etcd2 etcd3; do stop_one "$name"; done
  # This cluster's pod containers (its kubelet labels them with its root dir; other
  # clusters' and test runs' stay) and Skiff's iptables rules and routes go too; the data stays.
  local ids
  ids=$(docker ps -aq --filter "label=io.skiff.kubelet.root-dir=$state/kubelet" 2>/dev/null || true)
  if [ -n "$ids" ]; then
    say "removing $(wc -w <<<"$ids") pod containers"
    docker rm -f $ids >/dev/null
  fi
  if [ -f packages/kube-proxy/dist/main.js ]; then
    node packages/kube-proxy/dist/main.js --cleanup >>"$logs/proxy.log" 2>&1 && say "removed Skiff's iptables rules"
  fi
  if [ -f packages/net/dist/main.js ]; then
    node packages/net/dist/main.js --cleanup >>"$logs/net.log" 2>&1 && say "removed skiff-net's rules and routes"
  fi
}

status() {
  local name
  for name in etcd1 etcd2 etcd3 apiserver controller-manager scheduler kubelet proxy net; do
    case $name in etcd2 | etcd3) [ -f "$run/$name.pid" ] || continue ;; esac
    if running "$name"; then printf '%-20s running (pid %s)\n' "$name" "$(cat "$run/$name.pid")"; else printf '%-20s stopped\n' "$name"; fi
  done
  if running apiserver && curl_api /readyz >/dev/null 2>&1; then
    printf '%-20s %s\n' "apiserver /readyz" ok
    printf '%-20s %s\n' "node $node_name" "$(node_ready && echo Ready || echo NotReady)"
  fi
}

case ${1:-} in
  up) up ;;
  down) down ;;
  status) status ;;
  logs)
    if [ -n "${2:-}" ]; then tail -n 100 -f "$logs/$2.log"; else tail -n 20 "$logs"/*.log; fi
    ;;
  clean)
    down
    rm -rf "$state"
    say "removed $state"
    ;;
  *) die "usage: cluster.sh up|down|status|logs [COMPONENT]|clean" ;;
esac
