// Is IPVS there? Resolve the generic-netlink family "IPVS" through the kernel's controller;
// the family exists only while the ip_vs module is loaded (or built in).
import type { Logger } from "../types.js";
import { silentLogger } from "../types.js";
import { IPVS_GENL_NAME } from "./netlink.js";
import { NetlinkConnection } from "./socket.js";
import { resolveFamily } from "./client.js";

/** The family id of "IPVS", or undefined when this kernel has no IPVS (or no netlink). */
export async function resolveIpvsFamily(): Promise<number | undefined> {
  let conn: NetlinkConnection | undefined;
  try {
    conn = new NetlinkConnection(2_000);
    return await resolveFamily(conn, IPVS_GENL_NAME);
  } catch {
    return undefined;
  } finally {
    conn?.close();
  }
}

export async function ipvsAvailable(): Promise<boolean> {
  return (await resolveIpvsFamily()) !== undefined;
}

export type ProxyMode = "iptables" | "ipvs";

/** The mode to run in: ipvs only if asked for and present; says so in one line otherwise. */
export async function selectProxyMode(
  requested: ProxyMode,
  log: Logger = silentLogger,
): Promise<ProxyMode> {
  if (requested !== "ipvs") return "iptables";
  if (await ipvsAvailable()) return "ipvs";
  log.warn(
    { requested },
    'IPVS is not available in this kernel (no generic netlink family "IPVS"); falling back to iptables',
  );
  return "iptables";
}
