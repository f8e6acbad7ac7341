// The skiff-net agent: waits for its Node to have a podCIDR, publishes its backend, address and
// VTEP MAC on it, then converges the kernel (routes, neighbours, FDB, VXLAN device, iptables)
// to what the Nodes call for — on every Node event and every resync period.
import { resourceInfo } from "@skiff/api";
import { RestClient, SharedInformerFactory, loadClientConfig, silentLogger } from "@skiff/client";
import type { Logger, SharedInformer } from "@skiff/client";
import { Kernel } from "./kernel.js";
import { ensureRules, removeRules } from "./iptables.js";
import { PolicyEnforcer } from "./enforcer.js";
import { SerialRunner } from "./runner.js";
import { removePolicies } from "./netpol-iptables.js";
import { annotationPatch, internalIP, nodeNet, ownAnnotations } from "./nodes.js";
import type { Backend, Node } from "./nodes.js";
import { planNetwork, vxlanDeviceName } from "./plan.js";
import type { NetAction, SkippedNode } from "./plan.js";

export interface NetAgentOptions {
  /** Path of a kubeconfig; default as kubectl finds one. Ignored when `client` is given. */
  kubeconfig?: string;
  client?: RestClient;
  nodeName: string;
  /** Default vxlan. */
  backend?: Backend;
  /** Default 10.244.0.0/16. */
  clusterCIDR?: string;
  /** The uplink; default the device holding the Node's InternalIP. */
  iface?: string;
  /** Default 1 and 8472. */
  vxlanVNI?: number;
  vxlanPort?: number;
  /** Masquerade pod → outside traffic (default true). */
  ipMasq?: boolean;
  /** Default 30 s. */
  resyncPeriodMs?: number;
  /** Enforce NetworkPolicies (default true); false removes any rules a run before left. */
  networkPolicy?: boolean;
  log?: Logger;
}

export const defaultClusterCIDR = "10.244.0.0/16";

export interface SyncResult {
  /** What was done to links, routes, neighbours and FDB (empty when all was right). */
  actions: NetAction[];
  failed: { action: NetAction; error: string }[];
  /** The iptables chains and jumps that had to be (re)written. */
  rules: string[];
  skipped: SkippedNode[];
  /** Whether our Node's annotations had to be written. */
  annotated: boolean;
}

export class NetAgent {
  private readonly log: Logger;
  private readonly backend: Backend;
  private readonly clusterCIDR: string;
  private readonly vni: number;
  private readonly port: number;
  private client?: RestClient;
  private factory?: SharedInformerFactory;
  private nodes?: SharedInformer<Node>;
  private kernel?: Kernel;
  /** NetworkPolicy enforcement, unless turned off. */
  policies?: PolicyEnforcer;
  private timer?: NodeJS.Timeout;
  private readonly runner: SerialRunner;
  private markReady!: () => void;
  /** Resolves once the first sync is done. */
  readonly ready = new Promise<void>((resolve) => (this.markReady = resolve));
  /** The result of the latest sync. */
  lastSync?: SyncResult;

  constructor(private readonly options: NetAgentOptions) {
    this.log = options.log ?? silentLogger;
    this.runner = new SerialRunner(
      async () => {
        const result = await this.sync();
        if (result) {
          this.lastSync = result;
          this.markReady();
        }
      },
      this.log,
      "sync failed",
    );
    this.backend = options.backend ?? "vxlan";
    this.clusterCIDR = options.clusterCIDR ?? defaultClusterCIDR;
    this.vni = options.vxlanVNI ?? 1;
    this.port = options.vxlanPort ?? 8472;
  }

  async start(): Promise<void> {
    this.client =
      this.options.client ??
      new RestClient(loadClientConfig({ kubeconfig: this.options.kubeconfig }));
    const nodes = resourceInfo("", "v1", "nodes");
    this.factory = new SharedInformerFactory(this.client, { logger: this.log });
    this.nodes = this.factory.forResource<Node>(nodes);
    this.nodes.addEventHandler({
      add: () => this.kick(),
      update: (old, now) => {
        if (old.metadata.resourceVersion !== now.metadata.resourceVersion) this.kick();
      },
      delete: () => this.kick(),
    });
    if (this.options.networkPolicy ?? true)
      this.policies = new PolicyEnforcer(this.factory, this.options.nodeName, this.log);
    else await removePolicies();
    this.kernel = new Kernel();
    this.factory.start();
    await this.factory.waitForCacheSync();
    this.log.info(
      { node: this.options.nodeName, backend: this.backend, clusterCIDR: this.clusterCIDR },
      "node cache synced",
    );
    this.kick();
    this.policies?.kick();
    this.timer = setInterval(() => {
      this.kick();
      this.policies?.kick();
    }, this.options.resyncPeriodMs ?? 30_000);
    await this.ready;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.factory?.stop();
    await this.runner.stop();
    await this.policies?.stop();
    this.kernel?.close();
    this.client?.close();
  }

  /** Runs a sync now, or once more after the one running. */
  private kick(): void {
    this.runner.kick();
  }

  /** One pass; undefined while our Node has no podCIDR or address yet. */
  private async sync(): Promise<SyncResult | undefined> {
    const kernel = this.kernel!;
    const name = this.options.nodeName;
    const own = this.nodes!.lister().get(name);
    const podCIDR = own ? nodeNet(own).podCIDR : undefined;
    const ip = own && internalIP(own);
    if (!own || !podCIDR || !ip) {
      this.log.info(
        { node: name },
        "waiting for the Node to exist with spec.podCIDR and an InternalIP",
      );
      return undefined;
    }
    const uplink = await kernel.uplink(ip, this.options.iface);
    const dev = vxlanDeviceName(this.vni);
    const plan = planNetwork({
      backend: this.backend,
      clusterCIDR: this.clusterCIDR,
      vni: this.vni,
      port: this.port,
      self: { name, podCIDR, publicIP: ip },
      uplink,
      nodes: this.nodes!.lister().list().map(nodeNet),
      observed: await kernel.observe(dev),
    });
    const failed = await kernel.apply(plan.actions);
    for (const f of failed) this.log.warn({ action: f.action, err: f.error }, "could not apply");
    const rules = await ensureRules({
      clusterCIDR: this.clusterCIDR,
      podCIDR,
      ipMasq: this.options.ipMasq ?? true,
    });
    const mac = this.backend === "vxlan" ? (await kernel.vxlanLink(dev))?.mac : undefined;
    const patch = annotationPatch(own, ownAnnotations(this.backend, ip, mac));
    if (patch) {
      const nodes = resourceInfo("", "v1", "nodes");
      await this.client!.resource<Node>(nodes).patch(name, patch, "merge");
    }
    const result = {
      actions: plan.actions,
      failed,
      rules,
      skipped: plan.skipped,
      annotated: !!patch,
    };
    const changed = plan.actions.length + rules.length + (patch ? 1 : 0);
    this.log[changed ? "info" : "debug"](
      {
        actions: plan.actions.map(describeAction),
        rules,
        annotated: !!patch,
        skipped: plan.skipped,
        routes: plan.desired.routes.length,
      },
      changed ? "converged" : "nothing to change",
    );
    return result;
  }
}

/** One line per action for the logs: "addRoute 10.244.2.0/24 via 10.244.2.0 dev skiff.1". */
export function describeAction(a: NetAction): string {
  switch (a.op) {
    case "deleteLink":
      return `${a.op} ${a.name} (${a.reason})`;
    case "createLink":
      return `${a.op} ${a.link.name} vni ${a.link.vni} local ${a.link.local} mtu ${a.link.mtu}`;
    case "setLink":
      return `${a.op} ${a.name} up mtu ${a.mtu}`;
    case "addAddress":
    case "deleteAddress":
      return `${a.op} ${a.address} dev ${a.dev}`;
    case "addRoute":
    case "replaceRoute":
    case "deleteRoute":
      return `${a.op} ${a.route.dst} via ${a.route.gateway} dev ${a.route.dev}${a.route.onlink ? " onlink" : ""}`;
    case "addNeighbour":
    case "replaceNeighbour":
    case "deleteNeighbour":
      return `${a.op} ${a.neighbour.ip} lladdr ${a.neighbour.mac} dev ${a.neighbour.dev}`;
    case "addFdb":
    case "replaceFdb":
    case "deleteFdb":
      return `${a.op} ${a.fdb.mac} dst ${a.fdb.dst} dev ${a.fdb.dev}`;
  }
}

/** --cleanup: removes every device, route, neighbour/FDB entry and rule skiff-net makes. */
export async function cleanupNet(log: Logger = silentLogger): Promise<void> {
  const kernel = new Kernel();
  try {
    const { links, routes } = await kernel.removeAll();
    const chains = [...(await removeRules()), ...(await removePolicies())];
    log.info({ links, routes, chains }, "cleaned up");
  } finally {
    kernel.close();
  }
}
