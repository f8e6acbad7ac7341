// ClusterIP and NodePort allocation: from the range, as asked, never twice, released on delete.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startApiserver, type TestApiserver } from "@skiff/testing";

let api: TestApiserver;
before(async () => {
  api = await startApiserver();
});
after(async () => {
  await api?.stop();
});

const svc = (name: string, spec: Record<string, unknown> = {}) => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name },
  spec: { selector: { app: name }, ports: [{ port: 80, targetPort: 8080 }], ...spec },
});

function inServiceRange(ip: string): boolean {
  const [a, b] = ip.split(".").map(Number);
  return a === 10 && b! >= 96 && b! <= 111;
}

test("a Service gets a ClusterIP from the range and defaults for its ports", async () => {
  const res = await api.request("POST", "/api/v1/namespaces/default/services", svc("alloc-1"));
  assert.equal(res.status, 201, res.text);
  const spec = res.json.spec;
  assert.ok(inServiceRange(spec.clusterIP), spec.clusterIP);
  assert.deepEqual(spec.clusterIPs, [spec.clusterIP]);
  assert.equal(spec.type, "ClusterIP");
  assert.equal(spec.ports[0].protocol, "TCP");
  assert.equal(spec.ports[0].nodePort, undefined);
});

test("a requested ClusterIP is given if free and refused if taken or out of range", async () => {
  const a = await api.request(
    "POST",
    "/api/v1/namespaces/default/services",
    svc("want-ip", { clusterIP: "10.100.0.10" }),
  );
  assert.equal(a.status, 201, a.text);
  assert.equal(a.json.spec.clusterIP, "10.100.0.10");
  const taken = await api.request(
    "POST",
    "/api/v1/namespaces/default/services",
    svc("want-ip-2", { clusterIP: "10.100.0.10" }),
  );
  assert.equal(taken.status, 422, taken.text);
  assert.match(taken.json.message, /already allocated/);
  const outside = await api.request(
    "POST",
    "/api/v1/namespaces/default/services",
    svc("want-ip-3", { clusterIP: "192.168.1.1" }),
  );
  assert.equal(outside.status, 422);
  assert.match(outside.json.message, /not in the valid range/);
  // Deleting the service releases its address for someone else.
  await api.request("DELETE", "/api/v1/namespaces/default/services/want-ip");
  const again = await api.request(
    "POST",
    "/api/v1/namespaces/default/services",
    svc("want-ip-2", { clusterIP: "10.100.0.10" }),
  );
  assert.equal(again.status, 201, again.text);
});

test("headless services get no address", async () => {
  const res = await api.request(
    "POST",
    "/api/v1/namespaces/default/services",
    svc("headless", { clusterIP: "None" }),
  );
  assert.equal(res.status, 201, res.text);
  assert.equal(res.json.spec.clusterIP, "None");
});

test("NodePort services get ports from the range; a taken port is refused", async () => {
  const res = await api.request(
    "POST",
    "/api/v1/namespaces/default/services",
    svc("np-1", { type: "NodePort" }),
  );
  assert.equal(res.status, 201, res.text);
  const port = res.json.spec.ports[0].nodePort;
  assert.ok(port >= 30000 && port <= 32767, String(port));
  const clash = await api.request(
    "POST",
    "/api/v1/namespaces/default/services",
    svc("np-2", { type: "NodePort", ports: [{ port: 80, nodePort: port }] }),
  );
  assert.equal(clash.status, 422);
  // Switching back to ClusterIP releases the port.
  const cur = (await api.request("GET", "/api/v1/namespaces/default/services/np-1")).json;
  const back = await api.request("PUT", "/api/v1/namespaces/default/services/np-1", {
    ...cur,
    spec: {
      ...cur.spec,
      type: "ClusterIP",
      ports: [{ port: 80, targetPort: 8080, protocol: "TCP" }],
    },
  });
  assert.equal(back.status, 200, back.text);
  assert.equal(back.json.spec.ports[0].nodePort, undefined);
  assert.equal(back.json.spec.clusterIP, cur.spec.clusterIP, "the ClusterIP is kept on update");
  const reuse = await api.request(
    "POST",
    "/api/v1/namespaces/default/services",
    svc("np-3", { type: "NodePort", ports: [{ port: 80, nodePort: port }] }),
  );
  assert.equal(reuse.status, 201, reuse.text);
});

test("a ClusterIP cannot be changed once set", async () => {
  const cur = (
    await api.request("POST", "/api/v1/namespaces/default/services", svc("immutable-ip"))
  ).json;
  const res = await api.request("PUT", "/api/v1/namespaces/default/services/immutable-ip", {
    ...cur,
    spec: { ...cur.spec, clusterIP: "10.100.9.9", clusterIPs: ["10.100.9.9"] },
  });
  assert.equal(res.status, 422, res.text);
});

test("concurrent creates and an apiserver restart never hand out an address twice", async () => {
  const ports = 40;
  const results = await Promise.all(
    Array.from({ length: ports }, (_, i) =>
      api.request(
        "POST",
        "/api/v1/namespaces/default/services",
        svc(`burst-${i}`, { type: "NodePort" }),
      ),
    ),
  );
  for (const r of results) assert.equal(r.status, 201, r.text);
  await api.restart();
  const more = await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      api.request(
        "POST",
        "/api/v1/namespaces/default/services",
        svc(`after-${i}`, { type: "NodePort" }),
      ),
    ),
  );
  for (const r of more) assert.equal(r.status, 201, r.text);
  const all = (await api.request("GET", "/api/v1/services")).json.items as {
    spec: { clusterIP: string; ports: { nodePort?: number }[] };
  }[];
  const ips = all.map((s) => s.spec.clusterIP).filter((ip) => ip !== "None");
  assert.equal(new Set(ips).size, ips.length, "no ClusterIP twice");
  const nodePorts = all
    .flatMap((s) => s.spec.ports.map((p) => p.nodePort))
    .filter((p) => p !== undefined);
  assert.equal(new Set(nodePorts).size, nodePorts.length, "no NodePort twice");
  assert.ok(nodePorts.length >= 60);
});

test("the kubernetes Service holds the first address of the range and points at the apiserver", async () => {
  const svc = await api.request("GET", "/api/v1/namespaces/default/services/kubernetes");
  assert.equal(svc.status, 200, svc.text);
  assert.equal(svc.json.spec.clusterIP, "10.96.0.1");
  assert.equal(svc.json.spec.ports[0].port, 443);
  const ep = await api.request("GET", "/api/v1/namespaces/default/endpoints/kubernetes");
  assert.equal(ep.json.subsets[0].addresses[0].ip, "127.0.0.1");
  assert.equal(ep.json.subsets[0].ports[0].port, api.port);
  const slice = await api.request(
    "GET",
    "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/kubernetes",
  );
  assert.deepEqual(slice.json.endpoints[0].addresses, ["127.0.0.1"]);
});
