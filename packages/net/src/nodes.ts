// What skiff-net reads from Node objects (pod CIDR, address, VTEP MAC) and what it publishes
// on its own Node: the annotations other nodes' agents route by.
import type * as api from "@skiff/api";
import type { KubeObject } from "@skiff/client";
import { isCIDR, isIPv4 } from "@skiff/api";
import { isMAC } from "./cidr.js";

export type Node = api.Node & KubeObject;
export type Backend = "vxlan" | "host-gw";
export const backends: readonly Backend[] = ["vxlan", "host-gw"];

export const backendTypeAnnotation = "net.skiff.io/backend-type";
export const publicIPAnnotation = "net.skiff.io/public-ip";
export const vtepMACAnnotation = "net.skiff.io/vtep-mac";

/** One Node as the network sees it; fields are absent until the Node has them (and valid). */
export interface NodeNet {
  name: string;
  podCIDR?: string;
  /** net.skiff.io/public-ip, else the InternalIP from status. */
  publicIP?: string;
  /** net.skiff.io/backend-type, as published by that node's agent. */
  backend?: string;
  /** net.skiff.io/vtep-mac (vxlan). */
  vtepMAC?: string;
}

/** The node's InternalIP from status.addresses (IPv4 only). */
export function internalIP(node: Node): string | undefined {
  const a = node.status?.addresses?.find((x) => x.type === "InternalIP" && isIPv4(x.address));
  return a?.address;
}

export function nodeNet(node: Node): NodeNet {
  const ann = node.metadata.annotations ?? {};
  const podCIDR = node.spec?.podCIDR;
  const published = ann[publicIPAnnotation];
  const publicIP = published && isIPv4(published) ? published : internalIP(node);
  const mac = ann[vtepMACAnnotation]?.toLowerCase();
  return {
    name: node.metadata.name ?? "",
    ...(podCIDR && isCIDR(podCIDR) && !podCIDR.includes(":") ? { podCIDR } : {}),
    ...(publicIP ? { publicIP } : {}),
    ...(ann[backendTypeAnnotation] ? { backend: ann[backendTypeAnnotation] } : {}),
    ...(mac && isMAC(mac) ? { vtepMAC: mac } : {}),
  };
}

/** The annotations this agent publishes on its own Node. */
export function ownAnnotations(
  backend: Backend,
  publicIP: string,
  vtepMAC?: string,
): Record<string, string> {
  return {
    [backendTypeAnnotation]: backend,
    [publicIPAnnotation]: publicIP,
    ...(backend === "vxlan" && vtepMAC ? { [vtepMACAnnotation]: vtepMAC } : {}),
  };
}

/**
 * The merge patch that makes the Node carry `want` (and drop a VTEP MAC when not vxlan), or
 * undefined when it already does — so a restart with nothing changed writes nothing.
 */
export function annotationPatch(node: Node, want: Record<string, string>): object | undefined {
  const have = node.metadata.annotations ?? {};
  const changes: Record<string, string | null> = {};
  for (const [k, v] of Object.entries(want)) if (have[k] !== v) changes[k] = v;
  if (!(vtepMACAnnotation in want) && vtepMACAnnotation in have) changes[vtepMACAnnotation] = null;
  return Object.keys(changes).length ? { metadata: { annotations: changes } } : undefined;
}
