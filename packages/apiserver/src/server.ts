// The apiserver: an HTTPS server over the registries, with authentication, discovery,
// OpenAPI, health and metrics. Construct it in a test or run it from bin/.
import { createServer as createHttpsServer, type Server } from "node:https";
import { ServerResponse, type IncomingMessage } from "node:http";
import { readFileSync } from "node:fs";
import type { AddressInfo, Socket } from "node:net";
import { networkInterfaces } from "node:os";
import { pino, type Logger } from "pino";
import {
  apiVersionOf,
  findResourceByKind,
  openapiV2Document,
  openapiV3Document,
  openapiV3Root,
  resources,
  type ResourceInfo,
} from "@skiff/api";
import { encodeOpenApiV2 } from "./openapi-v2-proto.js";
import { MasterLeases } from "./master-leases.js";
import { Compactor } from "./compactor.js";
import { EtcdStorage, type EtcdTlsFiles, type Storage } from "./storage.js";
import { loadEncryptionConfig } from "./encryption.js";
import { impersonatedUser, impersonates } from "./impersonation.js";
import {
  AuditLog,
  addAuditAnnotations,
  requestAttributes as auditAttributes,
  withAuditRecord,
  type AuditRecord,
} from "./audit.js";
import { Registry } from "./registry.js";
import { ServiceAllocator } from "./allocator.js";
import { Authenticator, type UserInfo } from "./auth.js";
import { ApiserverMetrics } from "./metrics.js";
import {
  aggregatedContentType,
  aggregatedDiscovery,
  aggregatedVersion,
  apiGroup,
  apiGroupList,
  apiResourceList,
  apiVersions,
  discoveryFormat,
  etagOf,
  versionInfo,
} from "./discovery.js";
import { handleResource, parseRoute } from "./handlers/router.js";
import type { HandlerContext } from "./handlers/context.js";
import { loadKubeletClient } from "./kubelet-client.js";
import { sendError, sendJson } from "./request.js";
import {
  ApiError,
  ForbiddenError,
  MethodNotAllowedError,
  NotFoundError,
  UnauthorizedError,
  UnknownResourceError,
} from "./errors.js";
import { meta, type KubeObject } from "./objects.js";
import { ServiceAccountTokens } from "./serviceaccount.js";
import { asUser, Authorization, requestAttributes, type AuthorizationMode } from "./authz/index.js";
import { reviewRoute, serveReview } from "./authz/reviews.js";
import { CustomResources } from "./crd.js";
import { admitCreate, ensureSystemPriorityClasses } from "./admission.js";
import { WebhookAdmission } from "./webhooks/dispatch.js";
import { PolicyAdmission } from "./policy/admission.js";
import { ensureFlowControlBootstrap } from "./flowcontrol.js";

const FLOWCONTROL = "flowcontrol.apiserver.k8s.io";
import { serviceTarget } from "./webhooks/service.js";
import { isSelfSubjectReview, serveSelfSubjectReview } from "./selfsubjectreview.js";
import { isTokenReview, serveTokenReview } from "./tokenreview.js";
import { autoscalingGroup, hpaV1ResourceList, serveHpaV1 } from "./hpa-v1.js";
import {
  METRICS_GROUP,
  METRICS_VERSION,
  ResourceMetrics,
  metricsGroup,
  metricsResourceList,
} from "./resource-metrics.js";

export interface ApiServerOptions {
  etcdServers: string[];
  /** TLS to etcd (kube-apiserver's --etcd-cafile, --etcd-certfile, --etcd-keyfile). */
  etcdTls?: EtcdTlsFiles;
  bindAddress: string;
  securePort: number;
  tlsCertFile: string;
  tlsPrivateKeyFile: string;
  clientCaFile?: string;
  tokenAuthFile?: string;
  serviceClusterIpRange: string;
  serviceNodePortRange: string;
  /** The address the `kubernetes` Service's endpoints point at (default: the host's address). */
  advertiseAddress?: string;
  /** Private key that signs service account tokens (PEM); without it, no TokenRequest. */
  serviceAccountSigningKeyFile?: string;
  /** More public keys that verify service account tokens. */
  serviceAccountKeyFiles?: string[];
  serviceAccountIssuer?: string;
  /**
   * TEST ONLY (no flag): the shortest token TokenRequest grants, in seconds. Kubernetes'
   * minimum is 10 minutes (the default here); tests of token refresh lower it to see a
   * kubelet renew a token within seconds.
   */
  serviceAccountMinTokenExpirationSeconds?: number;
  /** How long Events are kept (Kubernetes' --event-ttl; default one hour). */
  eventTtlSeconds?: number;
  /**
   * How often etcd's history is compacted (kube-apiserver's --etcd-compaction-interval,
   * default 5 minutes); 0 leaves compaction to etcd.
   */
  etcdCompactionIntervalMs?: number;
  /** Interval between watch bookmarks (Kubernetes: about a minute). */
  bookmarkIntervalMs?: number;
  /** Client certificate and key for pods/log and pods/exec calls to kubelets. */
  kubeletClientCertificate?: string;
  kubeletClientKey?: string;
  /** How often metrics.k8s.io scrapes the kubelets (metrics-server's --metric-resolution). */
  metricResolutionMs?: number;
  /** --authorization-mode, in order (default Node, RBAC). */
  authorizationModes?: AuthorizationMode[];
  /** Admission plugins turned off (kube-apiserver's --disable-admission-plugins). */
  disableAdmissionPlugins?: string[];
  /** An EncryptionConfiguration file: which resources are encrypted at rest, and how. */
  encryptionProviderConfig?: string;
  /** An audit Policy file and the file the audit Events go to ("-" for stdout). */
  auditPolicyFile?: string;
  auditLogPath?: string;
  /** --audit-log-maxsize (MB) and --audit-log-maxbackup: size rotation of the audit log. */
  auditLogMaxSizeMB?: number;
  auditLogMaxBackups?: number;
  logger?: Logger;
}

/** The resource an etcd key belongs to (`/registry/<resource>/...`), for encryption at rest. */
function resourceOfKey(key: string): { resource: string; group: string } | undefined {
  const dir = key.startsWith("/registry/services/specs/") ? "services" : key.split("/")[2];
  const info = resources.find((r) => r.resource === dir);
  return info ? { resource: info.resource, group: info.group } : undefined;
}

/** Paths anyone may read without credentials, as Kubernetes' public-info-viewer role allows. */
const PUBLIC_PATHS = new Set(["/version", "/healthz", "/livez", "/readyz"]);

const ANONYMOUS: UserInfo = { name: "system:anonymous", groups: ["system:unauthenticated"] };

const SYSTEM_NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease"];

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
    this.auth = new Authenticator({ tokenAuthFile: opts.tokenAuthFile });
    const tokens = opts.serviceAccountSigningKeyFile
      ? new ServiceAccountTokens({
          signingKeyFile: opts.serviceAccountSigningKeyFile,
          keyFiles: opts.serviceAccountKeyFiles,
          issuer: opts.serviceAccountIssuer ?? "https://kubernetes.default.svc.cluster.local",
        })
      : undefined;
    if (tokens) {
      // The bound objects come from the watch cache (an etcd read for what this server
      // deleted lately), not one etcd read per request that carries a token.
      const read = async (resource: string, ns: string, name: string) => {
        try {
          return meta(await this.registry(resource).getCached(ns, name));
        } catch {
          return undefined;
        }
      };
      this.auth.addTokenVerifier((token, audiences) =>
        tokens.verify(
          token,
          {
            accountUid: async (ns, name) => (await read("serviceaccounts", ns, name))?.uid,
            pod: (ns, name) => read("pods", ns, name),
          },
          audiences,
        ),
      );
    }
    this.webhooks = this.webhookAdmission();
    for (const info of resources) this.registries.set(info, this.newRegistry(info));
    this.metrics.observeWatchCaches(() =>
      [...this.registries].map(([info, reg]) => ({
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

  /** Admission webhooks, configured by the webhook configurations in the watch cache. */
  private webhookAdmission(): WebhookAdmission {
    const group = "admissionregistration.k8s.io";
    const cached = async (resource: string) =>
      (await this.registry(resource, group).cache.list()).items;
    const orUndefined = async (p: Promise<KubeObject>) => {
      try {
        return await p;
      } catch (err) {
        if (err instanceof NotFoundError) return undefined;
        throw err;
      }
    };
    const policies = new PolicyAdmission({
      policies: () => cached("validatingadmissionpolicies"),
      bindings: () => cached("validatingadmissionpolicybindings"),
      namespace: (ns) => orUndefined(this.registry("namespaces").getCached(undefined, ns)),
      paramResource: (apiVersion, kind) => {
        const builtIn = findResourceByKind(apiVersion, kind);
        if (builtIn) return builtIn;
        return this.customResources
          .all()
          .find((r) => apiVersionOf(r) === apiVersion && r.kind === kind);
      },
      listParams: async (info, namespace) => {
        const items = (await this.ctx.registry(info).cache.list()).items;
        return namespace ? items.filter((o) => meta(o).namespace === namespace) : items;
      },
      annotate: (annotations) => addAuditAnnotations(annotations),
      log: (msg, detail) => this.log.warn(detail, msg),
    });
    return new WebhookAdmission({
      validatingPolicies: (a, object, oldObject) => policies.validate(a, object, oldObject),
      mutatingConfigurations: () => cached("mutatingwebhookconfigurations"),
      validatingConfigurations: () => cached("validatingwebhookconfigurations"),
      namespaceLabels: async (ns) => {
        const obj = await orUndefined(this.registry("namespaces").getCached(undefined, ns));
        return obj ? (meta(obj).labels ?? {}) : undefined;
      },
      resolveService: async (namespace, name, port) =>
        serviceTarget(
          await orUndefined(this.registry("services").getCached(namespace, name)),
          await orUndefined(this.registry("endpoints").getCached(namespace, name)),
          namespace,
          name,
          port,
        ),
      log: (msg, detail) => this.log.warn(detail, msg),
      observe: ({ name, type, operation, rejected, seconds }) =>
        this.metrics.webhookLatency.observe(
          { name, type, operation, rejected: String(rejected) },
          seconds,
        ),
    });
  }

  /** A registry for one resource, with this server's storage and admission. */
  private newRegistry(info: ResourceInfo): Registry {
    return new Registry(info, {
      storage: this.storage,
      allocator: this.allocator,
      namespaceAdmits: (ns) => this.namespaceAdmits(ns),
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

  /** Admission for namespaced creates: the namespace must exist and not be terminating. */
  private async namespaceAdmits(ns: string): Promise<void> {
    const namespaces = this.registry("namespaces");
    let obj;
    try {
      obj = await namespaces.getCached(undefined, ns);
    } catch (err) {
      if (err instanceof NotFoundError)
        throw new NotFoundError({ kind: "namespaces", group: "", name: ns });
      throw err;
    }
    if (
      meta(obj).deletionTimestamp ||
      (obj.status as Record<string, unknown> | undefined)?.phase === "Terminating"
    ) {
      throw new ForbiddenError(
        `unable to create new content in namespace ${ns} because it is being terminated`,
        {
          name: ns,
          kind: "namespaces",
          causes: [
            {
              type: "NamespaceTerminating",
              message: `namespace ${ns} is being terminated`,
              field: "metadata.namespace",
            },
          ],
        },
      );
    }
  }

  /** Connects to etcd, creates the system namespaces, warms the namespace cache and listens. */
  async start(): Promise<{ port: number }> {
    await this.ensureSystemNamespaces();
    // The bootstrap policy is in place before this server announces itself (kubernetes
    // endpoints) or serves a request.
    await this.authz.reconcileBootstrapPolicy();
    await this.ensureKubernetesService();
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
    const o = this.opts;
    this.server = createHttpsServer(
      {
        cert: readFileSync(o.tlsCertFile),
        key: readFileSync(o.tlsPrivateKeyFile),
        ca: o.clientCaFile ? readFileSync(o.clientCaFile) : undefined,
        requestCert: Boolean(o.clientCaFile),
        rejectUnauthorized: false,
        // An idle keep-alive connection is closed after 30 s (it was 60): each open one holds a
        // TLS session and buffers here, and a burst of parallel requests used to leave dozens
        // per client. Long enough for a kubelet's 10 s heartbeats to reuse one; Skiff's client
        // closes its idle sockets first (15 s) and Node's agent reads the Keep-Alive hint.
        keepAliveTimeout: 30_000,
      },
      (req, res) => void this.handle(req, res),
    );
    // pods/exec arrives as a WebSocket upgrade: it takes the ordinary path, whose handler
    // (kubelet-proxy.ts) takes the socket over.
    this.server.on("upgrade", (req: IncomingMessage, socket: Socket) => {
      const res = new ServerResponse(req);
      res.assignSocket(socket);
      void this.handle(req, res);
    });
    this.server.headersTimeout = 60_000;
    this.server.requestTimeout = 0; // watches are long-running
    await new Promise<void>((resolve, reject) => {
      this.server!.once("error", reject);
      this.server!.listen(o.securePort, o.bindAddress, () => resolve());
    });
    this.bookmarkTimer = setInterval(() => {
      for (const reg of this.registries.values()) reg.cache.bookmarkAll();
    }, this.ctx.bookmarkIntervalMs);
    const port = (this.server.address() as AddressInfo).port;
    this.log.info({ port, etcd: o.etcdServers }, "serving");
    return { port };
  }

  private async ensureSystemNamespaces(): Promise<void> {
    const namespaces = this.registry("namespaces");
    for (let attempt = 0; ; attempt++) {
      try {
        for (const name of SYSTEM_NAMESPACES) {
          try {
            await namespaces.get(undefined, name);
          } catch (err) {
            if (!(err instanceof NotFoundError)) throw err;
            await namespaces
              .create(undefined, { apiVersion: "v1", kind: "Namespace", metadata: { name } })
              .catch((e: unknown) => {
                if (!(e instanceof ApiError && e.reason === "AlreadyExists")) throw e;
              });
          }
        }
        await ensureSystemPriorityClasses(this.registry("priorityclasses", "scheduling.k8s.io"));
        await ensureFlowControlBootstrap(
          this.registry("prioritylevelconfigurations", FLOWCONTROL),
          this.registry("flowschemas", FLOWCONTROL),
        );
        return;
      } catch (err) {
        if (attempt >= 30) throw err;
        this.log.warn({ err: (err as Error).message }, "waiting for etcd");
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  /** The address clients inside the cluster reach this apiserver at. */
  advertiseAddress(): string {
    if (this.opts.advertiseAddress) return this.opts.advertiseAddress;
    if (this.opts.bindAddress && this.opts.bindAddress !== "0.0.0.0") return this.opts.bindAddress;
    for (const addrs of Object.values(networkInterfaces())) {
      for (const a of addrs ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
    }
    return "127.0.0.1";
  }

  /**
   * The `kubernetes` Service in `default` (the first address of the service range); its
   * Endpoints and EndpointSlice list every running apiserver (master-leases.ts).
   */
  private async ensureKubernetesService(): Promise<void> {
    const port = this.opts.securePort;
    const ip = this.advertiseAddress();
    const services = this.registry("services");
    try {
      await services.get("default", "kubernetes");
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
      await services
        .create("default", {
          apiVersion: "v1",
          kind: "Service",
          metadata: {
            name: "kubernetes",
            labels: { component: "apiserver", provider: "kubernetes" },
          },
          spec: {
            clusterIP: this.allocator.firstIP(),
            ports: [{ name: "https", port: 443, protocol: "TCP", targetPort: port }],
            sessionAffinity: "None",
            type: "ClusterIP",
          },
        })
        .catch((e: unknown) => {
          if (!(e instanceof ApiError && e.reason === "AlreadyExists")) throw e;
        });
    }
    this.masterLeases = new MasterLeases(
      this.storage,
      this.registry("endpoints"),
      this.registry("endpointslices", "discovery.k8s.io"),
      { ip, port },
      this.log,
    );
    await this.masterLeases.start();
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

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    let verb = req.method ?? "GET";
    let info: ResourceInfo | undefined;
    let subresource = "";
    let code = 200;
    let audit: AuditRecord | undefined;
    try {
      const url = new URL(req.url ?? "/", "https://localhost");
      const path = url.pathname.replace(/\/+$/, "") || "/";
      let user = await this.auth.authenticate(req);
      const segments = path.split("/").filter(Boolean).map(decodeURIComponent);
      audit = this.audit?.begin(
        req,
        res,
        user ?? ANONYMOUS,
        auditAttributes(req.method ?? "GET", path, segments, url.searchParams),
      );
      if (!user && !PUBLIC_PATHS.has(path)) throw new UnauthorizedError();
      if (user && impersonates(req.headers)) {
        const as = await impersonatedUser(user, req.headersDistinct, (a) => this.authz.check(a));
        if (as) {
          user = as;
          audit?.impersonate(as);
        }
      }
      if (user) await this.authz.check(requestAttributes(user, verb, path, url.searchParams));
      const review = reviewRoute(segments);
      if (review) {
        verb = "POST";
        await serveReview(this.authz, review, req, res, user as UserInfo);
        code = res.statusCode;
        return;
      }
      if (isTokenReview(segments)) {
        verb = "POST";
        await serveTokenReview(req, res, this.auth, this.ctx.tokens?.apiAudiences ?? []);
        code = res.statusCode;
        return;
      }
      if (isSelfSubjectReview(segments)) {
        verb = "POST";
        await serveSelfSubjectReview(segments, req, res, user as UserInfo);
        code = res.statusCode;
        return;
      }
      if (segments[0] === "apis" && segments[1] === METRICS_GROUP) {
        if (segments.length > 3 && segments[2] === METRICS_VERSION) {
          await this.resourceMetrics.serve(segments.slice(3), req, res, url.searchParams);
        } else if (segments.length === 2 && req.method === "GET") {
          sendJson(res, 200, { kind: "APIGroup", apiVersion: "v1", ...metricsGroup() });
        } else if (segments.length === 3 && segments[2] === METRICS_VERSION) {
          sendJson(res, 200, metricsResourceList());
        } else {
          throw new UnknownResourceError(path);
        }
        code = res.statusCode;
        return;
      }
      if (segments[0] === "apis" && segments[1] === "autoscaling" && segments[2] !== "v2") {
        if (segments.length === 2 && req.method === "GET") {
          sendJson(res, 200, { kind: "APIGroup", apiVersion: "v1", ...autoscalingGroup() });
        } else if (segments.length === 3 && segments[2] === "v1" && req.method === "GET") {
          sendJson(res, 200, hpaV1ResourceList());
        } else if (segments[2] === "v1") {
          await serveHpaV1(this.ctx, segments.slice(3), req, res, user);
        } else {
          throw new UnknownResourceError(path);
        }
        code = res.statusCode;
        return;
      }
      if (segments[0] === "api" || segments[0] === "apis") {
        const served = this.serveDiscovery(segments, req, res);
        if (served) return;
        const group = segments[0] === "api" ? "" : segments[1]!;
        const version = segments[0] === "api" ? segments[1]! : segments[2]!;
        const rest = segments.slice(segments[0] === "api" ? 2 : 3);
        const route = parseRoute(group, version, rest, this.ctx.resolve);
        info = route.info;
        subresource = route.subresource ?? "";
        verb = await withAuditRecord(audit, () =>
          asUser(user, () =>
            handleResource({
              ctx: this.ctx,
              req,
              res,
              route,
              query: url.searchParams,
              user: user as UserInfo,
            }),
          ),
        );
        code = res.statusCode;
        return;
      }
      this.serveOther(path, url, req, res);
      code = res.statusCode;
    } catch (err) {
      code = sendError(res, err, (msg, e) => this.log.error({ err: e, url: req.url }, msg));
    } finally {
      audit?.complete(code);
      const labels = {
        verb,
        group: info?.group ?? "",
        resource: info?.resource ?? "",
        subresource,
      };
      this.metrics.requests.inc({ ...labels, code: String(code) });
      if (verb !== "WATCH")
        this.metrics.latency.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
    }
  }

  /** Answers the discovery documents; returns false when the path is a resource path. */
  private serveDiscovery(segments: string[], req: IncomingMessage, res: ServerResponse): boolean {
    const core = segments[0] === "api";
    if (segments.length > (core ? 2 : 3)) return false;
    if (req.method !== "GET") throw new MethodNotAllowedError(req.method ?? "", req.url ?? "");
    const [, a, b] = segments;
    if (a === undefined) {
      const format = discoveryFormat(req.headers.accept);
      if (format !== "legacy") {
        const doc = aggregatedDiscovery(core, format, this.customResources.all()) as {
          items: { metadata: { name?: string }; versions: object[] }[];
        };
        if (!core) {
          // The groups served beside the registry: autoscaling/v1 and metrics.k8s.io.
          const hpaV1 = aggregatedVersion(hpaV1ResourceList());
          doc.items.find((i) => i.metadata.name === "autoscaling")?.versions.push(hpaV1);
          doc.items.push({
            metadata: { name: METRICS_GROUP },
            versions: [aggregatedVersion(metricsResourceList())],
          });
        }
        sendDiscovery(req, res, doc, aggregatedContentType(format));
        return true;
      }
    }
    let doc: object | undefined;
    const all = this.customResources.all();
    if (core)
      doc =
        a === undefined
          ? apiVersions(req.headers.host ?? "127.0.0.1")
          : apiResourceList("", a, all);
    else if (a === undefined) {
      const list = apiGroupList(all) as { groups: { name: string }[] };
      const groups = list.groups.map((g) => (g.name === "autoscaling" ? autoscalingGroup() : g));
      doc = { ...list, groups: [...groups, metricsGroup()] };
    } else doc = b === undefined ? apiGroup(a, all) : apiResourceList(a, b, all);
    if (!doc) throw new UnknownResourceError(req.url ?? "");
    sendDiscovery(req, res, doc, "application/json");
    return true;
  }

  private serveOther(path: string, url: URL, req: IncomingMessage, res: ServerResponse): void {
    if (req.method !== "GET" && req.method !== "HEAD") throw new UnknownResourceError(path);
    switch (path) {
      case "/version":
        sendJson(res, 200, versionInfo());
        return;
      case "/healthz":
      case "/livez":
        res.writeHead(200, { "Content-Type": "text/plain" }).end("ok");
        return;
      case "/readyz":
        void this.readyz(res);
        return;
      case "/metrics":
        void this.metrics.registry.metrics().then((text) => {
          res.writeHead(200, { "Content-Type": this.metrics.registry.contentType }).end(text);
        });
        return;
      case "/openapi/v2":
        serveOpenApiV2(req, res);
        return;
      case "/openapi/v3": {
        const root = openapiV3Root();
        for (const [key, { hash }] of this.customResources.openapiDocuments())
          root.paths[key] ??= { serverRelativeURL: `/openapi/v3/${key}?hash=${hash}` };
        sendJson(res, 200, root);
        return;
      }
    }
    if (path.startsWith("/openapi/v3/")) {
      const key = path.slice("/openapi/v3/".length).replace(/^\/+|\/+$/g, "");
      const doc = openapiV3Document(key) ?? this.customResources.openapiDocuments().get(key)?.doc;
      if (!doc) throw new UnknownResourceError(path);
      sendJson(res, 200, doc, {
        "Cache-Control": url.searchParams.has("hash") ? "public, immutable" : "no-cache",
      });
      return;
    }
    throw new UnknownResourceError(path);
  }

  private async readyz(res: ServerResponse): Promise<void> {
    try {
      await this.storage.currentRevision();
      res.writeHead(200, { "Content-Type": "text/plain" }).end("ok");
    } catch (err) {
      res
        .writeHead(503, { "Content-Type": "text/plain" })
        .end(`[-]etcd failed: ${(err as Error).message}\nreadyz check failed`);
    }
  }
}

/** Sends a discovery document with an ETag; a client that already has it gets 304. */
function sendDiscovery(
  req: IncomingMessage,
  res: ServerResponse,
  doc: object,
  contentType: string,
): void {
  const data = JSON.stringify(doc);
  const etag = etagOf(data);
  const headers = { ETag: etag, Vary: "Accept", "Cache-Control": "no-cache, private" };
  const known = req.headers["if-none-match"];
  if (known && known.split(",").some((t) => t.trim() === etag)) {
    res.writeHead(304, headers).end();
    return;
  }
  res.writeHead(200, {
    ...headers,
    "Content-Type": contentType,
    "Content-Length": Buffer.byteLength(data),
  });
  res.end(data);
}

const OPENAPI_V2_PROTOBUF = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf";
let openapiV2: { json: string; protobuf: Buffer } | undefined;

/** GET /openapi/v2: protobuf when the client lists that type before JSON, else JSON. */
function serveOpenApiV2(req: IncomingMessage, res: ServerResponse): void {
  openapiV2 ??= (() => {
    const doc = openapiV2Document();
    return { json: JSON.stringify(doc), protobuf: Buffer.from(encodeOpenApiV2(doc)) };
  })();
  const accepted = (req.headers.accept ?? "")
    .split(",")
    .map((o) => o.split(";")[0]!.trim().toLowerCase());
  const pb = accepted.indexOf(OPENAPI_V2_PROTOBUF);
  const json = accepted.findIndex((t) => t === "application/json" || t === "*/*");
  const protobuf = pb >= 0 && (json < 0 || pb < json);
  const data = protobuf ? openapiV2.protobuf : Buffer.from(openapiV2.json);
  const etag = etagOf(data);
  const headers = { ETag: etag, Vary: "Accept", "Cache-Control": "no-cache, private" };
  if (req.headers["if-none-match"] === etag) {
    res.writeHead(304, headers).end();
    return;
  }
  res.writeHead(200, {
    ...headers,
    // Go's mime parser refuses the '@' of the type asked for, so the bytes go as octet-stream.
    "Content-Type": protobuf ? "application/octet-stream" : "application/json",
    "Content-Length": data.length,
  });
  res.end(data);
}
