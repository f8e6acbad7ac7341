// The kube-proxy program: informers on Services, EndpointSlices and this node feed the
// proxier; /proxyMode and /metrics on --metrics-bind-address, /healthz on --healthz-bind-address.
import { createServer } from "node:http";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { hostname, networkInterfaces } from "node:os";
import { Gauge, Histogram, Registry, collectDefaultMetrics, exponentialBuckets } from "prom-client";
import { isObject, resourceInfo } from "@skiff/api";
import type * as api from "@skiff/api";
import {
  DeletedFinalStateUnknown,
  RestClient,
  SharedInformerFactory,
  loadClientConfig,
  serveMetrics,
  silentLogger,
} from "@skiff/client";
import type { KubeObject, Logger } from "@skiff/client";
import type { EndpointSlice, Service } from "./types.js";
import type { Exec } from "./exec.js";
import { exec as hostExec } from "./exec.js";
import { SafetyNet } from "./safety.js";
import { ConfigError, InvalidObjectError } from "./errors.js";
import { asEndpoints, endpointSliceChanges, servesEndpointSlices } from "./endpoints.js";
import { IptablesProxier } from "./iptables/proxier.js";
import type { SyncResult } from "./iptables/proxier.js";
import { selectProxyMode } from "./ipvs/detect.js";
import type { ProxyMode } from "./ipvs/detect.js";
import { IpvsProxier } from "./ipvs/proxier.js";

export interface ProxyServerOptions {
  /** Path of a kubeconfig; default as kubectl finds one. Ignored when `client` is given. */
  kubeconfig?: string;
  client?: RestClient;
  /** The Node this proxy runs on (--hostname-override); default the host name. */
  hostnameOverride?: string;
  /** --proxy-mode: "iptables" (default) or "ipvs" (falls back where the kernel has none). */
  proxyMode?: ProxyMode;
  /** --ipvs-scheduler: the IPVS scheduler of every virtual server (default "rr"). */
  ipvsScheduler?: string;
  /** --cluster-cidr, the pod network; default 10.244.0.0/16. */
  clusterCIDR?: string;
  /** --min-sync-period and --sync-period, in milliseconds (default 1 s and 30 s). */
  minSyncPeriodMs?: number;
  syncPeriodMs?: number;
  /** host:port; default 127.0.0.1:10249 and 0.0.0.0:10256; "" turns the server off. */
  metricsBindAddress?: string;
  healthzBindAddress?: string;
  /** Install the safety net under the rules (default true). */
  safetyNet?: boolean;
  exec?: Exec;
  log?: Logger;
}

export const defaultClusterCIDR = "10.244.0.0/16";

const unwrap = <T extends KubeObject>(o: T | DeletedFinalStateUnknown<T>): T =>
  o instanceof DeletedFinalStateUnknown ? o.obj : o;

/** A Service the proxiers can read: the apiserver validated it; only spec is checked. */
function isProxiable(svc: api.Service & KubeObject): svc is Service {
  return isObject(svc.spec);
}

function asService(
  o: (api.Service & KubeObject) | DeletedFinalStateUnknown<api.Service & KubeObject>,
): Service {
  const svc = unwrap(o);
  if (!svc.metadata.name || !isProxiable(svc))
    throw new InvalidObjectError("a Service without spec");
  return svc;
}

function asEndpointSlice(
  o: EndpointSlice | DeletedFinalStateUnknown<EndpointSlice>,
): EndpointSlice {
  const slice = unwrap(o);
  if (!slice.metadata.name || typeof slice.addressType !== "string")
    throw new InvalidObjectError("an EndpointSlice without addressType");
  return Array.isArray(slice.endpoints) ? slice : { ...slice, endpoints: [] };
}

/** The node's addresses from its Node object (InternalIP first), if it says any. */
export function nodeAddresses(node: (api.Node & KubeObject) | undefined): string[] {
  const out = (node?.status?.addresses ?? []).filter(
    (a) => a.type === "InternalIP" || a.type === "ExternalIP",
  );
  out.sort((a, b) => (a.type === b.type ? 0 : a.type === "InternalIP" ? -1 : 1));
  return out.map((a) => a.address);
}

/** The host's own IPv4 addresses, when the Node object names none (no loopback, no bridges). */
export function hostAddresses(): string[] {
  const out: string[] = [];
  for (const [name, addrs] of Object.entries(networkInterfaces())) {
    if (/^(docker|br-|veth|skiff|cni|virbr)/.test(name)) continue;
    for (const a of addrs ?? []) if (a.family === "IPv4" && !a.internal) out.push(a.address);
  }
  return out;
}

function splitHostPort(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(":");
  const port = Number(address.slice(i + 1));
  if (i < 0 || !Number.isInteger(port)) throw new ConfigError(`invalid bind address "${address}"`);
  return { host: address.slice(0, i).replace(/^\[|\]$/g, "") || "0.0.0.0", port };
}

async function listen(
  address: string,
  handle: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<Server> {
  const { host, port } = splitHostPort(address);
  const server = createServer((req, res) => {
    try {
      handle(req, res);
    } catch (err) {
      res.statusCode = 500;
      res.end(String(err));
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}

/** A sync-latency histogram in seconds, with kube-proxy's buckets (1 ms to about 16 s). */
const syncHistogram = (registry: Registry, name: string, help: string): Histogram =>
  new Histogram({ name, help, buckets: exponentialBuckets(0.001, 2, 15), registers: [registry] });

/** What the metrics server exports (the names kube-proxy uses). */
class ProxyMetrics {
  readonly registry = new Registry();
  private readonly duration = syncHistogram(
    this.registry,
    "kubeproxy_sync_proxy_rules_duration_seconds",
    "SyncProxyRules latency in seconds",
  );
  // Since KEP-3453 kube-proxy also splits the latency by kind of sync.
  private readonly fullDuration = syncHistogram(
    this.registry,
    "kubeproxy_sync_full_proxy_rules_duration_seconds",
    "SyncProxyRules latency in seconds for full resyncs",
  );
  private readonly partialDuration = syncHistogram(
    this.registry,
    "kubeproxy_sync_partial_proxy_rules_duration_seconds",
    "SyncProxyRules latency in seconds for partial resyncs",
  );
  private readonly lastTimestamp = new Gauge({
    name: "kubeproxy_sync_proxy_rules_last_timestamp_seconds",
    help: "The last time proxy rules were successfully synced",
    registers: [this.registry],
  });
  private readonly rules = new Gauge({
    name: "kubeproxy_sync_proxy_rules_iptables_total",
    help: "Total number of iptables rules owned by kube-proxy (filter and nat tables)",
    registers: [this.registry],
  });
  private readonly servicePorts = new Gauge({
    name: "kubeproxy_sync_proxy_rules_service_ports_total",
    help: "Service ports programmed at the last sync",
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  synced(r: SyncResult): void {
    this.duration.observe(r.ms / 1000);
    (r.full ? this.fullDuration : this.partialDuration).observe(r.ms / 1000);
    this.lastTimestamp.set(Date.now() / 1000);
    this.rules.set(r.rules);
    this.servicePorts.set(r.servicePorts);
  }
}

export class ProxyServer {
  /** The mode in use (known after start()). */
  mode: ProxyMode = "iptables";
  readonly nodeName: string;
  readonly proxier: IptablesProxier;
  /** The IPVS proxier, once start() chose ipvs mode (the kernel has IPVS). */
  ipvsProxier: IpvsProxier | undefined;
  private readonly client: RestClient;
  private readonly factory: SharedInformerFactory;
  private readonly metrics = new ProxyMetrics();
  private readonly log: Logger;
  private readonly servers: Server[] = [];
  private readonly syncWaiters = new Set<(r: SyncResult) => void>();
  private metricsServer: Server | undefined;
  private healthzServer: Server | undefined;
  private lastUpdated: Date | undefined;
  private readonly healthTimeoutMs: number;
  private readonly stopping = new AbortController();

  constructor(private readonly options: ProxyServerOptions = {}) {
    this.log = options.log ?? silentLogger;
    this.nodeName = options.hostnameOverride || hostname();
    this.client =
      options.client ??
      new RestClient(loadClientConfig({ kubeconfig: options.kubeconfig }), {
        userAgent: "skiff-proxy/0.1.0",
      });
    const clusterCIDR = options.clusterCIDR || defaultClusterCIDR;
    const exec = options.exec ?? hostExec;
    const syncPeriodMs = options.syncPeriodMs ?? 30_000;
    // kube-proxy's healthz: unhealthy when a change has waited for twice the sync period.
    this.healthTimeoutMs = 2 * syncPeriodMs;
    this.proxier = new IptablesProxier({
      node: { name: this.nodeName, addresses: hostAddresses() },
      clusterCIDR,
      serviceCIDR: "10.96.0.0/12",
      syncPeriodMs,
      minSyncPeriodMs: options.minSyncPeriodMs ?? 1_000,
      exec,
      log: this.log,
      ...(options.safetyNet === false ? {} : { safety: new SafetyNet({ clusterCIDR, exec }) }),
      onSync: (r) => this.synced(r),
    });
    this.factory = new SharedInformerFactory(this.client, { logger: this.log });
  }

  async start(): Promise<void> {
    this.mode = await selectProxyMode(this.options.proxyMode ?? "iptables", this.log);
    if (this.mode === "ipvs") {
      // As kube-proxy: iptables mode's leftovers go first (its REJECTs would shadow IPVS).
      await this.proxier.cleanup();
      this.ipvsProxier = this.newIpvsProxier();
    }
    const p = this.active;
    // Handlers only record the change and poke the runner; the sync does the work.
    this.factory
      .forResource<api.Service & KubeObject>(resourceInfo("", "v1", "services"))
      .addEventHandler({
        add: (s) => p.onServiceAdd(asService(s)),
        update: (o, s) => p.onServiceUpdate(asService(o), asService(s)),
        delete: (s) => p.onServiceDelete(asService(s)),
      });
    const nodes = this.factory.forResource<api.Node & KubeObject>(resourceInfo("", "v1", "nodes"), {
      fieldSelector: `metadata.name=${this.nodeName}`,
    });
    nodes.addEventHandler({
      add: (n) => this.nodeChanged(n),
      update: (_o, n) => this.nodeChanged(n),
    });
    const metricsAddress = this.options.metricsBindAddress ?? "127.0.0.1:10249";
    if (metricsAddress) this.metricsServer = await listen(metricsAddress, this.serveMetrics);
    const healthzAddress = this.options.healthzBindAddress ?? "0.0.0.0:10256";
    if (healthzAddress) this.healthzServer = await listen(healthzAddress, this.serveHealthz);
    this.servers.push(...[this.metricsServer, this.healthzServer].filter((s) => s !== undefined));
    // EndpointSlices where the apiserver serves them (Kubernetes >= 1.21), else core/v1 Endpoints.
    const slices = await servesEndpointSlices(this.client, this.stopping.signal, this.log);
    if (slices === undefined) return; // stopped before the apiserver answered
    if (slices) {
      this.factory
        .forResource<EndpointSlice>(resourceInfo("discovery.k8s.io", "v1", "endpointslices"))
        .addEventHandler({
          add: (e) => p.onEndpointSliceAdd(asEndpointSlice(e)),
          update: (o, e) => p.onEndpointSliceUpdate(asEndpointSlice(o), asEndpointSlice(e)),
          delete: (e) => p.onEndpointSliceDelete(asEndpointSlice(e)),
        });
    } else {
      this.log.info({}, "the apiserver serves no discovery.k8s.io/v1; watching core/v1 Endpoints");
      const changed = (o: KubeObject | undefined, e: KubeObject | undefined): void => {
        const before = o && asEndpoints(unwrap(o));
        for (const [old, cur] of endpointSliceChanges(before, e && asEndpoints(unwrap(e))))
          p.onEndpointSliceUpdate(old, cur);
      };
      this.factory.forResource(resourceInfo("", "v1", "endpoints")).addEventHandler({
        add: (e) => changed(undefined, e),
        update: (o, e) => changed(o, e),
        delete: (e) => changed(unwrap(e), undefined),
      });
    }
    this.factory.start();
    if (!(await this.factory.waitForCacheSync())) return; // stopped before the caches filled
    this.log.info({ mode: this.mode, node: this.nodeName }, "caches synced; syncing proxy rules");
    // Only once every cache is full: a sync from half the services would drop the rest.
    this.active.start();
  }

  /** The proxier of the mode in use. */
  private get active(): IptablesProxier | IpvsProxier {
    return this.ipvsProxier ?? this.proxier;
  }

  private newIpvsProxier(): IpvsProxier {
    const clusterCIDR = this.options.clusterCIDR || defaultClusterCIDR;
    const exec = this.options.exec ?? hostExec;
    return new IpvsProxier({
      node: { name: this.nodeName, addresses: hostAddresses() },
      clusterCIDR,
      serviceCIDR: "10.96.0.0/12",
      ...(this.options.ipvsScheduler ? { scheduler: this.options.ipvsScheduler } : {}),
      syncPeriodMs: this.options.syncPeriodMs ?? 30_000,
      minSyncPeriodMs: this.options.minSyncPeriodMs ?? 1_000,
      exec,
      log: this.log,
      ...(this.options.safetyNet === false ? {} : { safety: new SafetyNet({ clusterCIDR, exec }) }),
      onSync: (r) => this.synced(r),
    });
  }

  /** Stops watching and syncing; the rules stay in the kernel (as kube-proxy on SIGTERM). */
  async stop(): Promise<void> {
    this.stopping.abort();
    this.factory.stop();
    await this.active.stop();
    await Promise.all(
      this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))),
    );
    this.servers.length = 0;
  }

  /** host:port the metrics (/proxyMode) server listens on. */
  get metricsAddress(): string | undefined {
    return addressOf(this.metricsServer);
  }

  get healthzAddress(): string | undefined {
    return addressOf(this.healthzServer);
  }

  /** Resolves after the first successful sync that started at or after `since` (Date.now()). */
  waitForSync(since: number, timeoutMs = 30_000): Promise<SyncResult> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.syncWaiters.delete(done);
        reject(new Error(`no sync within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = (r: SyncResult): void => {
        if (r.startedAt < since) return;
        clearTimeout(timer);
        this.syncWaiters.delete(done);
        resolve(r);
      };
      this.syncWaiters.add(done);
    });
  }

  private nodeChanged(n: api.Node & KubeObject): void {
    const addresses = nodeAddresses(n);
    if (addresses.length > 0) this.active.setNode({ name: this.nodeName, addresses });
  }

  private synced(r: SyncResult): void {
    this.lastUpdated = new Date();
    this.metrics.synced(r);
    for (const w of [...this.syncWaiters]) w(r);
  }

  private readonly serveMetrics = (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/proxyMode") {
      res.setHeader("Content-Type", "text/plain; charset=utf-8");
      res.end(this.mode);
    } else if (path === "/metrics") {
      serveMetrics(res, this.metrics.registry);
    } else if (path === "/healthz") {
      this.serveHealthz(req, res);
    } else {
      res.statusCode = 404;
      res.end("404 page not found\n");
    }
  };

  /** kube-proxy's answer: 200 once synced and no change has waited too long, else 503. */
  private readonly serveHealthz = (req: IncomingMessage, res: ServerResponse): void => {
    const now = new Date();
    const pending = this.active.pendingSince;
    const healthy =
      this.lastUpdated !== undefined &&
      (pending === undefined || now.getTime() - pending < this.healthTimeoutMs);
    res.statusCode = healthy ? 200 : 503;
    res.setHeader("Content-Type", "application/json");
    res.setHeader("X-Content-Type-Options", "nosniff");
    res.end(
      JSON.stringify({
        lastUpdated: (this.lastUpdated ?? new Date(0)).toISOString(),
        currentTime: now.toISOString(),
        nodeEligible: true,
      }),
    );
  };
}

function addressOf(server: Server | undefined): string | undefined {
  const a = server?.address() as AddressInfo | null | undefined;
  return a ? `${a.address}:${a.port}` : undefined;
}

/** --cleanup: removes every rule, chain, route and device Skiff's proxy made. */
export async function cleanupProxyRules(
  opts: { clusterCIDR?: string; exec?: Exec; log?: Logger } = {},
): Promise<void> {
  const clusterCIDR = opts.clusterCIDR || defaultClusterCIDR;
  const exec = opts.exec ?? hostExec;
  // IPVS mode's virtual servers, kube-ipvs0 and chains first, then iptables mode's rules.
  await new IpvsProxier({
    node: { name: "", addresses: hostAddresses() },
    clusterCIDR,
    serviceCIDR: "10.96.0.0/12",
    exec,
    ...(opts.log ? { log: opts.log } : {}),
  }).cleanup();
  const proxier = new IptablesProxier({
    node: { name: "", addresses: [] },
    clusterCIDR,
    exec,
    safety: new SafetyNet({ clusterCIDR, exec }),
    ...(opts.log ? { log: opts.log } : {}),
  });
  await proxier.cleanup();
}
