import { test } from "node:test";
import assert from "node:assert/strict";
import {
  computeHash,
  equalIgnoreHash,
  replicaSetFraction,
  resolveFenceposts,
} from "../src/controllers/deployment/util.js";
import {
  deletionOrder,
  newPodForReplicaSet,
  slowStartBatch,
} from "../src/controllers/replicaset/index.js";
import { Expectations } from "../src/expectations.js";
import type { Deployment, Pod, ReplicaSet } from "../src/objects.js";

const deployment = (
  replicas: number,
  maxSurge?: number | string,
  maxUnavailable?: number | string,
) =>
  ({
    metadata: { name: "d" },
    spec: {
      replicas,
      selector: {},
      template: {},
      strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge, maxUnavailable } },
    },
  }) as Deployment;

test("maxSurge percentages round up, maxUnavailable percentages round down, and both zero means one unavailable", () => {
  assert.deepEqual(resolveFenceposts(deployment(10, "25%", "25%")), {
    maxSurge: 3,
    maxUnavailable: 2,
  });
  assert.deepEqual(resolveFenceposts(deployment(3, 1, 0)), { maxSurge: 1, maxUnavailable: 0 });
  assert.deepEqual(resolveFenceposts(deployment(1, "10%", "10%")), {
    maxSurge: 1,
    maxUnavailable: 0,
  });
  assert.deepEqual(resolveFenceposts(deployment(5, 0, 0)), { maxSurge: 0, maxUnavailable: 1 });
  assert.deepEqual(resolveFenceposts(deployment(4)), { maxSurge: 1, maxUnavailable: 1 });
});

test("the pod-template hash is stable, short, changes with the template and the collision count", () => {
  const t = {
    metadata: { labels: { app: "web" } },
    spec: { containers: [{ name: "c", image: "a" }] },
  };
  const same = {
    spec: { containers: [{ image: "a", name: "c" }] },
    metadata: { labels: { app: "web" } },
  };
  assert.equal(computeHash(t), computeHash(same));
  assert.match(computeHash(t), /^[bcdfghjklmnpqrstvwxz2456789]{1,10}$/);
  assert.notEqual(
    computeHash(t),
    computeHash({ ...t, spec: { containers: [{ name: "c", image: "b" }] } }),
  );
  assert.notEqual(computeHash(t), computeHash(t, 1));
  const hashed = { ...t, metadata: { labels: { app: "web", "pod-template-hash": "x" } } };
  assert.ok(equalIgnoreHash(hashed, t));
});

test("a ReplicaSet's proportional share follows its size at the last scale", () => {
  const d = deployment(15, 3, 2);
  const rs = (replicas: number, max: number) =>
    ({
      metadata: { annotations: { "deployment.kubernetes.io/max-replicas": String(max) } },
      spec: { replicas, selector: {} },
    }) as ReplicaSet;
  assert.equal(replicaSetFraction(rs(8, 13), d, 3), 3);
  assert.equal(replicaSetFraction(rs(5, 13), d, 3), 2);
  assert.equal(replicaSetFraction(rs(5, 13), deployment(0), 3), -5);
});

test("the pod for a ReplicaSet carries its template and a controller ownerReference", () => {
  const rs = {
    metadata: { name: "web", namespace: "ns", uid: "u1" },
    spec: {
      replicas: 1,
      selector: {},
      template: {
        metadata: { labels: { app: "web" } },
        spec: { containers: [{ name: "c", image: "i" }] },
      },
    },
  } as ReplicaSet;
  const pod = newPodForReplicaSet(rs);
  // The apiserver names it "web-" plus five random characters, as Kubernetes' does.
  assert.equal(pod.metadata.name, undefined);
  assert.equal(pod.metadata.generateName, "web-");
  assert.deepEqual(pod.metadata.labels, { app: "web" });
  assert.deepEqual(pod.metadata.ownerReferences, [
    {
      apiVersion: "apps/v1",
      kind: "ReplicaSet",
      name: "web",
      uid: "u1",
      controller: true,
      blockOwnerDeletion: true,
    },
  ]);
  assert.equal(pod.spec?.containers[0]?.image, "i");
});

test("pods to delete come unscheduled first, then not ready, then the newest", () => {
  const pod = (name: string, node: string, ready: boolean, created: string) =>
    ({
      metadata: { name, creationTimestamp: created },
      spec: { nodeName: node || undefined, containers: [] },
      status: {
        phase: "Running",
        conditions: [{ type: "Ready", status: ready ? "True" : "False" }],
      },
    }) as Pod;
  const pods = [
    pod("old-ready", "n1", true, "2024-01-01T00:00:00Z"),
    pod("new-ready", "n1", true, "2024-01-02T00:00:00Z"),
    pod("not-ready", "n1", false, "2024-01-01T00:00:00Z"),
    pod("unscheduled", "", true, "2024-01-01T00:00:00Z"),
  ];
  assert.deepEqual(
    [...pods].sort(deletionOrder).map((p) => p.metadata.name),
    ["unscheduled", "not-ready", "new-ready", "old-ready"],
  );
});

test("creations go in batches of 1, 2, 4, ... and stop after a batch with an error", async () => {
  let calls = 0;
  const ok = await slowStartBatch(10, async () => {
    calls++;
  });
  assert.deepEqual([ok.successes, ok.skipped, calls], [10, 0, 10]);
  calls = 0;
  const failing = await slowStartBatch(10, async () => {
    if (++calls > 2) throw new Error("quota");
  });
  // Batches 1 and 2 ran (3 calls); the second batch had a failure; 7 were never tried.
  assert.equal(calls, 3);
  assert.equal(failing.successes, 2);
  assert.equal(failing.skipped, 7);
  assert.ok(failing.error instanceof Error);
});

test("expectations hold a sync back until every create and delete has been seen", () => {
  const e = new Expectations();
  e.expectCreations("ns/rs", 2);
  assert.equal(e.satisfied("ns/rs"), false);
  e.creationObserved("ns/rs");
  e.creationObserved("ns/rs");
  assert.equal(e.satisfied("ns/rs"), true);
  e.expectDeletions("ns/rs", ["a", "b"]);
  e.deletionObserved("ns/rs", "a");
  e.deletionObserved("ns/rs", "zzz");
  assert.equal(e.satisfied("ns/rs"), false);
  e.deletionObserved("ns/rs", "b");
  assert.equal(e.satisfied("ns/rs"), true);
});
