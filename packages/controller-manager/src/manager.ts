// The controller manager: picks the enabled controllers, leads (or waits to lead) through
// the kube-system/kube-controller-manager Lease, then runs them on one shared informer
// factory, and serves /healthz and /metrics.
//
//   const cm = new ControllerManager({ kubeconfig: "cm.kubeconfig", controllers: ["*"] });
//   await cm.start();      // serves health at once; controllers run while leading
//   await cm.stop();
import { setMaxListeners } from "node:events";
import { hostname } from "node:os";
import { randomUUID } from "node:crypto";
import {
  EventRecorder,
  LeaderElector,
  RestClient,
  SharedInformerFactory,
  stripManagedFields,
  loadClientConfig,
  type ClientConfig,
  type Logger,
} from "@skiff/client";
import { pino } from "pino";
import type { Controller, ControllerConstructor, ControllerContext } from "./controller.js";
import { CONTROLLER_ACCOUNTS, ServiceAccountClients } from "./credentials.js";
import { newCronJobController } from "./controllers/cronjob/index.js";
import { newDisruptionController } from "./controllers/disruption/index.js";
import { newResourceQuotaController } from "./controllers/resourcequota/index.js";
import { newDaemonSetController } from "./controllers/daemonset/index.js";
import { newDeploymentController } from "./controllers/deployment/index.js";
import { newEndpointsController } from "./controllers/endpoints/index.js";
import { newEndpointSliceController } from "./controllers/endpointslice/index.js";
import { newJobController } from "./controllers/job/index.js";
import { newNodeIpamController } from "./controllers/nodeipam/index.js";
import { newNodeLifecycleController } from "./controllers/nodelifecycle/index.js";
import { newServiceAccountController } from "./controllers/serviceaccount/index.js";
import { newClusterRoleAggregationController } from "./controllers/clusterroleaggregation/index.js";
import { newRootCACertPublisher } from "./controllers/rootcacertpublisher/index.js";
import { newGarbageCollector } from "./controllers/garbagecollector/index.js";
import { newNamespaceController } from "./controllers/namespace/index.js";
import {
  newReplicaSetController,
  newReplicationControllerController,
} from "./controllers/replicaset/index.js";
import { newStatefulSetController } from "./controllers/statefulset/index.js";
import { newVolumeBinderController } from "./controllers/volume/binder.js";
import { newStorageProtectionController } from "./controllers/volume/protection.js";
import { newHorizontalPodAutoscalerController } from "./controllers/podautoscaler/index.js";
import { ManagerMetrics, serve } from "./server.js";
import { ConfigError } from "./errors.js";

/** Options some controllers take (flags of kube-controller-manager). */
export interface RegistryOptions {
  /** --cluster-cidr for nodeipam (default 10.244.0.0/16). */
  clusterCIDR?: string;
  /** --node-cidr-mask-size (default 24). */
  nodeCIDRMaskSize?: number;
  /** --node-monitor-grace-period, in ms (default 40 s). */
  nodeMonitorGracePeriodMs?: number;
  /** --local-path-root: where the local-path provisioner keeps volumes on nodes. */
  localPathRoot?: string;
  /** The cluster CA (PEM) the root-ca-cert-publisher puts in every namespace (--root-ca-file). */
  rootCA?: string;
}

/** Every controller this binary knows, by its --controllers name (kube-controller-manager's). */
export function newRegistry(opts: RegistryOptions = {}): Record<string, ControllerConstructor> {
  return {
    replicaset: newReplicaSetController,
    replicationcontroller: newReplicationControllerController,
    deployment: newDeploymentController,
    garbagecollector: newGarbageCollector,
    namespace: newNamespaceController,
    endpoint: newEndpointsController,
    endpointslice: newEndpointSliceController,
    nodeipam: (ctx) =>
      newNodeIpamController(ctx, {
        clusterCIDR: opts.clusterCIDR,
        nodeCIDRMaskSize: opts.nodeCIDRMaskSize,
      }),
    nodelifecycle: (ctx) =>
      newNodeLifecycleController(ctx, { nodeMonitorGracePeriodMs: opts.nodeMonitorGracePeriodMs }),
    job: (ctx) => newJobController(ctx),
    daemonset: newDaemonSetController,
    statefulset: newStatefulSetController,
    cronjob: newCronJobController,
    disruption: newDisruptionController,
    resourcequota: newResourceQuotaController,
    "persistentvolume-binder": (ctx) =>
      newVolumeBinderController(ctx, { localPathRoot: opts.localPathRoot }),
    "pvc-protection": newStorageProtectionController,
    serviceaccount: newServiceAccountController,
    "root-ca-cert-publisher": newRootCACertPublisher(opts.rootCA),
    horizontalpodautoscaling: newHorizontalPodAutoscalerController,
    "clusterrole-aggregation": newClusterRoleAggregationController,
  };
}

export const controllerRegistry = newRegistry();

/** The account's client; retried (as the apiserver may be starting) until the term ends. */
async function clientOf(
  accounts: ServiceAccountClients,
  account: string,
  signal: AbortSignal,
): Promise<RestClient> {
  for (let delay = 500; ; delay = Math.min(delay * 2, 10_000)) {
    try {
      return await accounts.clientFor(account);
    } catch (err) {
      if (signal.aborted) throw err;
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

/**
 * Resolves --controllers as kube-controller-manager does: `*` enables every known
 * controller, `name` enables one, `-name` disables one (winning over `*`).
 */
export function enabledControllers(flags: string[], known: string[]): string[] {
  const on = new Set<string>();
  const off = new Set<string>();
  for (const f of flags.map((s) => s.trim()).filter(Boolean)) {
    if (f === "*") known.forEach((n) => on.add(n));
    else if (f.startsWith("-")) off.add(f.slice(1));
    else on.add(f);
  }
  for (const n of [...on, ...off]) {
    if (!known.includes(n)) throw new ConfigError(`unknown controller "${n}" in --controllers`);
  }
  return known.filter((n) => on.has(n) && !off.has(n));
}

export interface ControllerManagerOptions extends RegistryOptions {
  kubeconfig?: string;
  /** Used instead of --kubeconfig when given (tests). */
  clientConfig?: ClientConfig;
  /** --controllers (default ["*"]). */
  controllers?: string[];
  /** --leader-elect (default true). */
  leaderElect?: boolean;
  leaseDurationSeconds?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  /** Unique per candidate (default hostname_uuid). */
  identity?: string;
  /** --port for /healthz and /metrics (default 10257; 0 picks a free one; -1 serves none). */
  port?: number;
  bindAddress?: string;
  /** Workers per controller (--concurrent-syncs, default 5). */
  concurrentSyncs?: number;
  /** Informer resync period (default 30 s here; Kubernetes uses 12 h). */
  resyncPeriodMs?: number;
  /** Client-side rate limit towards the apiserver (default 200 qps, burst 400). */
  kubeApiQps?: number;
  kubeApiBurst?: number;
  logger?: Logger;
  registry?: Record<string, ControllerConstructor>;
  /**
   * --use-service-account-credentials: each controller runs as its own ServiceAccount in
   * kube-system (see credentials.ts); the informers keep the manager's credential.
   */
  useServiceAccountCredentials?: boolean;
  /** Called when leadership is lost; main exits the process (as Kubernetes does). */
  onStoppedLeading?: () => void;
}

export class ControllerManager {
  readonly metrics = new ManagerMetrics();
  readonly client: RestClient;
  readonly identity: string;
  private readonly log: Logger;
  private readonly names: string[];
  private readonly registry: Record<string, ControllerConstructor>;
  private elector: LeaderElector | undefined;
  private electionClient: RestClient | undefined;
  private term:
    | {
        abort: AbortController;
        informers: SharedInformerFactory;
        done: Promise<void>;
        accounts?: ServiceAccountClients;
      }
    | undefined;
  private server: { port: number; close(): Promise<void> } | undefined;
  private leading = false;
  private stopping = false;

  constructor(private readonly opts: ControllerManagerOptions = {}) {
    this.log = opts.logger ?? pino({ name: "kube-controller-manager" });
    const config = opts.clientConfig ?? loadClientConfig({ kubeconfig: opts.kubeconfig });
    this.client = new RestClient(
      { ...config, qps: opts.kubeApiQps ?? 200, burst: opts.kubeApiBurst ?? 400 },
      { userAgent: "skiff-controller-manager/0.1.0" },
    );
    this.identity = opts.identity ?? `${hostname()}_${randomUUID()}`;
    // Without --root-ca-file the CA is the one this manager trusts the apiserver by, as
    // kube-controller-manager does.
    this.registry = opts.registry ?? newRegistry({ ...opts, rootCA: opts.rootCA ?? config.ca });
    this.names = enabledControllers(opts.controllers ?? ["*"], Object.keys(this.registry));
  }

  /** The port /healthz and /metrics are served on (after start). */
  get port(): number | undefined {
    return this.server?.port;
  }

  isLeader(): boolean {
    return this.leading;
  }

  /** Serves health, then leads (or campaigns in the background). Resolves once serving. */
  async start(): Promise<void> {
    const port = this.opts.port ?? 10257;
    if (port >= 0)
      this.server = await serve(this.metrics, this.opts.bindAddress ?? "127.0.0.1", port);
    this.log.info({ controllers: this.names, port: this.server?.port }, "starting");
    if (this.opts.leaderElect === false) {
      this.lead(new AbortController().signal);
      return;
    }
    // Its own client and connection, as kube-controller-manager's leader-election client: a
    // renewal never waits behind the controllers' requests in the shared, bounded pool.
    this.electionClient = new RestClient(
      { ...this.client.config, qps: -1 },
      {
        userAgent: "skiff-controller-manager/0.1.0 (leader-election)",
        pool: "leader-election",
        maxSockets: 1,
      },
    );
    this.elector = new LeaderElector({
      client: this.electionClient,
      namespace: "kube-system",
      name: "kube-controller-manager",
      identity: this.identity,
      leaseDurationSeconds: this.opts.leaseDurationSeconds ?? 15,
      renewDeadlineMs: this.opts.renewDeadlineMs ?? 10_000,
      retryPeriodMs: this.opts.retryPeriodMs ?? 2_000,
      releaseOnCancel: true,
      logger: this.log,
      callbacks: {
        onStartedLeading: (signal) => this.lead(signal),
        onStoppedLeading: () => {
          void this.stopLeading();
          if (!this.stopping) this.opts.onStoppedLeading?.();
        },
      },
    });
    void this.elector.run();
  }

  /** Builds the enabled controllers on a fresh informer factory and runs them. */
  private lead(signal: AbortSignal): void {
    this.leading = true;
    this.metrics.leader.set({ name: "kube-controller-manager" }, 1);
    const abort = new AbortController();
    setMaxListeners(0, abort.signal); // every controller listens for the end of the term
    signal.addEventListener("abort", () => abort.abort(), { once: true });
    const informers = new SharedInformerFactory(this.client, {
      resyncPeriodMs: this.opts.resyncPeriodMs ?? 30_000,
      logger: this.log,
      // No controller reads managedFields; kube-controller-manager drops them too.
      transform: stripManagedFields,
    });
    const accounts = this.opts.useServiceAccountCredentials
      ? new ServiceAccountClients(this.client, this.log)
      : undefined;
    let ready!: () => void;
    const built = new Promise<void>((resolve) => (ready = resolve));
    const controllers: Controller[] = [];
    const done = built
      .then(() =>
        Promise.all(
          controllers.map((c) =>
            c.run(this.opts.concurrentSyncs ?? 5, abort.signal).catch((err: unknown) => {
              this.log.error({ controller: c.name, err }, "controller stopped with an error");
            }),
          ),
        ),
      )
      .then(() => undefined);
    this.term = { abort, informers, done, accounts };
    void this.build(informers, accounts, abort.signal).then((list) => {
      controllers.push(...list);
      if (!abort.signal.aborted) {
        informers.start();
        this.log.info({ controllers: controllers.map((c) => c.name) }, "controllers started");
      }
      ready();
    });
  }

  /** Each enabled controller, with its own client when it runs as its own account. */
  private async build(
    informers: SharedInformerFactory,
    accounts: ServiceAccountClients | undefined,
    signal: AbortSignal,
  ): Promise<Controller[]> {
    const contextFor = (client: RestClient): ControllerContext => {
      const recorders = new Map<string, EventRecorder>();
      return {
        client,
        informers,
        recorder: (component) => {
          let r = recorders.get(component);
          if (!r)
            recorders.set(
              component,
              (r = new EventRecorder(client, { component, logger: this.log })),
            );
          return r;
        },
        log: this.log,
        metrics: this.metrics,
      };
    };
    const shared = contextFor(this.client);
    const byAccount = new Map<string, ControllerContext>();
    const controllers: Controller[] = [];
    for (const name of this.names) {
      if (signal.aborted) break;
      try {
        let ctx = shared;
        const account = CONTROLLER_ACCOUNTS[name];
        if (accounts && account) {
          ctx = byAccount.get(account) ?? contextFor(await clientOf(accounts, account, signal));
          byAccount.set(account, ctx);
        } else if (accounts) {
          this.log.info({ controller: name }, "no account of its own; runs with the manager's");
        }
        controllers.push(this.registry[name]!(ctx));
      } catch (err) {
        this.log.error({ controller: name, err }, "cannot build controller; skipping it");
      }
    }
    return controllers;
  }

  private async stopLeading(): Promise<void> {
    this.leading = false;
    this.metrics.leader.set({ name: "kube-controller-manager" }, 0);
    const term = this.term;
    this.term = undefined;
    if (!term) return;
    term.abort.abort();
    term.informers.stop();
    await term.done;
    term.accounts?.stop();
  }

  /** Stops the controllers, releases the lease and closes the server. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.elector) await this.elector.stop();
    await this.stopLeading();
    await this.server?.close();
    this.client.close();
    this.electionClient?.close();
  }
}
