// Encoder for IPVS generic-netlink messages (linux/include/uapi/linux/ip_vs.h): add and
// remove virtual servers (services) and real servers (destinations).
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
const NLA_F_NESTED = 0x8000;
const AF_INET = 2;
const IPPROTO = { TCP: 6, UDP: 17, SCTP: 132 } as const;
/** IP_VS_CONN_F_* forwarding methods. */
export const ForwardMethod = { masq: 0, tunnel: 2, droute: 3 } as const;
/** IP_VS_SVC_F_PERSISTENT: ClientIP session affinity. */
export const IP_VS_SVC_F_PERSISTENT = 0x1;

export interface VirtualServer {
  address: string;
  protocol: keyof typeof IPPROTO;
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

function message(h: MessageHeader, cmd: number, attrs: Buffer[]): Buffer {
  const body = Buffer.concat([Buffer.from([cmd, IPVS_GENL_VERSION, 0, 0]), ...attrs]);
  const header = Buffer.alloc(16);
  header.writeUInt32LE(16 + body.length, 0);
  header.writeUInt16LE(h.familyId, 4);
  header.writeUInt16LE(NLM_F_REQUEST | NLM_F_ACK, 6);
  header.writeUInt32LE(h.seq >>> 0, 8);
  header.writeUInt32LE((h.pid ?? 0) >>> 0, 12);
  return Buffer.concat([header, body]);
}

export function newService(h: MessageHeader, s: VirtualServer): Buffer {
  return message(h, IpvsCommand.NEW_SERVICE, [nested(CMD_ATTR_SERVICE, serviceFull(s))]);
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

export function delDest(h: MessageHeader, s: VirtualServer, d: RealServer): Buffer {
  return message(h, IpvsCommand.DEL_DEST, [
    nested(CMD_ATTR_SERVICE, serviceId(s)),
    nested(CMD_ATTR_DEST, destId(d)),
  ]);
}
