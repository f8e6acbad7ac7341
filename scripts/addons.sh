#!/usr/bin/env bash
# Installs cluster add-ons with kubectl (or skiffctl, where no kubectl is on PATH, as in the
# Skiff image) and waits until they are available. Safe to run again.
#   scripts/addons.sh install dns KUBECONFIG CERTDIR
# dns: makes skiff-dns a client certificate with the cluster CA in CERTDIR (ca.crt, ca.key,
# as scripts/make-certs.sh leaves them), puts a kubeconfig for it (server https://10.96.0.1:443,
# the `kubernetes` Service) into the Secret kube-system/skiff-dns-kubeconfig, applies
# deploy/addons/dns.yaml and waits for the Deployment skiff-dns to be Available.
# SKIFF_ADDON_TIMEOUT (default 180s) bounds the wait.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

usage() {
  echo "usage: scripts/addons.sh install dns KUBECONFIG CERTDIR" >&2
  exit 2
}
die() {
  echo "addons: $*" >&2
  exit 1
}

[ "$#" -eq 4 ] && [ "$1" = install ] || usage
addon=$2
kubeconfig=$3
certs=$4
[ "$addon" = dns ] || die "unknown add-on \"$addon\" (known: dns)"
[ -r "$kubeconfig" ] || die "no kubeconfig at $kubeconfig"
[ -r "$certs/ca.crt" ] && [ -r "$certs/ca.key" ] || die "no cluster CA (ca.crt, ca.key) in $certs"
if command -v kubectl >/dev/null; then
  client=kubectl
elif command -v skiffctl >/dev/null; then
  client=skiffctl
else
  die "neither kubectl nor skiffctl is on PATH"
fi
timeout=${SKIFF_ADDON_TIMEOUT:-180s}
k() { "$client" --kubeconfig "$kubeconfig" "$@"; }

# The identity skiff-dns' ServiceAccount will have once pods get tokens, so that an RBAC
# binding made for the ServiceAccount also covers this certificate.
user=system:serviceaccount:kube-system:skiff-dns
if [ ! -f "$certs/skiff-dns.crt" ] || [ ! -f "$certs/skiff-dns.key" ]; then
  (
    cd "$certs"
    umask 077
    ext=$(mktemp)
    trap 'rm -f "$ext" skiff-dns.csr' EXIT
    printf 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n' >"$ext"
    openssl req -newkey rsa:2048 -nodes -sha256 -keyout skiff-dns.key -out skiff-dns.csr \
      -subj "/CN=$user" 2>/dev/null
    openssl x509 -req -in skiff-dns.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
      -sha256 -extfile "$ext" -out skiff-dns.crt 2>/dev/null
  )
fi

# The apiserver may still be starting (the compose cluster runs this beside it).
for _ in $(seq 60); do
  k get namespace kube-system >/dev/null 2>&1 && break
  sleep 1
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat >"$work/kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters:
- name: skiff
  cluster:
    server: https://10.96.0.1:443
    certificate-authority-data: $(base64 -w0 "$certs/ca.crt")
users:
- name: $user
  user:
    client-certificate-data: $(base64 -w0 "$certs/skiff-dns.crt")
    client-key-data: $(base64 -w0 "$certs/skiff-dns.key")
contexts:
- name: skiff-dns@skiff
  context:
    cluster: skiff
    user: $user
    namespace: kube-system
current-context: skiff-dns@skiff
KC

echo "==> dns: Secret kube-system/skiff-dns-kubeconfig"
k apply -f - >/dev/null <<SECRET
apiVersion: v1
kind: Secret
metadata: {name: skiff-dns-kubeconfig, namespace: kube-system}
type: Opaque
data:
  kubeconfig: $(base64 -w0 "$work/kubeconfig")
SECRET
echo "==> dns: applying deploy/addons/dns.yaml"
k apply -f "$root/deploy/addons/dns.yaml" >/dev/null
echo "==> dns: waiting (up to $timeout) for Deployment kube-system/skiff-dns to be Available"
if ! k -n kube-system wait --for=condition=Available=True deployment/skiff-dns --timeout="$timeout" >/dev/null; then
  k -n kube-system get pods -l k8s-app=kube-dns -o wide >&2 || true
  die "skiff-dns is not available after $timeout"
fi
echo "dns: skiff-dns available on 10.96.0.10"
