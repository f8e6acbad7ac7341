// The skiff-dns program: informers on Services, EndpointSlices and Pods feed the cluster
// zone; DNS on --dns-address:--dns-port (UDP and TCP); /health and /ready on --health-port;
// /metrics on --metrics-port.
import { createServer } from "node:http";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { isIP } from "node:net";
import { resourceInfo } from "@skiff/api";
import {
  RestClient,
  SharedInformer,
  loadClientConfig,
  serveMetrics,
  silentLogger,
} from "@skiff/client";
import type { IndexFunc, KubeObject, Logger } from "@skiff/client";
import { ClusterZone, endpointSliceIndexers, podIndexers, serviceIndexers } from "./records.js";
import { slimEndpointSlice, slimPod, slimService, slimmed } from "./slim.js";
import { Forwarder } from "./forward.js";
import type { Nameserver } from "./forward.js";
import { DnsHandler } from "./handler.js";
import { DnsMetrics } from "./metrics.js";
import { DnsListeners } from "./transport.js";

export interface DnsServerOptions {
  /** Path of a kubeconfig; default as kubectl finds one. Ignored when `client` is given. */
  kubeconfig?: string;
  client?: RestClient;
  /** Where DNS (and the HTTP servers) listen: --dns-address, default 0.0.0.0. */
  dnsAddress?: string;
  /** --dns-port (default 53), --health-port (8080), --metrics-port (9153); 0 picks a free one. */
  dnsPort?: number;
  healthPort?: number;
  metricsPort?: number;
  /** --cluster-domain, default cluster.local. */
  clusterDomain?: string;
  /** --ttl: of every record in the zone, seconds (default 30). */
  ttl?: number;
  /** --resolv-conf: where the upstream nameservers for other names are (default /etc/resolv.conf). */
  resolvConf?: string;
  log?: Logger;
}

export class DnsServer {
  readonly metrics = new DnsMetrics();
  readonly zone: ClusterZone;
  readonly forwarder: Forwarder;
  private readonly client: RestClient;
  private readonly informers: { start(): void; stop(): void; waitForSync(): Promise<boolean> }[];
  private readonly listeners: DnsListeners;
  private readonly log: Logger;
  private readonly http: Server[] = [];
  private healthServer: Server | undefined;
  private metricsServer: Server | undefined;
  private generation = 0;
  private readonly changed = (): void => void this.generation++;
  private synced = false;

  constructor(private readonly options: DnsServerOptions = {}) {
    this.log = options.log ?? silentLogger;
    this.client =
      options.client ??
      new RestClient(loadClientConfig({ kubeconfig: options.kubeconfig }), {
        userAgent: "skiff-dns/0.1.0",
      });
    // Informers of our own rather than a factory's: their caches keep slim copies.
    const informer = <T extends KubeObject>(
      group: string,
      name: string,
      slim: (o: T) => T,
      indexers: Record<string, IndexFunc<T>>,
    ): SharedInformer<T> => {
      const lw = slimmed(this.client.resource<T>(resourceInfo(group, "v1", name)), slim);
      const i = new SharedInformer<T>(lw, { name, logger: this.log, indexers });
      // Any change may change an answer: the response cache starts over.
      i.addEventHandler({ add: this.changed, update: this.changed, delete: this.changed });
      return i;
    };
    const services = informer("", "services", slimService, serviceIndexers);
    const slices = informer(
      "discovery.k8s.io",
      "endpointslices",
      slimEndpointSlice,
      endpointSliceIndexers,
    );
    const pods = informer("", "pods", slimPod, podIndexers);
    this.informers = [services, slices, pods];
    this.zone = new ClusterZone({
      services: services.store,
      endpointSlices: slices.store,
      pods: pods.store,
      zone: options.clusterDomain ?? "cluster.local",
      ttl: options.ttl ?? 30,
    });
    this.forwarder = Forwarder.fromResolvConf(options.resolvConf ?? "/etc/resolv.conf", (ns) =>
      this.isSelf(ns),
    );
    const handler = new DnsHandler({
      zone: this.zone,
      forwarder: this.forwarder,
      metrics: this.metrics,
      ready: () => this.synced,
      generation: () => this.generation,
    });
    this.listeners = new DnsListeners(handler, this.log);
  }

  /** Serves DNS and HTTP at once; the zone answers SERVFAIL until the caches have synced. */
  async start(): Promise<void> {
    const address = this.options.dnsAddress ?? "0.0.0.0";
    await this.listeners.listen(address, this.options.dnsPort ?? 53);
    this.healthServer = await listen(address, this.options.healthPort ?? 8080, this.serveHealth);
    this.metricsServer = await listen(address, this.options.metricsPort ?? 9153, this.serveMetrics);
    this.http.push(this.healthServer, this.metricsServer);
    this.log.info(
      { address, port: this.listeners.port, upstreams: this.forwarder.nameservers },
      "serving DNS; waiting for the caches",
    );
    for (const i of this.informers) i.start();
    const synced = await Promise.all(this.informers.map((i) => i.waitForSync()));
    if (!synced.every(Boolean)) return; // stopped first
    this.synced = true;
    this.generation++;
    this.log.info({ zone: this.zone.zone }, "caches synced; ready");
  }

  async stop(): Promise<void> {
    for (const i of this.informers) i.stop();
    await this.listeners.close();
    await Promise.all(
      this.http.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))),
    );
    this.http.length = 0;
  }

  get ready(): boolean {
    return this.synced;
  }

  /** The DNS port (both transports), known after start(). */
  get dnsPort(): number {
    return this.listeners.port;
  }

  get healthAddress(): string | undefined {
    return addressOf(this.healthServer);
  }

  get metricsAddress(): string | undefined {
    return addressOf(this.metricsServer);
  }

  /** An upstream that is this server itself would loop every outside query back here. */
  private isSelf(ns: Nameserver): boolean {
    const port = this.options.dnsPort ?? 53;
    const address = this.options.dnsAddress ?? "0.0.0.0";
    if (ns.port !== port || port === 0) return false;
    const wildcard = address === "0.0.0.0" || address === "::";
    return ns.host === address || (wildcard && isIP(ns.host) !== 0 && isLocal(ns.host));
  }

  private readonly serveHealth = (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? "/").split("?")[0];
    res.setHeader("Content-Type", "text/plain; charset=utf-8");
    if (path === "/health") {
      res.end("OK");
    } else if (path === "/ready") {
      res.statusCode = this.synced ? 200 : 503;
      res.end(this.synced ? "OK" : "caches not synced");
    } else {
      res.statusCode = 404;
      res.end("404 page not found\n");
    }
  };

  private readonly serveMetrics = (req: IncomingMessage, res: ServerResponse): void => {
    if ((req.url ?? "/").split("?")[0] !== "/metrics") {
      res.statusCode = 404;
      res.end("404 page not found\n");
      return;
    }
    serveMetrics(res, this.metrics.registry);
  };
}

/** Loopback: when we listen on every address, a loopback upstream on our port is us. */
function isLocal(host: string): boolean {
  return host.startsWith("127.") || host === "::1";
}

async function listen(
  address: string,
  port: number,
  handle: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<Server> {
  const server = createServer(handle);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, address, () => resolve());
  });
  return server;
}

function addressOf(server: Server | undefined): string | undefined {
  const a = server?.address() as AddressInfo | null | undefined;
  return a ? `${a.address}:${a.port}` : undefined;
}
