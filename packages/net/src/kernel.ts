// The netlink side of skiff-net: reads what it owns in the kernel (its VXLAN device, its routes,
// the device's neighbours and FDB) into a NetState, and carries out a plan's actions — all over
// one rtnetlink socket (the netlink package), never one `ip` process per entry. A socket
// belongs to the network namespace of the process that opened it.
import { AttrStream, FlagsNew, createRtNetlink, ifla } from "netlink";
import type { RtNetlinkSocket, rt } from "netlink";
import { bytesToIp, bytesToMac, ipToBytes, macToBytes, parseCIDR } from "./cidr.js";
import type {
  FdbEntry,
  NeighbourEntry,
  NetAction,
  NetState,
  RouteEntry,
  Uplink,
  VxlanLink,
} from "./plan.js";

/** The rtm_protocol our routes carry (any value iproute2 leaves unnamed): how we find ours. */
export const ROUTE_PROTOCOL = 83;
// The netlink package types rtm_protocol as its enum of named protocols; ours has no name.
const protocol = ROUTE_PROTOCOL as rt.RouteProtocol;
const AF_INET = 2;
const AF_BRIDGE = 7;
const MAIN_TABLE = 254;
/** RTNH_F_ONLINK in rtm_flags: the gateway is on the link even without a matching prefix. */
const RTNH_F_ONLINK = 4;
const createOrReplace = { flags: FlagsNew.CREATE | FlagsNew.REPLACE };

interface LinkInfo {
  index: number;
  name: string;
  mtu: number;
  up: boolean;
  mac?: string;
  linkinfo?: Buffer;
}

/** "10.244.1.0/24" → [its address bytes, 24]. */
function splitCIDR(cidr: string): [Buffer, number] {
  return [ipToBytes(cidr.split("/")[0] ?? ""), parseCIDR(cidr).prefix];
}

/** A deletion of something already gone is not an error: the plan was made a moment ago. */
function isGone(err: unknown): boolean {
  return err instanceof Error && /ENOENT|ESRCH|ENODEV|EADDRNOTAVAIL/.test(err.message);
}

export class Kernel {
  private readonly nl: RtNetlinkSocket;

  constructor() {
    this.nl = createRtNetlink();
  }

  close(): void {
    this.nl.socket.close();
  }

  async links(): Promise<LinkInfo[]> {
    const msgs = await this.nl.getLinks();
    return msgs.map((m) => ({
      index: m.data.index ?? 0,
      name: m.attrs.ifname ?? "",
      mtu: m.attrs.mtu ?? 0,
      up: m.data.flags?.up === true,
      ...(m.attrs.address?.length === 6 ? { mac: bytesToMac(m.attrs.address) } : {}),
      ...(m.attrs.linkinfo ? { linkinfo: m.attrs.linkinfo } : {}),
    }));
  }

  private async linkByName(name: string): Promise<LinkInfo> {
    const link = (await this.links()).find((l) => l.name === name);
    if (!link) throw new Error(`no network device ${name}`);
    return link;
  }

  /** The uplink: the device named, or else the one holding `ip`. */
  async uplink(ip: string, name?: string): Promise<Uplink & { index: number }> {
    const links = await this.links();
    let link: LinkInfo | undefined;
    if (name) {
      link = links.find((l) => l.name === name);
      if (!link) throw new Error(`--iface ${name}: no such network device`);
    } else {
      const addrs = await this.nl.getAddresses({ family: AF_INET });
      const holder = addrs.find((a) => {
        const bytes = a.attrs.local ?? a.attrs.address;
        return bytes !== undefined && bytesToIp(bytes) === ip;
      });
      link = links.find((l) => l.index === holder?.data.index);
      if (!link) throw new Error(`no network device holds the node's address ${ip} (use --iface)`);
    }
    return { name: link.name, index: link.index, mtu: link.mtu };
  }

  /** The VXLAN device `name` as the kernel has it, its index and MAC; undefined if no VXLAN. */
  async vxlanLink(
    name: string,
  ): Promise<{ state: VxlanLink; index: number; mac: string } | undefined> {
    const links = await this.links();
    const link = links.find((l) => l.name === name);
    if (!link?.linkinfo) return undefined;
    const info = ifla.parseInfo(link.linkinfo);
    if (info.kind !== "vxlan" || !info.data) return undefined;
    const vx = ifla.parseVxlan(info.data);
    const addrs = await this.nl.getAddresses({ family: AF_INET });
    const state: VxlanLink = {
      name,
      vni: vx.id ?? 0,
      local: vx.local ? bytesToIp(vx.local) : "",
      port: vx.port ? vx.port.readUInt16BE(0) : 0,
      uplink: links.find((l) => l.index === vx.link)?.name ?? "",
      mtu: link.mtu,
      learning: vx.learning !== 0,
      up: link.up,
      addresses: addrs
        .filter((a) => a.data.index === link.index && (a.attrs.local ?? a.attrs.address))
        .map((a) => `${bytesToIp((a.attrs.local ?? a.attrs.address)!)}/${a.data.prefixlen ?? 32}`),
    };
    return { state, index: link.index, mac: link.mac ?? "" };
  }

  /** What skiff-net owns: the VXLAN device `dev` (if any), our routes, its neighbours and FDB. */
  async observe(dev: string): Promise<NetState> {
    const links = await this.links();
    const nameOf = (index: number | undefined): string =>
      links.find((l) => l.index === index)?.name ?? "";
    const link = await this.vxlanLink(dev);
    const routes: RouteEntry[] = (await this.nl.getRoutes({ family: AF_INET }))
      .filter((r) => r.data.protocol === protocol && (r.attrs.table ?? r.data.table) === MAIN_TABLE)
      .map((r) => ({
        dst: `${r.attrs.dst ? bytesToIp(r.attrs.dst) : "0.0.0.0"}/${r.data.dstLen ?? 0}`,
        gateway: r.attrs.gateway ? bytesToIp(r.attrs.gateway) : "",
        dev: nameOf(r.attrs.oif),
        onlink: ((r.data.flags?.__unknown ?? 0) & RTNH_F_ONLINK) !== 0,
      }));
    if (!link) return { routes, neighbours: [], fdb: [] };
    const { state, index } = link;
    const neighbours: NeighbourEntry[] = (await this.nl.getNeighbors({ family: AF_INET }))
      .filter(
        (n) => n.data.ifindex === index && n.data.state?.permanent && n.attrs.dst && n.attrs.lladdr,
      )
      .map((n) => ({ ip: bytesToIp(n.attrs.dst!), mac: bytesToMac(n.attrs.lladdr!), dev }));
    const fdb: FdbEntry[] = (await this.nl.getNeighbors({ family: AF_BRIDGE }))
      .filter((n) => n.data.ifindex === index && n.attrs.dst?.length === 4 && n.attrs.lladdr)
      .map((n) => ({ mac: bytesToMac(n.attrs.lladdr!), dst: bytesToIp(n.attrs.dst!), dev }))
      .filter((f) => f.mac !== "00:00:00:00:00:00");
    return { link: state, routes, neighbours, fdb };
  }

  /** Carries out the actions in order; returns the ones that failed (the next sync retries). */
  async apply(actions: readonly NetAction[]): Promise<{ action: NetAction; error: string }[]> {
    const failed: { action: NetAction; error: string }[] = [];
    for (const action of actions) {
      try {
        await this.do(action);
      } catch (err) {
        if (action.op.startsWith("delete") && isGone(err)) continue;
        failed.push({ action, error: err instanceof Error ? err.message : String(err) });
      }
    }
    return failed;
  }

  private async do(a: NetAction): Promise<void> {
    switch (a.op) {
      case "deleteLink":
        return this.deleteLink(a.name);
      case "createLink":
        return this.createVxlan(a.link);
      case "setLink": {
        const link = await this.linkByName(a.name);
        await this.nl.setLink(
          { index: link.index, flags: { up: true }, change: { up: true } },
          { mtu: a.mtu },
        );
        return;
      }
      case "addAddress":
      case "deleteAddress": {
        const link = await this.linkByName(a.dev);
        const [ip, prefixlen] = splitCIDR(a.address);
        const data = { family: AF_INET, prefixlen, index: link.index };
        if (a.op === "addAddress")
          await this.nl.newAddress(data, { local: ip, address: ip }, createOrReplace);
        else await this.nl.delAddress(data, { local: ip, address: ip });
        return;
      }
      case "addRoute":
      case "replaceRoute":
        return this.setRoute(a.route);
      case "deleteRoute":
        return this.deleteRoute(a.route);
      case "addNeighbour":
      case "replaceNeighbour": {
        const link = await this.linkByName(a.neighbour.dev);
        await this.nl.newNeighbor(
          { family: AF_INET, ifindex: link.index, state: { permanent: true } },
          { dst: ipToBytes(a.neighbour.ip), lladdr: macToBytes(a.neighbour.mac) },
          createOrReplace,
        );
        return;
      }
      case "deleteNeighbour": {
        const link = await this.linkByName(a.neighbour.dev);
        await this.nl.delNeighbor(
          { family: AF_INET, ifindex: link.index },
          { dst: ipToBytes(a.neighbour.ip) },
        );
        return;
      }
      case "addFdb":
      case "replaceFdb":
      case "deleteFdb": {
        const link = await this.linkByName(a.fdb.dev);
        const data: rt.Neighbor = {
          family: AF_BRIDGE,
          ifindex: link.index,
          state: { permanent: true },
          flags: { self: true },
        };
        const attrs = { lladdr: macToBytes(a.fdb.mac), dst: ipToBytes(a.fdb.dst) };
        if (a.op === "deleteFdb") await this.nl.delNeighbor(data, attrs);
        else await this.nl.newNeighbor(data, attrs, createOrReplace);
        return;
      }
    }
  }

  /**
   * Creates the VXLAN device through rtnetlink: IFLA_LINKINFO is typed as raw bytes in the
   * netlink package, so its nested kind/data attributes are encoded here with its own
   * formatInfo and formatVxlan.
   */
  private async createVxlan(link: VxlanLink): Promise<void> {
    const uplink = await this.linkByName(link.uplink);
    const port = Buffer.alloc(2);
    port.writeUInt16BE(link.port);
    const data = new AttrStream();
    data.emit(
      ifla.formatVxlan({
        id: link.vni,
        local: ipToBytes(link.local),
        link: uplink.index,
        learning: link.learning ? 1 : 0,
        port,
      }),
    );
    const info = new AttrStream();
    info.emit(ifla.formatInfo({ kind: "vxlan", data: Buffer.concat(data.bufs) }));
    await this.nl.newLink(
      {},
      { ifname: link.name, mtu: link.mtu, linkinfo: Buffer.concat(info.bufs) },
      { flags: FlagsNew.CREATE | FlagsNew.EXCL },
    );
    const created = await this.linkByName(link.name);
    await this.nl.setLink({ index: created.index, flags: { up: true }, change: { up: true } });
    for (const address of link.addresses)
      await this.do({ op: "addAddress", dev: link.name, address });
  }

  async deleteLink(name: string): Promise<void> {
    const link = await this.linkByName(name);
    await this.nl.delLink({ index: link.index });
  }

  private routeMessage(route: RouteEntry, oif: number): [rt.Route, rt.RouteAttrs] {
    const [dst, dstLen] = splitCIDR(route.dst);
    return [
      {
        family: AF_INET,
        dstLen,
        table: MAIN_TABLE,
        protocol,
        scope: "UNIVERSE",
        type: "UNICAST",
        flags: route.onlink ? { __unknown: RTNH_F_ONLINK } : {},
      },
      {
        dst,
        gateway: ipToBytes(route.gateway),
        oif,
      },
    ];
  }

  private async setRoute(route: RouteEntry): Promise<void> {
    const link = await this.linkByName(route.dev);
    const [data, attrs] = this.routeMessage(route, link.index);
    await this.nl.newRoute(data, attrs, createOrReplace);
  }

  private async deleteRoute(route: RouteEntry): Promise<void> {
    const [dst, dstLen] = splitCIDR(route.dst);
    // Only our protocol matches, so a route someone else put there is never taken.
    await this.nl.delRoute(
      { family: AF_INET, dstLen, table: MAIN_TABLE, protocol, scope: "NOWHERE" },
      { dst },
    );
  }

  /** --cleanup: every VXLAN device named skiff.<n> and every route with our protocol. */
  async removeAll(): Promise<{ links: string[]; routes: number }> {
    const state = await this.observe("");
    let routes = 0;
    for (const route of state.routes) {
      try {
        await this.deleteRoute(route);
        routes++;
      } catch (err) {
        if (!isGone(err)) throw err;
      }
    }
    const links: string[] = [];
    for (const l of await this.links()) {
      if (!/^skiff\.\d+$/.test(l.name) || !(await this.vxlanLink(l.name))) continue;
      await this.deleteLink(l.name);
      links.push(l.name);
    }
    return { links, routes };
  }
}
