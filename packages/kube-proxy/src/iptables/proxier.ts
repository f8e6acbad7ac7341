// The iptables proxier: tracks Services and EndpointSlices, builds all rules with buildRules
// and applies them with ONE iptables-restore --noflush per sync, touching only its own chains.
import type { Logger, NodeInfo } from "../types.js";
import { silentLogger } from "../types.js";
import type { Exec } from "../exec.js";
import { exec as hostExec, mustExec } from "../exec.js";
import { BoundedFrequencyRunner } from "../runner.js";
import { ServiceProxier } from "../tracker.js";
import type { SafetyNet } from "../safety.js";
import type { ProxyOptions, ProxyState, RulesResult } from "./rules.js";
import { buildRules } from "./rules.js";
import { staleConntrackEntries } from "./conntrack.js";
import type { JumpRule } from "./jumps.js";
import { ensureJumps, removeJumps } from "./jumps.js";
import {
  canaryTables,
  isServiceChainName,
  kubeExternalServicesChain,
  kubeForwardChain,
  kubeletFirewallChain,
  kubeMarkMasqChain,
  kubeNodePortsChain,
  kubePostroutingChain,
  kubeProxyCanaryChain,
  kubeProxyFirewallChain,
  kubeServicesChain,
  serviceChainPrefixes,
} from "./chains.js";

export interface ProxierOptions extends ProxyOptions {
  node: NodeInfo;
  /**
   * kube-proxy --iptables-sync-period (30 s): how often the proxier syncs unasked (a partial
   * sync: only changed service chains are rewritten) and checks its canary chains.
   */
  syncPeriodMs?: number;
  /** A full sync (every chain rewritten) happens at least this often (kube-proxy: 1 h). */
  fullSyncPeriodMs?: number;
  /** Minimum time between syncs (kube-proxy --iptables-min-sync-period, 1 s). */
  minSyncPeriodMs?: number;
  exec?: Exec;
  log?: Logger;
  /** The safety net below the rules; cleanup() removes it too. */
  safety?: SafetyNet;
  /** Told after every successful sync (metrics, healthz, benchmarks). */
  onSync?: (result: SyncResult) => void;
}

/** What one successful sync did and how long it took. */
export type SyncResult = RulesResult["stats"] & {
  full: boolean;
  /** When the sync started (Date.now()): changes recorded before then are in the kernel. */
  startedAt: number;
  ms: number;
  prepareMs: number;
  generateMs: number;
  restoreMs: number;
};

/** kube-proxy's FullSyncPeriod: without a reason to, every chain is rewritten once an hour. */
export const fullSyncPeriodMs = 3_600_000;

const newConnection = ["-m", "conntrack", "--ctstate", "NEW"];

/** Every jump from a built-in chain into ours, as kube-proxy installs them. */
export function jumpRules(localhostNodePorts: boolean): JumpRule[] {
  const jumps: JumpRule[] = [
    {
      table: "filter",
      from: "INPUT",
      to: kubeExternalServicesChain,
      comment: "kubernetes externally-visible service portals",
      extraArgs: newConnection,
    },
    {
      table: "filter",
      from: "FORWARD",
      to: kubeExternalServicesChain,
      comment: "kubernetes externally-visible service portals",
      extraArgs: newConnection,
    },
    {
      table: "filter",
      from: "INPUT",
      to: kubeNodePortsChain,
      comment: "kubernetes health check service ports",
    },
    {
      table: "filter",
      from: "FORWARD",
      to: kubeServicesChain,
      comment: "kubernetes service portals",
      extraArgs: newConnection,
    },
    {
      table: "filter",
      from: "OUTPUT",
      to: kubeServicesChain,
      comment: "kubernetes service portals",
      extraArgs: newConnection,
    },
    {
      table: "filter",
      from: "FORWARD",
      to: kubeForwardChain,
      comment: "kubernetes forwarding rules",
    },
    {
      table: "filter",
      from: "INPUT",
      to: kubeProxyFirewallChain,
      comment: "kubernetes load balancer firewall",
      extraArgs: newConnection,
    },
    {
      table: "filter",
      from: "OUTPUT",
      to: kubeProxyFirewallChain,
      comment: "kubernetes load balancer firewall",
      extraArgs: newConnection,
    },
    {
      table: "filter",
      from: "FORWARD",
      to: kubeProxyFirewallChain,
      comment: "kubernetes load balancer firewall",
      extraArgs: newConnection,
    },
    { table: "nat", from: "OUTPUT", to: kubeServicesChain, comment: "kubernetes service portals" },
    {
      table: "nat",
      from: "PREROUTING",
      to: kubeServicesChain,
      comment: "kubernetes service portals",
    },
    {
      table: "nat",
      from: "POSTROUTING",
      to: kubePostroutingChain,
      comment: "kubernetes postrouting rules",
    },
  ];
  if (localhostNodePorts) {
    jumps.push(
      { table: "filter", from: "INPUT", to: kubeletFirewallChain },
      { table: "filter", from: "OUTPUT", to: kubeletFirewallChain },
    );
  }
  return jumps;
}

const routeLocalnet = "net.ipv4.conf.all.route_localnet";

export class IptablesProxier extends ServiceProxier {
  private state: ProxyState | undefined;
  private needFullSync = true;
  private lastFullSync = 0;
  private savedRouteLocalnet: string | undefined;
  protected readonly runner: BoundedFrequencyRunner;
  private readonly run: Exec;
  private readonly log: Logger;
  private readonly syncPeriodMs: number;
  private readonly fullSyncPeriodMs: number;
  private canaryTimer: NodeJS.Timeout | undefined;
  private canaryCheck: Promise<void> | undefined;
  private node: NodeInfo;
  /** The result of the latest successful sync (for metrics and tests). */
  lastResult: SyncResult | undefined;

  constructor(private readonly options: ProxierOptions) {
    super();
    this.run = options.exec ?? hostExec;
    this.log = options.log ?? silentLogger;
    this.syncPeriodMs = options.syncPeriodMs ?? 30_000;
    this.fullSyncPeriodMs = options.fullSyncPeriodMs ?? fullSyncPeriodMs;
    this.node = options.node;
    this.runner = new BoundedFrequencyRunner(() => this.sync(), {
      minIntervalMs: options.minSyncPeriodMs ?? 1_000,
      maxIntervalMs: this.syncPeriodMs,
      burst: 2, // as kube-proxy's burstSyncs
    });
  }

  /** The node's addresses changed (its Node object): rewrite everything once. */
  setNode(node: NodeInfo): void {
    if (JSON.stringify(node) === JSON.stringify(this.node)) return;
    this.node = node;
    this.requestFullSync();
  }

  /** Starts periodic syncs (the first one, a full one, at once) and the canary checks. */
  start(): void {
    this.runner.start();
    clearInterval(this.canaryTimer);
    this.canaryTimer = setInterval(() => {
      this.canaryCheck ??= this.checkCanary()
        .then(
          () => {},
          (err: unknown) => this.log.warn({ err: String(err) }, "iptables canary check failed"),
        )
        .finally(() => {
          this.canaryCheck = undefined;
        });
    }, this.syncPeriodMs);
    this.canaryTimer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.canaryTimer);
    await this.canaryCheck;
    await this.runner.stop();
  }

  /**
   * kube-proxy's canary: the full sync creates KUBE-PROXY-CANARY in mangle, nat and filter;
   * once a sync period we look for it (a few ms even beside 10,000 chains). If it is gone
   * from any table, someone flushed the tables under us (a firewall reload), and a partial
   * sync would leave the service chains it did not rewrite empty: rewrite everything.
   */
  async checkCanary(): Promise<boolean> {
    if (!this.state || this.needFullSync) return true; // a full sync is on its way anyway
    const missing: string[] = [];
    for (const table of canaryTables) {
      const r = await this.run("iptables", ["-w", "-t", table, "-n", "-L", kubeProxyCanaryChain]);
      // Exit 1: no such chain (or table). Anything else says nothing about our rules.
      if (r.code === 1) missing.push(table);
    }
    if (missing.length === 0) return true;
    this.log.warn(
      { tables: missing, chain: kubeProxyCanaryChain },
      "iptables canary is gone: the tables were flushed; forcing a full sync",
    );
    this.requestFullSync();
    return false;
  }

  /** Asks for a full sync on the next run (e.g. someone else touched our chains). */
  requestFullSync(): void {
    this.needFullSync = true;
    this.runner.run();
  }

  /**
   * One sync: apply the tracked changes, build every rule, write them in one restore.
   * Partial unless a full sync is due: the first sync, after a failure, when the canary is
   * gone or the node changed, and otherwise once per fullSyncPeriodMs (kube-proxy since
   * KEP-3453).
   */
  async sync(): Promise<void> {
    const started = Date.now();
    const pendingSince = this.applyChanges();
    const full =
      this.needFullSync || !this.state || started - this.lastFullSync >= this.fullSyncPeriodMs;
    try {
      let existingChains: Set<string> | undefined;
      if (full) {
        await this.ensureHostSetup();
        existingChains = await this.natChains();
      }
      const prepared = Date.now();
      const result = buildRules({
        services: [...this.services.values()],
        endpointSlices: [...this.slices.values()],
        node: this.node,
        options: this.options,
        ...(this.state ? { previous: this.state } : {}),
        ...(full ? { fullSync: true, existingChains } : {}),
      });
      const generated = Date.now();
      await mustExec(this.run, "iptables-restore", ["-w", "--noflush"], result.restore);
      const restored = Date.now();
      const before = this.state;
      this.state = result.state;
      this.needFullSync = false;
      if (full) this.lastFullSync = started;
      this.lastResult = {
        ...result.stats,
        full,
        startedAt: started,
        ms: restored - started,
        prepareMs: prepared - started,
        generateMs: generated - prepared,
        restoreMs: restored - generated,
      };
      await this.clearConntrack(staleConntrackEntries(before, result.state));
      this.log.info({ ...this.lastResult }, "synced iptables rules");
      this.options.onSync?.(this.lastResult);
    } catch (err) {
      this.changesNotSynced(pendingSince);
      // The kernel may now differ from this.state in ways we cannot know: repair everything.
      this.needFullSync = true;
      this.log.error({ err: String(err), full }, "iptables sync failed; retrying");
      this.runner.retryAfter(Math.min(this.syncPeriodMs, 10_000));
      throw err;
    }
  }

  /**
   * Removes every rule and chain this proxier made (and the safety net below them);
   * anyone else's rules, such as Docker's, stay.
   */
  async cleanup(): Promise<void> {
    await this.stop();
    await removeJumps(this.run, jumpRules(true));
    const natChains = [...(await this.natChains())].filter(isServiceChainName);
    const byGroup = serviceChainPrefixes.flatMap((p) =>
      natChains.filter((c) => c.startsWith(p)).sort(),
    );
    const top = {
      nat: [kubeServicesChain, kubeNodePortsChain, kubePostroutingChain, kubeMarkMasqChain],
      filter: [
        kubeServicesChain,
        kubeExternalServicesChain,
        kubeForwardChain,
        kubeNodePortsChain,
        kubeProxyFirewallChain,
        kubeletFirewallChain,
      ],
    };
    // Flush the chains that jump elsewhere first, then delete in jump order.
    const nat = [
      ...top.nat.map((c) => `:${c} - [0:0]`),
      ...byGroup.flatMap((c) => [`:${c} - [0:0]`, `-X ${c}`]),
      ...top.nat.map((c) => `-X ${c}`),
    ];
    const filter = [...top.filter.map((c) => `:${c} - [0:0]`), ...top.filter.map((c) => `-X ${c}`)];
    const canary = [`:${kubeProxyCanaryChain} - [0:0]`, `-X ${kubeProxyCanaryChain}`];
    await mustExec(
      this.run,
      "iptables-restore",
      ["-w", "--noflush"],
      [
        ...["*mangle", ...canary, "COMMIT"],
        ...["*filter", ...filter, ...canary, "COMMIT"],
        ...["*nat", ...nat, ...canary, "COMMIT", ""],
      ].join("\n"),
    );
    if (this.savedRouteLocalnet !== undefined) {
      await this.run("sysctl", ["-w", `${routeLocalnet}=${this.savedRouteLocalnet}`]);
      this.savedRouteLocalnet = undefined;
    }
    await this.options.safety?.cleanup();
    this.state = undefined;
    this.needFullSync = true;
    this.log.info({}, "removed kube-proxy iptables rules");
  }

  /** Jumps from built-in chains, route_localnet, the safety net, the canaries: on full syncs only. */
  private async ensureHostSetup(): Promise<void> {
    const localhostNodePorts = this.options.localhostNodePorts ?? true;
    if (localhostNodePorts && this.savedRouteLocalnet === undefined) {
      // NodePorts on 127.0.0.1 need the kernel to route loopback-sourced packets out of the
      // host; KUBE-FIREWALL drops the martians this would otherwise let in.
      this.savedRouteLocalnet = (await mustExec(this.run, "sysctl", ["-n", routeLocalnet])).trim();
      await mustExec(this.run, "sysctl", ["-w", `${routeLocalnet}=1`]);
    }
    await this.options.safety?.install();
    await ensureJumps(this.run, jumpRules(localhostNodePorts));
    // The canaries go in before the rules: a flush after this point is seen by the next check.
    const canary = canaryTables.flatMap((t) => [
      `*${t}`,
      `:${kubeProxyCanaryChain} - [0:0]`,
      "COMMIT",
    ]);
    await mustExec(this.run, "iptables-restore", ["-w", "--noflush"], canary.join("\n") + "\n");
  }

  /** The chains of the nat table. nft lists names in milliseconds; iptables-save takes seconds. */
  private async natChains(): Promise<Set<string>> {
    const chains = new Set<string>();
    const nft = await this.run("nft", ["list", "chains", "ip"]).catch(() => undefined);
    if (nft?.code === 0) {
      let table = "";
      for (const line of nft.stdout.split("\n")) {
        const t = /^table ip (\S+) \{/.exec(line);
        if (t) table = t[1]!;
        const c = /^\s+chain (\S+) \{/.exec(line);
        if (c && table === "nat") chains.add(c[1]!);
      }
      return chains;
    }
    const saved = await mustExec(this.run, "iptables-save", ["-t", "nat"]);
    for (const line of saved.split("\n"))
      if (line.startsWith(":")) chains.add(line.slice(1, line.indexOf(" ")));
    return chains;
  }

  private async clearConntrack(deletions: string[][]): Promise<void> {
    for (const args of deletions) {
      const r = await this.run("conntrack", args);
      // Exit 1 with "0 flow entries" just means there was nothing to delete.
      if (r.code !== 0 && !/0 flow entries/.test(r.stderr))
        this.log.warn({ args, stderr: r.stderr.trim() }, "conntrack delete failed");
    }
  }
}
