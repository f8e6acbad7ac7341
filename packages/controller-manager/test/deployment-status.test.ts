// deploymentStatus, the Deployment controller's pure status computation, on fixtures.
import { test } from "node:test";
import assert from "node:assert/strict";
import { deploymentStatus } from "../src/controllers/deployment/status.js";
import type { Deployment, ReplicaSet } from "../src/objects.js";

const NOW = Date.parse("2026-06-01T12:00:00Z");

function deployment(status: Deployment["status"] = {}): Deployment {
  return {
    metadata: { name: "web", namespace: "default", generation: 2 },
    spec: {
      replicas: 3,
      progressDeadlineSeconds: 600,
      selector: { matchLabels: { app: "web" } },
      template: { metadata: { labels: { app: "web" } } },
    },
    status,
  };
}

function rs(name: string, replicas: number, available: number): ReplicaSet {
  return {
    metadata: { name, namespace: "default" },
    status: { replicas, readyReplicas: available, availableReplicas: available },
  };
}

const condition = (s: NonNullable<Deployment["status"]>, type: string) =>
  s.conditions?.find((c) => c.type === type);

test("a finished rollout counts every ReplicaSet's pods, is Available and Progressing with NewReplicaSetAvailable", () => {
  const newRS = rs("web-new", 3, 3);
  const { status, requeueMs } = deploymentStatus(
    deployment(),
    [newRS, rs("web-old", 0, 0)],
    newRS,
    NOW,
  );
  assert.deepEqual(
    [status.observedGeneration, status.replicas, status.updatedReplicas, status.availableReplicas],
    [2, 3, 3, 3],
  );
  assert.equal(status.unavailableReplicas, 0);
  assert.equal(condition(status, "Available")?.status, "True");
  assert.equal(condition(status, "Progressing")?.reason, "NewReplicaSetAvailable");
  assert.equal(requeueMs, undefined);
});

test("a rollout without progress for longer than progressDeadlineSeconds is ProgressDeadlineExceeded; before that, a requeue is due", () => {
  const newRS = rs("web-new", 1, 0);
  const old = rs("web-old", 2, 2);
  const stalledSince = (msAgo: number) =>
    deployment({
      replicas: 3,
      updatedReplicas: 1,
      readyReplicas: 2,
      availableReplicas: 2,
      conditions: [
        {
          type: "Progressing",
          status: "True",
          reason: "ReplicaSetUpdated",
          message: "",
          lastUpdateTime: new Date(NOW - msAgo).toISOString(),
          lastTransitionTime: new Date(NOW - msAgo).toISOString(),
        },
      ],
    });
  const late = deploymentStatus(stalledSince(700_000), [newRS, old], newRS, NOW);
  assert.equal(condition(late.status, "Progressing")?.status, "False");
  assert.equal(condition(late.status, "Progressing")?.reason, "ProgressDeadlineExceeded");
  // maxUnavailable 25% of 3 rounds down to 0: two available pods are not enough.
  assert.equal(condition(late.status, "Available")?.reason, "MinimumReplicasUnavailable");
  const early = deploymentStatus(stalledSince(100_000), [newRS, old], newRS, NOW);
  assert.equal(condition(early.status, "Progressing")?.reason, "ReplicaSetUpdated");
  assert.equal(early.requeueMs, 500_000 + 500);
});
