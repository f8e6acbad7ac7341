import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { Pod } from "../src/objects.js";
import {
  eventually,
  listPods,
  markPodReady,
  podTemplate,
  startCluster,
  type Cluster,
} from "./helpers.js";

let c: Cluster;
before(async () => {
  c = await startCluster(["replicaset"]);
});
after(async () => {
  await c.stop();
});

function rs(name: string, replicas: number, labels: Record<string, string>) {
  return {
    metadata: { name, namespace: "default" },
    spec: { replicas, selector: { matchLabels: labels }, template: podTemplate(labels) },
  };
}

test("a ReplicaSet scales up to its replicas with owned, randomly named pods, and reports status", async () => {
  const created = await c.replicaSets.namespace("default").create(rs("web", 3, { app: "web" }));
  const pods = await eventually(async () => {
    const p = await listPods(c, "default", "app=web");
    return p.length === 3 && p;
  }, "3 pods");
  for (const p of pods) {
    assert.match(p.metadata.name ?? "", /^web-[a-z0-9]{5}$/);
    const ref = p.metadata.ownerReferences?.[0];
    assert.equal(ref?.uid, created.metadata.uid);
    assert.equal(ref?.controller, true);
    assert.equal(ref?.blockOwnerDeletion, true);
  }
  for (const p of pods) await markPodReady(c.pods, p);
  await eventually(async () => {
    const s = (await c.replicaSets.namespace("default").get("web")).status;
    return (
      s?.replicas === 3 &&
      s.readyReplicas === 3 &&
      s.availableReplicas === 3 &&
      s.fullyLabeledReplicas === 3 &&
      s.observedGeneration === created.metadata.generation
    );
  }, "status of 3 ready replicas");
});

test("scaling down deletes not-ready pods before ready ones", async () => {
  const ns = c.replicaSets.namespace("default");
  await ns.create(rs("down", 4, { app: "down" }));
  const pods = await eventually(async () => {
    const p = await listPods(c, "default", "app=down");
    return p.length === 4 && p;
  }, "4 pods");
  const ready = pods.slice(0, 2);
  for (const p of ready) await markPodReady(c.pods, p);
  await eventually(async () => (await ns.get("down")).status?.readyReplicas === 2, "2 ready");
  await ns.patch("down", { spec: { replicas: 2 } }, "merge");
  const left = await eventually(async () => {
    const p = await listPods(c, "default", "app=down");
    return p.length === 2 && p;
  }, "2 pods left");
  assert.deepEqual(
    left.map((p) => p.metadata.name).sort(),
    ready.map((p) => p.metadata.name).sort(),
  );
});

test("a ReplicaSet adopts a matching orphan and releases a pod whose labels stop matching", async () => {
  const orphan: Pod = {
    metadata: { name: "stray", namespace: "default", labels: { app: "adopt" } },
    spec: { containers: [{ name: "web", image: "nginx" }] },
  } as Pod;
  await c.pods.namespace("default").create(orphan);
  const owner = await c.replicaSets.namespace("default").create(rs("adopt", 2, { app: "adopt" }));
  await eventually(async () => {
    const p = await listPods(c, "default", "app=adopt");
    const stray = p.find((x) => x.metadata.name === "stray");
    return p.length === 2 && stray?.metadata.ownerReferences?.[0]?.uid === owner.metadata.uid;
  }, "the orphan adopted and only one pod created");

  await c.pods
    .namespace("default")
    .patch("stray", { metadata: { labels: { app: "gone" } } }, "merge");
  await eventually(async () => {
    const stray = await c.pods.namespace("default").get("stray");
    const p = await listPods(c, "default", "app=adopt");
    return !stray.metadata.ownerReferences?.length && p.length === 2;
  }, "the pod released and replaced");
});

test("a slow watch never makes a ReplicaSet create more pods than it asks for", async () => {
  const ns = c.replicaSets.namespace("default");
  await ns.create(rs("burst", 20, { app: "burst" }));
  // Scale several times while creations are in flight; the count must settle exactly.
  await ns.patch("burst", { spec: { replicas: 25 } }, "merge");
  await ns.patch("burst", { spec: { replicas: 30 } }, "merge");
  await eventually(
    async () => (await listPods(c, "default", "app=burst")).length === 30,
    "30 pods",
  );
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal((await listPods(c, "default", "app=burst")).length, 30);
});

test("pods that cannot be created show as a ReplicaFailure condition", async () => {
  // A Terminating namespace (no namespace controller runs here) refuses new pods.
  await c.namespaces.create({ metadata: { name: "closing" } });
  const ns = c.replicaSets.namespace("closing");
  await ns.create({
    ...rs("stuck", 0, { app: "stuck" }),
    metadata: { name: "stuck", namespace: "closing" },
  });
  await c.namespaces.delete("closing");
  await ns.patch("stuck", { spec: { replicas: 2 } }, "merge");
  const cond = await eventually(
    async () =>
      (await ns.get("stuck")).status?.conditions?.find((x) => x.type === "ReplicaFailure"),
    "a ReplicaFailure condition",
  );
  assert.equal(cond.status, "True");
  assert.equal(cond.reason, "FailedCreate");
});
