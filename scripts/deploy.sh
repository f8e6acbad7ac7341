#!/usr/bin/env bash
# `make deploy INVENTORY=path`: three (or more) Debian machines reachable over SSH become one
# highly available Skiff cluster, each machine both control plane and worker (stacked etcd,
# as kubeadm's HA recipe and k3s' HA mode). Over SSH, per machine and step by step:
#   packages  apt installs what the machine lacks (docker.io, etcd-server, iptables, conntrack…)
#   node      Node.js 20 where the machine has none (this host's binary)
#   release   the Skiff release bundle (built packages, production dependencies, skiff-lb)
#   certs     what this machine needs of the certificates made once here, in .skiff/deploy/certs
#   units     systemd units skiff-{etcd,apiserver,lb,controller-manager,scheduler,kubelet,proxy,net}
#             (Restart=always), started; a changed machine is restarted one at a time once the
#             cluster runs, so the API keeps answering during an upgrade
#   image     the Skiff image (skiff.local/skiff:<version>, built here by make images) loaded
#             into the machine's Docker engine, where the cluster add-ons' pods run it
# then waits for every node to be Ready, installs the DNS add-on (skiff-dns on 10.96.0.10,
# scripts/addons.sh) and writes .skiff/deploy/kubeconfig (naming the first
# machine; any other's address works in its `server:` line too). Running it again changes
# nothing. A failure names the machine, the step and the command's output.
#   scripts/deploy.sh INVENTORY        (deploy/inventory.example.yaml shows the format)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
inventory=${1:-}
[ -n "$inventory" ] || {
  echo "deploy: usage: make deploy INVENTORY=path/to/inventory.yaml" >&2
  exit 2
}
state=$(realpath -m "${SKIFF_DEPLOY_STATE:-.skiff/deploy}")
certs=$state/certs
cluster_cidr=10.244.0.0/16
started=$SECONDS

say() { echo "==> $*"; }
die() {
  echo "deploy: $*" >&2
  exit 1
}

[ -r "$inventory" ] || die "cannot read the inventory $inventory"
# name address user key, one machine a line.
hosts=$(node --input-type=module -e '
  import { readFileSync } from "node:fs";
  import YAML from "yaml";
  const file = process.argv[1];
  let doc;
  try { doc = YAML.parse(readFileSync(file, "utf8")); } catch (e) { console.error(`${file}: ${e.message}`); process.exit(1); }
  const hosts = doc?.hosts;
  if (!Array.isArray(hosts) || hosts.length === 0) { console.error(`${file}: hosts: a list of machines is required`); process.exit(1); }
  hosts.forEach((h, i) => {
    for (const f of ["name", "address"]) if (!h?.[f]) { console.error(`${file}: hosts[${i}].${f} is required`); process.exit(1); }
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(h.name)) { console.error(`${file}: hosts[${i}].name: "${h.name}" is not a valid node name`); process.exit(1); }
    const key = String(h.key ?? doc.key ?? "").replace(/^~(?=\/)/, process.env.HOME ?? "~");
    console.log([h.name, h.address, h.user ?? doc.user ?? "root", key].join(" "));
  });' "$inventory") || exit 1
names=() addrs=() users=() keys=()
while read -r n a u k; do
  names+=("$n") addrs+=("$a") users+=("$u") keys+=("$k")
done <<<"$hosts"
count=${#names[@]}
mkdir -p "$state/work"
known_hosts=$state/known_hosts

ssh_opts() { # I
  local o=(-o BatchMode=yes -o ConnectTimeout=10 -o LogLevel=ERROR -o StrictHostKeyChecking=accept-new
    -o "UserKnownHostsFile=$known_hosts" -o ServerAliveInterval=10)
  [ -z "${keys[$1]}" ] || o+=(-i "${keys[$1]}")
  printf '%s\n' "${o[@]}"
}
on() { # I COMMAND (a shell command line run as root on machine I)
  local i=$1
  shift
  local opts
  mapfile -t opts < <(ssh_opts "$i")
  local sudo=""
  [ "${users[$i]}" = root ] || sudo="sudo -n "
  ssh "${opts[@]}" "${users[$i]}@${addrs[$i]}" "${sudo}bash -c $(printf '%q' "$*")"
}
push() { # I LOCAL REMOTE: copies a file (as root) to machine I
  on "$1" "cat > $(printf '%q' "$3").part && mv $(printf '%q' "$3").part $(printf '%q' "$3")" <"$2"
}

# step I NAME COMMAND...: runs one step for machine I; its output goes to the step's log; on
# failure the machine, the step and the output are printed and the step fails.
step() {
  local i=$1 name=$2 log out began=$SECONDS
  shift 2
  log=$state/work/${names[$i]}-$name.log
  if out=$("$@" 2>&1); then
    printf '%s\n' "$out" >"$log"
    echo "[${names[$i]}] $name: $(tail -n 1 "$log") ($((SECONDS - began)) s)"
    return 0
  fi
  printf '%s\n' "$out" >"$log"
  {
    echo "[${names[$i]}] $name FAILED:"
    tail -n 25 "$log" | sed 's/^/    /'
  } >&2
  return 1
}

# ---- on the deploying machine: the release bundle and the certificates ----

for b in apiserver controller-manager scheduler kubelet kube-proxy net; do
  [ -f "packages/$b/dist/main.js" ] || die "packages/$b/dist is missing: run 'make build'"
done
node_bin=$(readlink -f "$(command -v node)")
[ "$(node -p 'process.versions.node.split(".")[0]')" = 20 ] || die "this host's node is $(node --version); the machines get Node 20"

# The bundle: each package's package.json, bin/ and dist/, production node_modules (from the Skiff
# image, built from the same package-lock.json), skiff-lb and the sandbox image script.
release_dir=$state/work/release
image=skiff.local/skiff:$(node -p 'require("./package.json").version')
lock_sum=$(sha256sum package-lock.json | cut -c1-16)
if [ "$(cat "$state/work/modules.lock" 2>/dev/null)" != "$lock_sum" ]; then
  say "production dependencies from $image"
  docker image inspect "$image" >/dev/null 2>&1 || bash scripts/build-skiff-image.sh
  cid=$(docker create "$image" true)
  image_lock=$(docker cp "$cid:/opt/skiff/package-lock.json" - | tar -xO | sha256sum | cut -c1-16)
  if [ "$image_lock" != "$lock_sum" ]; then
    docker rm "$cid" >/dev/null
    bash scripts/build-skiff-image.sh
    cid=$(docker create "$image" true)
  fi
  rm -rf "$state/work/modules"
  mkdir -p "$state/work/modules"
  docker cp "$cid:/opt/skiff/node_modules" "$state/work/modules/" >/dev/null
  docker rm "$cid" >/dev/null
  echo "$lock_sum" >"$state/work/modules.lock"
fi
rm -rf "$release_dir"
mkdir -p "$release_dir/packages" "$release_dir/deploy" "$release_dir/scripts"
for p in packages/*/; do
  p=${p%/}
  [ -d "$p/dist" ] || continue
  mkdir -p "$release_dir/$p"
  cp -a "$p/package.json" "$p/dist" "$release_dir/$p/"
  [ -d "$p/bin" ] && cp -a "$p/bin" "$release_dir/$p/"
done
find "$release_dir/packages" -name '*.tsbuildinfo' -delete
cp package.json "$release_dir/"
cp deploy/lb.mjs deploy/audit-policy.yaml "$release_dir/deploy/"
cp scripts/busybox-image.sh "$release_dir/scripts/"
release_id=$( (cd "$release_dir" && find . -type f | sort | xargs sha256sum; cat "$state/work/modules.lock") | sha256sum | cut -c1-16)
bundle=$state/work/skiff-$release_id.tar.gz
if [ ! -f "$bundle" ]; then
  rm -f "$state"/work/skiff-*.tar.gz
  echo "$release_id" >"$release_dir/RELEASE"
  tar -C "$release_dir" -cf - . -C "$state/work/modules" node_modules | gzip -1 >"$bundle.part"
  mv "$bundle.part" "$bundle"
fi
say "release $release_id ($(du -m "$bundle" | cut -f1) MB)"

sans="" all_names=""
for i in $(seq 0 $((count - 1))); do
  sans+="${sans:+,}IP:${addrs[$i]},DNS:${names[$i]}"
  all_names+="${all_names:+ }${names[$i]}"
done
[ -f "$certs/ca.crt" ] || say "making certificates in $certs"
NODES="$all_names" API_SANS="$sans" INTERNAL_SERVER=https://127.0.0.1:6444 \
  bash scripts/make-certs.sh "$certs" "https://${addrs[0]}:6443" >/dev/null
# etcd has a CA of its own, so that no cluster certificate but the apiserver's opens etcd.
(
  cd "$certs"
  umask 077
  [ -f etcd-ca.crt ] || openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 \
    -keyout etcd-ca.key -out etcd-ca.crt -subj "/CN=skiff-etcd-ca" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" 2>/dev/null
  etcd_sign() { # NAME CN EXT
    [ -f "$1.crt" ] && return 0
    openssl req -newkey rsa:2048 -nodes -sha256 -keyout "$1.key" -out "$1.csr" -subj "/CN=$2" 2>/dev/null
    printf '%s\n' "$3" >"$1.ext"
    openssl x509 -req -in "$1.csr" -CA etcd-ca.crt -CAkey etcd-ca.key -CAcreateserial -days 3650 -sha256 \
      -extfile "$1.ext" -out "$1.crt" 2>/dev/null
    rm -f "$1.csr" "$1.ext"
  }
  for i in $(seq 0 $((count - 1))); do
    etcd_sign "etcd-${names[$i]}" "${names[$i]}" "subjectAltName=IP:${addrs[$i]},IP:127.0.0.1,DNS:${names[$i]},DNS:localhost
extendedKeyUsage=serverAuth,clientAuth
keyUsage=critical,digitalSignature,keyEncipherment"
  done
  etcd_sign etcd-client skiff-etcd-client "extendedKeyUsage=clientAuth
keyUsage=critical,digitalSignature,keyEncipherment"
)
cp "$certs/admin.kubeconfig" "$state/kubeconfig"

# ---- on each machine ----

initial_cluster=""
backends=()
for i in $(seq 0 $((count - 1))); do
  initial_cluster+="${initial_cluster:+,}${names[$i]}=https://${addrs[$i]}:2380"
  backends+=(--backend "${addrs[$i]}:6443")
done

packages_step() { # I
  on "$1" '
    set -e
    want="docker.io etcd-server etcd-client iptables conntrack busybox-static ca-certificates"
    missing=""
    for p in $want; do
      dpkg-query -W -f="\${Status}" "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
    done
    if [ -z "$missing" ]; then echo "unchanged: $want"; exit 0; fi
    export DEBIAN_FRONTEND=noninteractive
    # Nothing starts by itself while installing: Debian'"'"'s etcd.service would take port 2379.
    printf "#!/bin/sh\nexit 101\n" >/usr/sbin/policy-rc.d && chmod 0755 /usr/sbin/policy-rc.d
    trap "rm -f /usr/sbin/policy-rc.d" EXIT
    apt-get update -q >/tmp/skiff-apt.log 2>&1 || { cat /tmp/skiff-apt.log; exit 1; }
    apt-get install -y -q --no-install-recommends $missing >>/tmp/skiff-apt.log 2>&1 || { tail -n 30 /tmp/skiff-apt.log; exit 1; }
    systemctl disable --now etcd.service >/dev/null 2>&1 || true
    systemctl mask etcd.service >/dev/null 2>&1 || true
    echo "changed: installed$missing"'
}

node_step() { # I
  if on "$1" '/usr/local/bin/node --version 2>/dev/null | grep -q "^v20\." || node --version 2>/dev/null | grep -q "^v20\."'; then
    echo "unchanged: Node 20 present"
    return
  fi
  push "$1" "$node_bin" /usr/local/bin/node && on "$1" 'chmod 0755 /usr/local/bin/node && echo "changed: Node $(/usr/local/bin/node --version) installed"'
}

release_step() { # I
  if [ "$(on "$1" 'cat /opt/skiff/RELEASE 2>/dev/null' || true)" = "$release_id" ]; then
    echo "unchanged: release $release_id"
    return
  fi
  push "$1" "$bundle" /tmp/skiff-release.tar.gz
  on "$1" "set -e
    rm -rf /opt/skiff.new && mkdir -p /opt/skiff.new
    tar -xzf /tmp/skiff-release.tar.gz -C /opt/skiff.new
    rm -f /tmp/skiff-release.tar.gz
    rm -rf /opt/skiff.old
    [ ! -d /opt/skiff ] || mv /opt/skiff /opt/skiff.old
    mv /opt/skiff.new /opt/skiff
    rm -rf /opt/skiff.old
    echo 'changed: release $release_id'"
}

certs_step() { # I
  local i=$1 n=${names[$1]} dir sum
  dir=$state/work/certs-$n
  rm -rf "$dir"
  mkdir -p "$dir"
  (cd "$certs" && cp ca.crt apiserver.crt apiserver.key sa.key sa.pub encryption-config.yaml apiserver-kubelet-client.crt \
    apiserver-kubelet-client.key admin.kubeconfig controller-manager.kubeconfig scheduler.kubeconfig \
    proxy.kubeconfig net.kubeconfig "kubelet-$n.kubeconfig" etcd-ca.crt "etcd-$n.crt" "etcd-$n.key" \
    etcd-client.crt etcd-client.key "$dir/")
  sum=$(cd "$dir" && sha256sum -- * | sha256sum | cut -c1-16)
  if [ "$(on "$i" 'cat /etc/skiff/certs/.sum 2>/dev/null' || true)" = "$sum" ]; then
    echo "unchanged: certificates"
    return
  fi
  echo "$sum" >"$dir/.sum"
  tar -C "$dir" -cf - . | on "$i" 'set -e; umask 077; rm -rf /etc/skiff/certs.new; mkdir -p /etc/skiff/certs.new
    tar -xf - -C /etc/skiff/certs.new; rm -rf /etc/skiff/certs; mv /etc/skiff/certs.new /etc/skiff/certs
    echo "changed: certificates"'
}

# The unit files of machine I, written under DIR.
write_units() { # I DIR
  local i=$1 d=$2 n=${names[$1]} a=${addrs[$1]} c=/etc/skiff/certs
  local node="/usr/local/bin/node"
  # The control plane's V8 flags, as scripts/cluster.sh's node_flags (make up) and the compose file.
  local node_flags="--max-semi-space-size=16 --max-old-space-size=1024"
  mkdir -p "$d/docker.service.d"
  unit() { # NAME DESCRIPTION AFTER EXEC
    cat >"$d/$1.service" <<EOF
[Unit]
Description=$2
After=network-online.target $3
Wants=network-online.target $3

[Service]
ExecStart=$4
Restart=always
RestartSec=2
Environment=NODE_ENV=production
LimitNOFILE=65536

[Install]
WantedBy=multi-user.target
EOF
  }
  unit skiff-etcd "Skiff: etcd member $n" "" "/usr/bin/etcd --name $n --data-dir /var/lib/skiff-etcd \
--listen-client-urls https://$a:2379,https://127.0.0.1:2379 --advertise-client-urls https://$a:2379 \
--client-cert-auth --trusted-ca-file $c/etcd-ca.crt --cert-file $c/etcd-$n.crt --key-file $c/etcd-$n.key \
--listen-peer-urls https://$a:2380 --initial-advertise-peer-urls https://$a:2380 \
--peer-client-cert-auth --peer-trusted-ca-file $c/etcd-ca.crt --peer-cert-file $c/etcd-$n.crt --peer-key-file $c/etcd-$n.key \
--initial-cluster $initial_cluster --initial-cluster-token skiff-deploy --initial-cluster-state new \
--snapshot-count=10000"
  # The apiserver reaches its own member on loopback over TLS, as kubeadm's stacked etcd does.
  unit skiff-apiserver "Skiff: apiserver" skiff-etcd.service "$node $node_flags /opt/skiff/packages/apiserver/dist/main.js \
--etcd-servers=https://127.0.0.1:2379 \
--etcd-cafile=$c/etcd-ca.crt --etcd-certfile=$c/etcd-client.crt --etcd-keyfile=$c/etcd-client.key --bind-address=0.0.0.0 --advertise-address=$a --secure-port=6443 \
--tls-cert-file=$c/apiserver.crt --tls-private-key-file=$c/apiserver.key --client-ca-file=$c/ca.crt \
--service-account-signing-key-file=$c/sa.key --service-account-key-file=$c/sa.pub \
--encryption-provider-config=$c/encryption-config.yaml \
--audit-policy-file=/opt/skiff/deploy/audit-policy.yaml --audit-log-path=/var/log/skiff/audit.log --audit-log-maxsize=100 --audit-log-maxbackup=5 \
--kubelet-client-certificate=$c/apiserver-kubelet-client.crt --kubelet-client-key=$c/apiserver-kubelet-client.key"
  unit skiff-lb "Skiff: node-local load balancer over every apiserver" "" "$node /opt/skiff/deploy/lb.mjs --listen 127.0.0.1:6444 ${backends[*]}"
  unit skiff-controller-manager "Skiff: controller-manager" skiff-lb.service "$node $node_flags /opt/skiff/packages/controller-manager/dist/main.js \
--kubeconfig=$c/controller-manager.kubeconfig --root-ca-file=$c/ca.crt --cluster-cidr=$cluster_cidr --use-service-account-credentials --leader-elect"
  unit skiff-scheduler "Skiff: scheduler" skiff-lb.service "$node $node_flags /opt/skiff/packages/scheduler/dist/main.js \
--kubeconfig=$c/scheduler.kubeconfig --leader-elect"
  unit skiff-kubelet "Skiff: kubelet" "skiff-lb.service docker.service" "$node /opt/skiff/packages/kubelet/dist/main.js \
--kubeconfig=$c/kubelet-$n.kubeconfig --node-name=$n --node-ip=$a --root-dir=/var/lib/skiff-kubelet --client-ca-file=$c/ca.crt"
  unit skiff-proxy "Skiff: proxy" skiff-lb.service "$node /opt/skiff/packages/kube-proxy/dist/main.js \
--kubeconfig=$c/proxy.kubeconfig --hostname-override=$n --cluster-cidr=$cluster_cidr"
  unit skiff-net "Skiff: pod network agent (host-gw)" skiff-lb.service "$node /opt/skiff/packages/net/dist/main.js \
--kubeconfig=$c/net.kubeconfig --node-name=$n --backend=host-gw --cluster-cidr=$cluster_cidr"
  # The engine: no masquerade of its own (skiff-net masquerades what leaves the cluster), DNS
  # only as the cluster gives it, and the cluster's traffic let through FORWARD.
  cat >"$d/daemon.json" <<EOF
{ "ip-masq": false, "dns": ["127.0.0.1"], "log-level": "warn" }
EOF
  cat >"$d/docker.service.d/skiff.conf" <<EOF
[Service]
ExecStartPost=/bin/sh -c 'iptables -C DOCKER-USER -s $cluster_cidr -j ACCEPT 2>/dev/null || iptables -I DOCKER-USER -s $cluster_cidr -j ACCEPT; iptables -C DOCKER-USER -d $cluster_cidr -j ACCEPT 2>/dev/null || iptables -I DOCKER-USER -d $cluster_cidr -j ACCEPT'
ExecStartPost=/bin/bash /opt/skiff/scripts/busybox-image.sh
EOF
}

units=(skiff-etcd skiff-apiserver skiff-lb skiff-controller-manager skiff-scheduler skiff-kubelet skiff-proxy skiff-net)

units_step() { # I
  local i=$1 dir
  dir=$state/work/units-${names[$i]}
  rm -rf "$dir"
  write_units "$i" "$dir"
  # On the machine: install each file that differs, then (re)start what changed.
  tar -C "$dir" -cf - . | on "$i" "set -e
    src=\$(mktemp -d); tar -xf - -C \$src; changed=''
    put() { if ! cmp -s \"\$1\" \"\$2\"; then mkdir -p \"\$(dirname \"\$2\")\"; cp \"\$1\" \"\$2\"; changed=\"\$changed \$3\"; fi; }
    put \$src/daemon.json /etc/docker/daemon.json docker
    put \$src/docker.service.d/skiff.conf /etc/systemd/system/docker.service.d/skiff.conf docker
    for u in ${units[*]}; do put \$src/\$u.service /etc/systemd/system/\$u.service \$u; done
    rm -rf \$src
    release_changed=''
    [ \"\$(cat /var/lib/skiff-release 2>/dev/null)\" = $release_id ] || release_changed=1
    certs_changed=''
    [ \"\$(cat /var/lib/skiff-certs 2>/dev/null)\" = \"\$(cat /etc/skiff/certs/.sum)\" ] || certs_changed=1
    [ -z \"\$changed\" ] || systemctl daemon-reload
    systemctl enable docker ${units[*]} >/dev/null 2>&1
    restart=''
    for u in docker ${units[*]}; do
      case \" \$changed \" in *\" \$u \"*) restart=\"\$restart \$u\"; continue ;; esac
      case \$u in skiff-*) if [ -n \"\$release_changed\$certs_changed\" ]; then restart=\"\$restart \$u\"; continue; fi ;; esac
      systemctl is-active -q \$u || restart=\"\$restart \$u\"
    done
    # A new cluster: nothing waits (an etcd member is ready only once a quorum runs). A running
    # one: each restart has taken effect before the deploy goes on to check this machine.
    for u in \$restart; do systemctl restart $no_block \$u; done
    echo $release_id >/var/lib/skiff-release
    cat /etc/skiff/certs/.sum >/var/lib/skiff-certs
    if [ -n \"\$restart\" ]; then echo \"changed: (re)started\$restart\"; else echo 'unchanged: every unit active'; fi"
}

# The Skiff image, saved once per image id; a machine whose engine has that id already is left alone.
image=skiff.local/skiff:$(node -p 'require("./package.json").version')
image_step() { # I
  if [ "$(on "$1" "docker image inspect -f '{{.Id}}' $image 2>/dev/null" || true)" = "$image_id" ]; then
    echo "unchanged: $image"
    return
  fi
  on "$1" 'gunzip | docker load >/dev/null && echo "changed: '"$image"' loaded"' <"$image_tar"
}

wait_api() { # I SECONDS: the apiserver of machine I answers /readyz
  local i=$1
  for _ in $(seq "$2"); do
    curl -fsS --max-time 3 --cacert "$certs/ca.crt" --cert "$certs/admin.crt" --key "$certs/admin.key" \
      "https://${addrs[$i]}:6443/readyz" >/dev/null 2>&1 && return 0
    sleep 1
  done
  return 1
}

wait_etcd() { # I SECONDS: the etcd member of machine I is healthy
  local i=$1
  for _ in $(seq "$2"); do
    curl -fsS --max-time 3 --cacert "$certs/etcd-ca.crt" --cert "$certs/etcd-client.crt" --key "$certs/etcd-client.key" \
      "https://${addrs[$i]}:2379/health" 2>/dev/null | grep -q '"health":"true"' && return 0
    sleep 1
  done
  return 1
}

# Was a cluster already answering? Then changed machines go one at a time.
running_before=""
for i in $(seq 0 $((count - 1))); do wait_api "$i" 1 && running_before=1 && break; done
no_block=--no-block
[ -z "$running_before" ] || no_block=""

# Packages, Node, release and certificates: every machine at once (most of the time is apt).
pids=()
for i in $(seq 0 $((count - 1))); do
  (
    step "$i" packages packages_step "$i" &&
      step "$i" node node_step "$i" &&
      step "$i" release release_step "$i" &&
      step "$i" certs certs_step "$i"
  ) &
  pids+=($!)
done
failed=""
for i in "${!pids[@]}"; do wait "${pids[$i]}" || failed+=" ${names[$i]}"; done
[ -z "$failed" ] || die "stopped:$failed failed (above); the other machines are left as they are"

for i in $(seq 0 $((count - 1))); do
  step "$i" units units_step "$i" || die "${names[$i]}: units failed (above)"
  if [ -n "$running_before" ] && grep -q '^changed' "$state/work/${names[$i]}-units.log"; then
    wait_etcd "$i" 120 || die "${names[$i]}: its etcd member is not healthy within 120 s after the restart: ssh to it and run journalctl -u skiff-etcd"
    wait_api "$i" 120 || die "${names[$i]}: its apiserver did not answer within 120 s after the restart: ssh to it and run journalctl -u skiff-apiserver"
    echo "[${names[$i]}] apiserver answers again"
  fi
done

# The add-ons' image, into every engine at once (the engines run since the units step).
bash scripts/build-skiff-image.sh | sed 's/^/    /' || die "building $image failed (above)"
image_id=$(docker image inspect -f '{{.Id}}' "$image")
image_tar=$state/work/image-${image_id#sha256:}.tar.gz
if [ ! -f "$image_tar" ]; then
  rm -f "$state"/work/image-*.tar.gz
  docker save "$image" | gzip -1 >"$image_tar.part" && mv "$image_tar.part" "$image_tar"
fi
pids=()
for i in $(seq 0 $((count - 1))); do
  step "$i" image image_step "$i" &
  pids+=($!)
done
failed=""
for i in "${!pids[@]}"; do wait "${pids[$i]}" || failed+=" ${names[$i]}"; done
[ -z "$failed" ] || die "stopped:$failed could not load $image (above)"

say "waiting for $count nodes to be Ready"
ready="" via=0
for _ in $(seq 180); do
  # Through any machine whose apiserver answers (the kubeconfig's own may be the one down).
  if ready=$(KUBECONFIG=$state/kubeconfig kubectl get nodes --request-timeout=5s --server="https://${addrs[$via]}:6443" \
    -o jsonpath='{range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status} {end}' 2>/dev/null) &&
    [ "$(tr ' ' '\n' <<<"$ready" | grep -c '=True$')" -ge "$count" ]; then
    break
  fi
  via=$(((via + 1) % count))
  sleep 1
done
[ "$(tr ' ' '\n' <<<"$ready" | grep -c '=True$')" -ge "$count" ] ||
  die "not every node is Ready after 180 s: ${ready:-the API did not answer} (journalctl -u skiff-kubelet on the machine)"
# Cluster add-ons: DNS (skiff-dns on 10.96.0.10). Safe to run again.
SKIFF_ADDON_TIMEOUT=${SKIFF_ADDON_TIMEOUT:-180s} bash scripts/addons.sh install dns "$state/kubeconfig" "$certs" |
  sed 's/^==> /==> addons: /' || die "the DNS add-on did not come up: kubectl -n kube-system describe pods -l k8s-app=kube-dns"
changes=$(cat "$state"/work/*-{packages,node,release,certs,units,image}.log 2>/dev/null | grep -c '^changed' || true)
if [ "$changes" = 0 ]; then
  say "no change: $count machines already up to date; $ready"
else
  say "deployed to $count machines in $((SECONDS - started))s ($changes steps changed something); nodes: $ready"
fi
echo "Use it with:  export KUBECONFIG=$state/kubeconfig; kubectl get nodes"
echo "(it names ${names[0]}; put another machine's address in its server: line to use that one)"
