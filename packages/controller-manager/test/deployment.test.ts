import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { isPodReady } from "@skiff/api";
import type { Deployment, Pod } from "../src/objects.js";
import {
  eventually,
  listPods,
  podTemplate,
  simulateKubelet,
  startCluster,
  type Cluster,
} from "./helpers.js";

let c: Cluster;
let stopKubelet: () => Promise<void>;
before(async () => {
  c = await startCluster(["replicaset", "deployment"]);
  // Pods whose image says "broken" never become ready.
  stopKubelet = simulateKubelet(
    c,
    "default",
    (p) => !(p.spec?.containers[0]?.image ?? "").includes("broken"),
  );
});
after(async () => {
  await stopKubelet();
  await c.stop();
});

function deployment(
  name: string,
  replicas: number,
  strategy: Deployment["spec"] extends infer S
    ? S extends { strategy?: infer T }
      ? T
      : never
    : never,
): Deployment {
  return {
    metadata: { name, namespace: "default" },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: podTemplate({ app: name }),
      strategy,
    },
  } as Deployment;
}

const deps = () => c.deployments.namespace("default");
const rss = async (app: string) =>
  (await c.replicaSets.namespace("default").list({ labelSelector: `app=${app}` })).items;

async function complete(name: string, replicas: number): Promise<Deployment> {
  return eventually(
    async () => {
      const d = await deps().get(name);
      const s = d.status;
      const progressing = s?.conditions?.find((x) => x.type === "Progressing");
      return (
        (s?.observedGeneration ?? 0) >= (d.metadata.generation ?? 1) &&
        s?.updatedReplicas === replicas &&
        s.replicas === replicas &&
        s.availableReplicas === replicas &&
        (s.unavailableReplicas ?? 0) === 0 &&
        progressing?.reason === "NewReplicaSetAvailable" &&
        d
      );
    },
    `deployment ${name} complete with ${replicas} replicas`,
    30_000,
  );
}

// No resourceVersion in these patches: the apiserver applies them to the latest object
// (retrying its own compare-and-swap), so they never get 409 Conflict.
const setImage = (name: string, image: string) =>
  deps().patch(
    name,
    { spec: { template: { spec: { containers: [{ name: "web", image }] } } } },
    "strategic",
  );

/**
 * Follows every state of the app's pods: a list, then a watch from the list's revision, so
 * no change falls between two looks. `check` sees the pods after each change; the returned
 * function stops the watch and says how many states there were.
 */
async function everyState(
  app: string,
  check: (pods: Pod[]) => void,
): Promise<() => Promise<number>> {
  const pods = c.pods.namespace("default");
  const list = await pods.list({ labelSelector: `app=${app}` });
  const current = new Map(list.items.map((p) => [p.metadata.uid, p]));
  let states = 1;
  check([...current.values()]);
  const w = pods.watch({
    labelSelector: `app=${app}`,
    resourceVersion: list.metadata.resourceVersion,
  });
  const following = (async () => {
    for await (const ev of w) {
      if (ev.type === "ERROR") throw new Error(`watch failed: ${ev.object.message}`);
      if (ev.type === "BOOKMARK") continue;
      if (ev.type === "DELETED") current.delete(ev.object.metadata.uid);
      else current.set(ev.object.metadata.uid, ev.object);
      states++;
      check([...current.values()]);
    }
  })();
  return async () => {
    w.stop();
    await following;
    return states;
  };
}

const readyPods = (pods: Pod[]) =>
  pods.filter((p) => isPodReady(p) && !p.metadata.deletionTimestamp).length;

test("a rolling update with maxUnavailable 0 never has fewer ready pods than replicas", async () => {
  await deps().create(
    deployment("roll", 3, {
      type: "RollingUpdate",
      rollingUpdate: { maxSurge: 1, maxUnavailable: 0 },
    }),
  );
  const first = await complete("roll", 3);
  assert.equal(first.metadata.annotations?.["deployment.kubernetes.io/revision"], "1");
  const [rs1] = await rss("roll");
  assert.match(rs1!.metadata.name ?? "", /^roll-[a-z0-9]+$/);
  const hash = rs1!.metadata.labels?.["pod-template-hash"];
  assert.ok(hash && rs1!.spec?.selector.matchLabels?.["pod-template-hash"] === hash);

  let minReady = Infinity;
  const stop = await everyState("roll", (pods) => (minReady = Math.min(minReady, readyPods(pods))));
  await setImage("roll", "nginx:1.28");
  const d = await complete("roll", 3);
  const states = await stop();
  // 3 new pods created, made ready, 3 old ones deleted: at least 9 changes were seen.
  assert.ok(states >= 9, `only ${states} states seen`);
  assert.ok(minReady >= 3, `ready pods dropped to ${minReady}`);
  assert.equal(d.metadata.annotations?.["deployment.kubernetes.io/revision"], "2");
  const pods = await listPods(c, "default", "app=roll");
  assert.equal(pods.length, 3);
  assert.ok(pods.every((p) => p.spec?.containers[0]?.image === "nginx:1.28"));
});

test("rollout undo (the deployment's template set back) re-adopts the old ReplicaSet as revision 3", async () => {
  await deps().create(deployment("undo", 2, {}));
  await complete("undo", 2);
  await setImage("undo", "nginx:1.28");
  await complete("undo", 2);
  const before = await rss("undo");
  const old = before.find(
    (rs) => rs.metadata.annotations?.["deployment.kubernetes.io/revision"] === "1",
  )!;
  // What kubectl 1.31 does client-side: copy the old RS template without its hash label.
  const template = structuredClone(old.spec!.template!);
  delete template.metadata!.labels!["pod-template-hash"];
  await deps().patch("undo", [{ op: "replace", path: "/spec/template", value: template }], "json");
  const d = await complete("undo", 2);
  assert.equal(d.metadata.annotations?.["deployment.kubernetes.io/revision"], "3");
  const after = await rss("undo");
  assert.equal(after.length, 2, "no new ReplicaSet was created");
  const back = after.find((rs) => rs.metadata.uid === old.metadata.uid)!;
  assert.equal(back.metadata.annotations?.["deployment.kubernetes.io/revision"], "3");
  assert.equal(back.spec?.replicas, 2);
  const pods = await listPods(c, "default", "app=undo");
  assert.ok(pods.every((p) => p.spec?.containers[0]?.image === "nginx:1.27"));
});

test("Recreate removes every old pod before the first new one is created", async () => {
  await deps().create(deployment("recreate", 2, { type: "Recreate" }));
  await complete("recreate", 2);
  let mixed = false;
  const stop = await everyState("recreate", (pods) => {
    if (new Set(pods.map((p) => p.spec?.containers[0]?.image)).size > 1) mixed = true;
  });
  await setImage("recreate", "nginx:1.28");
  await complete("recreate", 2);
  await stop();
  assert.equal(mixed, false, "old and new pods ran at the same time");
});

test("scaling during a stuck rollout spreads the new replicas proportionally", async () => {
  await deps().create(
    deployment("prop", 10, {
      type: "RollingUpdate",
      rollingUpdate: { maxSurge: 3, maxUnavailable: 2 },
    }),
  );
  await complete("prop", 10);
  await setImage("prop", "nginx:broken");
  // Stuck: the new RS surged to 5 unready pods, the old one went down to 8.
  const stuck = await eventually(async () => {
    const list = await rss("prop");
    const sizes = list.map((rs) => rs.spec?.replicas ?? 0).sort((a, b) => a - b);
    return list.length === 2 && sizes[0] === 5 && sizes[1] === 8 && list;
  }, "the rollout stuck at 8 old + 5 new");
  const oldUid = stuck.find((rs) => rs.spec?.replicas === 8)!.metadata.uid;
  await deps().patch("prop", { spec: { replicas: 15 } }, "merge");
  const grown = await eventually(async () => {
    const list = await rss("prop");
    const total = list.reduce((n, rs) => n + (rs.spec?.replicas ?? 0), 0);
    return total === 18 && list;
  }, "18 replicas in all (15 + maxSurge 3)");
  const oldRS = grown.find((rs) => rs.metadata.uid === oldUid)!;
  const newRS = grown.find((rs) => rs.metadata.uid !== oldUid)!;
  assert.equal(oldRS.spec?.replicas, 11);
  assert.equal(newRS.spec?.replicas, 7);
  // 11 old pods ready, 13 needed (15 - maxUnavailable 2): not available, as in Kubernetes.
  await eventually(async () => {
    const s = (await deps().get("prop")).status;
    const available = s?.conditions?.find((x) => x.type === "Available");
    return s?.availableReplicas === 11 && available?.reason === "MinimumReplicasUnavailable";
  }, "11 available, Available False");
});

test("a paused deployment does not roll out until resumed", async () => {
  await deps().create(deployment("pause", 2, {}));
  await complete("pause", 2);
  await deps().patch("pause", { spec: { paused: true } }, "merge");
  await setImage("pause", "nginx:1.28");
  await eventually(
    async () =>
      (await deps().get("pause")).status?.conditions?.find((x) => x.reason === "DeploymentPaused"),
    "DeploymentPaused",
  );
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal((await rss("pause")).length, 1);
  await deps().patch("pause", { spec: { paused: false } }, "merge");
  await complete("pause", 2);
  assert.equal((await rss("pause")).length, 2);
});

test("a rollout that makes no progress within progressDeadlineSeconds is ProgressDeadlineExceeded", async () => {
  const d = deployment("slow", 1, {});
  d.spec!.progressDeadlineSeconds = 2;
  d.spec!.template.spec!.containers[0]!.image = "nginx:broken";
  await deps().create(d);
  const cond = await eventually(
    async () =>
      (await deps().get("slow")).status?.conditions?.find(
        (x) => x.reason === "ProgressDeadlineExceeded",
      ),
    "ProgressDeadlineExceeded",
    20_000,
  );
  assert.equal(cond.type, "Progressing");
  assert.equal(cond.status, "False");
});

test("old ReplicaSets beyond revisionHistoryLimit are deleted", async () => {
  const d = deployment("history", 1, {});
  d.spec!.revisionHistoryLimit = 1;
  await deps().create(d);
  await complete("history", 1);
  for (const tag of ["1.28", "1.29"]) {
    await setImage("history", `nginx:${tag}`);
    await complete("history", 1);
  }
  const list = await eventually(async () => {
    const l = await rss("history");
    return l.length === 2 && l;
  }, "2 ReplicaSets (new + 1 old)");
  const revisions = list
    .map((r) => r.metadata.annotations?.["deployment.kubernetes.io/revision"])
    .sort();
  assert.deepEqual(revisions, ["2", "3"]);
});
