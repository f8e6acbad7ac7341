// IPVS generic-netlink messages (linux/include/uapi/linux/ip_vs.h): encodes the requests
// (family lookup, add/change/remove/dump virtual and real servers) and decodes the replies.
//
// Wire format: nlmsghdr (len u32, type u16 = the family id the kernel gave "IPVS",
// flags u16, seq u32, pid u32), genlmsghdr (cmd u8, version u8, reserved u16), then
// attributes (len u16, type u16, payload padded to 4 bytes). Integers are in host byte
// order (little-endian here), except ports (__be16) and addresses (network order).

export const IPVS_GENL_NAME = "IPVS";
export const IPVS_GENL_VERSION = 1;

export const IpvsCommand = {
  NEW_SERVICE: 1,
  SET_SERVICE: 2,
  DEL_SERVICE: 3,
  GET_SERVICE: 4,
  NEW_DEST: 5,
  SET_DEST: 6,
  DEL_DEST: 7,
  GET_DEST: 8,
  FLUSH: 17,
} as const;

const CMD_ATTR_SERVICE = 1;
const CMD_ATTR_DEST = 2;

const SVC_ATTR = {
  AF: 1,
  PROTOCOL: 2,
  ADDR: 3,
  PORT: 4,
  SCHED_NAME: 6,
  FLAGS: 7,
  TIMEOUT: 8,
  NETMASK: 9,
} as const;
const DEST_ATTR = {
  ADDR: 1,
  PORT: 2,
  FWD_METHOD: 3,
  WEIGHT: 4,
  U_THRESH: 5,
  L_THRESH: 6,
  ADDR_FAMILY: 11,
} as const;

const NLM_F_REQUEST = 0x1;
const NLM_F_ACK = 0x4;
/** NLM_F_ROOT | NLM_F_MATCH: "all of them" (a dump ends with NLMSG_DONE, not an ACK). */
const NLM_F_DUMP = 0x300;
const NLA_F_NESTED = 0x8000;
const NLA_TYPE_MASK = 0x3fff;

/** Netlink's own message types (include/uapi/linux/netlink.h). */
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
/** Flag on every part of a multi-part reply. */
export const NLM_F_MULTI = 0x2;

/** The generic-netlink controller ("nlctrl") answers family lookups (linux/genetlink.h). */
export const GENL_ID_CTRL = 16;
const CTRL_CMD_NEWFAMILY = 1;
const CTRL_CMD_GETFAMILY = 3;
const CTRL_ATTR_FAMILY_ID = 1;
const CTRL_ATTR_FAMILY_NAME = 2;
const CTRL_VERSION = 1;
const AF_INET = 2;
const IPPROTO = { TCP: 6, UDP: 17, SCTP: 132 } as const;
export type IpvsProtocol = keyof typeof IPPROTO;
/** IP_VS_CONN_F_* forwarding methods. */
export const ForwardMethod = { masq: 0, local: 1, tunnel: 2, droute: 3, bypass: 4 } as const;
/** IP_VS_SVC_F_PERSISTENT: ClientIP session affinity. */
export const IP_VS_SVC_F_PERSISTENT = 0x1;
/** IP_VS_SVC_F_HASHED: set by the kernel on every service it holds; not ours to compare. */
export const IP_VS_SVC_F_HASHED = 0x2;

export interface VirtualServer {
  address: string;
  protocol: IpvsProtocol;
  port: number;
  /** Scheduler name, e.g. "rr" (kube-proxy's default). */
  scheduler?: string;
  flags?: number;
  /** Persistence timeout in seconds (session affinity). */
  timeout?: number;
}

export interface RealServer {
  address: string;
  port: number;
  weight?: number;
  forwardMethod?: keyof typeof ForwardMethod;
}

export interface MessageHeader {
  familyId: number;
  seq: number;
  pid?: number;
}

function attr(type: number, payload: Buffer): Buffer {
  const len = 4 + payload.length;
  const out = Buffer.alloc((len + 3) & ~3);
  out.writeUInt16LE(len, 0);
  out.writeUInt16LE(type, 2);
  payload.copy(out, 4);
  return out;
}

const u16 = (v: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(v);
  return b;
};
const u32 = (v: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return b;
};
const be16 = (v: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v);
  return b;
};
const ipv4 = (ip: string): Buffer => {
  const parts = ip.split(".").map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255))
    throw new Error(`not an IPv4 address: ${ip}`);
  return Buffer.from(parts);
};
const nested = (type: number, attrs: Buffer[]): Buffer =>
  attr(type | NLA_F_NESTED, Buffer.concat(attrs));

/** The attributes that name a virtual server (enough for delete, and for dest commands). */
function serviceId(s: VirtualServer): Buffer[] {
  return [
    attr(SVC_ATTR.AF, u16(AF_INET)),
    attr(SVC_ATTR.PROTOCOL, u16(IPPROTO[s.protocol])),
    attr(SVC_ATTR.ADDR, ipv4(s.address)),
    attr(SVC_ATTR.PORT, be16(s.port)),
  ];
}

/** A new service needs the full entry: scheduler, flags (value and mask), timeout, netmask. */
function serviceFull(s: VirtualServer): Buffer[] {
  const flags = Buffer.concat([u32(s.flags ?? 0), u32(0xffffffff)]);
  return [
    ...serviceId(s),
    attr(SVC_ATTR.SCHED_NAME, Buffer.from(`${s.scheduler ?? "rr"}\0`)),
    attr(SVC_ATTR.FLAGS, flags),
    attr(SVC_ATTR.TIMEOUT, u32(s.timeout ?? 0)),
    attr(SVC_ATTR.NETMASK, u32(0xffffffff)),
  ];
}

function destId(d: RealServer): Buffer[] {
  return [attr(DEST_ATTR.ADDR, ipv4(d.address)), attr(DEST_ATTR.PORT, be16(d.port))];
}

function destFull(d: RealServer): Buffer[] {
  return [
    ...destId(d),
    attr(DEST_ATTR.FWD_METHOD, u32(ForwardMethod[d.forwardMethod ?? "masq"])),
    attr(DEST_ATTR.WEIGHT, u32(d.weight ?? 1)),
    attr(DEST_ATTR.U_THRESH, u32(0)),
    attr(DEST_ATTR.L_THRESH, u32(0)),
    attr(DEST_ATTR.ADDR_FAMILY, u16(AF_INET)),
  ];
}

function message(
  h: MessageHeader,
  cmd: number,
  attrs: Buffer[],
  flags = NLM_F_REQUEST | NLM_F_ACK,
  version = IPVS_GENL_VERSION,
): Buffer {
  const body = Buffer.concat([Buffer.from([cmd, version, 0, 0]), ...attrs]);
  const header = Buffer.alloc(16);
  header.writeUInt32LE(16 + body.length, 0);
  header.writeUInt16LE(h.familyId, 4);
  header.writeUInt16LE(flags, 6);
  header.writeUInt32LE(h.seq >>> 0, 8);
  header.writeUInt32LE((h.pid ?? 0) >>> 0, 12);
  return Buffer.concat([header, body]);
}

export function newService(h: MessageHeader, s: VirtualServer): Buffer {
  return message(h, IpvsCommand.NEW_SERVICE, [nested(CMD_ATTR_SERVICE, serviceFull(s))]);
}

/** IPVS_CMD_SET_SERVICE: changes scheduler, flags or timeout of an existing service. */
export function setService(h: MessageHeader, s: VirtualServer): Buffer {
  return message(h, IpvsCommand.SET_SERVICE, [nested(CMD_ATTR_SERVICE, serviceFull(s))]);
}

export function delService(h: MessageHeader, s: VirtualServer): Buffer {
  return message(h, IpvsCommand.DEL_SERVICE, [nested(CMD_ATTR_SERVICE, serviceId(s))]);
}

export function newDest(h: MessageHeader, s: VirtualServer, d: RealServer): Buffer {
  return message(h, IpvsCommand.NEW_DEST, [
    nested(CMD_ATTR_SERVICE, serviceId(s)),
    nested(CMD_ATTR_DEST, destFull(d)),
  ]);
}

/** IPVS_CMD_SET_DEST: changes weight or forwarding method of an existing real server. */
export function setDest(h: MessageHeader, s: VirtualServer, d: RealServer): Buffer {
  return message(h, IpvsCommand.SET_DEST, [
    nested(CMD_ATTR_SERVICE, serviceId(s)),
    nested(CMD_ATTR_DEST, destFull(d)),
  ]);
}

export function delDest(h: MessageHeader, s: VirtualServer, d: RealServer): Buffer {
  return message(h, IpvsCommand.DEL_DEST, [
    nested(CMD_ATTR_SERVICE, serviceId(s)),
    nested(CMD_ATTR_DEST, destId(d)),
  ]);
}

/** CTRL_CMD_GETFAMILY to nlctrl: which id did the kernel give the family `name`? */
export function getFamily(h: Omit<MessageHeader, "familyId">, name: string): Buffer {
  return message(
    { ...h, familyId: GENL_ID_CTRL },
    CTRL_CMD_GETFAMILY,
    [attr(CTRL_ATTR_FAMILY_NAME, Buffer.from(`${name}\0`))],
    NLM_F_REQUEST | NLM_F_ACK,
    CTRL_VERSION,
  );
}

/** IPVS_CMD_GET_SERVICE as a dump: every virtual server, one NEW_SERVICE message each. */
export function getServices(h: MessageHeader): Buffer {
  return message(h, IpvsCommand.GET_SERVICE, [], NLM_F_REQUEST | NLM_F_DUMP);
}

/** IPVS_CMD_GET_DEST as a dump: the real servers of one virtual server. */
export function getDests(h: MessageHeader, s: VirtualServer): Buffer {
  return message(
    h,
    IpvsCommand.GET_DEST,
    [nested(CMD_ATTR_SERVICE, serviceId(s))],
    NLM_F_REQUEST | NLM_F_DUMP,
  );
}

// ---- Decoding what the kernel sends back ----

/** One message of a datagram: its header and what follows the 16-byte nlmsghdr. */
export interface NetlinkMessage {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  payload: Buffer;
}

/** Splits a datagram into its messages (each starts on a 4-byte boundary). */
export function splitMessages(data: Buffer): NetlinkMessage[] {
  const out: NetlinkMessage[] = [];
  let at = 0;
  while (at + 16 <= data.length) {
    const len = data.readUInt32LE(at);
    if (len < 16 || at + len > data.length) throw new Error(`bad netlink message length ${len}`);
    out.push({
      type: data.readUInt16LE(at + 4),
      flags: data.readUInt16LE(at + 6),
      seq: data.readUInt32LE(at + 8),
      pid: data.readUInt32LE(at + 12),
      payload: data.subarray(at + 16, at + len),
    });
    at += (len + 3) & ~3;
  }
  return out;
}

/** NLMSG_ERROR's code: 0 is an ACK, otherwise minus the errno. */
export function errorCode(m: NetlinkMessage): number {
  if (m.type !== NLMSG_ERROR || m.payload.length < 4) throw new Error("not an NLMSG_ERROR");
  return m.payload.readInt32LE(0);
}

/** Attributes by type (nested and byte-order flags masked off); the last one of a type wins. */
export function parseAttrs(data: Buffer): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  let at = 0;
  while (at + 4 <= data.length) {
    const len = data.readUInt16LE(at);
    if (len < 4 || at + len > data.length) break; // a truncated tail: ignore it
    out.set(data.readUInt16LE(at + 2) & NLA_TYPE_MASK, data.subarray(at + 4, at + len));
    at += (len + 3) & ~3;
  }
  return out;
}

/** The attributes after the genlmsghdr of a generic-netlink message, and its command. */
function genlBody(m: NetlinkMessage): { cmd: number; attrs: Map<number, Buffer> } {
  if (m.payload.length < 4) throw new Error("generic netlink message without genlmsghdr");
  return { cmd: m.payload.readUInt8(0), attrs: parseAttrs(m.payload.subarray(4)) };
}

/** The family id in nlctrl's CTRL_CMD_NEWFAMILY reply (undefined for anything else). */
export function decodeFamily(m: NetlinkMessage): { id: number; name: string } | undefined {
  if (m.type !== GENL_ID_CTRL) return undefined;
  const { cmd, attrs } = genlBody(m);
  const id = attrs.get(CTRL_ATTR_FAMILY_ID);
  const name = attrs.get(CTRL_ATTR_FAMILY_NAME);
  if (cmd !== CTRL_CMD_NEWFAMILY || !id || id.length < 2 || !name) return undefined;
  return { id: id.readUInt16LE(0), name: cstring(name) };
}

const cstring = (b: Buffer): string => {
  const nul = b.indexOf(0);
  return b.subarray(0, nul < 0 ? b.length : nul).toString();
};

const readU32 = (b: Buffer | undefined): number | undefined =>
  b && b.length >= 4 ? b.readUInt32LE(0) : undefined;

/** The kernel sends union nf_inet_addr (16 bytes); an IPv4 address is the first 4. */
const readIPv4 = (b: Buffer | undefined): string | undefined =>
  b && b.length >= 4 ? [...b.subarray(0, 4)].join(".") : undefined;

const protocolNames = new Map<number, IpvsProtocol>(
  Object.entries(IPPROTO).map(([name, n]) => [n, name as IpvsProtocol]),
);

/**
 * A virtual server from one message of the GET_SERVICE dump. Undefined for what Skiff never
 * makes (IPv6, firewall-mark services, other protocols), so that callers leave it alone.
 */
export function decodeService(m: NetlinkMessage): VirtualServer | undefined {
  const outer = genlBody(m).attrs.get(CMD_ATTR_SERVICE);
  if (!outer) return undefined;
  const a = parseAttrs(outer);
  const af = a.get(SVC_ATTR.AF);
  const proto = a.get(SVC_ATTR.PROTOCOL);
  const port = a.get(SVC_ATTR.PORT);
  const address = readIPv4(a.get(SVC_ATTR.ADDR));
  if (!af || af.readUInt16LE(0) !== AF_INET || !proto || !port || !address) return undefined;
  const protocol = protocolNames.get(proto.readUInt16LE(0));
  if (!protocol) return undefined;
  const sched = a.get(SVC_ATTR.SCHED_NAME);
  return {
    address,
    protocol,
    port: port.readUInt16BE(0),
    scheduler: sched ? cstring(sched) : "",
    flags: readU32(a.get(SVC_ATTR.FLAGS)) ?? 0,
    timeout: readU32(a.get(SVC_ATTR.TIMEOUT)) ?? 0,
  };
}

/** A real server from one message of the GET_DEST dump (undefined unless IPv4). */
export function decodeDest(m: NetlinkMessage): RealServer | undefined {
  const outer = genlBody(m).attrs.get(CMD_ATTR_DEST);
  if (!outer) return undefined;
  const a = parseAttrs(outer);
  const family = a.get(DEST_ATTR.ADDR_FAMILY);
  // Kernels before 4.14 send no ADDR_FAMILY: the service's family (IPv4 for Skiff) applies.
  if (family && family.readUInt16LE(0) !== AF_INET) return undefined;
  const address = readIPv4(a.get(DEST_ATTR.ADDR));
  const port = a.get(DEST_ATTR.PORT);
  if (!address || !port) return undefined;
  const fwd = (readU32(a.get(DEST_ATTR.FWD_METHOD)) ?? 0) & 0x7; // IP_VS_CONN_F_FWD_MASK
  const method = (Object.keys(ForwardMethod) as (keyof typeof ForwardMethod)[]).find(
    (k) => ForwardMethod[k] === fwd,
  );
  return {
    address,
    port: port.readUInt16BE(0),
    weight: readU32(a.get(DEST_ATTR.WEIGHT)) ?? 0,
    ...(method ? { forwardMethod: method } : {}),
  };
}
