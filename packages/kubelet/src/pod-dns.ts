// A pod's resolv.conf from its dnsPolicy and dnsConfig, the kubelet's --cluster-dns and
// --cluster-domain, and the node's own resolver (--resolv-conf): a pure decision, as
// Kubernetes' kubelet makes it.
//
//   ClusterFirst             the cluster DNS, the pod's namespace search path, ndots:5;
//                            a hostNetwork pod gets the node's resolver instead
//   ClusterFirstWithHostNet  the cluster DNS, also for hostNetwork pods
//   Default                  the node's resolver (what --resolv-conf names)
//   None                     only spec.dnsConfig
// Then spec.dnsConfig is appended: nameservers and searches without duplicates, options
// merged by name (the pod's win). No cluster DNS configured: ClusterFirst falls back to Default.
import type { PodSpec } from "@skiff/api";
import type { DNSConfig } from "./runtime/runtime.js";

/** The C library reads at most 3 nameservers, 32 search domains of at most 2048 characters. */
export const maxNameservers = 3;
export const maxSearches = 32;
export const maxSearchChars = 2048;

export interface PodDNSInput {
  namespace: string;
  spec: Pick<PodSpec, "dnsPolicy" | "dnsConfig" | "hostNetwork">;
  clusterDNS: string[];
  clusterDomain: string;
  /** The node's resolver as --resolv-conf names it (empty when there is none). */
  hostDNS: DNSConfig;
}

export interface PodDNSDecision {
  dns: DNSConfig;
  /** Why the result differs from what was asked (Warning events, with Kubernetes' reasons). */
  warnings: { reason: "MissingClusterDNS" | "DNSConfigForming"; message: string }[];
}

export const noDNS: DNSConfig = { servers: [], searches: [], options: [] };

export function podDNSConfig(input: PodDNSInput): PodDNSDecision {
  const { spec, clusterDNS, clusterDomain, hostDNS } = input;
  const warnings: PodDNSDecision["warnings"] = [];
  const policy = spec.dnsPolicy ?? "ClusterFirst";
  let kind: "cluster" | "host" | "none" =
    policy === "None"
      ? "none"
      : policy === "Default" || (policy === "ClusterFirst" && spec.hostNetwork === true)
        ? "host"
        : "cluster";
  if (kind === "cluster" && clusterDNS.length === 0) {
    warnings.push({
      reason: "MissingClusterDNS",
      message: `kubelet does not have ClusterDNS IP configured and cannot create Pod using "${policy}" policy. Falling back to "Default" policy.`,
    });
    kind = "host";
  }
  let base: DNSConfig = noDNS;
  if (kind === "host") base = hostDNS;
  if (kind === "cluster") {
    const domain = clusterDomain.replace(/\.$/, "");
    const ns = input.namespace;
    base = {
      servers: clusterDNS,
      searches: [
        ...(domain ? [`${ns}.svc.${domain}`, `svc.${domain}`, domain] : []),
        ...hostDNS.searches,
      ],
      options: ["ndots:5"],
    };
  }
  const extra = spec.dnsConfig ?? {};
  const extraOptions = (extra.options ?? [])
    .filter((o) => o.name)
    .map((o) => (o.value === undefined ? o.name! : `${o.name}:${o.value}`));
  let servers = unique([...base.servers, ...(extra.nameservers ?? [])]);
  if (servers.length > maxNameservers) {
    warnings.push({
      reason: "DNSConfigForming",
      message: `Nameserver limits were exceeded, some nameservers have been omitted, the applied nameserver line is: ${servers.slice(0, maxNameservers).join(" ")}`,
    });
    servers = servers.slice(0, maxNameservers);
  }
  let searches = unique([...base.searches, ...(extra.searches ?? [])]);
  const fitting = fitSearches(searches);
  if (fitting.length < searches.length) {
    warnings.push({
      reason: "DNSConfigForming",
      message: `Search Line limits were exceeded, some search paths have been omitted, the applied search line is: ${fitting.join(" ")}`,
    });
    searches = fitting;
  }
  return {
    dns: { servers, searches, options: mergeOptions(base.options, extraOptions) },
    warnings,
  };
}

/**
 * The node's resolver from its resolv.conf text. Loopback nameservers are left out: a pod has
 * a loopback of its own, where the node's local stub resolver does not listen.
 */
export function parseResolvConf(text: string): DNSConfig {
  const servers: string[] = [];
  let searches: string[] = [];
  const options: string[] = [];
  for (const raw of text.split("\n")) {
    const [word, ...args] = raw
      .replace(/[#;].*/, "")
      .trim()
      .split(/\s+/);
    if (word === "nameserver" && args[0] && !/^(127\.|::1$)/.test(args[0])) servers.push(args[0]);
    if (word === "search" || word === "domain") searches = args.filter(Boolean);
    if (word === "options") options.push(...args.filter(Boolean));
  }
  return { servers, searches, options };
}

function unique(xs: string[]): string[] {
  return [...new Set(xs.filter(Boolean))];
}

function fitSearches(searches: string[]): string[] {
  const out: string[] = [];
  let chars = 0;
  for (const s of searches) {
    if (out.length >= maxSearches || chars + s.length + (out.length ? 1 : 0) > maxSearchChars)
      break;
    chars += s.length + (out.length ? 1 : 0);
    out.push(s);
  }
  return out;
}

/** Options by name ("ndots:5" is named ndots); a later one replaces an earlier one of its name. */
function mergeOptions(base: string[], extra: string[]): string[] {
  const byName = new Map<string, string>();
  for (const o of [...base, ...extra]) byName.set(o.split(":")[0]!, o);
  return [...byName.values()];
}
