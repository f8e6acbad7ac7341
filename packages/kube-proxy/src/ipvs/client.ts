// The kernel's IPVS table through generic netlink: list, add, change and remove virtual
// servers and their real servers (what `ipvsadm -Ln`, `-A`, `-E`, `-D`, `-a`, `-e`, `-d` do).
import type { MessageHeader, RealServer, VirtualServer } from "./netlink.js";
import {
  IPVS_GENL_NAME,
  decodeDest,
  decodeFamily,
  decodeService,
  delDest,
  delService,
  getDests,
  getFamily,
  getServices,
  newDest,
  newService,
  setDest,
  setService,
} from "./netlink.js";
import { NetlinkConnection, NetlinkError } from "./socket.js";

const ENOENT = 2;

/** What the IPVS proxier needs from the kernel; an in-memory one stands in for it in tests. */
export interface Ipvs {
  getServices(): Promise<VirtualServer[]>;
  getDestinations(s: VirtualServer): Promise<RealServer[]>;
  newService(s: VirtualServer): Promise<void>;
  setService(s: VirtualServer): Promise<void>;
  delService(s: VirtualServer): Promise<void>;
  newDest(s: VirtualServer, d: RealServer): Promise<void>;
  setDest(s: VirtualServer, d: RealServer): Promise<void>;
  delDest(s: VirtualServer, d: RealServer): Promise<void>;
  close(): void;
}

/** Resolves a generic-netlink family's id through nlctrl; undefined when the kernel has none. */
export async function resolveFamily(
  conn: NetlinkConnection,
  name: string,
): Promise<number | undefined> {
  try {
    const replies = await conn.request(0, (h) => getFamily(h, name), `resolve family ${name}`);
    for (const m of replies) {
      const family = decodeFamily(m);
      if (family?.name === name) return family.id;
    }
    return undefined;
  } catch (err) {
    if (err instanceof NetlinkError && err.errno === ENOENT) return undefined;
    throw err;
  }
}

const describe = (s: VirtualServer): string => `${s.protocol} ${s.address}:${s.port}`;

export class IpvsClient implements Ipvs {
  private constructor(
    private readonly conn: NetlinkConnection,
    readonly familyId: number,
  ) {}

  /** Opens a socket and finds the "IPVS" family; undefined (socket closed) without IPVS. */
  static async open(): Promise<IpvsClient | undefined> {
    const conn = new NetlinkConnection();
    try {
      const id = await resolveFamily(conn, IPVS_GENL_NAME);
      if (id !== undefined) return new IpvsClient(conn, id);
    } catch (err) {
      conn.close();
      throw err;
    }
    conn.close();
    return undefined;
  }

  private async send(build: (h: MessageHeader) => Buffer, what: string): Promise<void> {
    await this.conn.request(this.familyId, build, what);
  }

  async getServices(): Promise<VirtualServer[]> {
    const replies = await this.conn.request(this.familyId, getServices, "list IPVS services");
    return replies.map(decodeService).filter((s) => s !== undefined);
  }

  async getDestinations(s: VirtualServer): Promise<RealServer[]> {
    const replies = await this.conn.request(
      this.familyId,
      (h) => getDests(h, s),
      `list real servers of ${describe(s)}`,
    );
    return replies.map(decodeDest).filter((d) => d !== undefined);
  }

  newService(s: VirtualServer): Promise<void> {
    return this.send((h) => newService(h, s), `add ${describe(s)}`);
  }
  setService(s: VirtualServer): Promise<void> {
    return this.send((h) => setService(h, s), `change ${describe(s)}`);
  }
  delService(s: VirtualServer): Promise<void> {
    return this.send((h) => delService(h, s), `remove ${describe(s)}`);
  }
  newDest(s: VirtualServer, d: RealServer): Promise<void> {
    return this.send((h) => newDest(h, s, d), `add ${d.address}:${d.port} to ${describe(s)}`);
  }
  setDest(s: VirtualServer, d: RealServer): Promise<void> {
    return this.send((h) => setDest(h, s, d), `change ${d.address}:${d.port} of ${describe(s)}`);
  }
  delDest(s: VirtualServer, d: RealServer): Promise<void> {
    return this.send((h) => delDest(h, s, d), `remove ${d.address}:${d.port} from ${describe(s)}`);
  }

  close(): void {
    this.conn.close();
  }
}
