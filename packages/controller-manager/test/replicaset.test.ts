import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { resourceInfo } from "@skiff/api";
import { ReplicaSetController } from "../src/controllers/replicaset/index.js";
import type { Pod, ReplicaSet } from "../src/objects.js";
import { podsInfo, startEnv } from "./endpoints-testenv.js";
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

const rsInfo = resourceInfo("apps", "v1", "replicasets");

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
  // The controller's sync on a real apiserver, with its caches fed by hand: the ReplicaSet
  // cache is current, the pod watch delivers only when the test says so.
  const env = await startEnv();
  try {
    const controller = new ReplicaSetController(env.ctx);
    const rsInformer = env.ctx.informers.forResource<ReplicaSet>(rsInfo);
    const podInformer = env.ctx.informers.forResource<Pod>(podsInfo);
    await env.client
      .resource(resourceInfo("", "v1", "namespaces"))
      .create({ metadata: { name: "slow" } });
    const replicaSets = env.client.resource<ReplicaSet>(rsInfo).namespace("slow");
    const pods = env.client.resource<Pod>(podsInfo).namespace("slow");
    await replicaSets.create({ ...rs("burst", 5, { app: "burst" }), metadata: { name: "burst" } });
    const rsCaughtUp = async () => rsInformer.update(await replicaSets.get("burst"));
    const inApi = async () => (await pods.list()).items;
    rsInformer.replace([await replicaSets.get("burst")], "0");
    podInformer.replace([], "0");

    await controller.sync("slow/burst");
    assert.equal((await inApi()).length, 5);
    // The pod watch has delivered none of them: syncs (a resync, a scale-up) must wait.
    await rsCaughtUp();
    await controller.sync("slow/burst");
    await replicaSets.patch("burst", { spec: { replicas: 8 } }, "merge");
    await rsCaughtUp();
    await controller.sync("slow/burst");
    assert.equal((await inApi()).length, 5, "no pods beyond those still expected");
    // The watch delivers 4 of the 5: still waiting for one.
    const created = await inApi();
    for (const p of created.slice(0, 4)) podInformer.add(p);
    await rsCaughtUp();
    await controller.sync("slow/burst");
    assert.equal((await inApi()).length, 5);
    // The last one arrives: now the scale-up to 8 goes ahead, and only once.
    podInformer.add(created[4]!);
    await rsCaughtUp();
    await controller.sync("slow/burst");
    assert.equal((await inApi()).length, 8);
    await rsCaughtUp();
    await controller.sync("slow/burst");
    assert.equal((await inApi()).length, 8);
  } finally {
    await env.stop();
  }
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
