// Names the Kubernetes DNS specification derives from IP addresses.
import { isIP, isIPv4 } from "node:net";

/** Every group of an IPv6 address, 4 hex digits each ("fd00::1" → ["fd00","0000",…,"0001"]). */
function ipv6Groups(ip: string): string[] {
  const [head = "", tail] = ip.toLowerCase().split("::") as [string, string | undefined];
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const fill = tail === undefined ? [] : Array<string>(8 - left.length - right.length).fill("0");
  return [...left, ...fill, ...right].map((g) => g.padStart(4, "0"));
}

/** The PTR owner name of an address, lower case without the final dot. */
export function reverseName(ip: string): string | undefined {
  if (isIPv4(ip)) return `${ip.split(".").reverse().join(".")}.in-addr.arpa`;
  if (isIP(ip) !== 6 || ip.includes(".")) return undefined; // (IPv4-mapped forms: not ours)
  const nibbles = ipv6Groups(ip).join("").split("").reverse();
  return `${nibbles.join(".")}.ip6.arpa`;
}

/** An address as one DNS label: 10.244.1.5 → 10-244-1-5, fd00::1 → fd00--1. */
export function dashed(ip: string): string {
  return ip.toLowerCase().replace(/[.:]/g, "-");
}

/** The address a pod label names (the inverse of dashed), or undefined if it names none. */
export function ipOfLabel(label: string): string | undefined {
  const v4 = label.replace(/-/g, ".");
  if (isIPv4(v4)) return v4;
  const v6 = label.replace(/-/g, ":");
  if (isIP(v6) === 6) return canonicalIPv6(v6);
  return undefined;
}

/** One spelling per IPv6 address, so that label and pod status compare equal. */
export function canonicalIP(ip: string): string {
  return isIP(ip) === 6 ? canonicalIPv6(ip) : ip;
}

function canonicalIPv6(ip: string): string {
  return ipv6Groups(ip)
    .map((g) => g.replace(/^0+(?=.)/, ""))
    .join(":");
}
