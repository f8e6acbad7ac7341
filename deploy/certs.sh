#!/usr/bin/env bash
# The compose cluster's one-shot `certs` service: makes the CA, certificates and kubeconfigs
# once (existing ones are kept) under /state/certs, and the host's kubeconfig at
# /state/kubeconfig (.skiff/compose/kubeconfig on the host), owned by whoever owns .skiff/compose.
# Environment: SKIFF_API_PORT (the published port), SKIFF_NET_PREFIX (the compose network's
# first three octets), NODES.
set -euo pipefail
prefix=${SKIFF_NET_PREFIX:?}
api_ip=$prefix.20
NODES=${NODES:?} API_SANS="IP:$api_ip,DNS:apiserver" INTERNAL_SERVER="https://$api_ip:6443" \
  bash /opt/skiff/scripts/make-certs.sh /state/certs "https://127.0.0.1:${SKIFF_API_PORT:-6443}"
cp /state/certs/admin.kubeconfig /state/kubeconfig.new
chown "$(stat -c %u:%g /state)" /state/kubeconfig.new
mv /state/kubeconfig.new /state/kubeconfig
# The components read their keys as root in their own containers; the directory stays private.
chmod 0700 /state/certs
echo "certs: kubeconfig for the host in .skiff/compose/kubeconfig"
