import { test } from "node:test";
import assert from "node:assert/strict";
import { resourceInfo } from "@skiff/api";
import type { KubeObject } from "@skiff/client";
import { EndpointsController, endpointSubsets } from "../src/controllers/endpoints/index.js";
import type { Endpoints, Pod, Service } from "../src/objects.js";
import {
  create,
  makePod,
  podsInfo,
  servicesInfo,
  setPodStatus,
  startEnv,
  waitFor,
} from "./endpoints-testenv.js";

const endpointsInfo = resourceInfo("", "v1", "endpoints");

test("endpoints follow pod readiness and IP, resolve named ports, and go with the Service", async (t) => {
  const env = await startEnv();
  t.after(() => env.stop());
  env.run(new EndpointsController(env.ctx));
  const eps = env.client.resource<Endpoints>(endpointsInfo).namespace("default");

  await create(env, servicesInfo, {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "web", namespace: "default" },
    spec: {
      selector: { app: "web" },
      ports: [
        { name: "http", port: 80, targetPort: "http" },
        { name: "metrics", port: 9090, targetPort: 9100 },
      ],
    },
  } as KubeObject);
  await create(
    env,
    podsInfo,
    makePod("web-a", { app: "web" }, [{ name: "http", containerPort: 8080 }], { nodeName: "n1" }),
  );
  await create(
    env,
    podsInfo,
    makePod("web-b", { app: "web" }, [{ name: "http", containerPort: 8081 }]),
  );
  await create(
    env,
    podsInfo,
    makePod("other", { app: "db" }, [{ name: "http", containerPort: 1 }]),
  );

  // No pod has an IP yet: the Endpoints object exists but lists nobody.
  const empty = await waitFor("empty endpoints", () => eps.get("web").catch(() => undefined));
  assert.deepEqual(empty.subsets ?? [], []);

  await setPodStatus(env, "web-a", { podIP: "10.244.0.5", ready: true });
  await setPodStatus(env, "web-b", { podIP: "10.244.0.6", ready: false });
  await setPodStatus(env, "other", { podIP: "10.244.0.7", ready: true });
  const both = await waitFor("two subsets", async () => {
    const ep = await eps.get("web");
    return ep.subsets?.length === 2 ? ep.subsets : undefined;
  });
  const a = both.find((s) => s.ports?.some((p) => p.port === 8080))!;
  const b = both.find((s) => s.ports?.some((p) => p.port === 8081))!;
  assert.equal(a.addresses?.[0]?.ip, "10.244.0.5");
  assert.equal(a.addresses?.[0]?.targetRef?.kind, "Pod");
  assert.equal(a.addresses?.[0]?.targetRef?.name, "web-a");
  assert.ok(a.addresses?.[0]?.targetRef?.uid);
  assert.deepEqual(a.ports?.map((p) => [p.name, p.port]).sort(), [
    ["http", 8080],
    ["metrics", 9100],
  ]);
  assert.equal(b.addresses, undefined);
  assert.equal(b.notReadyAddresses?.[0]?.ip, "10.244.0.6");

  assert.equal(a.addresses?.[0]?.nodeName, "n1");

  // web-b turns ready; web-a is being deleted (gracefully: it still exists, terminating).
  await setPodStatus(env, "web-b", { podIP: "10.244.0.6", ready: true });
  await env.client.resource(podsInfo).namespace("default").delete("web-a");
  await waitFor("only web-b, ready", async () => {
    const ep = await eps.get("web");
    const ips = (ep.subsets ?? []).flatMap((s) => (s.addresses ?? []).map((x) => x.ip));
    const notReady = (ep.subsets ?? []).flatMap((s) => s.notReadyAddresses ?? []);
    return ips.join() === "10.244.0.6" && notReady.length === 0;
  });
  const terminating = await env.client.resource(podsInfo).namespace("default").get("web-a");
  assert.ok(terminating.metadata.deletionTimestamp, "the pod is still there, terminating");

  await env.client.resource(servicesInfo).namespace("default").delete("web");
  await waitFor("endpoints deleted", () =>
    eps.get("web").then(
      () => false,
      () => true,
    ),
  );
});

test("headless and publishNotReadyAddresses services list not-ready pods as ready; selector-less ones are left alone", async (t) => {
  const env = await startEnv();
  t.after(() => env.stop());
  env.run(new EndpointsController(env.ctx));
  const eps = env.client.resource<Endpoints>(endpointsInfo).namespace("default");

  await create(env, servicesInfo, {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "peers", namespace: "default" },
    spec: {
      clusterIP: "None",
      publishNotReadyAddresses: true,
      selector: { app: "peer" },
      ports: [{ port: 7000 }],
    },
  } as KubeObject);
  await create(env, servicesInfo, {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "manual", namespace: "default" },
    spec: { ports: [{ port: 80 }] },
  } as KubeObject);
  await create(env, podsInfo, makePod("peer-0", { app: "peer" }));
  await setPodStatus(env, "peer-0", { podIP: "10.244.1.2", ready: false });

  const ep = await waitFor("peer endpoints", async () => {
    const e = await eps.get("peers");
    return e.subsets?.[0]?.addresses?.length === 1 ? e : undefined;
  });
  assert.equal(ep.subsets?.[0]?.addresses?.[0]?.ip, "10.244.1.2");
  assert.deepEqual(ep.subsets?.[0]?.ports, [{ port: 7000, protocol: "TCP" }]);
  assert.equal(ep.metadata.labels?.["service.kubernetes.io/headless"], "");
  await assert.rejects(eps.get("manual"), "no Endpoints are made for a Service without a selector");
});

test("a pod without the named target port is left out of that port's subset", () => {
  const svc: Service = {
    metadata: { name: "s", namespace: "default" },
    spec: {
      ports: [
        { name: "http", port: 80, targetPort: "http", protocol: "TCP" },
        { name: "raw", port: 81, protocol: "TCP" },
      ],
    },
  };
  const pod = (
    name: string,
    ip: string,
    ports: { name: string; containerPort: number }[],
  ): Pod => ({
    metadata: { name, namespace: "default", uid: name },
    spec: { containers: [{ name: "c", image: "x", ports }] },
    status: { podIP: ip, conditions: [{ type: "Ready", status: "True" }] },
  });
  const subsets = endpointSubsets(svc, [
    pod("a", "10.0.0.2", [{ name: "http", containerPort: 8080 }]),
    pod("b", "10.0.0.10", []),
    pod("c", "10.0.0.3", [{ name: "http", containerPort: 8080 }]),
  ]);
  assert.deepEqual(
    subsets.map((s) => [s.ports?.map((p) => p.port), s.addresses?.map((a) => a.ip)]),
    [
      [
        [8080, 81],
        ["10.0.0.2", "10.0.0.3"],
      ],
      [[81], ["10.0.0.10"]],
    ],
  );
});
