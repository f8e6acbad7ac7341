// What /metrics exports: queries by transport and type, responses by rcode, the latency
// histogram and cache hits (CoreDNS' metrics, under Skiff's own prefix).
import {
  Counter,
  Histogram,
  Registry,
  collectDefaultMetrics,
  exponentialBuckets,
} from "prom-client";

/** Query types counted by name; any other is counted as "other" (a label per type seen would let a client grow the registry without bound). */
const knownTypes = new Set(["A", "AAAA", "SRV", "PTR", "CNAME", "SOA", "NS", "TXT", "MX", "ANY"]);

export type CacheName = "response" | "forward";

export class DnsMetrics {
  readonly registry = new Registry();
  private readonly requests = new Counter({
    name: "skiff_dns_requests_total",
    help: "DNS queries received, by transport and query type",
    labelNames: ["proto", "type"],
    registers: [this.registry],
  });
  private readonly responses = new Counter({
    name: "skiff_dns_responses_total",
    help: "DNS responses sent, by rcode",
    labelNames: ["rcode"],
    registers: [this.registry],
  });
  private readonly duration = new Histogram({
    name: "skiff_dns_request_duration_seconds",
    help: "Time from a query's arrival to its response, in seconds",
    labelNames: ["proto"],
    buckets: exponentialBuckets(0.00005, 2, 16),
    registers: [this.registry],
  });
  private readonly cacheHits = new Counter({
    name: "skiff_dns_cache_hits_total",
    help: "Queries answered from a cache (response: the zone's; forward: upstream answers)",
    labelNames: ["cache"],
    registers: [this.registry],
  });
  private readonly cacheMisses = new Counter({
    name: "skiff_dns_cache_misses_total",
    help: "Queries a cache could not answer",
    labelNames: ["cache"],
    registers: [this.registry],
  });
  private readonly forwardFailures = new Counter({
    name: "skiff_dns_forward_failures_total",
    help: "Queries for names outside the zone that no upstream answered (sent SERVFAIL)",
    labelNames: ["reason"],
    registers: [this.registry],
  });
  // prom-client builds a label hash per call; the hot path reuses the children instead.
  private readonly children = new Map<string, { inc(): void }>();
  private readonly durations = new Map<string, { observe(v: number): void }>();

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  request(proto: "udp" | "tcp", type: string): void {
    const t = knownTypes.has(type) ? type : "other";
    this.child(`q|${proto}|${t}`, () => this.requests.labels(proto, t)).inc();
  }

  response(proto: "udp" | "tcp", rcode: string, seconds: number): void {
    this.child(`r|${rcode}`, () => this.responses.labels(rcode)).inc();
    let d = this.durations.get(proto);
    if (!d) this.durations.set(proto, (d = this.duration.labels(proto)));
    d.observe(seconds);
  }

  cache(name: CacheName, hit: boolean): void {
    const counter = hit ? this.cacheHits : this.cacheMisses;
    this.child(`c|${name}|${hit}`, () => counter.labels(name)).inc();
  }

  forwardFailed(reason: string): void {
    this.forwardFailures.labels(reason).inc();
  }

  private child(key: string, make: () => { inc(): void }): { inc(): void } {
    let c = this.children.get(key);
    if (!c) this.children.set(key, (c = make()));
    return c;
  }
}
