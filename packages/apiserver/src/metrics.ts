// Prometheus metrics of the apiserver, named as kube-apiserver names them.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export class ApiserverMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: "apiserver_request_total",
    help: "Requests by verb, resource and HTTP code.",
    labelNames: ["verb", "group", "resource", "subresource", "code"],
    registers: [this.registry],
  });
  readonly latency = new Histogram({
    name: "apiserver_request_duration_seconds",
    help: "Request latency by verb and resource (watches excluded).",
    labelNames: ["verb", "group", "resource", "subresource"],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly watches = new Gauge({
    name: "apiserver_longrunning_requests",
    help: "Open long-running requests (watches) by resource.",
    labelNames: ["verb", "group", "resource"],
    registers: [this.registry],
  });
  readonly etcdLatency = new Histogram({
    name: "etcd_request_duration_seconds",
    help: "etcd request latency by operation.",
    labelNames: ["operation"],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly webhookLatency = new Histogram({
    name: "apiserver_admission_webhook_admission_duration_seconds",
    help: "Admission webhook call latency by webhook, type (admit or validating), operation and whether it refused.",
    labelNames: ["name", "type", "operation", "rejected"],
    buckets: [0.005, 0.025, 0.1, 0.5, 1, 2.5, 10, 25],
    registers: [this.registry],
  });

  readonly fairnessExecuting = new Gauge({
    name: "apiserver_flowcontrol_current_executing_requests",
    help: "Requests holding a seat of their priority level, by level and FlowSchema.",
    labelNames: ["priority_level", "flow_schema"],
    registers: [this.registry],
  });
  readonly fairnessInQueue = new Gauge({
    name: "apiserver_flowcontrol_current_inqueue_requests",
    help: "Requests waiting in a queue of their priority level, by level and FlowSchema.",
    labelNames: ["priority_level", "flow_schema"],
    registers: [this.registry],
  });
  readonly fairnessWait = new Histogram({
    name: "apiserver_flowcontrol_request_wait_duration_seconds",
    help: "Time requests waited for a seat, by level, FlowSchema and whether they then ran.",
    labelNames: ["priority_level", "flow_schema", "execute"],
    buckets: [0, 0.005, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30],
    registers: [this.registry],
  });
  readonly fairnessRejected = new Counter({
    name: "apiserver_flowcontrol_rejected_requests_total",
    help: "Requests answered 429 by priority and fairness, by level, FlowSchema and reason (queue-full, concurrency-limit, time-out).",
    labelNames: ["priority_level", "flow_schema", "reason"],
    registers: [this.registry],
  });
  readonly fairnessNominalSeats = new Gauge({
    name: "apiserver_flowcontrol_nominal_limit_seats",
    help: "Each priority level's share of the server's seats (0 for exempt levels).",
    labelNames: ["priority_level"],
    registers: [this.registry],
  });

  /** What the watch caches hold, read when /metrics is scraped (see `observeWatchCaches`). */
  private caches: () => Iterable<{
    group: string;
    resource: string;
    objects: number;
    history: number;
  }> = () => [];
  readonly storedObjects = new Gauge({
    name: "apiserver_storage_objects",
    help: "Objects in the watch cache (the current state) by resource.",
    labelNames: ["group", "resource"],
    registers: [this.registry],
    collect: () => this.collectCaches(),
  });
  readonly historyEvents = new Gauge({
    name: "apiserver_watch_cache_history_events",
    help: "Events kept in the watch cache's history (for watches that resume) by resource.",
    labelNames: ["group", "resource"],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  observeWatchCaches(
    caches: () => Iterable<{ group: string; resource: string; objects: number; history: number }>,
  ): void {
    this.caches = caches;
  }

  private collectCaches(): void {
    this.storedObjects.reset();
    this.historyEvents.reset();
    for (const c of this.caches()) {
      const labels = { group: c.group, resource: c.resource };
      this.storedObjects.inc(labels, c.objects);
      this.historyEvents.inc(labels, c.history);
    }
  }
}
