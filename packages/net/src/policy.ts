// planPolicies: skiff-net's pure decision of the NetworkPolicy rules for this node (calico's
// role), from the Pods, Namespaces and NetworkPolicies the API shows. No I/O: the chains come
// back as `iptables -S` lines, so a table test covers every case and the caller can compare
// them with what the kernel holds.
//
// How Kubernetes' semantics map onto the filter table (all chains SKIFF-NP-*):
// - SKIFF-NP-FORWARD, jumped to from the top of FORWARD, sees every packet a pod of this node
//   sends or receives through the node (pod → pod on the same bridge too, by br_netfilter),
//   after kube-proxy's DNAT, so Service traffic is judged by the backend pod's IP.
// - Replies of allowed connections pass: RELATED,ESTABLISHED returns at once.
// - A local pod selected by a policy of type Egress (Ingress) gets a chain SKIFF-NP-E-<hash>
//   (SKIFF-NP-I-<hash>) for packets from (to) its IP. The chain RETURNs what any rule of any
//   such policy allows (policies add up) and DROPs the rest. A pod no policy selects for a
//   direction has no chain for it: default allow.
// - Our chains never ACCEPT: allowed traffic goes on through FORWARD as if we were not there.
// - A rule allows (peers) × (ports); no peers is every address, no ports every port. Pod and
//   namespace selectors resolve to the pods' IPs (both given: pods matching the pod selector
//   in namespaces matching the namespace selector). An ipBlock with `except` jumps to a chain
//   SKIFF-NP-B-<hash> that returns for the excepted ranges and else sets the mark bit the pod
//   chain then returns on.
// - Named ports resolve per pod: against the target pod's container ports for ingress,
//   against each destination pod's for egress (so a named egress port only reaches pods).
import { createHash } from "node:crypto";
import type { LabelSelector, Namespace, NetworkPolicy, NetworkPolicyPort, Pod } from "@skiff/api";
import { isIPv4, labelSelectorToRequirements, matchesLabels } from "@skiff/api";
import { canonicalCIDR, cidrContains } from "./cidr.js";

export const policyChain = "SKIFF-NP-FORWARD";
export const policyChainPrefix = "SKIFF-NP-";
/** The bit an except chain sets when a packet is inside the block and outside every except. */
export const allowMark = "0x40000";

export interface PolicyInput {
  nodeName: string;
  /** Every pod of the cluster (peers may run anywhere). */
  pods: readonly Pod[];
  namespaces: readonly Namespace[];
  policies: readonly NetworkPolicy[];
}

export interface PolicyPlan {
  /** Chain → its rules as `iptables -S` prints them; empty when nothing is isolated here. */
  chains: Map<string, string[]>;
  /** "namespace/name" of the local pods isolated per direction (for the logs). */
  ingress: string[];
  egress: string[];
}

type Direction = "Ingress" | "Egress";

/** A pod that takes part in policy: has an IPv4 address, is not hostNetwork, not finished. */
interface PodRef {
  key: string;
  namespace: string;
  ip: string;
  pod: Pod;
}

export function podIP(pod: Pod): string | undefined {
  const ips = (pod.status?.podIPs ?? []).map((p) => p.ip);
  if (pod.status?.podIP) ips.push(pod.status.podIP);
  return ips.find((ip) => isIPv4(ip));
}

function podRef(pod: Pod): PodRef | undefined {
  if (pod.spec?.hostNetwork) return undefined;
  const phase = pod.status?.phase;
  if (phase === "Succeeded" || phase === "Failed") return undefined;
  const ip = podIP(pod);
  if (!ip) return undefined;
  const namespace = pod.metadata?.namespace ?? "default";
  return { key: `${namespace}/${pod.metadata?.name ?? ""}`, namespace, ip, pod };
}

const hash = (s: string): string =>
  createHash("sha256").update(s).digest("hex").slice(0, 16).toUpperCase();

function selects(sel: LabelSelector | undefined, labels: Record<string, string> | undefined) {
  if (!sel) return false;
  try {
    return matchesLabels(labelSelectorToRequirements(sel), labels);
  } catch {
    return false; // validation refuses bad selectors; a stored one selects nothing
  }
}

const quote = (s: string) => `"${s}"`;

/** "-p tcp -m tcp --dport 80" style match of one resolved port; "" for every port. */
interface PortMatch {
  protocol: string;
  port?: string;
}

function portArgs(p: PortMatch | undefined): string {
  if (!p) return "";
  const proto = p.protocol.toLowerCase();
  return p.port === undefined ? ` -p ${proto}` : ` -p ${proto} -m ${proto} --dport ${p.port}`;
}

/** A numbered (or protocol-only) port; undefined for a named one. */
function fixedPort(p: NetworkPolicyPort): PortMatch | undefined {
  const protocol = p.protocol ?? "TCP";
  if (p.port === undefined) return { protocol };
  if (typeof p.port === "number")
    return { protocol, port: p.endPort ? `${p.port}:${p.endPort}` : String(p.port) };
  return undefined;
}

/** The named port `p` resolved against `pod`'s container ports, or undefined if it has none. */
function namedPort(p: NetworkPolicyPort, pod: Pod): PortMatch | undefined {
  const protocol = p.protocol ?? "TCP";
  for (const c of pod.spec?.containers ?? [])
    for (const cp of c.ports ?? [])
      if (cp.name === p.port && (cp.protocol ?? "TCP") === protocol)
        return { protocol, port: String(cp.containerPort) };
  return undefined;
}

export function planPolicies(input: PolicyInput): PolicyPlan {
  const refs = input.pods.map(podRef).filter((r): r is PodRef => r !== undefined);
  const nsLabels = new Map(
    input.namespaces.map((n) => {
      const name = n.metadata?.name ?? "";
      return [name, { "kubernetes.io/metadata.name": name, ...n.metadata?.labels }];
    }),
  );
  const local = refs
    .filter((r) => r.pod.spec?.nodeName === input.nodeName)
    .sort((a, b) => (a.key < b.key ? -1 : 1));
  const policies = [...input.policies].sort((a, b) =>
    policyKey(a) < policyKey(b) ? -1 : policyKey(a) > policyKey(b) ? 1 : 0,
  );

  const chains = new Map<string, string[]>();
  const main: string[] = [`-A ${policyChain} -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN`];
  const isolated: Record<Direction, string[]> = { Ingress: [], Egress: [] };

  /** Pods in namespaces matching `nsSel` (or `ns` alone when absent) matching `podSel`. */
  const peerPods = (ns: string, podSel?: LabelSelector, nsSel?: LabelSelector): PodRef[] =>
    refs.filter(
      (r) =>
        (nsSel ? selects(nsSel, nsLabels.get(r.namespace)) : r.namespace === ns) &&
        (podSel ? selects(podSel, r.pod.metadata?.labels) : true),
    );

  for (const dir of ["Egress", "Ingress"] as const) {
    const flag = dir === "Ingress" ? "-s" : "-d"; // how a peer is matched
    for (const target of local) {
      const applying = policies.filter(
        (p) =>
          (p.metadata?.namespace ?? "default") === target.namespace &&
          (p.spec?.policyTypes ?? ["Ingress"]).includes(dir) &&
          selects(p.spec?.podSelector ?? {}, target.pod.metadata?.labels),
      );
      if (applying.length === 0) continue;
      const chain = `${policyChainPrefix}${dir === "Ingress" ? "I" : "E"}-${hash(target.key)}`;
      const lines: string[] = [];
      let marks = false;
      for (const p of applying) {
        const comment = ` -m comment --comment ${quote(policyKey(p))}`;
        const rules =
          dir === "Ingress"
            ? (p.spec?.ingress ?? []).map((r) => ({ ports: r.ports, peers: r.from }))
            : (p.spec?.egress ?? []).map((r) => ({ ports: r.ports, peers: r.to }));
        for (const rule of rules) {
          const ports = rule.ports ?? [];
          const named = ports.filter((x) => typeof x.port === "string");
          const fixed = ports.map(fixedPort).filter((x): x is PortMatch => x !== undefined);
          // Address matches: undefined = anywhere; a string = "-s/-d cidr" plus its excepts.
          const addrs: { cidr?: string; except?: string[] }[] = [];
          // Pods the rule's peers cover, for named egress ports.
          let covered: PodRef[] = [];
          const peers = rule.peers ?? [];
          if (peers.length === 0) {
            addrs.push({});
            covered = refs;
          }
          for (const peer of peers) {
            if (peer.ipBlock) {
              // skiff-net is IPv4 only: IPv6 blocks and excepts match no pod here.
              const cidr = peer.ipBlock.cidr;
              const except = (peer.ipBlock.except ?? []).filter((e) => !e.includes(":"));
              if (!cidr.includes(":")) {
                addrs.push({ cidr: canonicalCIDR(cidr), except: except.map(canonicalCIDR) });
                covered.push(
                  ...refs.filter(
                    (r) =>
                      cidrContains(cidr, `${r.ip}/32`) &&
                      !except.some((e) => cidrContains(e, `${r.ip}/32`)),
                  ),
                );
              }
              continue;
            }
            const pods = peerPods(target.namespace, peer.podSelector, peer.namespaceSelector);
            for (const r of pods) addrs.push({ cidr: `${r.ip}/32` });
            covered.push(...pods);
          }
          const emit = (addr: { cidr?: string; except?: string[] }, port?: PortMatch) => {
            const where = addr.cidr ? ` ${flag} ${addr.cidr}` : "";
            if (addr.except?.length) {
              const block = `${policyChainPrefix}B-${hash(`${dir} ${addr.cidr} ${addr.except.join(",")}`)}`;
              chains.set(block, [
                ...addr.except.map((e) => `-A ${block} ${flag} ${e} -j RETURN`),
                `-A ${block} -j MARK --set-xmark ${allowMark}/${allowMark}`,
              ]);
              lines.push(`-A ${chain}${where}${portArgs(port)}${comment} -j ${block}`);
              marks = true;
            } else {
              lines.push(`-A ${chain}${where}${portArgs(port)}${comment} -j RETURN`);
            }
          };
          // Numbered ports (or every port) for every peer address.
          if (ports.length === 0) for (const a of addrs) emit(a);
          for (const port of fixed) for (const a of addrs) emit(a, port);
          // Named ports: the target's own (ingress), or each destination pod's (egress).
          for (const n of named) {
            if (dir === "Ingress") {
              const port = namedPort(n, target.pod);
              if (port) for (const a of addrs) emit(a, port);
            } else {
              const seen = new Set<string>();
              for (const r of covered) {
                const port = namedPort(n, r.pod);
                const line = port && `${r.ip} ${portArgs(port)}`;
                if (!port || !line || seen.has(line)) continue;
                seen.add(line);
                emit({ cidr: `${r.ip}/32` }, port);
              }
            }
          }
        }
      }
      const body = [...new Set(lines)];
      if (marks) {
        body.unshift(`-A ${chain} -j MARK --set-xmark 0x0/${allowMark}`);
        body.push(`-A ${chain} -m mark --mark ${allowMark}/${allowMark} -j RETURN`);
      }
      body.push(
        `-A ${chain} -m comment --comment ${quote(`${dir.toLowerCase()} of ${target.key} not allowed`)} -j DROP`,
      );
      chains.set(chain, body);
      const own = dir === "Ingress" ? "-d" : "-s";
      main.push(
        `-A ${policyChain} ${own} ${target.ip}/32 -m comment --comment ${quote(`${dir.toLowerCase()} ${target.key}`)} -j ${chain}`,
      );
      isolated[dir].push(target.key);
    }
  }
  if (main.length === 1) return { chains: new Map(), ingress: [], egress: [] };
  chains.set(policyChain, main);
  return { chains, ingress: isolated.Ingress, egress: isolated.Egress };
}

function policyKey(p: NetworkPolicy): string {
  return `${p.metadata?.namespace ?? "default"}/${p.metadata?.name ?? ""}`;
}
