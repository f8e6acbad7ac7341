// The cluster zone as a pure function of the caches: one table row per kind of name.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Store } from "@skiff/client";
import type { Question, RecordType } from "dns-packet";
import {
  ClusterZone,
  endpointSliceIndexers,
  podIndexers,
  serviceIndexers,
  type EndpointSliceObject,
  type PodObject,
  type ServiceObject,
} from "../src/records.js";
import { dashed, ipOfLabel, reverseName } from "../src/names.js";

const services = new Store<ServiceObject>(serviceIndexers);
const slices = new Store<EndpointSliceObject>(endpointSliceIndexers);
const pods = new Store<PodObject>(podIndexers);

services.add({
  metadata: { name: "web", namespace: "shop" },
  spec: { clusterIP: "10.96.1.10", ports: [{ name: "http", port: 80, protocol: "TCP" }] },
});
services.add({
  metadata: { name: "dual", namespace: "shop" },
  spec: { clusterIP: "10.96.1.11", clusterIPs: ["10.96.1.11", "fd00:96::11"], ports: [] },
});
services.add({
  metadata: { name: "db", namespace: "shop" },
  spec: { clusterIP: "None", ports: [{ name: "pg", port: 5432, protocol: "TCP" }] },
});
services.add({
  metadata: { name: "ext", namespace: "shop" },
  spec: { type: "ExternalName", externalName: "db.example.test." },
});
slices.add({
  metadata: { name: "db-1", namespace: "shop", labels: { "kubernetes.io/service-name": "db" } },
  addressType: "IPv4",
  ports: [{ name: "pg", port: 5433, protocol: "TCP" }],
  endpoints: [
    { addresses: ["10.244.1.5"], hostname: "db-0", conditions: { ready: true } },
    { addresses: ["10.244.1.6"], conditions: { ready: true } },
    { addresses: ["10.244.1.7"], hostname: "db-2", conditions: { ready: false } },
  ],
});
pods.add({
  metadata: { name: "p", namespace: "shop" },
  status: { podIP: "10.244.2.9", podIPs: [{ ip: "10.244.2.9" }] },
});

const zone = new ClusterZone({ services, endpointSlices: slices, pods, ttl: 7 });

function ask(
  name: string,
  type = "A",
): { rcode: string; data: string[]; extra: string[] } | undefined {
  const a = zone.answer({ name, type: type as RecordType, class: "IN" } as Question);
  if (!a) return undefined;
  const show = (r: { type: string; data?: unknown; name: string }): string =>
    typeof r.data === "object" && r.data && "port" in r.data
      ? `${(r.data as { port: number; target: string }).port} ${(r.data as { port: number; target: string }).target}`
      : `${r.type} ${r.type === "SOA" ? r.name : String(r.data)}`;
  return {
    rcode: a.rcode,
    data: [...a.answers, ...a.authorities].map(show),
    extra: a.additionals.map((r) => `${r.name} ${show(r)}`),
  };
}

const soa = "SOA cluster.local";

test("each kind of name in the zone gets the record the Kubernetes DNS specification gives it", () => {
  const rows: [string, string, string, string[]][] = [
    ["web.shop.svc.cluster.local", "A", "NOERROR", ["A 10.96.1.10"]],
    ["WEB.Shop.svc.cluster.local.", "A", "NOERROR", ["A 10.96.1.10"]],
    ["web.shop.svc.cluster.local", "AAAA", "NOERROR", [soa]],
    ["dual.shop.svc.cluster.local", "AAAA", "NOERROR", ["AAAA fd00:96::11"]],
    ["db.shop.svc.cluster.local", "A", "NOERROR", ["A 10.244.1.5", "A 10.244.1.6"]],
    ["db-0.db.shop.svc.cluster.local", "A", "NOERROR", ["A 10.244.1.5"]],
    ["10-244-1-6.db.shop.svc.cluster.local", "A", "NOERROR", ["A 10.244.1.6"]],
    ["db-2.db.shop.svc.cluster.local", "A", "NXDOMAIN", [soa]],
    ["_http._tcp.web.shop.svc.cluster.local", "SRV", "NOERROR", ["80 web.shop.svc.cluster.local"]],
    ["_http._udp.web.shop.svc.cluster.local", "SRV", "NXDOMAIN", [soa]],
    [
      "_pg._tcp.db.shop.svc.cluster.local",
      "SRV",
      "NOERROR",
      ["5433 db-0.db.shop.svc.cluster.local", "5433 10-244-1-6.db.shop.svc.cluster.local"],
    ],
    ["ext.shop.svc.cluster.local", "A", "NOERROR", ["CNAME db.example.test"]],
    ["10-244-2-9.shop.pod.cluster.local", "A", "NOERROR", ["A 10.244.2.9"]],
    ["10-244-2-8.shop.pod.cluster.local", "A", "NXDOMAIN", [soa]],
    ["10-244-2-9.other.pod.cluster.local", "A", "NXDOMAIN", [soa]],
    ["10.1.96.10.in-addr.arpa", "PTR", "NOERROR", ["PTR web.shop.svc.cluster.local"]],
    ["5.1.244.10.in-addr.arpa", "PTR", "NOERROR", ["PTR db-0.db.shop.svc.cluster.local"]],
    ["nope.shop.svc.cluster.local", "A", "NXDOMAIN", [soa]],
    ["web.nope.svc.cluster.local", "A", "NXDOMAIN", [soa]],
    ["shop.svc.cluster.local", "A", "NOERROR", [soa]],
    ["nope.svc.cluster.local", "A", "NXDOMAIN", [soa]],
    ["a.b.c.d.e.svc.cluster.local", "A", "NXDOMAIN", [soa]],
    ["web.shop.cluster.local", "A", "NXDOMAIN", [soa]],
    ["cluster.local", "SOA", "NOERROR", [soa]],
  ];
  for (const [name, type, rcode, data] of rows)
    assert.deepEqual(
      ask(name, type),
      { rcode, data, extra: ask(name, type)!.extra },
      `${name} ${type}`,
    );
});

test("SRV answers carry the targets' addresses in the additional section", () => {
  assert.deepEqual(ask("_pg._tcp.db.shop.svc.cluster.local", "SRV")!.extra, [
    "db-0.db.shop.svc.cluster.local A 10.244.1.5",
    "10-244-1-6.db.shop.svc.cluster.local A 10.244.1.6",
  ]);
});

test("names outside the zone, and reverse names of no cluster address, are left to forwarding", () => {
  assert.equal(ask("example.test"), undefined);
  assert.equal(ask("cluster.local.example.test"), undefined);
  assert.equal(ask("1.2.0.192.in-addr.arpa", "PTR"), undefined);
});

test("another cluster domain and TTL are honoured", () => {
  const other = new ClusterZone({
    services,
    endpointSlices: slices,
    pods,
    zone: "corp.internal",
    ttl: 5,
  });
  const a = other.answer({ name: "web.shop.svc.corp.internal", type: "A", class: "IN" });
  assert.equal((a?.answers[0] as { ttl?: number } | undefined)?.ttl, 5);
  assert.equal(
    other.answer({ name: "web.shop.svc.cluster.local", type: "A", class: "IN" }),
    undefined,
  );
});

test("addresses become labels and reverse names both ways", () => {
  assert.equal(dashed("10.244.1.5"), "10-244-1-5");
  assert.equal(ipOfLabel("fd00--1"), "fd00:0:0:0:0:0:0:1");
  assert.equal(ipOfLabel("10-244-1"), undefined);
  assert.equal(reverseName("fd00::1"), `${"1" + ".0".repeat(27)}.0.0.d.f.ip6.arpa`);
});
