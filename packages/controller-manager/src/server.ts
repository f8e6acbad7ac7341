// The controller-manager's HTTP endpoints (/healthz, /readyz, /metrics) and the Prometheus
// metrics every controller reports through its context. Plain HTTP: bind it to loopback.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { serveMetrics } from "@skiff/client";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { ControllerMetrics } from "./controller.js";

/** Per-controller work-queue and sync metrics, in the manager's own registry. */
export class ManagerMetrics implements ControllerMetrics {
  readonly registry = new Registry();
  private readonly depth = new Gauge({
    name: "workqueue_depth",
    help: "Current depth of the controller's work queue.",
    labelNames: ["name"],
    registers: [this.registry],
  });
  private readonly adds = new Counter({
    name: "workqueue_adds_total",
    help: "Keys added to the controller's work queue.",
    labelNames: ["name"],
    registers: [this.registry],
  });
  private readonly retries = new Counter({
    name: "workqueue_retries_total",
    help: "Keys re-added after a failed sync.",
    labelNames: ["name"],
    registers: [this.registry],
  });
  private readonly queueLatency = new Histogram({
    name: "workqueue_queue_duration_seconds",
    help: "How long a key waits in the queue before a worker takes it.",
    labelNames: ["name"],
    buckets: [0.001, 0.01, 0.1, 1, 10],
    registers: [this.registry],
  });
  private readonly syncDuration = new Histogram({
    name: "controller_sync_duration_seconds",
    help: "How long one sync(key) takes.",
    labelNames: ["controller"],
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [this.registry],
  });
  private readonly syncErrors = new Counter({
    name: "controller_sync_errors_total",
    help: "Syncs that failed (and were retried).",
    labelNames: ["controller"],
    registers: [this.registry],
  });
  readonly leader = new Gauge({
    name: "leader_election_master_status",
    help: "1 while this process leads, else 0.",
    labelNames: ["name"],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  queue(name: string) {
    this.depth.set({ name }, 0);
    return {
      depth: (d: number) => this.depth.set({ name }, d),
      adds: () => this.adds.inc({ name }),
      latency: (s: number) => this.queueLatency.observe({ name }, s),
      retries: () => this.retries.inc({ name }),
    };
  }

  sync(controller: string, seconds: number, failed: boolean): void {
    this.syncDuration.observe({ controller }, seconds);
    if (failed) this.syncErrors.inc({ controller });
  }
}

/** Serves /healthz, /readyz and /metrics; resolves with the bound port. */
export async function serve(
  metrics: ManagerMetrics,
  bindAddress: string,
  port: number,
): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/healthz" || path === "/readyz" || path === "/livez") {
      res.writeHead(200, { "Content-Type": "text/plain" }).end("ok");
    } else if (path === "/metrics") {
      serveMetrics(res, metrics.registry);
    } else {
      res.writeHead(404, { "Content-Type": "text/plain" }).end("404 page not found\n");
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, bindAddress, resolve);
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
