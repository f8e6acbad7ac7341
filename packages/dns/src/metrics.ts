// What /metrics exports: queries by transport and type, responses by rcode, the latency
// histogram and cache hits (CoreDNS' metrics, under Skiff's own prefix).
import {
  Counter,
  Histogram,
  Registry,
  collectDefaultMetrics,
  exponentialBuckets,
} from "prom-client";

/**
 * Query types counted by name; any other is counted as "other" (a label per type seen would
 * let a client grow the registry without bound).
 */
const knownTypes = new Set(["A", "AAAA", "SRV", "PTR", "CNAME", "SOA", "NS", "TXT", "MX", "ANY"]);

export type CacheName = "response" | "forward";

/**
 * Counts kept as plain numbers on the hot path and handed to prom-client only when scraped:
 * prom-client hashes the labels on every inc(), which costs more than answering from cache.
 */
class Tally {
  private readonly counts = new Map<string, { labels: Record<string, string>; n: number }>();

  add(key: string, labels: () => Record<string, string>): void {
    const c = this.counts.get(key);
    if (c) c.n++;
    else this.counts.set(key, { labels: labels(), n: 1 });
  }

  /** For a Counter's collect(): its values become the tallies. */
  copyTo(counter: Counter): void {
    counter.reset();
    for (const { labels, n } of this.counts.values()) counter.inc(labels, n);
  }
}

export class DnsMetrics {
  readonly registry = new Registry();
  private readonly tallies = {
    requests: new Tally(),
    responses: new Tally(),
    hits: new Tally(),
    misses: new Tally(),
  };
  private readonly duration: Histogram;
  private readonly durations = new Map<string, { observe(v: number): void }>();
  private readonly forwardFailures: Counter;

  constructor() {
    const tallied = (name: string, help: string, labelNames: string[], tally: Tally): void => {
      new Counter({
        name,
        help,
        labelNames,
        registers: [this.registry],
        collect() {
          tally.copyTo(this);
        },
      });
    };
    tallied(
      "skiff_dns_requests_total",
      "DNS queries received, by transport and query type",
      ["proto", "type"],
      this.tallies.requests,
    );
    tallied(
      "skiff_dns_responses_total",
      "DNS responses sent, by rcode",
      ["rcode"],
      this.tallies.responses,
    );
    tallied(
      "skiff_dns_cache_hits_total",
      "Queries answered from a cache (response: the zone's; forward: upstream answers)",
      ["cache"],
      this.tallies.hits,
    );
    tallied(
      "skiff_dns_cache_misses_total",
      "Queries a cache could not answer",
      ["cache"],
      this.tallies.misses,
    );
    this.duration = new Histogram({
      name: "skiff_dns_request_duration_seconds",
      help: "Time from a query's arrival to its response, in seconds",
      labelNames: ["proto"],
      buckets: exponentialBuckets(0.00005, 2, 16),
      registers: [this.registry],
    });
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
    this.tallies.requests.add(`${proto}|${t}`, () => ({ proto, type: t }));
  }

  response(proto: "udp" | "tcp", rcode: string, seconds: number): void {
    this.tallies.responses.add(rcode, () => ({ rcode }));
    let d = this.durations.get(proto);
    if (!d) this.durations.set(proto, (d = this.duration.labels(proto)));
    d.observe(seconds);
  }

  cache(name: CacheName, hit: boolean): void {
    (hit ? this.tallies.hits : this.tallies.misses).add(name, () => ({ cache: name }));
  }

  forwardFailed(reason: string): void {
    this.forwardFailures.labels(reason).inc();
  }
}
