// The apiserver: builds its parts (storage, registries, authentication, authorization,
// admission, custom resources) and starts and stops them in order. Construct it in a test or
// run it from bin/. What a request goes through is in server/: filters.ts (authentication,
// audit, impersonation, authorization), routes.ts (the routing table), then the handlers.
import type { Server } from "node:https";
import { pino, type Logger } from "pino";
import { resources, type ResourceInfo } from "@skiff/api";
import { MasterLeases } from "./master-leases.js";
import { Compactor } from "./compactor.js";
import { EtcdStorage, type Storage } from "./storage.js";
import { loadEncryptionConfig } from "./encryption.js";
import { AuditLog } from "./audit.js";
import { WatchCache } from "./watchcache.js";
import { Registry } from "./registry.js";
import { ServiceAllocator } from "./allocator.js";
import type { Authenticator } from "./auth.js";
import { ApiserverMetrics } from "./metrics.js";
import type { HandlerContext } from "./handlers/context.js";
import { loadKubeletClient } from "./kubelet-client.js";
import { UnknownResourceError } from "./errors.js";
import { meta, setCondition } from "./objects.js";
import { Authorization } from "./authz/index.js";
import { PriorityAndFairness } from "./fairness.js";
import { CustomResources } from "./crd.js";
import { admitCreate } from "./admission.js";
import type { WebhookAdmission } from "./webhooks/dispatch.js";
import { ResourceMetrics } from "./resource-metrics.js";
import { namespaceAdmits, webhookAdmission } from "./server/admission-sources.js";
import { authentication } from "./server/authentication.js";
import { handleRequest } from "./server/filters.js";
import { listenHttps } from "./server/listen.js";
import type { ApiServerOptions } from "./server/options.js";
import {
  advertiseAddress,
  ensureKubernetesService,
  ensureSystemObjects,
} from "./server/system-objects.js";

export type { ApiServerOptions };

const FLOWCONTROL_GROUP = "flowcontrol.apiserver.k8s.io";
/** kube-apiserver's defaults; priority and fairness shares their sum among its levels. */
export const DEFAULT_MAX_REQUESTS_INFLIGHT = 400;
export const DEFAULT_MAX_MUTATING_REQUESTS_INFLIGHT = 200;

/** The resource an etcd key belongs to (`/registry/<resource>/...`), for encryption at rest. */
function resourceOfKey(key: string): { resource: string; group: string } | undefined {
  const dir = key.startsWith("/registry/services/specs/") ? "services" : key.split("/")[2];
  const info = resources.find((r) => r.resource === dir);
  return info ? { resource: info.resource, group: info.group } : undefined;
}

export class ApiServer {
  readonly metrics = new ApiserverMetrics();
  readonly log: Logger;
  private readonly storage: Storage;
  private readonly registries = new Map<ResourceInfo, Registry>();
  private readonly auth: Authenticator;
  readonly authz: Authorization;
  private server: Server | undefined;
  private bookmarkTimer: NodeJS.Timeout | undefined;
  private masterLeases: MasterLeases | undefined;
  private compactor: Compactor | undefined;
  private readonly ctx: HandlerContext;
  readonly allocator: ServiceAllocator;
  private readonly resourceMetrics: ResourceMetrics;
  /** Admission webhooks; every Registry's deps carry it (custom resources' too). */
  readonly webhooks: WebhookAdmission;
  private readonly customResources: CustomResources;
  private readonly audit: AuditLog | undefined;
  private readonly fairness: PriorityAndFairness | undefined;

  constructor(readonly opts: ApiServerOptions) {
    this.log = opts.logger ?? pino({ name: "skiff-apiserver" });
    this.storage = new EtcdStorage({
      endpoints: opts.etcdServers,
      tls: opts.etcdTls,
      transformer: opts.encryptionProviderConfig
        ? loadEncryptionConfig(opts.encryptionProviderConfig, resourceOfKey)
        : undefined,
      onRequest: (op, seconds) => this.metrics.etcdLatency.observe({ operation: op }, seconds),
    });
    this.audit =
      opts.auditPolicyFile && opts.auditLogPath
        ? AuditLog.fromFiles(opts.auditPolicyFile, opts.auditLogPath, {
            maxSizeMB: opts.auditLogMaxSizeMB,
            maxBackups: opts.auditLogMaxBackups,
          })
        : undefined;
    this.allocator = new ServiceAllocator(opts.serviceClusterIpRange, opts.serviceNodePortRange);
    const { auth, tokens } = authentication(opts, (resource) => this.registry(resource));
    this.auth = auth;
    this.webhooks = webhookAdmission({
      registry: (resource, group) => this.registry(resource, group),
      servedRegistry: (info) => this.ctx.registry(info),
      customResources: () => this.customResources.all(),
      log: this.log,
      metrics: this.metrics,
    });
    for (const info of resources) this.registries.set(info, this.newRegistry(info));
    // Events have no watch cache (uncached.ts): nothing to report for them.
    this.metrics.observeWatchCaches(() =>
      [...this.registries]
        .filter(([, reg]) => reg.cache instanceof WatchCache)
        .map(([info, reg]) => ({
          group: info.group,
          resource: info.resource,
          ...reg.cache.size(),
        })),
    );
    this.customResources = new CustomResources({
      crds: this.registry("customresourcedefinitions", "apiextensions.k8s.io"),
      newRegistry: (info) => this.newRegistry(info),
      registries: this.registries,
      log: (msg, detail) => this.log.info(detail ?? {}, msg),
    });
    this.authz = new Authorization(opts.authorizationModes ?? ["Node", "RBAC"], (r, g) =>
      this.registry(r, g),
    );
    if (opts.enablePriorityAndFairness !== false) {
      const flowRegistries = ["flowschemas", "prioritylevelconfigurations"].map((r) =>
        this.registry(r, FLOWCONTROL_GROUP),
      );
      const [flows, levels] = flowRegistries as [Registry, Registry];
      this.fairness = new PriorityAndFairness({
        serverConcurrency:
          (opts.maxRequestsInflight ?? DEFAULT_MAX_REQUESTS_INFLIGHT) +
          (opts.maxMutatingRequestsInflight ?? DEFAULT_MAX_MUTATING_REQUESTS_INFLIGHT),
        metrics: this.metrics,
        writeDangling: (name, condition) =>
          flows
            .update(
              undefined,
              name,
              (current) => {
                // Unchanged (another apiserver wrote it first): skipUnchanged writes nothing.
                setCondition(current, condition);
                return current;
              },
              { subresource: "status", skipUnchanged: true },
            )
            .then(
              () => undefined,
              (err: unknown) => this.log.info({ err, flowSchema: name }, "flow schema status"),
            ),
        source: {
          flowSchemas: () => flows.cache.snapshot(),
          priorityLevels: () => levels.cache.snapshot(),
          // The objects change when a cache moves on or this server writes one of them.
          stamp: () =>
            flowRegistries.every((r) => r.cache.isSynced())
              ? flowRegistries.map((r) => `${r.cache.currentRevision()}.${r.writes}`).join(",")
              : undefined,
        },
      });
    }
    this.ctx = {
      registries: this.registries,
      registry: (info) => {
        const reg = this.registries.get(info);
        // A custom resource whose CRD went away while the request was under way.
        if (!reg) throw new UnknownResourceError(`/${info.group}/${info.version}/${info.resource}`);
        return reg;
      },
      resolve: (group, version, resource) => this.customResources.resolve(group, version, resource),
      terminating: (info) => this.customResources.terminating(info),
      log: (msg, err) => this.log.error({ err }, msg),
      onWatch: (info, delta) =>
        this.metrics.watches.inc(
          { verb: "WATCH", group: info.group, resource: info.resource },
          delta,
        ),
      watchTimeoutSeconds: () => 1800 + Math.floor(Math.random() * 1800),
      bookmarkIntervalMs: opts.bookmarkIntervalMs ?? 60_000,
      tokens,
      minTokenExpirationSeconds: opts.serviceAccountMinTokenExpirationSeconds ?? 600,
      webhooks: this.webhooks,
      admitTokenRequest: (user, ns, name, ref) => this.authz.admitTokenRequest(user, ns, name, ref),
      kubeletClient: loadKubeletClient({
        certFile: opts.kubeletClientCertificate,
        keyFile: opts.kubeletClientKey,
        tlsCertFile: opts.tlsCertFile,
      }),
    };
    this.resourceMetrics = new ResourceMetrics(this.ctx, {
      resolutionMs: opts.metricResolutionMs,
      log: (msg, detail) => this.log.debug(detail, msg),
    });
  }

  /** A registry for one resource, with this server's storage and admission. */
  private newRegistry(info: ResourceInfo): Registry {
    return new Registry(info, {
      storage: this.storage,
      allocator: this.allocator,
      namespaceAdmits: (ns) => namespaceAdmits(this.registry("namespaces"), ns),
      admitCreate: (i, obj) =>
        admitCreate(
          {
            list: async (group, resource, namespace) => {
              const items = (await this.registry(resource, group).cache.list()).items;
              return namespace ? items.filter((o) => meta(o).namespace === namespace) : items;
            },
            registry: (group, resource) => this.registry(resource, group),
            disabled: new Set(this.opts.disableAdmissionPlugins ?? []),
          },
          i,
          obj,
        ),
      admitWrite: (i, obj, old) => this.authz.admitWrite(i, obj, old),
      webhooks: this.webhooks,
      eventTtlSeconds: this.opts.eventTtlSeconds ?? 3600,
      log: (msg) => this.log.warn({ resource: info.resource }, msg),
    });
  }

  registry(resource: string, group = ""): Registry {
    const info = resources.find((r) => r.resource === resource && r.group === group);
    if (!info) throw new Error(`no resource ${resource} in group "${group}"`);
    return this.registries.get(info)!;
  }

  /** Connects to etcd, creates the system objects, starts the watch caches and listens. */
  async start(): Promise<{ port: number }> {
    await ensureSystemObjects((r, g) => this.registry(r, g), this.log);
    // The bootstrap policy is in place before this server announces itself (kubernetes
    // endpoints) or serves a request.
    await this.authz.reconcileBootstrapPolicy();
    await ensureKubernetesService(
      this.registry("services"),
      this.allocator.firstIP(),
      this.opts.securePort,
    );
    this.masterLeases = new MasterLeases(
      this.storage,
      this.registry("endpoints"),
      this.registry("endpointslices", "discovery.k8s.io"),
      { ip: this.advertiseAddress(), port: this.opts.securePort },
      this.log,
    );
    await this.masterLeases.start();
    // Every resource's watch cache starts now, so a watch from any recent list succeeds.
    // One that cannot (stored data no configured key decrypts) stops the start, and the
    // caches already watching are stopped with it so that nothing is left running.
    const started = await Promise.allSettled(
      [...this.registries.values()].map((reg) => reg.cache.start()),
    );
    const failed = started.find((r) => r.status === "rejected");
    if (failed) {
      for (const reg of this.registries.values()) await reg.cache.stop().catch(() => undefined);
      await this.storage.close();
      throw failed.reason;
    }
    await this.customResources.start();
    this.compactor = new Compactor(
      this.storage,
      this.opts.etcdCompactionIntervalMs ?? 5 * 60_000,
      this.log,
    );
    this.compactor.start();
    const parts = {
      ctx: this.ctx,
      auth: this.auth,
      authz: this.authz,
      customResources: this.customResources,
      resourceMetrics: this.resourceMetrics,
      metrics: this.metrics,
      storage: this.storage,
      audit: this.audit,
      log: this.log,
      fairness: this.fairness,
    };
    const { server, port } = await listenHttps(
      this.opts,
      (req, res) => void handleRequest(parts, req, res),
    );
    this.server = server;
    this.bookmarkTimer = setInterval(() => {
      for (const reg of this.registries.values()) reg.cache.bookmarkAll();
    }, this.ctx.bookmarkIntervalMs);
    this.log.info({ port, etcd: this.opts.etcdServers }, "serving");
    return { port };
  }

  /** The address clients inside the cluster reach this apiserver at. */
  advertiseAddress(): string {
    return advertiseAddress(this.opts);
  }

  async stop(): Promise<void> {
    clearInterval(this.bookmarkTimer);
    this.compactor?.stop();
    await this.masterLeases?.stop();
    this.resourceMetrics.stop();
    this.customResources.stop();
    for (const reg of this.registries.values()) await reg.cache.stop();
    await new Promise<void>((resolve) => {
      if (!this.server) return resolve();
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    await this.storage.close();
    await this.audit?.close();
  }
}
