// A pure function from (services, endpoint slices, node, options, last sync) to the
// iptables-restore input for the filter and nat tables, in kube-proxy's chain layout.
// One file past ~600 lines on purpose: the layout, the chain names and the rule writers are
// one algorithm read top to bottom (as kube-proxy's proxier.go), which splitting would scatter.
//
// Layout (as kube-proxy's iptables mode, Kubernetes 1.31):
//   nat    PREROUTING/OUTPUT -> KUBE-SERVICES -> KUBE-SVC-<h> (Cluster policy) | KUBE-SVL-<h> (Local)
//          KUBE-SERVICES (last rule, dst-type LOCAL) -> KUBE-NODEPORTS -> KUBE-EXT-<h> -> SVC/SVL
//          SVC/SVL pick an endpoint with -m statistic -> KUBE-SEP-<h> (hairpin mark + DNAT)
//          POSTROUTING -> KUBE-POSTROUTING (masquerade what KUBE-MARK-MASQ marked)
//   filter KUBE-SERVICES / KUBE-EXTERNAL-SERVICES REJECT services without endpoints,
//          KUBE-FORWARD accepts marked traffic, KUBE-FIREWALL guards localhost NodePorts.
//
// Skiff's one change of layout, for scale ("compact", chosen by default once the cluster has
// more endpoints than kube-proxy's largeClusterEndpointsThreshold): the endpoint rules live in
// the SVC/SVL chain itself instead of one KUBE-SEP chain per endpoint. iptables-nft finds a
// chain by walking a name-sorted list, so a restore slows with the square of the chain count:
// here 10,000 services x 3 endpoints load in 82 s as 40,000 chains, 1.7 s as 10,000
// (scripts/bench/proxy-rules.ts). Behaviour is kept (same balancing; affinity lists still
// named KUBE-SEP-<h>) but for one thing: a backend that calls its own Service is masqueraded
// even when it lands on a peer, since the hairpin mark cannot ride on the random choice.
import type { EndpointSlice, NodeInfo, Service, ServicePort } from "../types.js";
import { serviceNameLabel } from "../types.js";
import {
  clusterPolicyChain,
  endpointChain,
  externalChain,
  isServiceChainName,
  kubeExternalServicesChain,
  kubeForwardChain,
  kubeletFirewallChain,
  kubeMarkMasqChain,
  kubeNodePortsChain,
  kubePostroutingChain,
  kubeProxyFirewallChain,
  kubeServicesChain,
  localPolicyChain,
  portProtoHash,
  serviceChainPrefixes,
  servicePortName,
} from "./chains.js";

export type Layout = "kube-proxy" | "compact";

export interface ProxyOptions {
  /** Pod network of the whole cluster: traffic from outside it to a ClusterIP is masqueraded. */
  clusterCIDR: string;
  /**
   * The service range. Known, the compact layout masquerades off-cluster traffic to ClusterIPs
   * with one rule at the top of KUBE-SERVICES instead of one per service.
   */
  serviceCIDR?: string;
  /** Masquerade all traffic to ClusterIPs (kube-proxy --masquerade-all). */
  masqueradeAll?: boolean;
  /** Bit of the packet mark that asks for SNAT (kube-proxy --iptables-masquerade-bit, 14). */
  masqueradeBit?: number;
  /** NodePorts answer on 127.0.0.1 too (kube-proxy --iptables-localhost-nodeports, true). */
  localhostNodePorts?: boolean;
  /** Addresses NodePorts answer on; default every local address (dst-type LOCAL). */
  nodePortAddresses?: string[];
  /** Default: "kube-proxy", or "compact" above largeClusterEndpointsThreshold endpoints. */
  layout?: Layout;
  /** kube-proxy's large-cluster mode (fewer comments, compact layout) starts above this. */
  largeClusterEndpointsThreshold?: number;
}

/** What one service port looked like when it was last written; kept between syncs. */
export interface ServicePortRecord {
  name: string;
  protocol: string;
  clusterIP: string;
  nodePort: number;
  externalIPs: string[];
  /** Endpoints ("ip:port") traffic may be sent to; used for conntrack clean-up. */
  endpoints: string[];
  /** nat chains owned by this service port, and the exact text that filled them. */
  chains: string[];
  text: string;
}

/** The rules of the last successful sync, keyed by the service port's chain hash. */
export interface ProxyState {
  servicePorts: Map<string, ServicePortRecord>;
  /** What the next sync may reuse instead of writing it again. */
  cache?: RulesCache;
}

/**
 * Work of the last sync kept for the next: a service whose object and slices are the same
 * objects as last time (the proxier replaces an object only when it changes) keeps its
 * service ports, and a service port that is the same keeps its rule text, as long as the
 * options, node and layout they were written for (`context`) are the same too.
 */
export interface RulesCache {
  /** Endpoints are local or not by the node's name: a service's ports hold for one node. */
  nodeName: string;
  context: string;
  services: Map<string, { service: Service; slices: EndpointSlice[]; ports: ServicePortInfo[] }>;
  outputs: Map<string, WrittenServicePort>;
  /** The text of each fixed chain ("nat KUBE-SERVICES") as the kernel holds it. */
  fixedChains: Map<string, string>;
}

export interface WrittenServicePort {
  sp: ServicePortInfo;
  out: ServicePortOutput;
  text: string;
  rules: number;
}

export interface RulesInput {
  services: readonly Service[];
  endpointSlices: readonly EndpointSlice[];
  node: NodeInfo;
  options: ProxyOptions;
  /**
   * The state after the last successful sync. Service ports whose chains did not change since
   * are left out of the input (they keep their rules in the kernel): a partial sync.
   */
  previous?: ProxyState;
  /** Write every chain even if unchanged (repairs drift); previous still names stale chains. */
  fullSync?: boolean;
  /** nat chains now in the kernel: service chains among them that nobody wants are deleted. */
  existingChains?: ReadonlySet<string>;
}

export interface RulesResult {
  /** iptables-restore --noflush input for both tables. */
  restore: string;
  state: ProxyState;
  stats: {
    servicePorts: number;
    endpoints: number;
    written: number;
    deletedChains: number;
    natChains: number;
    /** Rules in our chains of both tables after this sync (kubeproxy_sync_proxy_rules_iptables_total). */
    rules: number;
  };
}

function countRules(lines: readonly string[]): number {
  let n = 0;
  for (const l of lines) if (l.startsWith("-A ")) n++;
  return n;
}

export interface EndpointInfo {
  ip: string;
  /** "ip:port", kube-proxy's endpoint string. */
  endpoint: string;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  isLocal: boolean;
}

export interface ServicePortInfo {
  hash: string;
  name: string;
  protocol: string;
  clusterIP: string;
  port: number;
  nodePort: number;
  externalIPs: string[];
  affinitySeconds: number | undefined;
  internalLocal: boolean;
  externalLocal: boolean;
  externallyAccessible: boolean;
  endpoints: EndpointInfo[];
}

const defaultAffinitySeconds = 10800;
const nodePortsComment = `"kubernetes service nodeports; NOTE: this must be the last rule in this chain"`;

/** Go's fmt "%0.10f" of 1/n, as kube-proxy writes it (iptables-save shows 1/3 as 0.33333333349). */
export function probability(n: number): string {
  return (1 / n).toFixed(10);
}

/** Quote a comment as kube-proxy does when it holds spaces. */
function comment(text: string): string {
  return /\s/.test(text) ? `"${text}"` : text;
}

export function buildRules(input: RulesInput): RulesResult {
  const { options, previous } = input;
  const mark = "0x" + (1 << (options.masqueradeBit ?? 14)).toString(16);
  const localhostNodePorts = options.localhostNodePorts ?? true;
  const known = previous?.cache;
  const cache: RulesCache = {
    nodeName: input.node.name,
    context: "",
    services: new Map(),
    outputs: new Map(),
    fixedChains: new Map(),
  };
  const sameNode = known?.nodeName === input.node.name;
  const ports = collectServicePorts(input, sameNode ? known : undefined, cache.services);
  const totalEndpoints = ports.reduce((n, p) => n + p.endpoints.length, 0);
  const largeCluster = totalEndpoints > (options.largeClusterEndpointsThreshold ?? 1000);
  const layout: Layout = options.layout ?? (largeCluster ? "compact" : "kube-proxy");
  const globalMasquerade = layout === "compact" && options.serviceCIDR !== undefined;
  const ctx: WriteContext = { options, mark, largeCluster, layout, globalMasquerade };
  cache.context = JSON.stringify([
    options.clusterCIDR,
    options.serviceCIDR,
    options.masqueradeAll,
    options.masqueradeBit,
    options.localhostNodePorts,
    options.nodePortAddresses,
    layout,
    largeCluster,
    globalMasquerade,
  ]);
  const outputs = sameNode && known?.context === cache.context ? known.outputs : undefined;

  const filter: string[] = ["*filter"];
  for (const c of [
    kubeServicesChain,
    kubeExternalServicesChain,
    kubeForwardChain,
    kubeNodePortsChain,
    kubeProxyFirewallChain,
  ]) {
    filter.push(`:${c} - [0:0]`);
  }
  if (localhostNodePorts) {
    // Exposing NodePorts on 127.0.0.1 needs route_localnet, which would let other hosts reach
    // localhost-bound sockets; this rule closes that hole (https://issue.k8s.io/90259).
    filter.push(`:${kubeletFirewallChain} - [0:0]`);
    filter.push(
      `-A ${kubeletFirewallChain} -m comment --comment "block incoming localnet connections" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP`,
    );
  }

  const nat: string[] = ["*nat"];
  for (const c of [kubeServicesChain, kubeNodePortsChain, kubePostroutingChain, kubeMarkMasqChain])
    nat.push(`:${c} - [0:0]`);
  nat.push(
    `-A ${kubePostroutingChain} -m mark ! --mark ${mark}/${mark} -j RETURN`,
    // Clear the mark so a packet that goes through the stack again is not masqueraded twice.
    `-A ${kubePostroutingChain} -j MARK --xor-mark ${mark}`,
    `-A ${kubePostroutingChain} -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully`,
    `-A ${kubeMarkMasqChain} -j MARK --set-xmark ${mark}/${mark}`,
  );
  if (globalMasquerade) {
    // Same effect as the per-service rule: a packet to the range that no service takes is
    // rejected anyway, so marking it changes nothing.
    const from = options.masqueradeAll ? "" : ` ! -s ${options.clusterCIDR}`;
    nat.push(
      `-A ${kubeServicesChain} -m comment --comment "masquerade off-cluster traffic to ClusterIPs"${from} -d ${options.serviceCIDR} -j ${kubeMarkMasqChain}`,
    );
  }

  const state: ProxyState = { servicePorts: new Map() };
  let written = 0;
  // Rules in every service port's chains (written now or not), to count all rules below.
  let serviceRules = 0;
  // iptables-nft finds a chain by walking a name-sorted list from its head. Creating chains in
  // reverse name order puts each new one at the head of its group, where the rules that fill
  // it and the jump to it find it at once: a load from scratch stays linear.
  ports.sort((a, b) => (a.hash < b.hash ? 1 : a.hash > b.hash ? -1 : 0));
  for (const sp of ports) {
    let output = outputs?.get(sp.hash);
    if (output?.sp !== sp) {
      const out = writeServicePort(sp, ctx);
      output = { sp, out, text: out.chainText.join("\n"), rules: countRules(out.chainText) };
    }
    cache.outputs.set(sp.hash, output);
    const out = output.out;
    filter.push(...out.filterRules);
    const record: ServicePortRecord = {
      name: sp.name,
      protocol: sp.protocol,
      clusterIP: sp.clusterIP,
      nodePort: sp.nodePort,
      externalIPs: sp.externalIPs,
      endpoints: out.endpoints,
      chains: out.chains,
      text: output.text,
    };
    state.servicePorts.set(sp.hash, record);
    const before = previous?.servicePorts.get(sp.hash);
    serviceRules += output.rules;
    if (input.fullSync || !before || before.text !== record.text) {
      nat.push(...out.chainText);
      written++;
    }
    nat.push(...out.entryRules);
  }

  // Chains nobody wants any more (from the last sync, or found in the kernel, say from an
  // earlier run) are flushed and deleted last, after every chain that jumped to them has been
  // rewritten.
  const wanted = new Set<string>();
  for (const r of state.servicePorts.values()) for (const c of r.chains) wanted.add(c);
  const stale = new Set<string>();
  for (const r of previous?.servicePorts.values() ?? [])
    for (const c of r.chains) if (!wanted.has(c)) stale.add(c);
  for (const c of input.existingChains ?? [])
    if (isServiceChainName(c) && !wanted.has(c)) stale.add(c);
  const group = (c: string): number => serviceChainPrefixes.findIndex((p) => c.startsWith(p));
  const deletions = [...stale].sort((a, b) => group(a) - group(b) || (a < b ? -1 : a > b ? 1 : 0));
  for (const chain of deletions) nat.push(`:${chain} - [0:0]`, `-X ${chain}`);
  const deletedChains = deletions.length;

  // Finally, the jump to the NodePorts chain: it must stay the last rule of KUBE-SERVICES.
  if (options.nodePortAddresses && options.nodePortAddresses.length > 0) {
    for (const ip of options.nodePortAddresses) {
      if (ip.startsWith("127.") && !localhostNodePorts) continue;
      nat.push(
        `-A ${kubeServicesChain} -m comment --comment ${nodePortsComment} -d ${ip} -j ${kubeNodePortsChain}`,
      );
    }
  } else {
    const notLocalhost = localhostNodePorts ? "" : " ! -d 127.0.0.0/8";
    nat.push(
      `-A ${kubeServicesChain} -m comment --comment ${nodePortsComment} -m addrtype --dst-type LOCAL${notLocalhost} -j ${kubeNodePortsChain}`,
    );
  }

  filter.push(
    // INVALID packets would otherwise be reset by the endpoint (kubernetes#74839).
    `-A ${kubeForwardChain} -m conntrack --ctstate INVALID -j DROP`,
    `-A ${kubeForwardChain} -m comment --comment "kubernetes forwarding rules" -m mark --mark ${mark}/${mark} -j ACCEPT`,
    `-A ${kubeForwardChain} -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
  );

  // kube-proxy rewrites KUBE-SERVICES and the other fixed chains on every sync; at 10,000
  // services that is most of a partial sync's iptables-restore. Here a partial sync leaves
  // out a fixed chain whose text the kernel already holds (the canary and the full syncs
  // repair drift, as they do for service chains).
  const before = input.fullSync ? undefined : known?.fixedChains;
  const f = fixedChainsToWrite("filter", filter, filterFixedChains, before, cache.fixedChains);
  const n = fixedChainsToWrite("nat", nat, natFixedChains, before, cache.fixedChains);
  state.cache = cache;

  let natChains = 0;
  for (const r of state.servicePorts.values()) natChains += r.chains.length;
  return {
    restore: [...f.lines, "COMMIT", ...n.lines, "COMMIT", ""].join("\n"),
    state,
    stats: {
      servicePorts: ports.length,
      endpoints: totalEndpoints,
      written,
      deletedChains,
      natChains,
      rules: f.rules + n.rules + serviceRules,
    },
  };
}

const filterFixedChains = new Set([
  kubeServicesChain,
  kubeExternalServicesChain,
  kubeForwardChain,
  kubeNodePortsChain,
  kubeProxyFirewallChain,
  kubeletFirewallChain,
]);
const natFixedChains = new Set([
  kubeServicesChain,
  kubeNodePortsChain,
  kubePostroutingChain,
  kubeMarkMasqChain,
]);

/** The chain a restore line declares (":C - [0:0]") or appends to ("-A C ..."). */
function chainOf(line: string): string | undefined {
  if (line.startsWith(":")) return line.slice(1, line.indexOf(" "));
  if (line.startsWith("-A ")) return line.slice(3, line.indexOf(" ", 3));
  return undefined;
}

/**
 * Records the text of each fixed chain in `after` and drops the lines of those whose text
 * `before` (the kernel's, after the last sync) already holds. Also counts the fixed rules.
 */
function fixedChainsToWrite(
  table: string,
  lines: string[],
  fixed: ReadonlySet<string>,
  before: ReadonlyMap<string, string> | undefined,
  after: Map<string, string>,
): { lines: string[]; rules: number } {
  const byChain = new Map<string, string[]>();
  for (const line of lines) {
    const chain = chainOf(line);
    if (chain === undefined || !fixed.has(chain)) continue;
    const list = byChain.get(chain) ?? [];
    list.push(line);
    byChain.set(chain, list);
  }
  let rules = 0;
  const unchanged = new Set<string>();
  for (const [chain, list] of byChain) {
    rules += countRules(list);
    const text = list.join("\n");
    after.set(`${table} ${chain}`, text);
    if (before?.get(`${table} ${chain}`) === text) unchanged.add(chain);
  }
  if (unchanged.size === 0) return { lines, rules };
  return { lines: lines.filter((l) => !unchanged.has(chainOf(l) ?? "")), rules };
}

interface WriteContext {
  options: ProxyOptions;
  mark: string;
  largeCluster: boolean;
  layout: Layout;
  globalMasquerade: boolean;
}

export interface ServicePortOutput {
  filterRules: string[];
  /** Rules in the shared chains KUBE-SERVICES / KUBE-NODEPORTS (written when those change). */
  entryRules: string[];
  /** Declarations and rules of the chains this service port owns (skipped when unchanged). */
  chainText: string[];
  chains: string[];
  endpoints: string[];
}

/** Endpoints for Cluster and Local policy, as kube-proxy's CategorizeEndpoints. */
function categorize(sp: ServicePortInfo): { cluster: EndpointInfo[]; local: EndpointInfo[] } {
  const pick = (eps: EndpointInfo[]): EndpointInfo[] => {
    const ready = eps.filter((e) => e.ready);
    // No ready endpoint: fall back to those still serving while terminating, so that
    // connections keep working during a rolling update of a whole service.
    return ready.length > 0 ? ready : eps.filter((e) => e.serving && e.terminating);
  };
  return { cluster: pick(sp.endpoints), local: pick(sp.endpoints.filter((e) => e.isLocal)) };
}

function writeServicePort(sp: ServicePortInfo, ctx: WriteContext): ServicePortOutput {
  const out: ServicePortOutput = {
    filterRules: [],
    entryRules: [],
    chainText: [],
    chains: [],
    endpoints: [],
  };
  const { name, protocol, clusterIP, port } = sp;
  const proto = `-m ${protocol} -p ${protocol}`;
  const { cluster, local } = categorize(sp);
  const hasEndpoints = cluster.length > 0 || local.length > 0;

  // Even with externalTrafficPolicy Local, Cluster endpoints serve the short-circuit for
  // traffic from this node and its pods.
  const usesClusterEndpoints = !sp.internalLocal || sp.externallyAccessible;
  const usesLocalEndpoints = sp.internalLocal || sp.externalLocal;
  const svcChain = clusterPolicyChain(sp.hash);
  const svlChain = localPolicyChain(sp.hash);
  const extChain = externalChain(sp.hash);
  const usesSvc = usesClusterEndpoints && cluster.length > 0;
  const usesSvl = usesLocalEndpoints && local.length > 0;
  const internalChain = sp.internalLocal ? svlChain : svcChain;
  const hasInternalEndpoints = sp.internalLocal ? local.length > 0 : hasEndpoints;
  const externalPolicyChain = sp.externalLocal ? svlChain : svcChain;
  const hasExternalEndpoints = sp.externalLocal ? local.length > 0 : hasEndpoints;
  const usesExt = hasEndpoints && sp.externallyAccessible;

  // Filter-table verdicts for traffic that has nowhere to go. REJECT when the service has no
  // endpoints at all, so a client is told at once (ECONNREFUSED) instead of timing out; DROP
  // when only the Local policy leaves it without endpoints.
  const noEndpoints = { comment: `${name} has no endpoints`, target: "REJECT" };
  const noLocalEndpoints = { comment: `${name} has no local endpoints`, target: "DROP" };
  const internalVerdict = !hasEndpoints ? noEndpoints : noLocalEndpoints;
  const externalVerdict = internalVerdict;
  const filterRule = (
    chain: string,
    v: { comment: string; target: string },
    match: string,
  ): string => `-A ${chain} -m comment --comment ${comment(v.comment)} ${match} -j ${v.target}`;

  // Entry points: ClusterIP, external IPs, NodePort.
  const clusterMatch = `-m comment --comment ${comment(`${name} cluster IP`)} ${proto} -d ${clusterIP} --dport ${port}`;
  if (hasInternalEndpoints)
    out.entryRules.push(`-A ${kubeServicesChain} ${clusterMatch} -j ${internalChain}`);
  else
    out.filterRules.push(
      filterRule(kubeServicesChain, internalVerdict, `${proto} -d ${clusterIP} --dport ${port}`),
    );
  for (const ip of sp.externalIPs) {
    if (hasEndpoints) {
      out.entryRules.push(
        `-A ${kubeServicesChain} -m comment --comment ${comment(`${name} external IP`)} ${proto} -d ${ip} --dport ${port} -j ${extChain}`,
      );
    }
    if (!hasExternalEndpoints) {
      out.filterRules.push(
        filterRule(kubeExternalServicesChain, externalVerdict, `${proto} -d ${ip} --dport ${port}`),
      );
    }
  }
  if (sp.nodePort) {
    if (hasEndpoints) {
      out.entryRules.push(
        `-A ${kubeNodePortsChain} -m comment --comment ${comment(name)} ${proto} --dport ${sp.nodePort} -j ${extChain}`,
      );
    }
    if (!hasExternalEndpoints) {
      out.filterRules.push(
        filterRule(
          kubeExternalServicesChain,
          externalVerdict,
          `-m addrtype --dst-type LOCAL ${proto} --dport ${sp.nodePort}`,
        ),
      );
    }
  }

  // The chains this service port owns.
  const reachable = new Map<string, EndpointInfo>();
  if (usesSvc) for (const e of cluster) reachable.set(e.endpoint, e);
  if (usesSvl) for (const e of local) reachable.set(e.endpoint, e);
  out.endpoints = [...reachable.keys()];
  const sepChains = new Map<string, string>();
  // In the compact layout SEP names only name the affinity lists.
  if (ctx.layout === "kube-proxy" || sp.affinitySeconds !== undefined) {
    for (const e of reachable.values())
      sepChains.set(e.endpoint, endpointChain(name, protocol, e.endpoint));
  }

  if (usesExt) out.chains.push(extChain);
  if (usesSvc) out.chains.push(svcChain);
  if (usesSvl) out.chains.push(svlChain);
  if (ctx.layout === "kube-proxy") out.chains.push(...sepChains.values());
  const rules: string[] = [];

  if (hasInternalEndpoints && !ctx.globalMasquerade) {
    if (ctx.options.masqueradeAll) {
      rules.push(`-A ${internalChain} ${clusterMatch} -j ${kubeMarkMasqChain}`);
    } else {
      // Off-cluster traffic to a ClusterIP (someone routed the service range to this node, or
      // the node itself) is masqueraded so that replies come back through this node.
      rules.push(
        `-A ${internalChain} ${clusterMatch} ! -s ${ctx.options.clusterCIDR} -j ${kubeMarkMasqChain}`,
      );
    }
  }

  if (usesExt) {
    if (!sp.externalLocal) {
      rules.push(
        `-A ${extChain} -m comment --comment ${comment(`masquerade traffic for ${name} external destinations`)} -j ${kubeMarkMasqChain}`,
      );
    } else {
      // Pods and the node itself reach a Local-policy service through any endpoint, as if
      // they had gone out to a load balancer and come back.
      rules.push(
        `-A ${extChain} -m comment --comment ${comment(`pod traffic for ${name} external destinations`)} -s ${ctx.options.clusterCIDR} -j ${svcChain}`,
        `-A ${extChain} -m comment --comment ${comment(`masquerade LOCAL traffic for ${name} external destinations`)} -m addrtype --src-type LOCAL -j ${kubeMarkMasqChain}`,
        `-A ${extChain} -m comment --comment ${comment(`route LOCAL traffic for ${name} external destinations`)} -m addrtype --src-type LOCAL -j ${svcChain}`,
      );
    }
    if (hasExternalEndpoints) rules.push(`-A ${extChain} -j ${externalPolicyChain}`);
  }

  if (usesSvc) writeEndpointRules(rules, sp, svcChain, cluster, sepChains, ctx);
  if (usesSvl) writeEndpointRules(rules, sp, svlChain, local, sepChains, ctx);

  if (ctx.layout === "kube-proxy") {
    for (const e of reachable.values()) {
      const sep = sepChains.get(e.endpoint)!;
      const c = ctx.largeCluster ? "" : ` -m comment --comment ${comment(name)}`;
      rules.push(`-A ${sep}${c} -s ${e.ip} -j ${kubeMarkMasqChain}`);
      const affinity = sp.affinitySeconds !== undefined ? ` -m recent --name ${sep} --set` : "";
      rules.push(`-A ${sep}${c}${affinity} ${proto} -j DNAT --to-destination ${e.endpoint}`);
    }
  }

  out.chainText = [...out.chains.map((c) => `:${c} - [0:0]`), ...rules];
  return out;
}

/** From a policy chain to its endpoints: sticky rules first, then the random choice. */
function writeEndpointRules(
  rules: string[],
  sp: ServicePortInfo,
  chain: string,
  endpoints: EndpointInfo[],
  sepChains: Map<string, string>,
  ctx: WriteContext,
): void {
  const proto = `-m ${sp.protocol} -p ${sp.protocol}`;
  const c = (e: EndpointInfo): string =>
    ctx.largeCluster ? "" : ` -m comment --comment ${comment(`${sp.name} -> ${e.endpoint}`)}`;
  const compact = ctx.layout === "compact";
  // Compact layout: the hairpin mark (a pod reaching itself through its Service must be
  // masqueraded) cannot ride on the random choice, so an endpoint's own traffic is marked
  // whichever endpoint it lands on. Only this node's pods send through this node's rules, except
  // for Local-policy external traffic from other nodes' pods (the "pod traffic" short cut).
  if (compact) {
    for (const e of endpoints.filter((e) => e.isLocal || sp.externalLocal))
      rules.push(
        `-A ${chain}${ctx.largeCluster ? "" : ` -m comment --comment ${comment(sp.name)}`} -s ${e.ip} -j ${kubeMarkMasqChain}`,
      );
  }
  const target = (e: EndpointInfo): string => {
    const sep = sepChains.get(e.endpoint);
    if (!compact) return `-j ${sep}`;
    const refresh = sp.affinitySeconds !== undefined ? `-m recent --name ${sep} --set ` : "";
    return `${refresh}${proto} -j DNAT --to-destination ${e.endpoint}`;
  };
  if (sp.affinitySeconds !== undefined) {
    for (const e of endpoints) {
      const sep = sepChains.get(e.endpoint)!;
      rules.push(
        `-A ${chain}${c(e)} -m recent --name ${sep} --rcheck --seconds ${sp.affinitySeconds} --reap ${target(e)}`,
      );
    }
  }
  endpoints.forEach((e, i) => {
    const n = endpoints.length - i;
    const chance = n > 1 ? ` -m statistic --mode random --probability ${probability(n)}` : "";
    rules.push(`-A ${chain}${c(e)}${chance} ${target(e)}`);
  });
}

function isIPv4(ip: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(ip);
}

/** Flattens services and their slices into service ports with their endpoints. */
function collectServicePorts(
  input: RulesInput,
  cache: RulesCache | undefined,
  services: RulesCache["services"],
): ServicePortInfo[] {
  const slicesByService = new Map<string, EndpointSlice[]>();
  for (const slice of input.endpointSlices) {
    const svc = slice.metadata.labels?.[serviceNameLabel];
    if (!svc || slice.addressType !== "IPv4") continue;
    const key = `${slice.metadata.namespace ?? "default"}/${svc}`;
    const list = slicesByService.get(key) ?? [];
    list.push(slice);
    slicesByService.set(key, list);
  }

  const result: ServicePortInfo[] = [];
  for (const svc of input.services) {
    const key = `${svc.metadata.namespace ?? "default"}/${svc.metadata.name}`;
    const slices = slicesByService.get(key) ?? [];
    const before = cache?.services.get(key);
    if (before?.service === svc && sameItems(before.slices, slices)) {
      services.set(key, before);
      result.push(...before.ports);
      continue;
    }
    const ports = servicePorts(svc, slices, input.node.name);
    services.set(key, { service: svc, slices, ports });
    result.push(...ports);
  }
  return result;
}

function sameItems<T>(a: readonly T[], b: readonly T[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function servicePorts(svc: Service, slices: EndpointSlice[], nodeName: string): ServicePortInfo[] {
  const result: ServicePortInfo[] = [];
  const { spec } = svc;
  const clusterIP = spec.clusterIP ?? spec.clusterIPs?.[0] ?? "";
  // Headless services and ExternalName have no virtual IP: DNS handles them.
  if (spec.type === "ExternalName" || !isIPv4(clusterIP)) return [];
  const namespace = svc.metadata.namespace ?? "default";
  const externallyAccessibleType = spec.type === "NodePort" || spec.type === "LoadBalancer";
  for (const port of spec.ports ?? []) {
    const protocol = (port.protocol ?? "TCP").toLowerCase();
    const name = servicePortName(namespace, svc.metadata.name ?? "", port.name);
    const nodePort = externallyAccessibleType ? (port.nodePort ?? 0) : 0;
    const externalIPs = (spec.externalIPs ?? []).filter(isIPv4);
    const externallyAccessible = nodePort !== 0 || externalIPs.length > 0;
    result.push({
      hash: portProtoHash(name, protocol),
      name,
      protocol,
      clusterIP,
      port: port.port,
      nodePort,
      externalIPs,
      affinitySeconds:
        spec.sessionAffinity === "ClientIP"
          ? (spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? defaultAffinitySeconds)
          : undefined,
      internalLocal: spec.internalTrafficPolicy === "Local",
      externalLocal: externallyAccessible && spec.externalTrafficPolicy === "Local",
      externallyAccessible,
      endpoints: endpointsFor(port, slices, nodeName),
    });
  }
  return result;
}

/** The endpoints of one service port: the slice's port of the same name carries the number. */
function endpointsFor(
  port: ServicePort,
  slices: EndpointSlice[],
  nodeName: string,
): EndpointInfo[] {
  const seen = new Map<string, EndpointInfo>();
  const protocol = port.protocol ?? "TCP";
  for (const slice of slices) {
    const sp = (slice.ports ?? []).find(
      (p) => (p.name ?? "") === (port.name ?? "") && (p.protocol ?? "TCP") === protocol,
    );
    if (!sp?.port) continue;
    for (const ep of slice.endpoints) {
      // kube-proxy uses an endpoint's first address only.
      const ip = ep.addresses[0];
      if (!ip || !isIPv4(ip)) continue;
      const endpoint = `${ip}:${sp.port}`;
      if (seen.has(endpoint)) continue;
      const c = ep.conditions ?? {};
      seen.set(endpoint, {
        ip,
        endpoint,
        // Unset ready/serving mean true; unset terminating means false (discovery/v1).
        ready: c.ready ?? true,
        serving: c.serving ?? true,
        terminating: c.terminating ?? false,
        isLocal: ep.nodeName === nodeName,
      });
    }
  }
  return [...seen.values()].sort((a, b) => compareEndpoints(a.endpoint, b.endpoint));
}

function compareEndpoints(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
