// IPv4 addresses and CIDRs as numbers, and the byte forms netlink wants (skiff-net is IPv4 only).
import { isCIDR, isIPv4 } from "@skiff/api";

export interface CIDR {
  /** The network address as an unsigned 32-bit number. */
  network: number;
  prefix: number;
}

/** a.b.c.d → number; throws on anything else. */
export function ipToNumber(ip: string): number {
  if (!isIPv4(ip)) throw new Error(`not an IPv4 address: ${JSON.stringify(ip)}`);
  return ip.split(".").reduce((n, octet) => n * 256 + Number(octet), 0);
}

export function numberToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

function mask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** "10.244.1.7/24" → { network: 10.244.1.0, prefix: 24 }; throws on anything not IPv4/n. */
export function parseCIDR(cidr: string): CIDR {
  const [ip, bits] = cidr.split("/");
  if (!isCIDR(cidr) || ip === undefined || !isIPv4(ip))
    throw new Error(`not an IPv4 CIDR: ${JSON.stringify(cidr)}`);
  const prefix = Number(bits);
  return { network: (ipToNumber(ip) & mask(prefix)) >>> 0, prefix };
}

/** The network address of a CIDR: "10.244.1.0/24" → "10.244.1.0". */
export function networkAddress(cidr: string): string {
  return numberToIp(parseCIDR(cidr).network);
}

/** Whether `inner` lies inside `outer` (equal counts). */
export function cidrContains(outer: string, inner: string): boolean {
  const o = parseCIDR(outer);
  const i = parseCIDR(inner);
  return i.prefix >= o.prefix && (i.network & mask(o.prefix)) >>> 0 === o.network;
}

/** A CIDR as iptables prints it: host bits cleared ("10.1.2.3/16" → "10.1.0.0/16"). */
export function canonicalCIDR(cidr: string): string {
  const c = parseCIDR(cidr);
  return `${numberToIp(c.network)}/${c.prefix}`;
}

/** Whether two CIDRs share any address. */
export function cidrOverlaps(a: string, b: string): boolean {
  return cidrContains(a, b) || cidrContains(b, a);
}

export function ipToBytes(ip: string): Buffer {
  return Buffer.from(ip.split(".").map(Number));
}

export function bytesToIp(b: Uint8Array): string {
  return Array.from(b).join(".");
}

/** "aa:bb:cc:dd:ee:ff" → 6 bytes; throws on anything else. */
export function macToBytes(mac: string): Buffer {
  if (!isMAC(mac)) throw new Error(`not a MAC address: ${JSON.stringify(mac)}`);
  return Buffer.from(mac.split(":").map((h) => parseInt(h, 16)));
}

export function bytesToMac(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(":");
}

export function isMAC(s: string): boolean {
  return /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(s);
}
