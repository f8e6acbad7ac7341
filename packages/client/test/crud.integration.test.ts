// The REST client against a real apiserver on a real etcd: CRUD, typed errors, paging,
// patches, subresources and watch.
import { test } from "node:test";
import assert from "node:assert/strict";
import { resourceInfo, type ConfigMap as ApiConfigMap } from "@skiff/api";
import {
  loadKubeconfig,
  isNotFound,
  isConflict,
  isAlreadyExists,
  isGone,
  ApiError,
  type KubeObject,
  type WatchEvent,
} from "@skiff/client";
import { useApiserver } from "./apiserver.js";

type ConfigMap = ApiConfigMap & KubeObject;

const env = useApiserver();

const configmaps = resourceInfo("", "v1", "configmaps");
const cm = (
  name: string,
  data: Record<string, string> = { a: "1" },
  labels?: Record<string, string>,
): ConfigMap => ({
  metadata: { name, ...(labels ? { labels } : {}) },
  data,
});

test("the admin kubeconfig the harness writes is loaded and authenticates with its client certificate", async () => {
  const c = loadKubeconfig({ kubeconfig: env.api.kubeconfig, env: {} });
  assert.equal(c.server, env.api.url);
  assert.ok(c.ca && c.cert && c.key);
  const v = await env.client.request("GET", "/version");
  assert.ok(typeof v === "object" && v !== null && "gitVersion" in v);
});

test("create, get, update, patch and delete a ConfigMap, with typed errors on the way", async () => {
  const cms = env.client.resource<ConfigMap>(configmaps).namespace("default");
  const created = await cms.create(cm("client-crud"));
  assert.equal(created.kind, "ConfigMap");
  assert.match(created.metadata.resourceVersion!, /^\d+$/);
  await assert.rejects(
    cms.create(cm("client-crud")),
    (e) => isAlreadyExists(e) && (e as ApiError).code === 409,
  );

  const got = await cms.get("client-crud");
  assert.deepEqual(got.data, { a: "1" });
  const updated = await cms.update({ ...got, data: { a: "2" } });
  assert.notEqual(updated.metadata.resourceVersion, got.metadata.resourceVersion);
  await assert.rejects(cms.update({ ...got, data: { a: "stale" } }), (e) => isConflict(e));

  const merged = await cms.patch("client-crud", { data: { b: "3" } }, "merge");
  assert.deepEqual(merged.data, { a: "2", b: "3" });
  const jsonPatched = await cms.patch("client-crud", [{ op: "remove", path: "/data/a" }], "json");
  assert.deepEqual(jsonPatched.data, { b: "3" });
  const strategic = await cms.patch(
    "client-crud",
    { metadata: { labels: { tier: "x" } } },
    "strategic",
  );
  assert.equal(strategic.metadata.labels?.tier, "x");

  await cms.delete("client-crud");
  await assert.rejects(
    cms.get("client-crud"),
    (e) => isNotFound(e) && e.message === 'configmaps "client-crud" not found',
  );
  await assert.rejects(cms.delete("client-crud"), (e) => isNotFound(e));
});

test("an invalid object is refused with 422 Invalid naming the field", async () => {
  const cms = env.client.resource<ConfigMap>(configmaps).namespace("default");
  await assert.rejects(
    cms.create(cm("Bad_Name")),
    (e) => e instanceof ApiError && e.reason === "Invalid" && e.code === 422,
  );
});

test("lists page with limit and continue, and filter by label selector", async () => {
  const cms = env.client.resource<ConfigMap>(configmaps).namespace("paging");
  await env.client
    .resource(resourceInfo("", "v1", "namespaces"))
    .create({ metadata: { name: "paging" } });
  for (let i = 0; i < 7; i++)
    await cms.create(cm(`p-${i}`, { i: String(i) }, { even: String(i % 2 === 0) }));
  const names: string[] = [];
  let cont: string | undefined;
  let pages = 0;
  do {
    const page = await cms.list({ limit: 3, continue: cont });
    names.push(...page.items.map((x) => x.metadata.name!));
    cont = page.metadata.continue || undefined;
    pages++;
  } while (cont);
  assert.equal(pages, 3);
  assert.deepEqual(names, ["p-0", "p-1", "p-2", "p-3", "p-4", "p-5", "p-6"]);
  const even = await cms.list({ labelSelector: "even=true" });
  assert.deepEqual(
    even.items.map((x) => x.metadata.name),
    ["p-0", "p-2", "p-4", "p-6"],
  );
  const all = await env.client.resource<ConfigMap>(configmaps).list({ labelSelector: "even" });
  assert.equal(all.items.length, 7, "all namespaces");
});

test("a watch from a list's resourceVersion sees ADDED, MODIFIED and DELETED in order", async () => {
  const cms = env.client.resource<ConfigMap>(configmaps).namespace("default");
  const start = await cms.list();
  const w = cms.watch({ resourceVersion: start.metadata.resourceVersion, labelSelector: "w=1" });
  const events: WatchEvent<ConfigMap>[] = [];
  const done = (async () => {
    for await (const e of w) {
      events.push(e);
      if (e.type === "DELETED") w.stop();
    }
  })();
  await cms.create(cm("client-watch", { a: "1" }, { w: "1" }));
  await cms.patch("client-watch", { data: { a: "2" } }, "merge");
  await cms.delete("client-watch");
  await done;
  assert.deepEqual(
    events.map(
      (e) => `${e.type} ${e.type === "ERROR" ? e.object.message : e.object.metadata.name}`,
    ),
    ["ADDED client-watch", "MODIFIED client-watch", "DELETED client-watch"],
  );
});

test("a watch from a resourceVersion older than the server keeps fails with 410 Gone", async () => {
  await env.api.restart(); // the new watch cache starts at the current revision
  const cms = env.client.resource<ConfigMap>(configmaps).namespace("default");
  await cms.create(cm("client-gone"));
  const w = cms.watch({ resourceVersion: "2" });
  let gone = false;
  try {
    for await (const e of w) {
      if (e.type === "ERROR") {
        gone = isGone(new ApiError(e.object));
        break;
      }
    }
  } catch (e) {
    gone = isGone(e);
  }
  w.stop();
  assert.equal(gone, true);
});

test("cluster-scoped resources are read and written without a namespace", async () => {
  const nodes = env.client.resource(resourceInfo("", "v1", "nodes"));
  await nodes.create({ metadata: { name: "client-node-1" } });
  assert.equal((await nodes.get("client-node-1")).metadata.name, "client-node-1");
  assert.ok((await nodes.list()).items.some((n) => n.metadata.name === "client-node-1"));
});

test("the scale subresource reads and sets a Deployment's replicas", async () => {
  const deployments = env.client
    .resource(resourceInfo("apps", "v1", "deployments"))
    .namespace("default");
  await deployments.create({
    metadata: { name: "client-scale" },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: "s" } },
      template: {
        metadata: { labels: { app: "s" } },
        spec: { containers: [{ name: "c", image: "busybox" }] },
      },
    },
  } as KubeObject);
  const scale = await deployments.getScale("client-scale");
  assert.equal(scale.spec.replicas, 1);
  const scaled = await deployments.updateScale("client-scale", { ...scale, spec: { replicas: 3 } });
  assert.equal(scaled.spec.replicas, 3);
});

test("bind assigns a pending pod to a node through pods/binding", async () => {
  const pods = env.client
    .resource<KubeObject & { spec: { nodeName?: string } }>(resourceInfo("", "v1", "pods"))
    .namespace("default");
  await pods.create({
    metadata: { name: "client-bind" },
    spec: { containers: [{ name: "c", image: "busybox" }] },
  } as KubeObject & { spec: object });
  await pods.bind("client-bind", "client-node-1");
  assert.equal((await pods.get("client-bind")).spec.nodeName, "client-node-1");
});
