import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { customResourceInfos, resourceInfo } from "@skiff/api";
import { isNotFound, type KubeObject } from "@skiff/client";
import { crdFixture } from "@skiff/testing";
import { eventually, listPods, podTemplate, startCluster, type Cluster } from "./helpers.js";

let c: Cluster;
before(async () => {
  c = await startCluster(["replicaset", "garbagecollector", "namespace"]);
});
after(async () => {
  await c.stop();
});

const rsClient = () => c.replicaSets.namespace("default");

async function rsWithPods(name: string, replicas = 3) {
  const labels = { app: name };
  const rs = await rsClient().create({
    metadata: { name, namespace: "default" },
    spec: { replicas, selector: { matchLabels: labels }, template: podTemplate(labels) },
  });
  await eventually(
    async () => (await listPods(c, "default", `app=${name}`)).length === replicas,
    `${replicas} pods`,
  );
  return rs;
}

const gone = async (p: Promise<unknown>) =>
  p.then(
    () => false,
    (e: unknown) => isNotFound(e),
  );

test("background deletion: pods whose ReplicaSet is gone are deleted", async () => {
  await rsWithPods("bg");
  await rsClient().delete("bg", { propagationPolicy: "Background" });
  await eventually(
    async () => (await listPods(c, "default", "app=bg")).length === 0,
    "pods deleted",
  );
});

test("foreground deletion: the owner stays until its blocking dependents are gone", async () => {
  await rsWithPods("fg");
  const deleting = await rsClient().delete("fg", { propagationPolicy: "Foreground" });
  assert.ok(deleting?.metadata.deletionTimestamp);
  assert.ok(deleting.metadata.finalizers?.includes("foregroundDeletion"));
  let violated = false;
  await eventually(async () => {
    const ownerGone = await gone(rsClient().get("fg"));
    const pods = (await listPods(c, "default", "app=fg")).length;
    if (ownerGone && pods > 0) violated = true;
    return ownerGone;
  }, "the ReplicaSet deleted");
  assert.equal(violated, false, "the owner went before its pods");
  assert.equal((await listPods(c, "default", "app=fg")).length, 0);
});

test("orphan deletion: dependents stay, without the ownerReference", async () => {
  const rs = await rsWithPods("orph", 2);
  await rsClient().delete("orph", { propagationPolicy: "Orphan" });
  await eventually(() => gone(rsClient().get("orph")), "the ReplicaSet deleted");
  const pods = await listPods(c, "default", "app=orph");
  assert.equal(pods.length, 2);
  for (const p of pods) {
    assert.ok(!p.metadata.ownerReferences?.some((r) => r.uid === rs.metadata.uid));
  }
});

test("deleting a namespace empties it and then it disappears", async () => {
  await c.namespaces.create({ metadata: { name: "doomed" } });
  const cms = c.client
    .resource<KubeObject>(resourceInfo("", "v1", "configmaps"))
    .namespace("doomed");
  await cms.create({
    metadata: { name: "settings", namespace: "doomed" },
    data: { a: "1" },
  } as KubeObject);
  await c.replicaSets.namespace("doomed").create({
    metadata: { name: "app", namespace: "doomed" },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: "x" } },
      template: podTemplate({ app: "x" }),
    },
  });
  await eventually(async () => (await listPods(c, "doomed")).length === 2, "2 pods in doomed");
  await c.namespaces.delete("doomed");
  const ns = await c.namespaces.get("doomed");
  assert.equal(ns.status?.phase, "Terminating");
  await eventually(() => gone(c.namespaces.get("doomed")), "the namespace gone", 30_000);
  assert.equal((await cms.list()).items.length, 0);
  assert.equal((await listPods(c, "doomed")).length, 0);
});

test("custom resources take part: a CR's dependents go with it, and a CR goes with its owner", async () => {
  const crds = c.client.resource<KubeObject>(
    resourceInfo("apiextensions.k8s.io", "v1", "customresourcedefinitions"),
  );
  await crds.create(
    crdFixture({
      group: "gc.example.com",
      plural: "gadgets",
      kind: "Gadget",
      schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
    }) as KubeObject,
  );
  const gadgetInfo = customResourceInfos((await crds.get("gadgets.gc.example.com")) as object)[0]!;
  const gadgets = c.client.resource<KubeObject>(gadgetInfo).namespace("default");
  await eventually(
    async () => (await c.api.request("GET", "/apis/gc.example.com/v1/gadgets")).status === 200,
    "gadgets served",
  );
  const cms = c.client
    .resource<KubeObject>(resourceInfo("", "v1", "configmaps"))
    .namespace("default");
  const ownerRef = (o: KubeObject) => ({
    apiVersion: o.apiVersion!,
    kind: o.kind!,
    name: o.metadata.name!,
    uid: o.metadata.uid!,
  });

  // A ConfigMap owned by a Gadget goes when the Gadget does.
  const gadget = await gadgets.create({
    apiVersion: "gc.example.com/v1",
    kind: "Gadget",
    metadata: { name: "g1", namespace: "default" },
  } as KubeObject);
  await cms.create({
    metadata: { name: "g1-config", namespace: "default", ownerReferences: [ownerRef(gadget)] },
  } as KubeObject);
  await gadgets.delete("g1", { propagationPolicy: "Background" });
  await eventually(() => gone(cms.get("g1-config")), "the Gadget's ConfigMap deleted");

  // A Gadget owned by a ConfigMap goes when the ConfigMap does.
  const owner = await cms.create({
    metadata: { name: "owner", namespace: "default" },
  } as KubeObject);
  await gadgets.create({
    apiVersion: "gc.example.com/v1",
    kind: "Gadget",
    metadata: {
      name: "g2",
      namespace: "default",
      ownerReferences: [{ ...ownerRef(owner), apiVersion: "v1", kind: "ConfigMap" }],
    },
  } as KubeObject);
  await cms.delete("owner", { propagationPolicy: "Background" });
  await eventually(() => gone(gadgets.get("g2")), "the ConfigMap's Gadget deleted");
});

test("deleting a namespace deletes its custom resources too", async () => {
  const crds = c.client.resource<KubeObject>(
    resourceInfo("apiextensions.k8s.io", "v1", "customresourcedefinitions"),
  );
  await crds.create(
    crdFixture({ group: "ns.example.com", plural: "widgets", kind: "Widget" }) as KubeObject,
  );
  const info = customResourceInfos((await crds.get("widgets.ns.example.com")) as object)[0]!;
  await eventually(
    async () => (await c.api.request("GET", "/apis/ns.example.com/v1/widgets")).status === 200,
    "widgets served",
  );
  await c.namespaces.create({ metadata: { name: "crd-doomed" } });
  const widgets = c.client.resource<KubeObject>(info).namespace("crd-doomed");
  await widgets.create({
    apiVersion: "ns.example.com/v1",
    kind: "Widget",
    metadata: { name: "w", namespace: "crd-doomed" },
  } as KubeObject);
  await c.namespaces.delete("crd-doomed");
  await eventually(() => gone(c.namespaces.get("crd-doomed")), "the namespace gone", 30_000);
  const left = await c.api.request("GET", "/apis/ns.example.com/v1/widgets");
  assert.deepEqual(left.json.items, []);
});
