// The core/v1 Endpoints fallback: Endpoints become the EndpointSlices the proxiers already
// understand, and the API discovery that decides between the two.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { RestClient } from "@skiff/client";
import type { Service } from "../src/types.js";
import {
  asEndpoints,
  endpointSliceChanges,
  endpointSlicesFromEndpoints,
  servesEndpointSlices,
} from "../src/endpoints.js";
import type { Endpoints } from "../src/types.js";
import { buildRules } from "../src/iptables/rules.js";

const web: Endpoints = {
  metadata: { name: "web", namespace: "shop" },
  subsets: [
    {
      addresses: [
        { ip: "10.244.1.5", nodeName: "node-a" },
        { ip: "10.244.2.7", nodeName: "node-b" },
      ],
      notReadyAddresses: [{ ip: "10.244.3.9", nodeName: "node-c" }],
      ports: [
        { name: "http", port: 8080, protocol: "TCP" },
        { name: "dns", port: 5353, protocol: "UDP" },
      ],
    },
    // Pods of another version listen elsewhere: their own subset.
    {
      addresses: [{ ip: "10.244.4.2", nodeName: "node-a" }],
      ports: [{ name: "http", port: 9090 }],
    },
  ],
};

test("core/v1 Endpoints become one EndpointSlice per subset, labelled with the Service", () => {
  const [first, second, ...rest] = endpointSlicesFromEndpoints(web);
  assert.equal(rest.length, 0);
  assert.deepEqual(first, {
    metadata: { name: "web-0", namespace: "shop", labels: { "kubernetes.io/service-name": "web" } },
    addressType: "IPv4",
    endpoints: [
      {
        addresses: ["10.244.1.5"],
        conditions: { ready: true, serving: true, terminating: false },
        nodeName: "node-a",
      },
      {
        addresses: ["10.244.2.7"],
        conditions: { ready: true, serving: true, terminating: false },
        nodeName: "node-b",
      },
      {
        addresses: ["10.244.3.9"],
        conditions: { ready: false, serving: false, terminating: false },
        nodeName: "node-c",
      },
    ],
    ports: [
      { port: 8080, protocol: "TCP", name: "http" },
      { port: 5353, protocol: "UDP", name: "dns" },
    ],
  });
  assert.deepEqual(second?.ports, [{ port: 9090, protocol: "TCP", name: "http" }]);
  assert.equal(second?.metadata.name, "web-1");
});

test("Endpoints fed through the converter give DNAT rules to their ready addresses only", () => {
  const svc: Service = {
    metadata: { name: "web", namespace: "shop" },
    spec: {
      type: "ClusterIP",
      clusterIP: "10.96.5.5",
      ports: [
        { name: "http", port: 80, targetPort: "http" },
        { name: "dns", port: 53, protocol: "UDP", targetPort: "dns" },
      ],
    },
  };
  // As the API hands it over: checked, then converted.
  const fromApi = asEndpoints(structuredClone(web));
  const { restore } = buildRules({
    services: [svc],
    endpointSlices: endpointSlicesFromEndpoints(fromApi),
    node: { name: "node-a", addresses: [] },
    options: { clusterCIDR: "10.244.0.0/16" },
  });
  const targets = [...restore.matchAll(/-p (tcp|udp) -j DNAT --to-destination (\S+)/g)]
    .map((m) => `${m[1]} ${m[2]}`)
    .sort();
  assert.deepEqual(targets, [
    "tcp 10.244.1.5:8080",
    "tcp 10.244.2.7:8080",
    "tcp 10.244.4.2:9090",
    "udp 10.244.1.5:5353",
    "udp 10.244.2.7:5353",
  ]);
});

test("an Endpoints update that drops a subset deletes that subset's slice", () => {
  const one: Endpoints = { ...web, subsets: web.subsets!.slice(0, 1) };
  const changes = endpointSliceChanges(web, one);
  assert.equal(changes.length, 2);
  assert.equal(changes[0]![1]?.metadata.name, "web-0");
  assert.equal(changes[1]![0]?.metadata.name, "web-1");
  assert.equal(changes[1]![1], undefined, "deleted");
  assert.deepEqual(
    endpointSliceChanges(undefined, { metadata: { name: "empty", namespace: "shop" } }),
    [],
    "an Endpoints without subsets has no slice",
  );
});

test("discovery decides: EndpointSlices when discovery.k8s.io/v1 serves them, else Endpoints", async () => {
  let served = true;
  const server = createServer((req, res) => {
    res.setHeader("Content-Type", "application/json");
    if (req.url === "/apis/discovery.k8s.io/v1" && served) {
      res.end(
        JSON.stringify({
          kind: "APIResourceList",
          groupVersion: "discovery.k8s.io/v1",
          resources: [{ name: "endpointslices", namespaced: true, kind: "EndpointSlice" }],
        }),
      );
    } else {
      res.statusCode = 404;
      res.end(JSON.stringify({ kind: "Status", code: 404, reason: "NotFound", message: "no" }));
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  const client = new RestClient({ server: `http://127.0.0.1:${port}`, namespace: "default" });
  try {
    const signal = new AbortController().signal;
    assert.equal(await servesEndpointSlices(client, signal), true);
    served = false;
    assert.equal(await servesEndpointSlices(client, signal), false);
  } finally {
    client.close();
    await new Promise((r) => server.close(r));
  }
});
