// skiff-scheduler as a running component: connect, serve /healthz and /metrics, sync the
// caches, then schedule — while leading, when leader election is on.
import { createServer, type Server } from "node:http";
import { hostname } from "node:os";
import { randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";
import {
  LeaderElector,
  RestClient,
  defaultLogger,
  loadClientConfig,
  serveMetrics,
  type Logger,
} from "@skiff/client";
import { Scheduler, defaultSchedulerName } from "./scheduler.js";

/** Client limits (see docs/benchmarks.md, scheduler, for why these numbers). */
export const defaultQps = 700;
export const defaultBurst = 1400;
export const defaultEventQps = 50;
export const defaultEventBurst = 100;

export interface SchedulerServerOptions {
  kubeconfig?: string;
  schedulerName?: string;
  leaderElect?: boolean;
  leaseNamespace?: string;
  leaseName?: string;
  leaseDurationSeconds?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  /** Port for /healthz and /metrics (plain HTTP; 0 picks a free one). */
  port?: number;
  bindAddress?: string;
  /** The scheduler's client limits (bindings, lists and watches); -1 qps: unlimited. */
  qps?: number;
  burst?: number;
  /** The events client's own limits (Events never share the bindings' budget). */
  eventQps?: number;
  eventBurst?: number;
  percentageOfNodesToScore?: number;
  logger?: Logger;
  /** Called when leadership is lost; a process should exit so that it restarts clean. */
  onStoppedLeading?: () => void;
}

export interface SchedulerServer {
  scheduler: Scheduler;
  identity: string;
  /** The port /healthz and /metrics answer on. */
  port: number;
  isLeader(): boolean;
  stop(): Promise<void>;
}

export async function startSchedulerServer(opts: SchedulerServerOptions): Promise<SchedulerServer> {
  const log = opts.logger ?? defaultLogger;
  const identity = `${hostname()}_${randomUUID()}`;

  // 1. Connect.
  const loaded = loadClientConfig({ kubeconfig: opts.kubeconfig });
  const limits = { qps: opts.qps ?? defaultQps, burst: opts.burst ?? defaultBurst };
  const client = new RestClient({ ...loaded, ...limits }, { userAgent: "skiff-scheduler/0.1.0" });
  // Events go through a client of their own: its own connections and rate limit.
  const eventClient = new RestClient(
    {
      ...loaded,
      qps: opts.eventQps ?? defaultEventQps,
      burst: opts.eventBurst ?? defaultEventBurst,
    },
    { userAgent: "skiff-scheduler/0.1.0" },
  );
  const scheduler = new Scheduler({
    client,
    eventClient,
    schedulerName: opts.schedulerName ?? defaultSchedulerName,
    logger: log,
    percentageOfNodesToScore: opts.percentageOfNodesToScore,
    identity,
  });

  // 2. Serve health and metrics (healthy as soon as the process runs, as kube-scheduler).
  const http = await serve(scheduler, opts.bindAddress ?? "127.0.0.1", opts.port ?? 10259);
  const port = (http.address() as AddressInfo).port;
  log.info({ port, identity }, "serving /healthz and /metrics");

  // 3. Fill the caches; followers keep theirs warm so that a takeover is quick.
  await scheduler.start();
  log.info({}, "caches synced");

  // 4. Schedule, while leading.
  let elector: LeaderElector | undefined;
  let electionClient: RestClient | undefined;
  if (opts.leaderElect ?? true) {
    // Its own client and connection, as kube-scheduler's leader-election client: a renewal
    // never waits behind a burst of bindings in the shared, bounded request pool or the rate
    // limit (with one client a burst of 5,000 pods made a renewal miss its 10 s deadline, and
    // the scheduler gave up leading in the middle of the burst).
    electionClient = new RestClient(
      { ...loaded, qps: -1 },
      {
        userAgent: "skiff-scheduler/0.1.0 (leader-election)",
        pool: "leader-election",
        maxSockets: 1,
      },
    );
    elector = new LeaderElector({
      client: electionClient,
      namespace: opts.leaseNamespace ?? "kube-system",
      name: opts.leaseName ?? "kube-scheduler",
      identity,
      leaseDurationSeconds: opts.leaseDurationSeconds ?? 15,
      renewDeadlineMs: opts.renewDeadlineMs ?? 10_000,
      retryPeriodMs: opts.retryPeriodMs ?? 2_000,
      releaseOnCancel: true,
      logger: log,
      callbacks: {
        onStartedLeading: (signal) => {
          log.info({ identity }, "leading: scheduling starts");
          void scheduler.run(signal);
        },
        onStoppedLeading: () => {
          log.warn({ identity }, "leadership lost: scheduling stops");
          opts.onStoppedLeading?.();
        },
      },
    });
    void elector.run();
  } else {
    void scheduler.run();
  }

  return {
    scheduler,
    identity,
    port,
    isLeader: () => (elector ? elector.isLeader() : true),
    async stop() {
      await elector?.stop();
      await scheduler.stop();
      await new Promise<void>((r) => http.close(() => r()));
      client.close();
      eventClient.close();
      electionClient?.close();
    },
  };
}

function serve(scheduler: Scheduler, host: string, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/healthz" || path === "/livez" || path === "/readyz") {
      res.writeHead(200, { "Content-Type": "text/plain" }).end("ok");
    } else if (path === "/metrics") {
      serveMetrics(res, scheduler.metrics.registry);
    } else {
      res.writeHead(404, { "Content-Type": "text/plain" }).end("404 page not found\n");
    }
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve(server));
  });
}
