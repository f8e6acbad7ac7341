// planNetwork: skiff-net's pure decision of what to change in the kernel, from the Nodes the
// API shows and the routes, neighbours, FDB entries and VXLAN device the kernel shows. No I/O:
// the caller reads the kernel (kernel.ts), asks for a plan and carries it out, so every case
// is a table test.
//
// The rules:
// - Every other Node with a podCIDR inside the cluster CIDR and an address is routed; a Node
//   without a podCIDR (or, for vxlan, without a published VTEP MAC) is skipped until it has
//   one. So is a Node whose agent publishes another backend, or whose podCIDR overlaps ours
//   or an earlier node's (by name).
// - host-gw: `podCIDR via nodeIP dev uplink`. Nodes must share the uplink's L2 segment.
// - vxlan (flannel's layout): the device skiff.<vni> has our podCIDR's network address /32;
//   per remote node, `podCIDR via its network address dev skiff.<vni> onlink`, a permanent
//   neighbour (that address → the remote VTEP MAC) and an FDB entry (MAC → the node's IP).
// - What the kernel has and the plan does not want is deleted; what differs is replaced;
//   what matches is left alone, so a restart with everything right plans nothing.
// - A VXLAN device whose VNI, local address, port, uplink or learning differ is deleted and
//   made again (the kernel cannot change them in place); everything on it goes with it.
import { cidrContains, cidrOverlaps, networkAddress } from "./cidr.js";
import type { Backend, NodeNet } from "./nodes.js";

/** The VXLAN device, as wanted or as the kernel shows it. */
export interface VxlanLink {
  name: string;
  vni: number;
  /** The local (this node's) IP the tunnel is sourced from. */
  local: string;
  /** UDP destination port. */
  port: number;
  /** The uplink device the tunnel runs over. */
  uplink: string;
  mtu: number;
  learning: boolean;
  up: boolean;
  /** "a.b.c.d/32" */
  addresses: string[];
}

export interface RouteEntry {
  dst: string;
  gateway: string;
  dev: string;
  onlink: boolean;
}

/** A permanent ARP entry on the VXLAN device. */
export interface NeighbourEntry {
  ip: string;
  mac: string;
  dev: string;
}

/** A forwarding entry of the VXLAN device: frames for `mac` go to the node at `dst`. */
export interface FdbEntry {
  mac: string;
  dst: string;
  dev: string;
}

/** The part of the kernel skiff-net owns: its device, its routes, neighbours and FDB. */
export interface NetState {
  link?: VxlanLink;
  routes: RouteEntry[];
  neighbours: NeighbourEntry[];
  fdb: FdbEntry[];
}

export interface Uplink {
  name: string;
  mtu: number;
}

export interface PlanInput {
  backend: Backend;
  clusterCIDR: string;
  vni: number;
  port: number;
  /** This node: its name, podCIDR and IP. */
  self: { name: string; podCIDR: string; publicIP: string };
  uplink: Uplink;
  nodes: readonly NodeNet[];
  observed: NetState;
}

export type NetAction =
  | { op: "deleteLink"; name: string; reason: string }
  | { op: "createLink"; link: VxlanLink }
  | { op: "setLink"; name: string; mtu: number }
  | { op: "addAddress"; dev: string; address: string }
  | { op: "deleteAddress"; dev: string; address: string }
  | { op: "deleteRoute"; route: RouteEntry }
  | { op: "addRoute"; route: RouteEntry }
  | { op: "replaceRoute"; route: RouteEntry; was: RouteEntry }
  | { op: "deleteNeighbour"; neighbour: NeighbourEntry }
  | { op: "addNeighbour"; neighbour: NeighbourEntry }
  | { op: "replaceNeighbour"; neighbour: NeighbourEntry; was: NeighbourEntry }
  | { op: "deleteFdb"; fdb: FdbEntry }
  | { op: "addFdb"; fdb: FdbEntry }
  | { op: "replaceFdb"; fdb: FdbEntry; was: FdbEntry };

export interface SkippedNode {
  name: string;
  reason: string;
}

export interface NetPlan {
  desired: NetState;
  actions: NetAction[];
  skipped: SkippedNode[];
}

/** VXLAN adds 50 bytes of headers (outer Ethernet 14, IP 20, UDP 8, VXLAN 8). */
export const VXLAN_OVERHEAD = 50;

export const vxlanDeviceName = (vni: number): string => `skiff.${vni}`;

/** The routes (and, for vxlan, device, neighbours and FDB) the cluster's Nodes call for. */
export function desiredState(input: Omit<PlanInput, "observed">): {
  desired: NetState;
  skipped: SkippedNode[];
} {
  const { backend, self, uplink } = input;
  const dev = vxlanDeviceName(input.vni);
  const desired: NetState = { routes: [], neighbours: [], fdb: [] };
  if (backend === "vxlan") {
    desired.link = {
      name: dev,
      vni: input.vni,
      local: self.publicIP,
      port: input.port,
      uplink: uplink.name,
      mtu: uplink.mtu - VXLAN_OVERHEAD,
      learning: false,
      up: true,
      addresses: [`${networkAddress(self.podCIDR)}/32`],
    };
  }
  const skipped: SkippedNode[] = [];
  const taken: string[] = [self.podCIDR];
  const nodes = [...input.nodes].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const node of nodes) {
    if (node.name === self.name) continue;
    const skip = (reason: string): void => void skipped.push({ name: node.name, reason });
    const { podCIDR, publicIP } = node;
    if (!podCIDR) skip("no podCIDR yet");
    else if (!publicIP) skip("no InternalIP or public-ip annotation yet");
    else if (!cidrContains(input.clusterCIDR, podCIDR) || podCIDR === input.clusterCIDR)
      skip(`podCIDR ${podCIDR} is not a subnet of the cluster CIDR ${input.clusterCIDR}`);
    else if (taken.some((c) => cidrOverlaps(c, podCIDR)))
      skip(`podCIDR ${podCIDR} overlaps another node's`);
    else if (node.backend && node.backend !== backend)
      skip(`its agent runs the ${node.backend} backend, this one ${backend}`);
    else if (backend === "host-gw") {
      taken.push(podCIDR);
      desired.routes.push({ dst: podCIDR, gateway: publicIP, dev: uplink.name, onlink: false });
    } else if (!node.vtepMAC) skip("no VTEP MAC published yet");
    else {
      taken.push(podCIDR);
      const gateway = networkAddress(podCIDR);
      desired.routes.push({ dst: podCIDR, gateway, dev, onlink: true });
      desired.neighbours.push({ ip: gateway, mac: node.vtepMAC, dev });
      desired.fdb.push({ mac: node.vtepMAC, dst: publicIP, dev });
    }
  }
  return { desired, skipped };
}

function sameLinkIdentity(a: VxlanLink, b: VxlanLink): boolean {
  return (
    a.vni === b.vni &&
    a.local === b.local &&
    a.port === b.port &&
    a.uplink === b.uplink &&
    a.learning === b.learning
  );
}

/**
 * Diffs entries keyed by `key`: deletes what is not wanted, adds what is missing, replaces
 * what differs. Deletes come first in the result, so a replaced key is never deleted after.
 */
function diff<T>(
  want: readonly T[],
  have: readonly T[],
  key: (x: T) => string,
  equal: (a: T, b: T) => boolean,
): { add: T[]; replace: { entry: T; was: T }[]; remove: T[] } {
  const haveBy = new Map<string, T>();
  const remove: T[] = [];
  for (const h of have) {
    if (haveBy.has(key(h))) remove.push(h);
    else haveBy.set(key(h), h);
  }
  const wantKeys = new Set(want.map(key));
  for (const [k, h] of haveBy) if (!wantKeys.has(k)) remove.push(h);
  const add: T[] = [];
  const replace: { entry: T; was: T }[] = [];
  for (const w of want) {
    const h = haveBy.get(key(w));
    if (!h) add.push(w);
    else if (!equal(w, h)) replace.push({ entry: w, was: h });
  }
  return { add, replace, remove };
}

const routeEqual = (a: RouteEntry, b: RouteEntry): boolean =>
  a.gateway === b.gateway && a.dev === b.dev && a.onlink === b.onlink;
const neighbourKey = (n: NeighbourEntry): string => `${n.dev} ${n.ip}`;
const fdbKey = (f: FdbEntry): string => `${f.dev} ${f.mac}`;

/** What to do to make the kernel match the Nodes; empty when it already does. */
export function planNetwork(input: PlanInput): NetPlan {
  const { desired, skipped } = desiredState(input);
  const observed = input.observed;
  const actions: NetAction[] = [];
  const want = desired.link;
  const have = observed.link;
  // Entries on a device that is deleted vanish with it.
  let gone: string | undefined;
  if (have && (!want || !sameLinkIdentity(want, have))) {
    const reason = want ? "its VNI, local IP, port, uplink or learning changed" : "not vxlan";
    actions.push({ op: "deleteLink", name: have.name, reason });
    gone = have.name;
  }
  if (want && (!have || gone)) {
    actions.push({ op: "createLink", link: want });
  } else if (want && have) {
    if (have.mtu !== want.mtu || !have.up)
      actions.push({ op: "setLink", name: want.name, mtu: want.mtu });
    for (const a of want.addresses)
      if (!have.addresses.includes(a))
        actions.push({ op: "addAddress", dev: want.name, address: a });
    for (const a of have.addresses)
      if (!want.addresses.includes(a))
        actions.push({ op: "deleteAddress", dev: want.name, address: a });
  }
  const alive = <T extends { dev: string }>(xs: readonly T[]): T[] =>
    xs.filter((x) => x.dev !== gone);

  const routes = diff(desired.routes, alive(observed.routes), (r) => r.dst, routeEqual);
  const neighbours = diff(
    desired.neighbours,
    alive(observed.neighbours),
    neighbourKey,
    (a, b) => a.mac === b.mac,
  );
  const fdb = diff(desired.fdb, alive(observed.fdb), fdbKey, (a, b) => a.dst === b.dst);
  // Routes go first and come last: nothing is routed through an entry being taken away, and
  // a new route's neighbour and FDB entry are in place before traffic can use it.
  for (const route of routes.remove) actions.push({ op: "deleteRoute", route });
  for (const neighbour of neighbours.remove) actions.push({ op: "deleteNeighbour", neighbour });
  for (const f of fdb.remove) actions.push({ op: "deleteFdb", fdb: f });
  for (const f of fdb.add) actions.push({ op: "addFdb", fdb: f });
  for (const { entry, was } of fdb.replace) actions.push({ op: "replaceFdb", fdb: entry, was });
  for (const neighbour of neighbours.add) actions.push({ op: "addNeighbour", neighbour });
  for (const { entry, was } of neighbours.replace)
    actions.push({ op: "replaceNeighbour", neighbour: entry, was });
  for (const route of routes.add) actions.push({ op: "addRoute", route });
  for (const { entry, was } of routes.replace)
    actions.push({ op: "replaceRoute", route: entry, was });
  return { desired, actions, skipped };
}
