// IPVS mode's decisions, without a kernel: which virtual servers the Services ask for, and
// which operations bring the kernel's table there, touching only Skiff's own.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { EndpointSlice, Service } from "../src/types.js";
import type { VirtualServerState } from "../src/ipvs/desired.js";
import {
  buildDesiredState,
  cidrContains,
  ownedBy,
  planSync,
  virtualServerKey,
} from "../src/ipvs/desired.js";
import { addressCommands } from "../src/ipvs/device.js";
import { buildIpvsRules } from "../src/ipvs/iptables.js";

const node = { name: "node-1", addresses: ["192.0.2.2", "198.51.100.2"] };

function service(name: string, clusterIP: string, spec: Partial<Service["spec"]> = {}): Service {
  return {
    metadata: { name, namespace: "default" },
    spec: { clusterIP, ports: [{ name: "http", port: 80, targetPort: "web" }], ...spec },
  };
}

function slice(
  svc: string,
  endpoints: { ip: string; ready?: boolean; nodeName?: string }[],
  port = 8080,
): EndpointSlice {
  return {
    metadata: {
      name: `${svc}-abc`,
      namespace: "default",
      labels: { "kubernetes.io/service-name": svc },
    },
    addressType: "IPv4",
    endpoints: endpoints.map((e) => ({
      addresses: [e.ip],
      conditions: { ready: e.ready ?? true },
      ...(e.nodeName ? { nodeName: e.nodeName } : {}),
    })),
    ports: [{ name: "http", protocol: "TCP", port }],
  };
}

const masq = (address: string, port = 8080) => ({
  address,
  port,
  weight: 1,
  forwardMethod: "masq" as const,
});

test("a ClusterIP service becomes one rr virtual server with its ready endpoints", () => {
  const state = buildDesiredState({
    services: [service("web", "10.96.0.10")],
    endpointSlices: [
      slice("web", [
        { ip: "10.244.1.3" },
        { ip: "10.244.1.2" },
        { ip: "10.244.2.9", ready: false },
      ]),
    ],
    node,
  });
  assert.deepEqual(
    [...state.virtualServers.values()],
    [
      {
        service: {
          address: "10.96.0.10",
          protocol: "TCP",
          port: 80,
          scheduler: "rr",
          flags: 0,
          timeout: 0,
        },
        destinations: [masq("10.244.1.2"), masq("10.244.1.3")],
      },
    ],
  );
  assert.deepEqual(state.clusterIPs, ["10.96.0.10"]);
});

test("ClientIP affinity makes the virtual server persistent for the configured timeout", () => {
  const sticky = service("sticky", "10.96.0.11", {
    sessionAffinity: "ClientIP",
    sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } },
  });
  const defaulted = service("sticky2", "10.96.0.12", { sessionAffinity: "ClientIP" });
  const state = buildDesiredState({ services: [sticky, defaulted], endpointSlices: [], node });
  const vs = [...state.virtualServers.values()].map((v) => [v.service.flags, v.service.timeout]);
  assert.deepEqual(vs, [
    [1, 60],
    [1, 10800],
  ]);
});

test("a NodePort gets a virtual server on each node address; policy Local keeps local endpoints and the client address", () => {
  const ports = [{ name: "http", port: 80, nodePort: 30080 }];
  const cluster = service("np", "10.96.0.20", { type: "NodePort", ports });
  const local = service("npl", "10.96.0.21", {
    type: "NodePort",
    ports: [{ name: "http", port: 80, nodePort: 30081 }],
    externalTrafficPolicy: "Local",
  });
  const eps = [
    { ip: "10.244.1.2", nodeName: "node-1" },
    { ip: "10.244.2.2", nodeName: "node-2" },
  ];
  const state = buildDesiredState({
    services: [cluster, local],
    endpointSlices: [slice("np", eps), slice("npl", eps)],
    node,
  });
  assert.deepEqual(
    [...state.virtualServers.keys()],
    [
      "TCP/10.96.0.20:80",
      "TCP/192.0.2.2:30080",
      "TCP/198.51.100.2:30080",
      "TCP/10.96.0.21:80",
      "TCP/192.0.2.2:30081",
      "TCP/198.51.100.2:30081",
    ],
  );
  const dests = (key: string): string[] =>
    state.virtualServers.get(key)!.destinations.map((d) => d.address);
  assert.deepEqual(dests("TCP/192.0.2.2:30080"), ["10.244.1.2", "10.244.2.2"]);
  assert.deepEqual(dests("TCP/192.0.2.2:30081"), ["10.244.1.2"]);
  assert.deepEqual(dests("TCP/10.96.0.21:80"), ["10.244.1.2", "10.244.2.2"]);
  assert.deepEqual(state.masqueradeNodePorts, [{ protocol: "TCP", port: 30080 }]);
  assert.deepEqual(state.localEndpointIPs, ["10.244.1.2"]);
});

test("headless and ExternalName services get no virtual server; a service without endpoints gets an empty one", () => {
  const state = buildDesiredState({
    services: [
      service("headless", "None"),
      service("ext", "", { type: "ExternalName" }),
      service("empty", "10.96.0.30"),
    ],
    endpointSlices: [],
    node,
  });
  assert.deepEqual([...state.virtualServers.keys()], ["TCP/10.96.0.30:80"]);
  assert.deepEqual(state.virtualServers.get("TCP/10.96.0.30:80")!.destinations, []);
});

test("with no ready endpoint, terminating ones that still serve are used", () => {
  const s = slice("web", [{ ip: "10.244.1.2" }]);
  s.endpoints[0]!.conditions = { ready: false, serving: true, terminating: true };
  const state = buildDesiredState({
    services: [service("web", "10.96.0.10")],
    endpointSlices: [s],
    node,
  });
  assert.deepEqual(state.virtualServers.get("TCP/10.96.0.10:80")!.destinations, [
    masq("10.244.1.2"),
  ]);
});

// ---- planSync ----

const vs = (address: string, port: number, extra: object = {}) => ({
  address,
  protocol: "TCP" as const,
  port,
  scheduler: "rr",
  flags: 0,
  timeout: 0,
  ...extra,
});
const table = (...entries: VirtualServerState[]): Map<string, VirtualServerState> =>
  new Map(entries.map((e) => [virtualServerKey(e.service), e]));
const owned = ownedBy("10.96.0.0/12", node.addresses);

test("an up-to-date table needs no operation (the kernel's HASHED flag is ignored)", () => {
  const want = table({ service: vs("10.96.0.10", 80), destinations: [masq("10.244.1.2")] });
  const have = table({
    service: vs("10.96.0.10", 80, { flags: 2 }),
    destinations: [masq("10.244.1.2")],
  });
  assert.deepEqual(planSync(have, want, owned), []);
});

test("only the differences are written: new real servers before old ones leave, stale services last", () => {
  const want = table(
    { service: vs("10.96.0.10", 80), destinations: [masq("10.244.1.2"), masq("10.244.1.4")] },
    {
      service: vs("10.96.0.11", 80, { flags: 1, timeout: 60 }),
      destinations: [masq("10.244.1.5")],
    },
    { service: vs("10.96.0.12", 53), destinations: [masq("10.244.1.6", 53)] },
  );
  const have = table(
    { service: vs("10.96.0.10", 80), destinations: [masq("10.244.1.2"), masq("10.244.1.3")] },
    { service: vs("10.96.0.11", 80), destinations: [{ ...masq("10.244.1.5"), weight: 0 }] },
    { service: vs("10.96.0.99", 80), destinations: [] },
  );
  assert.deepEqual(
    planSync(have, want, owned).map((o) =>
      "dest" in o
        ? `${o.op} ${o.service.address} ${o.dest.address}`
        : `${o.op} ${o.service.address}`,
    ),
    [
      "newDest 10.96.0.10 10.244.1.4",
      "setService 10.96.0.11",
      "setDest 10.96.0.11 10.244.1.5",
      "newService 10.96.0.12",
      "newDest 10.96.0.12 10.244.1.6",
      "delDest 10.96.0.10 10.244.1.3",
      "delService 10.96.0.99",
    ],
  );
});

test("virtual servers that are not Skiff's are left alone", () => {
  const have = table(
    { service: vs("192.0.2.2", 80), destinations: [] }, // node address, not a NodePort
    { service: vs("203.0.113.5", 30080), destinations: [] }, // not a node address
    { service: vs("192.0.2.2", 30999), destinations: [] }, // a NodePort nobody wants any more
    { service: vs("10.100.0.1", 443), destinations: [] }, // in the service CIDR
  );
  assert.deepEqual(
    planSync(have, new Map(), owned).map((o) => `${o.op} ${virtualServerKey(o.service)}`),
    ["delService TCP/192.0.2.2:30999", "delService TCP/10.100.0.1:443"],
  );
});

test("CIDR membership is computed on the prefix bits", () => {
  const inRange = cidrContains("10.96.0.0/12");
  assert.equal(inRange("10.96.0.1"), true);
  assert.equal(inRange("10.111.255.255"), true);
  assert.equal(inRange("10.112.0.0"), false);
  assert.equal(inRange("None"), false);
  assert.equal(cidrContains("0.0.0.0/0")("203.0.113.1"), true);
});

test("kube-ipvs0 gets exactly the ClusterIPs: missing ones added, stale ones removed", () => {
  assert.deepEqual(addressCommands(["10.96.0.10", "10.96.0.99"], ["10.96.0.10", "10.96.0.11"]), [
    "address add 10.96.0.11/32 dev kube-ipvs0",
    "address del 10.96.0.99/32 dev kube-ipvs0",
  ]);
});

test("IPVS mode's iptables rules masquerade off-cluster, NodePort and hairpin traffic only", () => {
  const text = buildIpvsRules(
    { masqueradeNodePorts: [{ protocol: "UDP", port: 30053 }], localEndpointIPs: ["10.244.1.2"] },
    { clusterCIDR: "10.244.0.0/16", serviceCIDR: "10.96.0.0/12" },
  );
  const rules = text.split("\n").filter((l) => l.startsWith("-A "));
  assert.ok(rules.includes("-A KUBE-NODE-PORT -p udp --dport 30053 -j KUBE-MARK-MASQ"));
  assert.ok(
    rules.some((r) => r.startsWith("-A KUBE-SERVICES ! -s 10.244.0.0/16 -d 10.96.0.0/12 ")),
  );
  assert.ok(
    rules.some((r) => r.startsWith("-A KUBE-LOOP-BACK -s 10.244.1.2/32 -d 10.244.1.2/32 ")),
  );
  assert.ok(rules.includes("-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000"));
  assert.equal(rules.length, 12);
});

test("a changed --ipvs-scheduler rewrites the virtual server; a real server the kernel calls local is left as is", () => {
  const state = buildDesiredState({
    services: [service("web", "10.96.0.10")],
    endpointSlices: [slice("web", [{ ip: "10.244.1.2" }])],
    node,
    scheduler: "lc",
  });
  const have = table({
    service: vs("10.96.0.10", 80),
    destinations: [{ ...masq("10.244.1.2"), forwardMethod: "local" }],
  });
  assert.deepEqual(
    planSync(have, state.virtualServers, owned).map((o) => `${o.op} ${o.service.scheduler}`),
    ["setService lc"],
  );
});
