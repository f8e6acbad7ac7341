// kube-ipvs0: the link the ClusterIPs are bound to, so the kernel takes packets to them as
// local and hands them to IPVS. kube-proxy makes it a `dummy` link; kernels without dummy
// (like the one Skiff is developed on) get an `ifb` link, which drops anything sent through it.
import type { Exec } from "../exec.js";
import { mustExec } from "../exec.js";
import { CommandError } from "../errors.js";

export const ipvsDevice = "kube-ipvs0";

/**
 * Creates the link unless it exists, as dummy or else ifb. Returns the type used; throws
 * (with both errors) when neither can be made, since ClusterIPs cannot work without it.
 */
export async function ensureIpvsDevice(
  run: Exec,
  name = ipvsDevice,
): Promise<"existing" | "dummy" | "ifb"> {
  if ((await run("ip", ["link", "show", "dev", name])).code === 0) return "existing";
  const errors: string[] = [];
  for (const type of ["dummy", "ifb"] as const) {
    const r = await run("ip", ["link", "add", name, "type", type]);
    if (r.code === 0) return type;
    errors.push(`${type}: ${r.stderr.trim()}`);
  }
  throw new Error(`cannot create ${name} (${errors.join("; ")})`);
}

/** The IPv4 addresses now on the link. */
export async function boundAddresses(run: Exec, name = ipvsDevice): Promise<string[]> {
  const out = await mustExec(run, "ip", ["-j", "-4", "addr", "show", "dev", name]);
  const links: unknown = JSON.parse(out || "[]");
  const addresses: string[] = [];
  if (!Array.isArray(links)) return addresses;
  for (const link of links as unknown[]) {
    const info = (link as { addr_info?: unknown }).addr_info;
    if (!Array.isArray(info)) continue;
    for (const a of info as unknown[]) {
      const local = (a as { local?: unknown }).local;
      if (typeof local === "string") addresses.push(local);
    }
  }
  return addresses;
}

/** The `ip -batch` lines that make the link hold exactly `wanted` (as /32s). */
export function addressCommands(
  bound: readonly string[],
  wanted: readonly string[],
  name = ipvsDevice,
): string[] {
  const have = new Set(bound);
  const want = new Set(wanted);
  return [
    ...wanted.filter((ip) => !have.has(ip)).map((ip) => `address add ${ip}/32 dev ${name}`),
    ...bound.filter((ip) => !want.has(ip)).map((ip) => `address del ${ip}/32 dev ${name}`),
  ];
}

/** Binds exactly `wanted` to the link in one `ip -batch` run; returns how many changed. */
export async function syncAddresses(
  run: Exec,
  wanted: readonly string[],
  name = ipvsDevice,
): Promise<number> {
  const commands = addressCommands(await boundAddresses(run, name), wanted, name);
  if (commands.length === 0) return 0;
  const r = await run("ip", ["-force", "-batch", "-"], commands.join("\n") + "\n");
  if (r.code !== 0) throw new CommandError(`ip -batch (${commands.length} address changes)`, r);
  return commands.length;
}

/** Deletes the link (its addresses and their local routes go with it). */
export async function removeIpvsDevice(run: Exec, name = ipvsDevice): Promise<boolean> {
  if ((await run("ip", ["link", "show", "dev", name])).code !== 0) return false;
  await mustExec(run, "ip", ["link", "del", name]);
  return true;
}
