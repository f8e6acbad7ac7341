import { test } from "node:test";
import assert from "node:assert/strict";
import { resourceInfo } from "@skiff/api";
import type { KubeObject } from "@skiff/client";
import { EndpointSliceController } from "../src/controllers/endpointslice/index.js";
import type { EndpointSlice } from "../src/objects.js";
import {
  create,
  makePod,
  podsInfo,
  servicesInfo,
  setPodStatus,
  startEnv,
  waitFor,
} from "./endpoints-testenv.js";

const slicesInfo = resourceInfo("discovery.k8s.io", "v1", "endpointslices");

test("endpoint slices list a Service's pods with conditions, split by port mapping and size", async (t) => {
  const env = await startEnv();
  t.after(() => env.stop());
  env.run(new EndpointSliceController(env.ctx, { maxEndpointsPerSlice: 2 }));
  const slices = env.client.resource<EndpointSlice>(slicesInfo).namespace("default");
  const forWeb = async () =>
    (await slices.list({ labelSelector: "kubernetes.io/service-name=web" })).items;

  await create(env, servicesInfo, {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "web", namespace: "default" },
    spec: { selector: { app: "web" }, ports: [{ name: "http", port: 80, targetPort: "http" }] },
  } as KubeObject);
  for (const [i, port] of [8080, 8080, 8080, 9090].entries()) {
    const name = `web-${i}`;
    await create(
      env,
      podsInfo,
      makePod(name, { app: "web" }, [{ name: "http", containerPort: port }], { nodeName: "n1" }),
    );
    await setPodStatus(env, name, { podIP: `10.244.0.${10 + i}`, ready: i !== 1 });
  }

  // 3 pods on 8080 → two slices (2 + 1); 1 pod on 9090 → one slice.
  const all = await waitFor("three slices holding four endpoints", async () => {
    const items = await forWeb();
    const n = items.reduce((sum, s) => sum + s.endpoints.length, 0);
    return items.length === 3 && n === 4 ? items : undefined;
  });
  for (const s of all) {
    assert.equal(s.addressType, "IPv4");
    assert.equal(
      s.metadata.labels?.["endpointslice.kubernetes.io/managed-by"],
      "endpointslice-controller.k8s.io",
    );
    assert.equal(s.metadata.ownerReferences?.[0]?.kind, "Service");
    assert.ok(s.endpoints.length <= 2);
  }
  const endpoints = all.flatMap((s) => s.endpoints.map((e) => ({ e, port: s.ports?.[0]?.port })));
  const byIp = new Map(endpoints.map((x) => [x.e.addresses[0], x]));
  assert.equal(byIp.get("10.244.0.13")?.port, 9090);
  assert.equal(byIp.get("10.244.0.10")?.port, 8080);
  assert.deepEqual(byIp.get("10.244.0.11")?.e.conditions, {
    ready: false,
    serving: false,
    terminating: false,
  });
  assert.deepEqual(byIp.get("10.244.0.10")?.e.conditions, {
    ready: true,
    serving: true,
    terminating: false,
  });
  assert.equal(byIp.get("10.244.0.10")?.e.targetRef?.name, "web-0");

  // Removing pods shrinks the slices; deleting the Service removes them all.
  const pods = env.client.resource(podsInfo).namespace("default");
  await pods.delete("web-3", { gracePeriodSeconds: 0 });
  await pods.delete("web-2", { gracePeriodSeconds: 0 });
  await waitFor("one slice with two endpoints", async () => {
    const items = await forWeb();
    return items.length === 1 && items[0]!.endpoints.length === 2;
  });
  // A pod being deleted stays listed while it terminates, no longer ready.
  await pods.delete("web-0");
  const draining = await waitFor("web-0 terminating", async () => {
    const e = (await forWeb())[0]?.endpoints.find((x) => x.targetRef?.name === "web-0");
    return e?.conditions?.terminating ? e : undefined;
  });
  assert.deepEqual(draining.conditions, { ready: false, serving: true, terminating: true });
  await env.client.resource(servicesInfo).namespace("default").delete("web");
  await waitFor("slices deleted", async () => (await forWeb()).length === 0);
});
