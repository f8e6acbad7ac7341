// metrics.k8s.io/v1beta1 (NodeMetrics, PodMetrics) served from inside the apiserver — the
// role metrics-server plays in Kubernetes, without the aggregation layer (docs/architecture.md
// says why). From the first metrics request on (until ten idle minutes pass), every
// `resolutionMs` (15 s, metrics-server's --metric-resolution) every Node's
// kubelet is asked for /stats/summary, all at once, each with its own timeout; a node that
// does not answer in time is left out of that round, not an error for the others. Reads are
// served from the last round: get, list, label selectors, one namespace or all.
//
// Figures are metrics-server's: cpu is the kubelet's usageNanoCores (a rate, absent on a
// kubelet's first answer), memory the working set; a pod whose containers lack either is
// left out, as is a pod the API does not know (its labels come from the API's pod).
import type { IncomingMessage, ServerResponse } from "node:http";
import {
  matchesLabels,
  parseLabelSelector,
  resourceInfo,
  rfc3339,
  type APIResourceList,
  type ContainerMetrics,
  type ResourceUsage,
  type Summary,
  type Requirement,
} from "@skiff/api";
import { BadRequestError, MethodNotAllowedError, NotFoundError } from "./errors.js";
import type { HandlerContext } from "./handlers/context.js";
import { kubeletJson } from "./kubelet-client.js";
import { sendJson } from "./request.js";
import type { KubeObject } from "./objects.js";

export const METRICS_GROUP = "metrics.k8s.io";
export const METRICS_VERSION = "v1beta1";
const API_VERSION = `${METRICS_GROUP}/${METRICS_VERSION}`;
/** How long scraping goes on after the last metrics request. */
const IDLE_MS = 10 * 60_000;

export interface MetricsOptions {
  /** How often the kubelets are scraped (metrics-server's --metric-resolution). */
  resolutionMs?: number;
  /** How long one kubelet may take (metrics-server's --kubelet-request-timeout). */
  timeoutMs?: number;
  log?: (msg: string, detail: object) => void;
}

interface Sample {
  timestamp: string;
  window: string;
}

interface NodeSample extends Sample {
  name: string;
  usage: ResourceUsage;
}

interface PodSample extends Sample {
  namespace: string;
  name: string;
  containers: ContainerMetrics[];
}

/** metrics-server's discovery: two read-only resources. */
export function metricsResourceList(): APIResourceList {
  const verbs = ["get", "list"];
  return {
    kind: "APIResourceList",
    apiVersion: "v1",
    groupVersion: API_VERSION,
    resources: [
      { name: "nodes", singularName: "", namespaced: false, kind: "NodeMetrics", verbs },
      { name: "pods", singularName: "", namespaced: true, kind: "PodMetrics", verbs },
    ],
  };
}

export function metricsGroup(): object {
  const gv = { groupVersion: API_VERSION, version: METRICS_VERSION };
  return { name: METRICS_GROUP, versions: [gv], preferredVersion: gv };
}

function cpuQuantity(nanoCores: number): string {
  return `${Math.round(nanoCores)}n`;
}

function memoryQuantity(bytes: number): string {
  return bytes % 1024 === 0 ? `${bytes / 1024}Ki` : String(bytes);
}

/** Go's time.Duration text for whole milliseconds: "15s", "14.997s". */
function duration(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))}s`;
}

export class ResourceMetrics {
  private nodes = new Map<string, NodeSample>();
  private pods = new Map<string, PodSample>();
  private readonly lastScrape = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private scraping: Promise<void> | undefined;
  private lastRead = 0;
  private stopped = false;
  private readonly resolutionMs: number;
  private readonly timeoutMs: number;

  constructor(
    private readonly ctx: HandlerContext,
    private readonly opts: MetricsOptions = {},
  ) {
    // At least a second: the kubelets' cpu rates need that much between two scrapes.
    const resolution = opts.resolutionMs ?? 15_000;
    this.resolutionMs = Number.isFinite(resolution) ? Math.max(1000, resolution) : 15_000;
    this.timeoutMs = opts.timeoutMs ?? Math.min(10_000, this.resolutionMs);
  }

  /**
   * Scraping starts with the first metrics request and goes on while metrics are read (the
   * HPA controller reads every 15 s); after IDLE_MS without a reader it pauses, so an
   * apiserver nobody asks for metrics (most tests) never calls a kubelet.
   */
  private ensureScraping(): Promise<void> {
    this.lastRead = Date.now();
    if (this.scraping) return this.scraping;
    const loop = async (): Promise<void> => {
      await this.scrape().catch((err: unknown) =>
        this.opts.log?.("metrics scrape failed", { err: (err as Error).message }),
      );
      if (this.stopped || Date.now() - this.lastRead > IDLE_MS) {
        this.scraping = undefined;
        return;
      }
      this.timer = setTimeout(() => void loop(), this.resolutionMs);
    };
    // Rates need two samples: a fresh start scrapes twice, 1.5 s apart, before answering.
    this.scraping = this.scrape()
      .catch(() => undefined)
      .then(() => new Promise((r) => setTimeout(r, 1500)))
      .then(loop);
    return this.scraping;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** One round: every node's kubelet at once; the nodes that answered replace the last round. */
  async scrape(): Promise<void> {
    const nodeInfo = resourceInfo("", "v1", "nodes");
    const { items } = await this.ctx.registry(nodeInfo).cache.list();
    const nodes = new Map<string, NodeSample>();
    const pods = new Map<string, PodSample>();
    await Promise.all(
      items.map(async (node) => {
        const name = String(node.metadata.name);
        const started = Date.now();
        let summary: Summary;
        try {
          summary = (await kubeletJson(
            this.ctx.kubeletClient,
            node,
            "/stats/summary",
            this.timeoutMs,
          )) as Summary;
        } catch (err) {
          this.opts.log?.("node left out of metrics", { node: name, err: (err as Error).message });
          return;
        }
        const window = duration(
          started - (this.lastScrape.get(name) ?? started - this.resolutionMs),
        );
        this.lastScrape.set(name, started);
        const n = summary.node;
        if (n?.cpu?.usageNanoCores !== undefined && n.memory?.workingSetBytes !== undefined) {
          nodes.set(name, {
            name,
            timestamp: n.cpu.time ?? new Date(started).toISOString(),
            window,
            usage: {
              cpu: cpuQuantity(n.cpu.usageNanoCores),
              memory: memoryQuantity(n.memory.workingSetBytes),
            },
          });
        }
        for (const p of summary.pods ?? []) {
          const containers = p.containers ?? [];
          const ref = p.podRef;
          if (!ref?.name || !ref.namespace || containers.length === 0) continue;
          const complete = containers.every(
            (c) => c.cpu?.usageNanoCores !== undefined && c.memory?.workingSetBytes !== undefined,
          );
          if (!complete) continue;
          pods.set(`${ref.namespace}/${ref.name}`, {
            namespace: ref.namespace,
            name: ref.name,
            timestamp: containers[0]!.cpu?.time ?? new Date(started).toISOString(),
            window,
            containers: containers.map((c) => ({
              name: c.name,
              usage: {
                cpu: cpuQuantity(c.cpu!.usageNanoCores!),
                memory: memoryQuantity(c.memory!.workingSetBytes!),
              },
            })),
          });
        }
      }),
    );
    this.nodes = nodes;
    this.pods = pods;
  }

  /**
   * Serves GET /apis/metrics.k8s.io/v1beta1/... (`rest` is the path after the version).
   * Answers true when it served the request.
   */
  async serve(
    rest: string[],
    req: IncomingMessage,
    res: ServerResponse,
    query: URLSearchParams,
  ): Promise<void> {
    if (req.method !== "GET") throw new MethodNotAllowedError(req.method ?? "", req.url ?? "");
    await this.ensureScraping();
    let namespace: string | undefined;
    let parts = rest;
    if (parts[0] === "namespaces" && parts.length >= 3) {
      namespace = parts[1];
      parts = parts.slice(2);
    }
    const [resource, name, ...extra] = parts;
    if (extra.length > 0 || (resource !== "nodes" && resource !== "pods")) {
      throw new NotFoundError({ kind: resource ?? "", group: METRICS_GROUP, name: name ?? "" });
    }
    if (resource === "nodes" && namespace !== undefined) {
      throw new NotFoundError({ kind: "nodes", group: METRICS_GROUP, name: name ?? "" });
    }
    let selector: Requirement[] = [];
    const raw = query.get("labelSelector");
    if (raw) {
      try {
        selector = parseLabelSelector(raw);
      } catch (err) {
        throw new BadRequestError(`unable to parse requirement: ${(err as Error).message}`);
      }
    }
    const objects =
      resource === "nodes" ? await this.nodeObjects() : await this.podObjects(namespace);
    if (name !== undefined) {
      const found = objects.find((o) => o.metadata.name === name);
      if (!found) throw new NotFoundError({ kind: resource, group: METRICS_GROUP, name });
      sendJson(res, 200, found);
      return;
    }
    const items = objects.filter((o) =>
      matchesLabels(selector, o.metadata.labels as Record<string, string> | undefined),
    );
    sendJson(res, 200, {
      kind: resource === "nodes" ? "NodeMetricsList" : "PodMetricsList",
      apiVersion: API_VERSION,
      metadata: {},
      items,
    });
  }

  private async nodeObjects(): Promise<KubeObject[]> {
    const { items } = await this.ctx.registry(resourceInfo("", "v1", "nodes")).cache.list();
    const out: KubeObject[] = [];
    for (const node of items) {
      const s = this.nodes.get(String(node.metadata.name));
      if (!s) continue;
      out.push({
        kind: "NodeMetrics",
        apiVersion: API_VERSION,
        metadata: {
          name: s.name,
          creationTimestamp: rfc3339(),
          labels: node.metadata.labels ?? {},
        },
        timestamp: s.timestamp,
        window: s.window,
        usage: s.usage,
      });
    }
    return out.sort((a, b) => String(a.metadata.name).localeCompare(String(b.metadata.name)));
  }

  private async podObjects(namespace: string | undefined): Promise<KubeObject[]> {
    const { items } = await this.ctx.registry(resourceInfo("", "v1", "pods")).cache.list();
    const out: KubeObject[] = [];
    for (const pod of items) {
      const m = pod.metadata;
      if (namespace !== undefined && m.namespace !== namespace) continue;
      const s = this.pods.get(`${String(m.namespace)}/${String(m.name)}`);
      if (!s) continue;
      out.push({
        kind: "PodMetrics",
        apiVersion: API_VERSION,
        metadata: {
          name: s.name,
          namespace: s.namespace,
          creationTimestamp: rfc3339(),
          labels: m.labels ?? {},
        },
        timestamp: s.timestamp,
        window: s.window,
        containers: s.containers,
      });
    }
    return out.sort((a, b) =>
      `${String(a.metadata.namespace)}/${String(a.metadata.name)}`.localeCompare(
        `${String(b.metadata.namespace)}/${String(b.metadata.name)}`,
      ),
    );
  }
}
