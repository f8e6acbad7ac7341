import { test } from "node:test";
import assert from "node:assert/strict";
import { StatefulSetController } from "../src/controllers/statefulset/index.js";
import { planStatefulSet, revisionLabel } from "../src/controllers/statefulset/plan.js";
import { newRevision } from "../src/history.js";
import type {
  ControllerRevision,
  PersistentVolumeClaim,
  Pod,
  StatefulSet,
} from "../src/objects.js";
import { newFixture } from "./fixture.js";

const image = (v: string) => ({
  metadata: { labels: { app: "db" } },
  spec: { containers: [{ name: "db", image: `db:${v}` }] },
});

function makeSet(spec: Partial<NonNullable<StatefulSet["spec"]>> = {}, v = "1"): StatefulSet {
  return {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: {
      name: "db",
      namespace: "default",
      uid: "sts-uid",
      generation: 1,
      resourceVersion: "5",
    },
    spec: {
      replicas: 3,
      serviceName: "db",
      selector: { matchLabels: { app: "db" } },
      template: image(v),
      podManagementPolicy: "OrderedReady",
      updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition: 0 } },
      volumeClaimTemplates: [
        {
          metadata: { name: "data" },
          spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
        },
      ],
      ...spec,
    },
    status: { replicas: 0 },
  } as StatefulSet;
}

const owner = (sts: StatefulSet) => ({
  apiVersion: "apps/v1",
  kind: "StatefulSet",
  metadata: sts.metadata,
});
const revisionFor = (sts: StatefulSet, v: string, n: number): ControllerRevision =>
  newRevision(owner(sts), image(v), n);

/** A pod of the set at `ordinal`, from revision `rev`, Running and Ready unless told. */
function pod(ordinal: number, rev: string, state: "ready" | "pending" | "failed" = "ready"): Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: `db-${ordinal}`,
      namespace: "default",
      uid: `pod-${ordinal}`,
      resourceVersion: "9",
      labels: { app: "db", [revisionLabel]: rev },
      ownerReferences: [
        {
          apiVersion: "apps/v1",
          kind: "StatefulSet",
          name: "db",
          uid: "sts-uid",
          controller: true,
        },
      ],
    },
    spec: { containers: [{ name: "db", image: "db" }] },
    status:
      state === "ready"
        ? { phase: "Running", conditions: [{ type: "Ready", status: "True" }] }
        : { phase: state === "failed" ? "Failed" : "Pending" },
  } as Pod;
}

function setup(sts: StatefulSet, pods: Pod[], revisions: ControllerRevision[]) {
  const f = newFixture();
  f.load("apps/statefulsets", [sts]);
  f.load("pods", pods);
  f.load("apps/controllerrevisions", revisions);
  f.load("persistentvolumeclaims", []);
  return { f, controller: new StatefulSetController(f.ctx) };
}

const names = (calls: { body?: { metadata: { name?: string } }; path: string }[]) =>
  calls.map((c) => c.body?.metadata.name ?? c.path.split("/").pop());

test("a new OrderedReady set records its template as revision 1, then creates db-0 and its claim, and nothing more", async () => {
  const sts = makeSet();
  const { f, controller } = setup(sts, [], []);
  await controller.sync("default/db");
  const [revision] = f.made("POST", "controllerrevisions");
  assert.equal((revision?.body as ControllerRevision).revision, 1);
  assert.deepEqual(
    (revision?.body as ControllerRevision).data,
    { spec: { template: { ...image("1"), $patch: "replace" } } },
    "the data is the patch kubectl rollout undo applies",
  );
  const revName = revision!.body!.metadata.name!;
  assert.match(revName, /^db-[a-z0-9]+$/);
  assert.deepEqual(names(f.made("POST", "persistentvolumeclaims")), ["data-db-0"]);
  const claim = f.made("POST", "persistentvolumeclaims")[0]!.body as PersistentVolumeClaim;
  assert.equal(claim.metadata.labels?.app, "db");
  const created = f.made("POST", "pods");
  assert.deepEqual(names(created), ["db-0"]);
  const p = created[0]!.body as Pod;
  assert.equal(p.spec?.hostname, "db-0");
  assert.equal(p.spec?.subdomain, "db");
  assert.deepEqual(p.spec?.volumes, [
    { name: "data", persistentVolumeClaim: { claimName: "data-db-0" } },
  ]);
  assert.equal(p.metadata.labels?.[revisionLabel], revName);
  assert.equal(p.metadata.labels?.["statefulset.kubernetes.io/pod-name"], "db-0");
  assert.equal(p.metadata.labels?.["apps.kubernetes.io/pod-index"], "0");
  const [status] = f.made("PUT", "statefulsets");
  assert.equal((status?.body as StatefulSet).status?.updateRevision, revName);
});

test("OrderedReady waits for db-0 to be Running and Ready before creating db-1", async () => {
  const sts = makeSet();
  const rev = revisionFor(sts, "1", 1);
  const name = rev.metadata.name!;
  let { f, controller } = setup(sts, [pod(0, name, "pending")], [rev]);
  await controller.sync("default/db");
  assert.deepEqual(f.made("POST", "pods"), []);
  assert.deepEqual(f.made("POST", "controllerrevisions"), [], "an equal revision is reused");

  ({ f, controller } = setup(sts, [pod(0, name)], [rev]));
  await controller.sync("default/db");
  assert.deepEqual(names(f.made("POST", "pods")), ["db-1"]);
  assert.deepEqual(names(f.made("POST", "persistentvolumeclaims")), ["data-db-1"]);
});

test("Parallel creates every missing pod at once and scales down every extra pod at once", async () => {
  const sts = makeSet({ podManagementPolicy: "Parallel" });
  const rev = revisionFor(sts, "1", 1);
  let { f, controller } = setup(sts, [], [rev]);
  await controller.sync("default/db");
  assert.deepEqual(names(f.made("POST", "pods")), ["db-0", "db-1", "db-2"]);

  const small = makeSet({ podManagementPolicy: "Parallel", replicas: 1 });
  const n = rev.metadata.name!;
  ({ f, controller } = setup(small, [pod(0, n), pod(1, n), pod(2, n)], [rev]));
  await controller.sync("default/db");
  assert.deepEqual(names(f.made("DELETE", "pods")).sort(), ["db-1", "db-2"]);
});

test("OrderedReady scales down from the highest ordinal, one pod at a time, keeping the claims", async () => {
  const sts = makeSet({ replicas: 1 });
  const rev = revisionFor(sts, "1", 1);
  const n = rev.metadata.name!;
  const { f, controller } = setup(sts, [pod(0, n), pod(1, n), pod(2, n)], [rev]);
  await controller.sync("default/db");
  assert.deepEqual(names(f.made("DELETE", "pods")), ["db-2"]);
  assert.deepEqual(f.made("DELETE", "persistentvolumeclaims"), []);
  assert.deepEqual(f.made("PUT", "persistentvolumeclaims"), []);
});

test("a failed pod is deleted, to come back under the same name", async () => {
  const sts = makeSet();
  const rev = revisionFor(sts, "1", 1);
  const n = rev.metadata.name!;
  const { f, controller } = setup(sts, [pod(0, n), pod(1, n, "failed"), pod(2, n)], [rev]);
  await controller.sync("default/db");
  assert.deepEqual(names(f.made("DELETE", "pods")), ["db-1"]);
});

test("a rolling update replaces pods from the highest ordinal down, stopping at the partition", () => {
  const sts = makeSet(
    { updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition: 1 } } },
    "2",
  );
  const now = Date.now();
  const plan = (pods: Pod[]) =>
    planStatefulSet({ sts, pods, currentRevision: "db-old", updateRevision: "db-new", now });
  // All on the old template: the highest ordinal goes first.
  let p = plan([pod(0, "db-old"), pod(1, "db-old"), pod(2, "db-old")]);
  assert.deepEqual(names(p.delete.map((x) => ({ path: x.metadata.name! }))), ["db-2"]);
  assert.equal(p.status.updatedReplicas, 0);
  // db-2 replaced but not ready yet: wait (maxUnavailable 1).
  p = plan([pod(0, "db-old"), pod(1, "db-old"), pod(2, "db-new", "pending")]);
  assert.deepEqual(p.delete, []);
  // db-2 ready on the new template: db-1 next.
  p = plan([pod(0, "db-old"), pod(1, "db-old"), pod(2, "db-new")]);
  assert.deepEqual(
    p.delete.map((x) => x.metadata.name),
    ["db-1"],
  );
  // db-0 is below the partition: it stays on the old template.
  p = plan([pod(0, "db-old"), pod(1, "db-new"), pod(2, "db-new")]);
  assert.deepEqual(p.delete, []);
  assert.equal(p.status.updatedReplicas, 2);
  assert.equal(p.status.currentReplicas, 1);
  assert.equal(p.status.currentRevision, "db-old");
  // A replacement below the partition is made from the current revision.
  p = plan([pod(1, "db-new"), pod(2, "db-new")]);
  assert.deepEqual(p.create, [{ ordinal: 0, revision: "current" }]);
});

test("maxUnavailable lets a rolling update replace several pods at once; OnDelete replaces none", () => {
  const now = Date.now();
  const old = [pod(0, "db-old"), pod(1, "db-old"), pod(2, "db-old")];
  const wide = makeSet({
    updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition: 0, maxUnavailable: 2 } },
  });
  const p = planStatefulSet({
    sts: wide,
    pods: old,
    currentRevision: "db-old",
    updateRevision: "db-new",
    now,
  });
  assert.deepEqual(
    p.delete.map((x) => x.metadata.name),
    ["db-2", "db-1"],
  );
  const onDelete = makeSet({ updateStrategy: { type: "OnDelete" } });
  const q = planStatefulSet({
    sts: onDelete,
    pods: old,
    currentRevision: "db-old",
    updateRevision: "db-new",
    now,
  });
  assert.deepEqual(q.delete, []);
  assert.deepEqual(q.create, []);
});

test("once every pod runs the new revision and is ready, it becomes the current revision", () => {
  const sts = makeSet({}, "2");
  const p = planStatefulSet({
    sts,
    pods: [pod(0, "db-new"), pod(1, "db-new"), pod(2, "db-new")],
    currentRevision: "db-old",
    updateRevision: "db-new",
    now: Date.now(),
  });
  assert.deepEqual(
    {
      replicas: p.status.replicas,
      readyReplicas: p.status.readyReplicas,
      currentReplicas: p.status.currentReplicas,
      updatedReplicas: p.status.updatedReplicas,
      currentRevision: p.status.currentRevision,
      updateRevision: p.status.updateRevision,
      observedGeneration: p.status.observedGeneration,
    },
    {
      replicas: 3,
      readyReplicas: 3,
      currentReplicas: 3,
      updatedReplicas: 3,
      currentRevision: "db-new",
      updateRevision: "db-new",
      observedGeneration: 1,
    },
  );
});

test("going back to an earlier template renumbers its revision instead of making a new one; old history is trimmed", async () => {
  const sts = makeSet({ revisionHistoryLimit: 0 }, "1");
  const r1 = revisionFor(sts, "1", 1);
  const r2 = revisionFor(sts, "2", 2);
  const r3 = revisionFor(sts, "3", 3);
  const n2 = r2.metadata.name!;
  sts.status = { replicas: 3, currentRevision: n2 };
  const { f, controller } = setup(sts, [pod(0, n2), pod(1, n2), pod(2, n2)], [r1, r2, r3]);
  await controller.sync("default/db");
  assert.deepEqual(f.made("POST", "controllerrevisions"), []);
  const [renumbered] = f.made("PUT", "controllerrevisions");
  assert.equal(renumbered?.body?.metadata.name, r1.metadata.name);
  assert.equal((renumbered?.body as ControllerRevision).revision, 4);
  // r3 is used by nothing and the limit is 0; r2 is what the pods run.
  assert.deepEqual(names(f.made("DELETE", "controllerrevisions")), [r3.metadata.name]);
});

test("whenDeleted: Delete makes the set own its claims; whenScaled: Delete hands a condemned pod's claims to the pod", async () => {
  const sts = makeSet({
    replicas: 1,
    persistentVolumeClaimRetentionPolicy: { whenDeleted: "Delete", whenScaled: "Delete" },
  });
  const rev = revisionFor(sts, "1", 1);
  const n = rev.metadata.name!;
  const claim = (i: number): PersistentVolumeClaim =>
    ({
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: { name: `data-db-${i}`, namespace: "default", uid: `c${i}`, resourceVersion: "3" },
      spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
    }) as PersistentVolumeClaim;
  const p1 = pod(1, n);
  p1.metadata.labels!["apps.kubernetes.io/pod-index"] = "1";
  const { f, controller } = setup(sts, [pod(0, n), p1], [rev]);
  f.load("persistentvolumeclaims", [claim(0), claim(1)]);
  await controller.sync("default/db");
  assert.deepEqual(names(f.made("DELETE", "pods")), ["db-1"]);
  const [owned] = f.made("PUT", "persistentvolumeclaims");
  assert.equal(owned?.body?.metadata.name, "data-db-1");
  assert.deepEqual(
    owned?.body?.metadata.ownerReferences?.map((r) => `${r.kind}/${r.name}`),
    ["Pod/db-1"],
  );

  const fresh = setup(
    makeSet({ persistentVolumeClaimRetentionPolicy: { whenDeleted: "Delete" } }),
    [],
    [rev],
  );
  await fresh.controller.sync("default/db");
  const made = fresh.f.made("POST", "persistentvolumeclaims")[0]?.body as PersistentVolumeClaim;
  assert.deepEqual(
    made.metadata.ownerReferences?.map((r) => `${r.kind}/${r.name}`),
    ["StatefulSet/db"],
  );
});

test("an orphaned pod the selector picks and named like the set's is adopted, not replaced", async () => {
  const sts = makeSet({ replicas: 1 });
  const rev = revisionFor(sts, "1", 1);
  const orphan = pod(0, rev.metadata.name!);
  delete orphan.metadata.ownerReferences;
  const stranger = pod(7, rev.metadata.name!);
  stranger.metadata.name = "other-0";
  delete stranger.metadata.ownerReferences;
  const { f, controller } = setup(sts, [orphan, stranger], [rev]);
  await controller.sync("default/db");
  const [adopted] = f.made("PUT", "pods");
  assert.equal(adopted?.body?.metadata.name, "db-0");
  assert.deepEqual(
    adopted?.body?.metadata.ownerReferences?.map(
      (r) => `${r.kind}/${r.name}/${String(r.controller)}`,
    ),
    ["StatefulSet/db/true"],
  );
  assert.equal(f.made("PUT", "pods").length, 1, "other-0 is not named like the set's pods");
  assert.deepEqual(f.made("POST", "pods"), [], "db-0 exists: nothing to create");
});
