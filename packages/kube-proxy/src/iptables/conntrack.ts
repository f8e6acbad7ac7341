// Which conntrack entries must go after a sync. UDP and SCTP have no connection close, so an
// entry that points at a removed endpoint (or that was made while a service had no
// endpoints) would keep black-holing a client's flow; TCP needs nothing.
import type { ProxyState, ServicePortRecord } from "./rules.js";

const needsClearing = (r: ServicePortRecord): boolean =>
  r.protocol === "udp" || r.protocol === "sctp";

/** Argument lists for `conntrack`, one deletion each, from the state before and after a sync. */
export function staleConntrackEntries(
  before: ProxyState | undefined,
  after: ProxyState,
): string[][] {
  const out: string[][] = [];
  if (!before) return out;
  for (const [key, old] of before.servicePorts) {
    if (!needsClearing(old)) continue;
    const now = after.servicePorts.get(key);
    const vips = [old.clusterIP, ...old.externalIPs];
    if (!now) {
      // The service port is gone: whatever still points at its addresses is stale.
      for (const ip of vips) out.push(["-D", "-p", old.protocol, "--orig-dst", ip]);
      continue;
    }
    const kept = new Set(now.endpoints);
    for (const endpoint of old.endpoints) {
      if (kept.has(endpoint)) continue;
      const ip = endpoint.slice(0, endpoint.lastIndexOf(":"));
      for (const vip of vips)
        out.push(["-D", "-p", old.protocol, "--orig-dst", vip, "--dst-nat", ip]);
      if (old.nodePort)
        out.push([
          "-D",
          "-p",
          old.protocol,
          "--orig-port-dst",
          String(old.nodePort),
          "--dst-nat",
          ip,
        ]);
    }
    if (old.endpoints.length === 0 && now.endpoints.length > 0) {
      // Packets sent while there was no endpoint created entries to the VIP itself.
      for (const ip of vips) out.push(["-D", "-p", now.protocol, "--orig-dst", ip]);
      if (now.nodePort)
        out.push(["-D", "-p", now.protocol, "--orig-port-dst", String(now.nodePort)]);
    }
  }
  return out;
}
