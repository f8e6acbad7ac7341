// /metrics as Prometheus reads it: the counters and the latency histogram skiff-dns keeps in
// plain numbers on its hot path come out in the text format prom-client gives its own.
import { test } from "node:test";
import assert from "node:assert/strict";
import { DnsMetrics } from "../src/metrics.js";

test("the latency histogram is cumulative per transport, with its sum and count", async () => {
  const m = new DnsMetrics();
  m.request("udp", "A");
  m.request("udp", "WKS");
  m.response("udp", "NOERROR", 0.00004);
  m.response("udp", "NOERROR", 0.0003);
  m.response("tcp", "NXDOMAIN", 5);
  const text = await m.registry.metrics();
  const lines = (prefix: string): string[] => text.split("\n").filter((l) => l.startsWith(prefix));
  const name = "skiff_dns_request_duration_seconds";
  assert.ok(text.includes(`# TYPE ${name} histogram`));
  const udp = lines(`${name}_bucket{`).filter((l) => l.includes('proto="udp"'));
  assert.equal(udp.length, 17, "16 bounds and +Inf");
  assert.equal(udp[0], `${name}_bucket{le="0.00005",proto="udp"} 1`);
  assert.equal(udp[2], `${name}_bucket{le="0.0002",proto="udp"} 1`);
  assert.equal(udp[3], `${name}_bucket{le="0.0004",proto="udp"} 2`);
  assert.equal(udp[16], `${name}_bucket{le="+Inf",proto="udp"} 2`);
  assert.deepEqual(lines(`${name}_count`), [
    `${name}_count{proto="udp"} 2`,
    `${name}_count{proto="tcp"} 1`,
  ]);
  assert.ok(text.includes(`${name}_bucket{le="1.6384",proto="tcp"} 0`));
  assert.ok(text.includes(`${name}_bucket{le="+Inf",proto="tcp"} 1`));
  assert.ok(text.includes(`${name}_sum{proto="tcp"} 5`));
  assert.deepEqual(lines("skiff_dns_requests_total"), [
    'skiff_dns_requests_total{proto="udp",type="A"} 1',
    'skiff_dns_requests_total{proto="udp",type="other"} 1',
  ]);
  assert.ok(text.includes('skiff_dns_responses_total{rcode="NOERROR"} 2'));
  // A second scrape gives the same counts, not twice them.
  const ours = (t: string): string[] => t.split("\n").filter((l) => l.startsWith("skiff_dns"));
  assert.deepEqual(ours(await m.registry.metrics()), ours(text));
});
