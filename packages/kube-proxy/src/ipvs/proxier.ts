// The IPVS proxier (--proxy-mode=ipvs): tracks Services and EndpointSlices like the iptables
// proxier; each sync lists the kernel's virtual servers over netlink, applies only the
// differences, binds the ClusterIPs to kube-ipvs0 and rewrites its few iptables rules.
import type { Logger, NodeInfo } from "../types.js";
import { silentLogger } from "../types.js";
import type { Exec } from "../exec.js";
import { exec as hostExec, mustExec } from "../exec.js";
import { BoundedFrequencyRunner } from "../runner.js";
import { ServiceProxier } from "../tracker.js";
import type { SafetyNet } from "../safety.js";
import { ensureJumps, removeJumps } from "../iptables/jumps.js";
import type { SyncResult } from "../iptables/proxier.js";
import type { Ipvs } from "./client.js";
import { IpvsClient } from "./client.js";
import type { IpvsOperation, VirtualServerState } from "./desired.js";
import { buildDesiredState, ownedBy, planSync, virtualServerKey } from "./desired.js";
import { buildIpvsRules, ipvsCleanupRules, ipvsJumpRules, ipvsSharedChains } from "./iptables.js";
import { ensureIpvsDevice, ipvsDevice, removeIpvsDevice, syncAddresses } from "./device.js";

export interface IpvsProxierOptions {
  node: NodeInfo;
  /** Pod network: traffic from outside it to a ClusterIP is masqueraded. */
  clusterCIDR: string;
  /** The service range (apiserver --service-cluster-ip-range); Skiff owns virtual servers in it. */
  serviceCIDR: string;
  /** kube-proxy --ipvs-scheduler (default rr). */
  scheduler?: string;
  syncPeriodMs?: number;
  minSyncPeriodMs?: number;
  exec?: Exec;
  log?: Logger;
  safety?: SafetyNet;
  /** The kernel's IPVS table; default: opened over generic netlink at the first sync. */
  ipvs?: Ipvs;
  onSync?: (result: SyncResult) => void;
}

// kube-proxy's IPVS sysctls: let iptables see (and masquerade) IPVS traffic, and drop
// connections to deleted real servers at once instead of black-holing them.
const requiredSysctls = ["net.ipv4.vs.conntrack=1", "net.ipv4.ip_forward=1"];
const optionalSysctls = [
  "net.ipv4.vs.expire_nodest_conn=1",
  "net.ipv4.vs.expire_quiescent_template=1",
];

export class IpvsProxier extends ServiceProxier {
  protected readonly runner: BoundedFrequencyRunner;
  private readonly run: Exec;
  private readonly log: Logger;
  private ipvs: Ipvs | undefined;
  private hostReady = false;
  private node: NodeInfo;
  lastResult: SyncResult | undefined;

  constructor(private readonly options: IpvsProxierOptions) {
    super();
    this.run = options.exec ?? hostExec;
    this.log = options.log ?? silentLogger;
    this.node = options.node;
    this.ipvs = options.ipvs;
    this.runner = new BoundedFrequencyRunner(() => this.sync(), {
      minIntervalMs: options.minSyncPeriodMs ?? 1_000,
      maxIntervalMs: options.syncPeriodMs ?? 30_000,
    });
  }

  setNode(node: NodeInfo): void {
    if (JSON.stringify(node) === JSON.stringify(this.node)) return;
    this.node = node;
    this.poke();
  }

  start(): void {
    this.runner.start();
  }

  async stop(): Promise<void> {
    await this.runner.stop();
    this.ipvs?.close();
    this.ipvs = undefined;
  }

  private async openIpvs(): Promise<Ipvs> {
    this.ipvs ??= await IpvsClient.open();
    if (!this.ipvs) throw new Error('the kernel has no generic netlink family "IPVS"');
    return this.ipvs;
  }

  /** One sync: every sync compares the whole table, so drift is repaired each time. */
  async sync(): Promise<void> {
    const started = Date.now();
    const pendingSince = this.applyChanges();
    try {
      const ipvs = await this.openIpvs();
      if (!this.hostReady) await this.setUpHost();
      const desired = buildDesiredState({
        services: [...this.services.values()],
        endpointSlices: [...this.slices.values()],
        node: this.node,
        ...(this.options.scheduler ? { scheduler: this.options.scheduler } : {}),
      });
      const prepared = Date.now();
      // ClusterIPs first: a virtual server on an address the host does not own sees nothing.
      await syncAddresses(this.run, desired.clusterIPs);
      const current = await this.currentState(ipvs, desired.virtualServers);
      const ops = planSync(current, desired.virtualServers, this.owned());
      const generated = Date.now();
      await applyOperations(ipvs, ops);
      const rules = buildIpvsRules(desired, this.options);
      await mustExec(this.run, "iptables-restore", ["-w", "--noflush"], rules);
      const done = Date.now();
      let endpoints = 0;
      for (const v of desired.virtualServers.values()) endpoints += v.destinations.length;
      this.lastResult = {
        servicePorts: desired.virtualServers.size,
        endpoints,
        written: ops.length,
        deletedChains: 0,
        natChains: 0,
        rules: rules.split("\n").filter((l) => l.startsWith("-A ")).length,
        full: true,
        startedAt: started,
        ms: done - started,
        prepareMs: prepared - started,
        generateMs: generated - prepared,
        restoreMs: done - generated,
      };
      this.log.info(
        { virtualServers: desired.virtualServers.size, operations: ops.length, ms: done - started },
        "synced IPVS virtual servers",
      );
      this.options.onSync?.(this.lastResult);
    } catch (err) {
      this.changesNotSynced(pendingSince);
      this.hostReady = false; // check the host set-up again next time
      this.log.error({ err: String(err) }, "IPVS sync failed; retrying");
      this.runner.retryAfter(Math.min(this.options.syncPeriodMs ?? 30_000, 10_000));
      throw err;
    }
  }

  /** Removes Skiff's virtual servers, kube-ipvs0, IPVS mode's iptables rules, the safety net. */
  async cleanup(): Promise<void> {
    await this.runner.stop();
    await removeJumps(this.run, ipvsJumpRules);
    await mustExec(this.run, "iptables-restore", ["-w", "--noflush"], ipvsCleanupRules());
    for (const { table, chain } of ipvsSharedChains)
      await this.run("iptables", ["-w", "-t", table, "-X", chain]); // in use by iptables mode: fine
    let removed = 0;
    const ipvs =
      this.ipvs ??
      (await IpvsClient.open().catch((err: unknown) => {
        this.log.warn({ err: String(err) }, "cannot reach IPVS; virtual servers left in place");
        return undefined;
      }));
    if (ipvs) {
      const owned = this.owned();
      for (const s of await ipvs.getServices())
        if (owned(s)) {
          await ipvs.delService(s);
          removed++;
        }
      ipvs.close();
      this.ipvs = undefined;
    }
    const device = await removeIpvsDevice(this.run);
    await this.options.safety?.cleanup();
    this.hostReady = false;
    this.log.info(
      { virtualServers: removed, device: device ? ipvsDevice : undefined },
      "removed IPVS virtual servers, kube-ipvs0 and IPVS mode's iptables rules",
    );
  }

  private owned(): ReturnType<typeof ownedBy> {
    return ownedBy(this.options.serviceCIDR, this.node.addresses);
  }

  /** The kernel's virtual servers; real servers listed only for those still wanted. */
  private async currentState(
    ipvs: Ipvs,
    desired: ReadonlyMap<string, VirtualServerState>,
  ): Promise<Map<string, VirtualServerState>> {
    const current = new Map<string, VirtualServerState>();
    for (const service of await ipvs.getServices()) {
      const key = virtualServerKey(service);
      const destinations = desired.has(key) ? await ipvs.getDestinations(service) : [];
      current.set(key, { service, destinations });
    }
    return current;
  }

  private async setUpHost(): Promise<void> {
    for (const s of requiredSysctls) await mustExec(this.run, "sysctl", ["-w", s]);
    for (const s of optionalSysctls) {
      const r = await this.run("sysctl", ["-w", s]);
      if (r.code !== 0) this.log.warn({ sysctl: s, stderr: r.stderr.trim() }, "sysctl not set");
    }
    const type = await ensureIpvsDevice(this.run);
    if (type === "ifb")
      this.log.warn(
        { device: ipvsDevice },
        "this kernel has no dummy links; kube-ipvs0 is an ifb link instead",
      );
    else if (type === "dummy") this.log.info({ device: ipvsDevice }, "created kube-ipvs0");
    await this.options.safety?.install();
    await ensureJumps(this.run, ipvsJumpRules);
    this.hostReady = true;
  }
}

/** Applies the operations in order; an error stops the sync (the next one starts afresh). */
export async function applyOperations(ipvs: Ipvs, ops: readonly IpvsOperation[]): Promise<void> {
  for (const o of ops) {
    switch (o.op) {
      case "newService":
        await ipvs.newService(o.service);
        break;
      case "setService":
        await ipvs.setService(o.service);
        break;
      case "delService":
        await ipvs.delService(o.service);
        break;
      case "newDest":
        await ipvs.newDest(o.service, o.dest);
        break;
      case "setDest":
        await ipvs.setDest(o.service, o.dest);
        break;
      case "delDest":
        await ipvs.delDest(o.service, o.dest);
        break;
    }
  }
}
