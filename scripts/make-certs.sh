#!/usr/bin/env bash
# Makes a cluster CA, the apiserver's serving certificate, client certificates for the
# admin and each component, and a kubeconfig for each, under DIR. Existing files are kept.
#   scripts/make-certs.sh DIR [SERVER_URL]     (default https://127.0.0.1:6443)
# For a cluster of several machines (docker-compose.yml, deploy/), from the environment:
#   NODES="node1 node2"   a kubelet certificate and kubeconfig per node (kubelet-NAME.*)
#                         instead of one for this host's name (kubelet.*)
#   API_SANS="IP:…,DNS:…" more names for the apiserver's serving certificate
#   INTERNAL_SERVER=URL   the server the components' kubeconfigs name (default SERVER_URL);
#                         admin.kubeconfig, the user's, always names SERVER_URL
set -euo pipefail
dir=${1:?usage: make-certs.sh DIR [SERVER_URL]}
server=${2:-https://127.0.0.1:6443}
internal_server=${INTERNAL_SERVER:-$server}
mkdir -p "$dir"
cd "$dir"
umask 077

if [ ! -f ca.crt ]; then
  openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 -keyout ca.key -out ca.crt \
    -subj "/CN=skiff-ca" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" 2>/dev/null
fi

# The key pair that signs and verifies service account tokens.
if [ ! -f sa.key ]; then
  openssl genrsa -out sa.key 2048 2>/dev/null
  openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
fi

# Encryption at rest (the apiserver's --encryption-provider-config): Secrets are written with
# AES-CBC under a generated key; identity second so that data written before still reads.
if [ ! -f encryption-config.yaml ]; then
  cat >encryption-config.yaml <<EOF
apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
  - resources: [secrets]
    providers:
      - aescbc:
          keys:
            - name: key1
              secret: $(head -c 32 /dev/urandom | base64)
      - identity: {}
EOF
fi

# sign NAME SUBJECT EXTFILE-CONTENT
sign() {
  local name=$1 subject=$2 ext=$3
  [ -f "$name.crt" ] && return 0
  openssl req -newkey rsa:2048 -nodes -sha256 -keyout "$name.key" -out "$name.csr" -subj "$subject" 2>/dev/null
  printf '%s\n' "$ext" >"$name.ext"
  openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 -sha256 \
    -extfile "$name.ext" -out "$name.crt" 2>/dev/null
  rm -f "$name.csr" "$name.ext"
}

host=$(hostname)
sans="DNS:localhost,DNS:$host,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,IP:127.0.0.1,IP:10.96.0.1"
for ip in $(hostname -I 2>/dev/null || true); do
  case $ip in *:*) ;; *) sans="$sans,IP:$ip" ;; esac
done
[ -z "${API_SANS:-}" ] || sans="$sans,$API_SANS"
sign apiserver "/CN=kube-apiserver" "subjectAltName=$sans
extendedKeyUsage=serverAuth
keyUsage=critical,digitalSignature,keyEncipherment"

client() { # NAME CN [O]
  local subject="/CN=$2"
  [ -n "${3:-}" ] && subject="/O=$3$subject"
  sign "$1" "$subject" "extendedKeyUsage=clientAuth
keyUsage=critical,digitalSignature,keyEncipherment"
}
client admin kubernetes-admin system:masters
client apiserver-kubelet-client kube-apiserver-kubelet-client system:masters
client controller-manager system:kube-controller-manager
client scheduler system:kube-scheduler
client proxy system:kube-proxy
client net system:skiff-net
nodes=${NODES:-}
if [ -z "$nodes" ]; then
  client kubelet "system:node:$host" system:nodes
else
  for n in $nodes; do client "kubelet-$n" "system:node:$n" system:nodes; done
fi

kubeconfig() { # NAME USER [SERVER [FILE]]
  local b64ca b64crt b64key url=${3:-$internal_server} file=${4:-$1}
  b64ca=$(base64 -w0 ca.crt)
  b64crt=$(base64 -w0 "$1.crt")
  b64key=$(base64 -w0 "$1.key")
  cat >"$file.kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters:
- name: skiff
  cluster:
    server: $url
    certificate-authority-data: $b64ca
users:
- name: $2
  user:
    client-certificate-data: $b64crt
    client-key-data: $b64key
contexts:
- name: $2@skiff
  context:
    cluster: skiff
    user: $2
    namespace: default
current-context: $2@skiff
KC
}
kubeconfig admin kubernetes-admin "$server"
# The admin's identity for what runs inside the cluster's network (the add-on installer).
[ "$internal_server" = "$server" ] || kubeconfig admin kubernetes-admin "$internal_server" admin-internal
kubeconfig controller-manager system:kube-controller-manager
kubeconfig scheduler system:kube-scheduler
kubeconfig proxy system:kube-proxy
kubeconfig net system:skiff-net
if [ -z "$nodes" ]; then
  kubeconfig kubelet "system:node:$host"
else
  for n in $nodes; do kubeconfig "kubelet-$n" "system:node:$n"; done
fi
echo "certificates and kubeconfigs in $dir (server $server)"
