import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { resourceInfo } from "@skiff/api";
import type { KubeObject } from "@skiff/client";
import { budgetStatus } from "../src/controllers/disruption/budget.js";
import type { Pod, PodDisruptionBudget } from "../src/objects.js";
import { eventually, listPods, simulateKubelet, startCluster } from "./helpers.js";

const run = promisify(execFile);
const NOW = Date.parse("2026-12-07T10:00:00Z");

const pdb = (spec: PodDisruptionBudget["spec"], status?: PodDisruptionBudget["status"]) =>
  ({
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: { name: "web", namespace: "default", generation: 2 },
    spec: { selector: { matchLabels: { app: "web" } }, ...spec },
    ...(status ? { status } : {}),
  }) as PodDisruptionBudget;

const pod = (name: string, ready = true): Pod =>
  ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default", labels: { app: "web" } },
    spec: { containers: [] },
    status: { phase: "Running", conditions: [{ type: "Ready", status: ready ? "True" : "False" }] },
  }) as Pod;

const scale5 = () => ({ uid: "deploy-uid", replicas: 5 });

test("a budget's status: minAvailable counts pods, maxUnavailable and percentages count the controller's replicas", () => {
  const pods = [pod("a"), pod("b"), pod("c"), pod("d", false)];
  let s = budgetStatus(pdb({ minAvailable: 2 }), pods, scale5, NOW);
  assert.deepEqual(
    [
      s.expectedPods,
      s.desiredHealthy,
      s.currentHealthy,
      s.disruptionsAllowed,
      s.observedGeneration,
    ],
    [4, 2, 3, 1, 2],
  );
  assert.equal(s.conditions?.[0]?.reason, "SufficientPods");
  s = budgetStatus(pdb({ maxUnavailable: 1 }), pods, scale5, NOW);
  assert.deepEqual([s.expectedPods, s.desiredHealthy, s.disruptionsAllowed], [5, 4, 0]);
  assert.equal(s.conditions?.[0]?.reason, "InsufficientPods");
  s = budgetStatus(pdb({ minAvailable: "50%" }), pods, scale5, NOW);
  assert.deepEqual([s.expectedPods, s.desiredHealthy, s.disruptionsAllowed], [5, 3, 0]);
  s = budgetStatus(pdb({ maxUnavailable: "40%" }), pods, scale5, NOW);
  assert.deepEqual([s.desiredHealthy, s.disruptionsAllowed], [3, 0]);
  s = budgetStatus(pdb({ maxUnavailable: 1 }), pods, () => undefined, NOW);
  assert.equal(s.disruptionsAllowed, 0);
  assert.equal(s.conditions?.[0]?.reason, "SyncFailed");
  assert.equal(s.conditions?.[0]?.message, 'found no controllers for pod "a"');
});

test("a pod noted as disrupted does not count as healthy until it goes or two minutes pass", () => {
  const pods = [pod("a"), pod("b"), pod("c")];
  const noted = (at: string) =>
    pdb(
      { minAvailable: 1 },
      {
        disruptionsAllowed: 1,
        currentHealthy: 3,
        desiredHealthy: 1,
        expectedPods: 3,
        disruptedPods: { a: at },
      },
    );
  let s = budgetStatus(noted("2026-12-07T09:59:30Z"), pods, scale5, NOW);
  assert.deepEqual([s.currentHealthy, s.disruptionsAllowed], [2, 1]);
  assert.deepEqual(s.disruptedPods, { a: "2026-12-07T09:59:30Z" });
  s = budgetStatus(noted("2026-12-07T09:57:00Z"), pods, scale5, NOW);
  assert.deepEqual([s.currentHealthy, s.disruptedPods], [3, undefined]);
});

test("eviction honours the budget with Kubernetes' 429, and the real kubectl drain waits and retries until the budget allows", async () => {
  const c = await startCluster(["replicaset", "deployment", "disruption"]);
  const stopKubelet = simulateKubelet(c, "default");
  const kubectl = async (...args: string[]) =>
    await run("kubectl", ["--kubeconfig", c.api.kubeconfig, ...args], { timeout: 90_000 });
  // Play the kubelet's part in deletion too: a terminating pod is gone at once.
  let stopped = false;
  const reaper = (async () => {
    while (!stopped) {
      for (const p of await listPods(c, "default").catch(() => [])) {
        if (p.metadata.deletionTimestamp)
          await c.pods
            .namespace("default")
            .delete(p.metadata.name!, { gracePeriodSeconds: 0 })
            .catch(() => undefined);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  try {
    await c.client
      .resource(resourceInfo("", "v1", "nodes"))
      .create({ apiVersion: "v1", kind: "Node", metadata: { name: "n1" } } as KubeObject);
    await kubectl("create", "deployment", "web", "--image=nginx:1.27", "--replicas=3");
    await kubectl(
      "create",
      "poddisruptionbudget",
      "web",
      "--selector=app=web",
      "--min-available=2",
    );
    const pods = await eventually(async () => {
      const ps = (await listPods(c, "default", "app=web")).filter(
        (p) => p.status?.phase === "Running",
      );
      return ps.length === 3 ? ps : undefined;
    }, "three running pods");
    for (const p of pods) await c.pods.namespace("default").bind(p.metadata.name!, "n1");
    await eventually(async () => {
      const out = (await kubectl("get", "pdb", "web")).stdout;
      return /\nweb\s+2\s+N\/A\s+1\s+/.test(out);
    }, "the budget allows one disruption");
    assert.match(
      (await kubectl("get", "pdb")).stdout,
      /^NAME\s+MIN AVAILABLE\s+MAX UNAVAILABLE\s+ALLOWED DISRUPTIONS\s+AGE\n/,
    );

    // Two evictions at once: the budget lets exactly one through.
    const evict = (name: string) =>
      c.client
        .request("POST", `/api/v1/namespaces/default/pods/${name}/eviction`, {
          body: {
            apiVersion: "policy/v1",
            kind: "Eviction",
            metadata: { name, namespace: "default" },
          },
        })
        .then(
          () => "ok",
          (e: { code?: number; status?: { message?: string; details?: unknown } }) => e,
        );
    const results = await Promise.all([
      evict(pods[0]!.metadata.name!),
      evict(pods[1]!.metadata.name!),
    ]);
    assert.equal(results.filter((r) => r === "ok").length, 1);
    const refused = results.find((r) => r !== "ok") as {
      code: number;
      status: { message: string; reason: string };
    };
    assert.equal(refused.code, 429);
    assert.equal(refused.status.reason, "TooManyRequests");
    assert.equal(
      refused.status.message,
      "Cannot evict pod as it would violate the pod's disruption budget.",
    );

    await eventually(
      async () =>
        (await listPods(c, "default", "app=web")).filter(
          (p) => p.status?.phase === "Running" && !p.metadata.deletionTimestamp,
        ).length === 3,
      "the replacement ready",
    );
    const drained = await kubectl("drain", "n1", "--timeout=80s", "--pod-selector=app=web");
    assert.match(
      drained.stderr + drained.stdout,
      /Cannot evict pod as it would violate the pod's disruption budget/,
    );
    assert.match(drained.stdout, /node\/n1 drained/);
    const left = (await listPods(c, "default", "app=web")).filter((p) => p.spec?.nodeName === "n1");
    assert.deepEqual(left, []);
  } finally {
    stopped = true;
    await reaper;
    await stopKubelet();
    await c.stop();
  }
});
