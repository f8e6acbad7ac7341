// IPVS mode's two pure decisions: which virtual servers the Services and EndpointSlices ask
// for (one per ClusterIP:port/protocol, one per NodePort on each node address; real servers
// are the ready endpoints, masqueraded), and which netlink operations turn the kernel's table
// into that, touching only virtual servers Skiff owns.
import type { EndpointSlice, NodeInfo, Protocol, Service, ServicePort } from "../types.js";
import { portProtocol, serviceNameLabel } from "../types.js";
import type { RealServer, VirtualServer } from "./netlink.js";
import { IP_VS_SVC_F_HASHED, IP_VS_SVC_F_PERSISTENT } from "./netlink.js";

/** kube-proxy's --ipvs-scheduler default: round robin. */
export const defaultScheduler = "rr";
/** sessionAffinityConfig.clientIP.timeoutSeconds default (3 hours). */
const defaultAffinitySeconds = 10800;

export interface VirtualServerState {
  service: VirtualServer;
  destinations: RealServer[];
}

export interface IpvsDesiredState {
  /** Keyed by virtualServerKey. */
  virtualServers: Map<string, VirtualServerState>;
  /** ClusterIPs to bind on kube-ipvs0, so that the kernel takes their packets as local. */
  clusterIPs: string[];
  /** NodePorts whose traffic is masqueraded (externalTrafficPolicy Cluster). */
  masqueradeNodePorts: { protocol: Protocol; port: number }[];
  /** Local endpoint IPs: a pod reaching itself through a service must be masqueraded. */
  localEndpointIPs: string[];
}

export interface DesiredInput {
  services: readonly Service[];
  endpointSlices: readonly EndpointSlice[];
  node: NodeInfo;
  scheduler?: string;
}

export const virtualServerKey = (s: VirtualServer): string =>
  `${s.protocol}/${s.address}:${s.port}`;

const isIPv4 = (ip: string): boolean => /^\d{1,3}(\.\d{1,3}){3}$/.test(ip);

interface Endpoint {
  ip: string;
  port: number;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  isLocal: boolean;
}

/** The endpoints of one service port: its named or numbered port resolved per slice. */
function endpointsFor(port: ServicePort, slices: EndpointSlice[], nodeName: string): Endpoint[] {
  const protocol = port.protocol ?? "TCP";
  const seen = new Map<string, Endpoint>();
  for (const slice of slices) {
    const sp = (slice.ports ?? []).find(
      (p) => (p.name ?? "") === (port.name ?? "") && (p.protocol ?? "TCP") === protocol,
    );
    if (!sp?.port) continue;
    for (const ep of slice.endpoints) {
      const ip = ep.addresses[0]; // kube-proxy uses the first address only
      if (!ip || !isIPv4(ip) || seen.has(`${ip}:${sp.port}`)) continue;
      const c = ep.conditions ?? {};
      seen.set(`${ip}:${sp.port}`, {
        ip,
        port: sp.port,
        ready: c.ready ?? true,
        serving: c.serving ?? true,
        terminating: c.terminating ?? false,
        isLocal: ep.nodeName === nodeName,
      });
    }
  }
  return [...seen.values()];
}

/** Ready endpoints; with none, those still serving while terminating (as iptables mode). */
function usable(eps: Endpoint[]): Endpoint[] {
  const ready = eps.filter((e) => e.ready);
  return ready.length > 0 ? ready : eps.filter((e) => e.serving && e.terminating);
}

const realServers = (eps: Endpoint[]): RealServer[] =>
  eps
    .map((e) => ({ address: e.ip, port: e.port, weight: 1, forwardMethod: "masq" as const }))
    .sort((a, b) => compareAddr(a.address, b.address) || a.port - b.port);

function compareAddr(a: string, b: string): number {
  const n = (ip: string): number => ip.split(".").reduce((v, o) => v * 256 + Number(o), 0);
  return n(a) - n(b);
}

export function buildDesiredState(input: DesiredInput): IpvsDesiredState {
  const slicesByService = new Map<string, EndpointSlice[]>();
  for (const slice of input.endpointSlices) {
    const name = slice.metadata.labels?.[serviceNameLabel];
    if (!name || slice.addressType !== "IPv4") continue;
    const key = `${slice.metadata.namespace ?? "default"}/${name}`;
    slicesByService.set(key, [...(slicesByService.get(key) ?? []), slice]);
  }
  const nodeAddresses = input.node.addresses.filter(isIPv4);
  const state: IpvsDesiredState = {
    virtualServers: new Map(),
    clusterIPs: [],
    masqueradeNodePorts: [],
    localEndpointIPs: [],
  };
  const clusterIPs = new Set<string>();
  const localIPs = new Set<string>();
  const add = (service: VirtualServer, eps: Endpoint[]): void => {
    state.virtualServers.set(virtualServerKey(service), {
      service,
      destinations: realServers(eps),
    });
    for (const e of eps) if (e.isLocal) localIPs.add(e.ip);
  };

  for (const svc of input.services) {
    const { spec } = svc;
    const clusterIP = spec.clusterIP ?? spec.clusterIPs?.[0] ?? "";
    // Headless and ExternalName services have no virtual IP: DNS answers for them.
    if (spec.type === "ExternalName" || !isIPv4(clusterIP)) continue;
    const namespace = svc.metadata.namespace ?? "default";
    const slices = slicesByService.get(`${namespace}/${svc.metadata.name}`) ?? [];
    const affinity =
      spec.sessionAffinity === "ClientIP"
        ? {
            flags: IP_VS_SVC_F_PERSISTENT,
            timeout: spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? defaultAffinitySeconds,
          }
        : { flags: 0, timeout: 0 };
    const scheduler = input.scheduler ?? defaultScheduler;
    const nodePortType = spec.type === "NodePort" || spec.type === "LoadBalancer";
    for (const port of spec.ports ?? []) {
      const protocol = portProtocol(port);
      if (!protocol) continue;
      const all = usable(endpointsFor(port, slices, input.node.name));
      const local = usable(endpointsFor(port, slices, input.node.name).filter((e) => e.isLocal));
      clusterIPs.add(clusterIP);
      add(
        { address: clusterIP, protocol, port: port.port, scheduler, ...affinity },
        spec.internalTrafficPolicy === "Local" ? local : all,
      );
      if (!nodePortType || !port.nodePort) continue;
      const keepSource = spec.externalTrafficPolicy === "Local";
      for (const address of nodeAddresses)
        add(
          { address, protocol, port: port.nodePort, scheduler, ...affinity },
          keepSource ? local : all,
        );
      // With policy Local the client's address is kept: only local endpoints answer.
      if (!keepSource) state.masqueradeNodePorts.push({ protocol, port: port.nodePort });
    }
  }
  state.clusterIPs = [...clusterIPs].sort(compareAddr);
  state.localEndpointIPs = [...localIPs].sort(compareAddr);
  state.masqueradeNodePorts.sort((a, b) => a.port - b.port || a.protocol.localeCompare(b.protocol));
  return state;
}

/** One change to the kernel's IPVS table. */
export type IpvsOperation =
  | { op: "newService" | "setService" | "delService"; service: VirtualServer }
  | { op: "newDest" | "setDest" | "delDest"; service: VirtualServer; dest: RealServer };

/** The NodePort range, kube-apiserver's --service-node-port-range default. */
export const defaultNodePortRange = { min: 30000, max: 32767 };

/**
 * Skiff's virtual servers: those on the service range, and those on a node address in the
 * NodePort range. Anything else in the table (someone's keepalived, say) is left alone.
 */
export function ownedBy(
  serviceCIDR: string,
  nodeAddresses: readonly string[],
  nodePortRange = defaultNodePortRange,
): (s: VirtualServer) => boolean {
  const inRange = cidrContains(serviceCIDR);
  const nodes = new Set(nodeAddresses);
  return (s) =>
    inRange(s.address) ||
    (nodes.has(s.address) && s.port >= nodePortRange.min && s.port <= nodePortRange.max);
}

/** A predicate for "address is in this IPv4 CIDR". */
export function cidrContains(cidr: string): (ip: string) => boolean {
  const [base = "", bits = "32"] = cidr.split("/");
  const prefix = Number(bits);
  const mask = prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0;
  const toInt = (ip: string): number =>
    ip.split(".").reduce((v, o) => ((v << 8) | Number(o)) >>> 0, 0);
  const net = (toInt(base) & mask) >>> 0;
  return (ip) => isIPv4(ip) && (toInt(ip) & mask) >>> 0 === net;
}

const sameService = (a: VirtualServer, b: VirtualServer): boolean =>
  (a.scheduler ?? defaultScheduler) === (b.scheduler ?? defaultScheduler) &&
  ((a.flags ?? 0) & ~IP_VS_SVC_F_HASHED) === ((b.flags ?? 0) & ~IP_VS_SVC_F_HASHED) &&
  (a.timeout ?? 0) === (b.timeout ?? 0);

// Older kernels report a real server on a local address as "local" whatever was asked:
// the same as masq for Skiff, and no reason to rewrite it on every sync.
const forwarding = (d: RealServer): string =>
  d.forwardMethod === "local" ? "masq" : (d.forwardMethod ?? "masq");

const sameDest = (a: RealServer, b: RealServer): boolean =>
  (a.weight ?? 1) === (b.weight ?? 1) && forwarding(a) === forwarding(b);

const destKey = (d: RealServer): string => `${d.address}:${d.port}`;

/**
 * The operations that turn `current` (the kernel's table; destinations need only be listed
 * for virtual servers that are also desired) into `desired`. New real servers are added
 * before old ones go, and virtual servers are removed last, so traffic keeps a target.
 */
export function planSync(
  current: ReadonlyMap<string, VirtualServerState>,
  desired: ReadonlyMap<string, VirtualServerState>,
  owned: (s: VirtualServer) => boolean,
): IpvsOperation[] {
  const adds: IpvsOperation[] = [];
  const removes: IpvsOperation[] = [];
  for (const [key, want] of desired) {
    const have = current.get(key);
    const service = want.service;
    if (!have) {
      adds.push({ op: "newService", service });
      for (const dest of want.destinations) adds.push({ op: "newDest", service, dest });
      continue;
    }
    if (!sameService(have.service, service)) adds.push({ op: "setService", service });
    const existing = new Map(have.destinations.map((d) => [destKey(d), d]));
    for (const dest of want.destinations) {
      const d = existing.get(destKey(dest));
      if (!d) adds.push({ op: "newDest", service, dest });
      else if (!sameDest(d, dest)) adds.push({ op: "setDest", service, dest });
      existing.delete(destKey(dest));
    }
    for (const dest of existing.values()) removes.push({ op: "delDest", service, dest });
  }
  for (const [key, have] of current)
    if (!desired.has(key) && owned(have.service))
      removes.push({ op: "delService", service: have.service });
  return [...adds, ...removes];
}
