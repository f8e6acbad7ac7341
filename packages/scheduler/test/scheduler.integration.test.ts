import { test } from "node:test";
import assert from "node:assert/strict";
import type { CoreEvent } from "@skiff/client";
import { eventsInfo, podsInfo, startEnv, waitFor } from "./helpers.js";
import { makeNode, makePod } from "./fixtures.js";

const controlPlaneTaint = { key: "node-role.kubernetes.io/control-plane", effect: "NoSchedule" };

test("filters steer pods: cordon, nodeSelector, affinity, taints, resources, host ports, anti-affinity", async (t) => {
  const env = await startEnv();
  t.after(() => env.stop());
  await env.createNode(makeNode("cordoned", { unschedulable: true, labels: { disk: "ssd" } }));
  await env.createNode(
    makeNode("tainted", {
      taints: [{ key: "dedicated", value: "db", effect: "NoSchedule" }],
      labels: { role: "db" },
    }),
  );
  await env.createNode(makeNode("ssd", { cpu: "4", labels: { disk: "ssd" } }));
  await env.createNode(makeNode("small", { cpu: "1", labels: { disk: "hdd" } }));
  await env.startScheduler();

  const db = {
    tolerations: [{ key: "dedicated", operator: "Equal", value: "db", effect: "NoSchedule" }],
  };
  const roleDb = {
    affinity: {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [
            { matchExpressions: [{ key: "role", operator: "In", values: ["db"] }] },
          ],
        },
      },
    },
  };
  const solo = {
    affinity: {
      podAntiAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: [
          {
            labelSelector: { matchLabels: { app: "solo" } },
            topologyKey: "kubernetes.io/hostname",
          },
        ],
      },
    },
  };
  await env.createPod(makePod("needs-ssd", { nodeSelector: { disk: "ssd" } }));
  await env.createPod(makePod("database", { ...db, spec: roleDb }));
  await env.createPod(makePod("big", { cpu: "3" }));
  await env.createPod(makePod("port-a", { hostPort: 8080, nodeSelector: { disk: "hdd" } }));
  await env.createPod(makePod("solo-1", { labels: { app: "solo" }, spec: solo }));
  await env.createPod(makePod("solo-2", { labels: { app: "solo" }, spec: solo }));

  assert.equal(await env.boundNode("needs-ssd"), "ssd", "nodeSelector and cordon");
  assert.equal(await env.boundNode("database"), "tainted", "toleration and required node affinity");
  assert.equal(await env.boundNode("big"), "ssd", "cpu requests");
  assert.equal(await env.boundNode("port-a"), "small");
  const soloNodes = [await env.boundNode("solo-1"), await env.boundNode("solo-2")];
  assert.notEqual(soloNodes[0], soloNodes[1], "anti-affinity by hostname");
  for (const n of soloNodes) assert.ok(n === "ssd" || n === "small");

  // The only hdd node's port 8080 is taken: the second pod wanting it waits.
  await env.createPod(makePod("port-b", { hostPort: 8080, nodeSelector: { disk: "hdd" } }));
  const cond = await waitFor("port-b's PodScheduled=False", async () =>
    (await env.getPod("port-b")).status?.conditions?.find(
      (c) => c.type === "PodScheduled" && c.status === "False",
    ),
  );
  assert.equal(cond.reason, "Unschedulable");
  assert.match(
    cond.message ?? "",
    /^0\/4 nodes are available: 1 node\(s\) didn't have free ports for the requested pod ports, /,
  );
});

test("an unschedulable pod gets FailedScheduling in Kubernetes' words, and is bound once a node that fits is added", async (t) => {
  const env = await startEnv();
  t.after(() => env.stop());
  await env.createNode(makeNode("worker", { cpu: "1" }));
  await env.createNode(makeNode("cp-1", { taints: [controlPlaneTaint] }));
  await env.createNode(makeNode("cp-2", { taints: [controlPlaneTaint] }));
  const scheduler = await env.startScheduler();
  await env.createPod(makePod("hungry", { cpu: "2" }));

  const want =
    "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }. " +
    "preemption: 0/3 nodes are available: 1 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling.";
  const cond = await waitFor("PodScheduled=False", async () =>
    (await env.getPod("hungry")).status?.conditions?.find(
      (c) => c.type === "PodScheduled" && c.status === "False",
    ),
  );
  assert.equal(cond.reason, "Unschedulable");
  assert.equal(cond.message, want);
  const events = env.client.resource<CoreEvent>(eventsInfo).namespace("default");
  const event = await waitFor("a FailedScheduling event", async () =>
    (await events.list()).items.find((e) => e.reason === "FailedScheduling"),
  );
  assert.equal(event.type, "Warning");
  assert.equal(event.message, want);
  assert.equal(event.involvedObject.name, "hungry");
  assert.equal(scheduler.queue.lengths().unschedulable, 1);

  await env.createNode(makeNode("big", { cpu: "8" }));
  assert.equal(await env.boundNode("hungry"), "big");
  const scheduled = await waitFor("a Scheduled event", async () =>
    (await events.list()).items.find((e) => e.reason === "Scheduled"),
  );
  assert.equal(scheduled.message, "Successfully assigned default/hungry to big");
  const bound = await env.getPod("hungry");
  assert.equal(bound.status?.conditions?.find((c) => c.type === "PodScheduled")?.status, "True");
});

test("a burst of pods never overcommits a node: the assumed cache counts pods still binding", async (t) => {
  const env = await startEnv();
  t.after(() => env.stop());
  await env.createNode(makeNode("a", { cpu: "2" }));
  await env.createNode(makeNode("b", { cpu: "2" }));
  await Promise.all([1, 2, 3, 4, 5].map((i) => env.createPod(makePod(`p${i}`, { cpu: "1" }))));
  await env.startScheduler();
  const placed = new Map<string, number>();
  let pending = "";
  for (const i of [1, 2, 3, 4, 5]) {
    const pod = await waitFor(`p${i} decided`, async () => {
      const p = await env.getPod(`p${i}`);
      return p.spec.nodeName ||
        p.status?.conditions?.some((c) => c.type === "PodScheduled" && c.status === "False")
        ? p
        : undefined;
    });
    if (pod.spec.nodeName) placed.set(pod.spec.nodeName, (placed.get(pod.spec.nodeName) ?? 0) + 1);
    else pending = pod.status!.conditions!.find((c) => c.type === "PodScheduled")!.message ?? "";
  }
  assert.deepEqual([...placed.entries()].sort(), [
    ["a", 2],
    ["b", 2],
  ]);
  assert.match(pending, /^0\/2 nodes are available: 2 Insufficient cpu\./);

  // Deleting a bound pod frees its share: the waiting pod is retried and bound.
  const waiting = [1, 2, 3, 4, 5].map((i) => `p${i}`);
  const stillPending: string[] = [];
  for (const name of waiting) if (!(await env.getPod(name)).spec.nodeName) stillPending.push(name);
  assert.equal(stillPending.length, 1);
  const victim = waiting.find((n) => !stillPending.includes(n))!;
  await env.client
    .resource(podsInfo)
    .namespace("default")
    .delete(victim, { gracePeriodSeconds: 0 });
  assert.ok(["a", "b"].includes(await env.boundNode(stillPending[0]!)));
});

test("scores steer pods: preferred affinity, PreferNoSchedule taints, image locality, spreading", async (t) => {
  const env = await startEnv();
  t.after(() => env.stop());
  await env.createNode(makeNode("spot", { taints: [{ key: "spot", effect: "PreferNoSchedule" }] }));
  await env.createNode(
    makeNode("warm", {
      images: [{ names: ["docker.io/library/postgres:16"], sizeBytes: 400 * 2 ** 20 }],
    }),
  );
  await env.createNode(makeNode("fast", { labels: { cpu: "fast" } }));
  await env.startScheduler();
  const prefersFast = {
    affinity: {
      nodeAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [
          {
            weight: 100,
            preference: { matchExpressions: [{ key: "cpu", operator: "In", values: ["fast"] }] },
          },
        ],
      },
    },
  };
  await env.createPod(makePod("wants-fast", { spec: prefersFast }));
  assert.equal(await env.boundNode("wants-fast"), "fast");
  await env.createPod(makePod("postgres", { image: "postgres:16" }));
  assert.equal(await env.boundNode("postgres"), "warm");
  // Three replicas of one ReplicaSet: one per node is the spread; none avoids "spot" more than spreading demands.
  for (const i of [1, 2, 3])
    await env.createPod(
      makePod(`web-${i}`, { owner: "web", tolerations: [{ key: "spot", operator: "Exists" }] }),
    );
  const nodes = new Set([
    await env.boundNode("web-1"),
    await env.boundNode("web-2"),
    await env.boundNode("web-3"),
  ]);
  assert.equal(nodes.size, 3);
  await env.createPod(makePod("plain"));
  assert.notEqual(await env.boundNode("plain"), "spot");
});

test("a pod with scheduling gates waits, SchedulingGated, until its last gate is removed; gates cannot be added", async (t) => {
  const env = await startEnv();
  t.after(() => env.stop());
  await env.createNode(makeNode("worker", { cpu: "4" }));
  const scheduler = await env.startScheduler();
  const gated = makePod("gated");
  gated.spec.schedulingGates = [{ name: "example.com/quota" }, { name: "example.com/volume" }];
  await env.createPod(gated);
  await env.createPod(makePod("free"));
  assert.equal(await env.boundNode("free"), "worker");

  const pods = env.client.resource(podsInfo).namespace("default");
  const waiting = await env.getPod("gated");
  assert.equal(waiting.spec.nodeName, undefined);
  const cond = waiting.status?.conditions?.find((c) => c.type === "PodScheduled");
  assert.deepEqual(
    [cond?.status, cond?.reason, cond?.message],
    ["False", "SchedulingGated", "Scheduling is blocked due to non-empty scheduling gates"],
  );
  assert.deepEqual(scheduler.queue.lengths(), { active: 0, backoff: 0, unschedulable: 0 });

  await assert.rejects(
    pods.patch(
      "gated",
      [{ op: "add", path: "/spec/schedulingGates/-", value: { name: "example.com/late" } }],
      "json",
    ),
    /spec\.schedulingGates: Forbidden: only deletion is allowed, but found new scheduling gate 'example\.com\/late'/,
  );
  await pods.patch("gated", [{ op: "remove", path: "/spec/schedulingGates/0" }], "json");
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal((await env.getPod("gated")).spec.nodeName, undefined, "one gate left: still waits");

  await pods.patch("gated", [{ op: "remove", path: "/spec/schedulingGates" }], "json");
  assert.equal(await env.boundNode("gated"), "worker");
});
