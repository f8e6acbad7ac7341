import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { findResource } from "@skiff/api";
import { isNotFound, type KubeObject } from "@skiff/client";
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
    .resource<KubeObject>(findResource("", "v1", "configmaps")!)
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
