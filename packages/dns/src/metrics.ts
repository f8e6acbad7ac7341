// What /metrics exports: queries by transport and type, responses by rcode, the latency
// histogram and cache hits (CoreDNS' metrics, under Skiff's own prefix).
import { Counter, Registry, collectDefaultMetrics, exponentialBuckets } from "prom-client";
import type { Metric } from "prom-client";

/**
 * Query types counted by name; any other is counted as "other" (a label per type seen would
 * let a client grow the registry without bound).
 */
const knownTypes = new Set(["A", "AAAA", "SRV", "PTR", "CNAME", "SOA", "NS", "TXT", "MX", "ANY"]);

export type CacheName = "response" | "forward";

/**
 * Counts kept as plain numbers on the hot path and handed to prom-client only when scraped:
 * prom-client hashes the labels on every inc(), which costs more than answering from cache.
 * Keys are strings the caller already has (a query type, an rcode): building one per query
 * (`${proto}|${type}`) would cost a new string and its hash every time.
 */
class Tally {
  private readonly counts = new Map<string, { labels: Record<string, string>; n: number }>();

  add(key: string, labels: () => Record<string, string>): void {
    const c = this.counts.get(key);
    if (c) c.n++;
    else this.counts.set(key, { labels: labels(), n: 1 });
  }

  /** For a Counter's collect() (after its reset()): the tallies become its values. */
  addTo(counter: Counter): void {
    for (const { labels, n } of this.counts.values()) counter.inc(labels, n);
  }
}

/**
 * The latency histogram, counted in plain arrays on the hot path (prom-client's observe()
 * hashes its labels on every call, a quarter of a microsecond per query) and handed to the
 * registry as a histogram when scraped. Buckets: 50 µs doubling 16 times (to about 1.6 s).
 */
class LatencyHistogram {
  readonly type = "histogram";
  readonly aggregator = "sum";
  private readonly bounds = exponentialBuckets(0.00005, 2, 16);
  private readonly series = new Map<string, { counts: Float64Array; sum: number }>();

  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  observe(proto: string, seconds: number): void {
    let s = this.series.get(proto);
    if (!s)
      this.series.set(proto, (s = { counts: new Float64Array(this.bounds.length + 1), sum: 0 }));
    let i = 0;
    while (i < this.bounds.length && seconds > this.bounds[i]!) i++;
    s.counts[i]!++;
    s.sum += seconds;
  }

  reset(): void {
    this.series.clear();
  }

  /** What the registry formats: cumulative buckets, sum and count per series, as prom-client's own. */
  get(): {
    name: string;
    help: string;
    type: string;
    aggregator: string;
    values: { metricName: string; labels: Record<string, string | number>; value: number }[];
  } {
    const values = [];
    for (const [proto, { counts, sum }] of this.series) {
      let total = 0;
      for (let i = 0; i <= this.bounds.length; i++) {
        total += counts[i]!;
        const le = i < this.bounds.length ? this.bounds[i]! : "+Inf";
        values.push({ metricName: `${this.name}_bucket`, labels: { le, proto }, value: total });
      }
      values.push({ metricName: `${this.name}_sum`, labels: { proto }, value: sum });
      values.push({ metricName: `${this.name}_count`, labels: { proto }, value: total });
    }
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values,
    };
  }
}

export class DnsMetrics {
  readonly registry = new Registry();
  private readonly tallies = {
    requests: { udp: new Tally(), tcp: new Tally() },
    responses: new Tally(),
    hits: new Tally(),
    misses: new Tally(),
  };
  private readonly duration = new LatencyHistogram(
    "skiff_dns_request_duration_seconds",
    "Time from a query's arrival to its response, in seconds",
  );
  private readonly forwardFailures: Counter;

  constructor() {
    const tallied = (name: string, help: string, labelNames: string[], tallies: Tally[]): void => {
      new Counter({
        name,
        help,
        labelNames,
        registers: [this.registry],
        collect() {
          this.reset();
          for (const t of tallies) t.addTo(this);
        },
      });
    };
    tallied(
      "skiff_dns_requests_total",
      "DNS queries received, by transport and query type",
      ["proto", "type"],
      [this.tallies.requests.udp, this.tallies.requests.tcp],
    );
    tallied(
      "skiff_dns_responses_total",
      "DNS responses sent, by rcode",
      ["rcode"],
      [this.tallies.responses],
    );
    tallied(
      "skiff_dns_cache_hits_total",
      "Queries answered from a cache (response: the zone's; forward: upstream answers)",
      ["cache"],
      [this.tallies.hits],
    );
    tallied(
      "skiff_dns_cache_misses_total",
      "Queries a cache could not answer",
      ["cache"],
      [this.tallies.misses],
    );
    // A library boundary: the registry reads only name and get(), but Metric is prom-client's class.
    this.registry.registerMetric(this.duration as unknown as Metric);
    this.forwardFailures = new Counter({
      name: "skiff_dns_forward_failures_total",
      help: "Queries for names outside the zone that no upstream answered (sent SERVFAIL)",
      labelNames: ["reason"],
      registers: [this.registry],
    });
    collectDefaultMetrics({ register: this.registry });
  }

  request(proto: "udp" | "tcp", type: string): void {
    const t = knownTypes.has(type) ? type : "other";
    this.tallies.requests[proto].add(t, () => ({ proto, type: t }));
  }

  response(proto: "udp" | "tcp", rcode: string, seconds: number): void {
    this.tallies.responses.add(rcode, () => ({ rcode }));
    this.duration.observe(proto, seconds);
  }

  cache(name: CacheName, hit: boolean): void {
    (hit ? this.tallies.hits : this.tallies.misses).add(name, () => ({ cache: name }));
  }

  forwardFailed(reason: string): void {
    this.forwardFailures.labels(reason).inc();
  }
}
