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
# V8 flags of the apiserver, controller-manager and scheduler (the same in docker-compose.yml's
# NODE_OPTIONS and scripts/deploy.sh's units; docs/benchmarks.md, control-plane memory):
# - the young generation at V8's own 16 MiB semi-space: 64 gave the scheduler ~15 % more pods/s
#   but cost each busy process ~100 MB of RSS (two 64 MiB semi-spaces);
# - an old-space ceiling of 1 GiB: with Node's default (a quarter of the host's memory, up to
#   ~4 GiB) V8 lets the heap grow to 4 times what is live before collecting, with 1 GiB ~1.6
#   times (its growing factor scales with the ceiling); the busiest, the apiserver at 3,000
#   pods, keeps ~250 MB live.
node_flags="--max-semi-space-size=16 --max-old-space-size=1024"
api_port=${SKIFF_API_PORT:-6443}
server=https://127.0.0.1:$api_port
# ETCD=1 or 3; by default what the existing data was made with, else 1.
etcd_members=${ETCD:-$(cat "$state/etcd/members" 2>/dev/null || echo 1)}
etcd_port=${SKIFF_ETCD_PORT:-2379} # client port of the first member; peers and others follow
# SKIFF_CONTROL_PLANE_ONLY=1: etcd, apiserver, controller-manager and scheduler only (no node,
# no add-ons): for benchmarks that bring their own (simulated) nodes and must not touch this
# host's Docker engine or iptables. Everything else is as `make up`.
control_plane_only=${SKIFF_CONTROL_PLANE_ONLY:-}
cm_port=${SKIFF_CONTROLLER_MANAGER_PORT:-10257} # their health/metrics ports (their defaults)
scheduler_port=${SKIFF_SCHEDULER_PORT:-10259}

say() { echo "==> $*"; }
die() {
  echo "cluster: $*" >&2
  exit 1
}

running() { # NAME
  [ -f "$run/$1.pid" ] && kill -0 "$(cat "$run/$1.pid")" 2>/dev/null
}

# supervise NAME COMMAND... : runs COMMAND again whenever it exits, after a back-off that
# doubles from 1 s to 30 s (and starts over once a run lasted a minute), as systemd's
# Restart=always does on the VMs. Its pid is NAME.pid; the component's is NAME.child; each
# exit is counted in NAME.restarts and logged.
supervise() {
  local name=$1 child="" delay=1 began code restarts
  shift
  set +e
  trap '' HUP
  trap '[ -n "$child" ] && kill "$child" 2>/dev/null; wait "$child" 2>/dev/null; exit 0' TERM INT
  while :; do
    began=$SECONDS
    "$@" </dev/null &
    child=$!
    echo "$child" >"$run/$name.child"
    wait "$child"
    code=$?
    child=""
    restarts=$(($(cat "$run/$name.restarts" 2>/dev/null || echo 0) + 1))
    echo "$restarts" >"$run/$name.restarts"
    [ $((SECONDS - began)) -ge 60 ] && delay=1
    echo "cluster: $name exited with code $code; restarting in ${delay}s (restart $restarts)"
    sleep "$delay" &
    child=$!
    wait "$child"
    child=""
    delay=$((delay * 2 > 30 ? 30 : delay * 2))
  done
}

# start NAME COMMAND... : runs a component, supervised, unless it already runs.
start() {
  local name=$1
  shift
  if running "$name"; then
    say "$name already running (pid $(cat "$run/$name.child" 2>/dev/null || cat "$run/$name.pid"))"
    return
  fi
  rm -f "$run/$name.restarts" "$run/$name.child"
  started_now+=" $name "
  # Where this start's output begins in the log: a component that fails at once is shown from here.
  stat -c %s "$logs/$name.log" 2>/dev/null >"$run/$name.logstart" || echo 0 >"$run/$name.logstart"
  supervise "$name" "$@" >>"$logs/$name.log" 2>&1 </dev/null &
  echo $! >"$run/$name.pid"
  for _ in $(seq 50); do [ -f "$run/$name.child" ] && break; sleep 0.1; done
  say "started $name (pid $(cat "$run/$name.child" 2>/dev/null), log $logs/$name.log)"
}

# failed NAME: true once a component this run started has exited; prints why (its error lines
# from this start's log) and stops its supervisor. One already running is not judged here.
started_now=""
failed() {
  local name=$1
  case $started_now in *" $name "*) ;; *) return 1 ;; esac
  [ -f "$run/$name.restarts" ] || return 1
  echo "cluster: $name exited at start; from $logs/$name.log:" >&2
  tail -c +$(($(cat "$run/$name.logstart" 2>/dev/null || echo 0) + 1)) "$logs/$name.log" |
    grep -v '^cluster: ' | node -e '
      let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
        const lines = s.split("\n").filter(Boolean).map((l) => {
          try {
            const j = JSON.parse(l);
            return [j.msg, j.err?.message ?? j.error].filter(Boolean).join(": ");
          } catch { return l; }
        });
        const errs = lines.filter((l) => /error|EADDRINUSE|EACCES|cannot|fatal|panic/i.test(l));
        console.log([...new Set(errs.length ? errs : lines)].slice(-5).map((l) => "  " + l).join("\n"));
      });' >&2
  stop_one "$name" >/dev/null
  return 0
}

curl_api() { # PATH
  curl -fsS --max-time 3 --cacert "$certs/ca.crt" --cert "$certs/admin.crt" --key "$certs/admin.key" "$server$1"
}

wait_for() { # WHAT SECONDS COMPONENTS COMMAND... (COMPONENTS: the processes that must stay up)
  local what=$1 seconds=$2 component=$3
  shift 3
  for _ in $(seq $((seconds * 10))); do
    "$@" >/dev/null 2>&1 && return 0
    for c in $component; do
      failed "$c" && die "$c cannot start (see above); 'make down' stops what did start"
    done
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
  # the member count cannot change under it. --snapshot-count=10000 (kubeadm's; etcd 3.4's
  # default is 100,000) bounds the raft entries a member keeps in memory between snapshots;
  # the apiserver compacts the key history (--etcd-compaction-interval).
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
      --initial-cluster "$cluster" --initial-cluster-token skiff-local --initial-cluster-state new \
      --snapshot-count=10000
  done
  wait_for etcd 20 etcd1 curl -fsS --max-time 1 "http://127.0.0.1:$etcd_port/health"

  start apiserver node $node_flags packages/apiserver/dist/main.js \
    --etcd-servers="$(etcd_endpoints)" --bind-address=0.0.0.0 --secure-port="$api_port" \
    --tls-cert-file="$certs/apiserver.crt" --tls-private-key-file="$certs/apiserver.key" \
    --client-ca-file="$certs/ca.crt" --service-account-signing-key-file="$certs/sa.key" \
    --encryption-provider-config="$certs/encryption-config.yaml" \
    --audit-policy-file=deploy/audit-policy.yaml --audit-log-path="$logs/audit.log" \
    --audit-log-maxsize=100 --audit-log-maxbackup=3 \
    --kubelet-client-certificate="$certs/apiserver-kubelet-client.crt" \
    --kubelet-client-key="$certs/apiserver-kubelet-client.key"
  wait_for apiserver 30 apiserver curl_api /readyz

  start controller-manager node $node_flags packages/controller-manager/dist/main.js --kubeconfig="$certs/controller-manager.kubeconfig" \
    --root-ca-file="$certs/ca.crt" --local-path-root="$state/local-path" --port="$cm_port" \
    --use-service-account-credentials
  start scheduler node $node_flags packages/scheduler/dist/main.js --kubeconfig="$certs/scheduler.kubeconfig" \
    --port="$scheduler_port"
  if [ -n "$control_plane_only" ]; then
    say "control plane up in $((SECONDS - started))s (SKIFF_CONTROL_PLANE_ONLY: no node, no add-ons)"
    return
  fi
  start kubelet node packages/kubelet/dist/main.js --kubeconfig="$certs/kubelet.kubeconfig" \
    --node-name="$node_name" --root-dir="$state/kubelet" --client-ca-file="$certs/ca.crt"
  start proxy node packages/kube-proxy/dist/main.js --kubeconfig="$certs/proxy.kubeconfig" \
    --hostname-override="$node_name"
  # The pod network agent: with one node it only masquerades what leaves the cluster (the
  # kubelet's pod bridge does not) and lets cluster traffic through FORWARD.
  start net node packages/net/dist/main.js --kubeconfig="$certs/net.kubeconfig" \
    --node-name="$node_name" --backend=host-gw
  say "waiting for node $node_name to be Ready"
  wait_for "node $node_name" 60 "controller-manager scheduler kubelet proxy net" node_ready
  say "cluster up in $((SECONDS - started))s"
  # Cluster add-ons (DNS on 10.96.0.10), from the Skiff image that `make setup` builds.
  bash scripts/addons.sh install dns "$state/kubeconfig" "$certs" | sed 's/^==> /==> addons: /' ||
    die "the DNS add-on did not come up: see 'kubectl -n kube-system describe pods'"
  status
  echo
  echo "Use it with:  export KUBECONFIG=$state/kubeconfig; kubectl get nodes"
}

stop_one() { # NAME
  local name=$1 pid child
  running "$name" || {
    rm -f "$run/$name.pid" "$run/$name.child"
    return 0
  }
  pid=$(cat "$run/$name.pid")
  child=$(cat "$run/$name.child" 2>/dev/null || true)
  kill "$pid" 2>/dev/null || true # its supervisor stops the component and waits for it
  for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -9 "$pid" ${child:+"$child"} 2>/dev/null || true
  rm -f "$run/$name.pid" "$run/$name.child"
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
  # Only a cluster that ran a proxy or an agent here has rules to remove (others' stay).
  if [ -f packages/kube-proxy/dist/main.js ] && [ -f "$logs/proxy.log" ]; then
    node packages/kube-proxy/dist/main.js --cleanup >>"$logs/proxy.log" 2>&1 && say "removed Skiff's iptables rules"
  fi
  if [ -f packages/net/dist/main.js ] && [ -f "$logs/net.log" ]; then
    node packages/net/dist/main.js --cleanup >>"$logs/net.log" 2>&1 && say "removed skiff-net's rules and routes"
  fi
}

status() {
  local name
  for name in etcd1 etcd2 etcd3 apiserver controller-manager scheduler kubelet proxy net; do
    case $name in etcd2 | etcd3) [ -f "$run/$name.pid" ] || continue ;; esac
    if ! running "$name"; then
      printf '%-20s stopped\n' "$name"
      continue
    fi
    local child restarts
    child=$(cat "$run/$name.child" 2>/dev/null || true)
    restarts=$(cat "$run/$name.restarts" 2>/dev/null || echo 0)
    if [ -n "$child" ] && kill -0 "$child" 2>/dev/null; then
      printf '%-20s running (pid %s, restarts %s)\n' "$name" "$child" "$restarts"
    else
      printf '%-20s restarting (back-off; restarts %s; last: %s)\n' "$name" "$restarts" \
        "$(grep '^cluster: ' "$logs/$name.log" | tail -n 1 | sed 's/^cluster: //')"
    fi
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
