// The /metrics answer every component serves on its health port: its Prometheus registry's
// text, in the registry's content type (Prometheus' text format, or OpenMetrics).
import type { ServerResponse } from "node:http";

/** What the answer needs of a prom-client Registry. */
export interface MetricsRegistry {
  metrics(): Promise<string>;
  readonly contentType: string;
}

/** Answers GET /metrics from `registry`: 200 with the metrics, 500 with the reason. */
export function serveMetrics(res: ServerResponse, registry: MetricsRegistry): void {
  registry.metrics().then(
    (text) => res.writeHead(200, { "Content-Type": registry.contentType }).end(text),
    (err: unknown) => res.writeHead(500, { "Content-Type": "text/plain" }).end(String(err)),
  );
}
