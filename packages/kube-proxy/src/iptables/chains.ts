// Kube-proxy's chain names: a fixed prefix plus 16 characters of base32(sha256(identity)),
// so the same service port gets the same chain after a restart (and the same as Kubernetes').
import { createHash } from "node:crypto";

export const kubeServicesChain = "KUBE-SERVICES";
export const kubeExternalServicesChain = "KUBE-EXTERNAL-SERVICES";
export const kubeNodePortsChain = "KUBE-NODEPORTS";
export const kubePostroutingChain = "KUBE-POSTROUTING";
export const kubeMarkMasqChain = "KUBE-MARK-MASQ";
export const kubeForwardChain = "KUBE-FORWARD";
export const kubeProxyFirewallChain = "KUBE-PROXY-FIREWALL";
/** Shared with the kubelet in Kubernetes; here kube-proxy writes it when localhost NodePorts are on. */
export const kubeletFirewallChain = "KUBE-FIREWALL";

/**
 * An empty chain in mangle, nat and filter whose only job is to vanish: when someone flushes
 * the tables (a firewall reload), it goes too, and the proxier knows to rewrite everything.
 */
export const kubeProxyCanaryChain = "KUBE-PROXY-CANARY";
export const canaryTables = ["mangle", "nat", "filter"] as const;

/** Per-service chains, in the order they may be deleted: a chain only jumps to later groups. */
export const serviceChainPrefixes = ["KUBE-EXT-", "KUBE-SVC-", "KUBE-SVL-", "KUBE-SEP-"] as const;

export function isServiceChainName(chain: string): boolean {
  return serviceChainPrefixes.some((p) => chain.startsWith(p));
}

const base32Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** RFC 4648 base32 (Go's base32.StdEncoding), without padding: only a prefix is ever used. */
export function base32(bytes: Uint8Array): string {
  let out = "";
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = ((value << 8) | byte) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += base32Alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += base32Alphabet[(value << (5 - bits)) & 31];
  return out;
}

function hash16(identity: string): string {
  return base32(createHash("sha256").update(identity).digest()).slice(0, 16);
}

/** "namespace/name:port", or "namespace/name" for an unnamed port (ServicePortName.String()). */
export function servicePortName(
  namespace: string,
  name: string,
  portName: string | undefined,
): string {
  return portName ? `${namespace}/${name}:${portName}` : `${namespace}/${name}`;
}

/** The hash shared by a service port's SVC, SVL and EXT chains; protocol is lower case. */
export function portProtoHash(svcPortName: string, protocol: string): string {
  return hash16(svcPortName + protocol);
}

export const clusterPolicyChain = (hash: string): string => `KUBE-SVC-${hash}`;
export const localPolicyChain = (hash: string): string => `KUBE-SVL-${hash}`;
export const externalChain = (hash: string): string => `KUBE-EXT-${hash}`;

/** KUBE-SEP-* for one endpoint ("ip:port") of a service port. */
export function endpointChain(svcPortName: string, protocol: string, endpoint: string): string {
  return `KUBE-SEP-${hash16(svcPortName + protocol + endpoint)}`;
}
