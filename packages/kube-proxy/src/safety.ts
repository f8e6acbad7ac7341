// The safety net under the Service rules: a packet to a service or cluster address that no
// rule catches dies on this machine instead of leaving it through the uplink.
//
// 1. The service range and the whole cluster CIDR are routed to an ifb device, which drops
//    whatever is sent to it (this kernel has no `dummy` links). Real pod subnets get more
//    specific routes (the kubelet's Docker bridge), so they still win.
// 2. In a Skiff-owned filter chain, jumped to from OUTPUT and FORWARD: packets headed for
//    that device and not DNATed are REJECTed (so a connect fails at once instead of hanging),
//    and the service range never leaves through the default-route uplink. The cluster CIDR
//    may: on a multi-node cluster, pods on other nodes are reached through the uplink.
import type { Exec } from "./exec.js";
import { exec as hostExec, mustExec } from "./exec.js";
import type { JumpRule } from "./iptables/jumps.js";
import { ensureJumps, removeJumps } from "./iptables/jumps.js";

export interface SafetyOptions {
  /** Default 10.96.0.0/12, the apiserver's --service-cluster-ip-range default. */
  serviceCIDR?: string;
  clusterCIDR: string;
  /** Default skiff-drop0. */
  device?: string;
  /** Default: the device of the default route. */
  uplink?: string;
  exec?: Exec;
}

export const safetyChain = "SKIFF-SAFETY";

export class SafetyNet {
  readonly serviceCIDR: string;
  readonly device: string;
  private readonly run: Exec;

  constructor(private readonly options: SafetyOptions) {
    this.serviceCIDR = options.serviceCIDR ?? "10.96.0.0/12";
    this.device = options.device ?? "skiff-drop0";
    this.run = options.exec ?? hostExec;
  }

  private get cidrs(): string[] {
    return [this.serviceCIDR, this.options.clusterCIDR];
  }

  private jumps(): JumpRule[] {
    const comment = "skiff: cluster addresses never leave this host";
    return [
      { table: "filter", from: "OUTPUT", to: safetyChain, comment },
      { table: "filter", from: "FORWARD", to: safetyChain, comment },
    ];
  }

  /** Idempotent: creates or repairs the device, routes and rules. */
  async install(): Promise<void> {
    const link = await this.run("ip", ["link", "show", "dev", this.device]);
    if (link.code !== 0)
      await mustExec(this.run, "ip", ["link", "add", this.device, "type", "ifb"]);
    await mustExec(this.run, "ip", ["link", "set", this.device, "up"]);
    for (const cidr of this.cidrs)
      await mustExec(this.run, "ip", ["route", "replace", cidr, "dev", this.device]);

    const uplink = this.options.uplink ?? (await this.defaultRouteDevice());
    // In OUTPUT, -o is the device routed to before NAT: a packet to a ClusterIP that kube-proxy
    // DNATed still shows the drop device there, so only packets nobody DNATed are rejected.
    const rules = [
      `:${safetyChain} - [0:0]`,
      `-A ${safetyChain} -o ${this.device} -m conntrack ! --ctstate DNAT -j REJECT`,
    ];
    if (uplink) rules.push(`-A ${safetyChain} -o ${uplink} -d ${this.serviceCIDR} -j DROP`);
    await ensureJumps(this.run, this.jumps());
    await mustExec(
      this.run,
      "iptables-restore",
      ["-w", "--noflush"],
      ["*filter", ...rules, "COMMIT", ""].join("\n"),
    );
  }

  async cleanup(): Promise<void> {
    await removeJumps(this.run, this.jumps());
    const chain = await this.run("iptables", ["-w", "-t", "filter", "-S", safetyChain]);
    if (chain.code === 0) {
      await mustExec(
        this.run,
        "iptables-restore",
        ["-w", "--noflush"],
        `*filter\n:${safetyChain} - [0:0]\n-X ${safetyChain}\nCOMMIT\n`,
      );
    }
    // Deleting the device removes the routes through it.
    const link = await this.run("ip", ["link", "show", "dev", this.device]);
    if (link.code === 0) await mustExec(this.run, "ip", ["link", "del", this.device]);
  }

  private async defaultRouteDevice(): Promise<string | undefined> {
    const out = await mustExec(this.run, "ip", ["-j", "route", "show", "default"]);
    const routes: unknown = JSON.parse(out || "[]");
    if (!Array.isArray(routes)) return undefined;
    const first: unknown = routes[0];
    if (
      typeof first === "object" &&
      first !== null &&
      "dev" in first &&
      typeof first.dev === "string"
    )
      return first.dev;
    return undefined;
  }
}
