// The endpoints operators and load balancers poll: /healthz and /livez (the process answers),
// /readyz (etcd answers too) and /metrics (Prometheus text).
import type { ServerResponse } from "node:http";
import type { ApiserverMetrics } from "../metrics.js";
import type { Storage } from "../storage.js";

/** GET /healthz, /livez: the process is up. */
export function serveLive(res: ServerResponse): void {
  res.writeHead(200, { "Content-Type": "text/plain" }).end("ok");
}

/** GET /readyz: ready when etcd answers; the failed check is named, as Kubernetes does. */
export async function serveReady(storage: Storage, res: ServerResponse): Promise<void> {
  try {
    await storage.currentRevision();
    res.writeHead(200, { "Content-Type": "text/plain" }).end("ok");
  } catch (err) {
    res
      .writeHead(503, { "Content-Type": "text/plain" })
      .end(`[-]etcd failed: ${(err as Error).message}\nreadyz check failed`);
  }
}

/** GET /metrics: the apiserver's metrics in Prometheus' text format. */
export async function serveMetrics(metrics: ApiserverMetrics, res: ServerResponse): Promise<void> {
  const text = await metrics.registry.metrics();
  res.writeHead(200, { "Content-Type": metrics.registry.contentType }).end(text);
}
