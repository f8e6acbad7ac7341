import { test } from "node:test";
import assert from "node:assert/strict";
import { resourceInfo } from "@skiff/api";
import type { CoreEvent, KubeObject } from "@skiff/client";
import { eventsInfo, podsInfo, startEnv, waitFor } from "./helpers.js";
import { makeNode, makePod } from "./fixtures.js";

test("a high-priority pod that fits nowhere preempts the lower-priority pod on a full node, and takes its place", async (t) => {
  const env = await startEnv();
  t.after(() => env.stop());
  await env.createNode(makeNode("full", { cpu: "1" }));
  await env.client.resource(resourceInfo("scheduling.k8s.io", "v1", "priorityclasses")).create({
    apiVersion: "scheduling.k8s.io/v1",
    kind: "PriorityClass",
    metadata: { name: "high" },
    value: 1000,
  } as KubeObject);
  await env.startScheduler();
  await env.createPod(makePod("low", { cpu: "800m" }));
  await env.createPod(makePod("other-low", { cpu: "100m" }));
  assert.equal(await env.boundNode("low"), "full");
  assert.equal(await env.boundNode("other-low"), "full");

  // Play the kubelet: a pod being deleted is gone at once.
  const pods = env.client.resource(podsInfo).namespace("default");
  let stopped = false;
  const reaper = (async () => {
    while (!stopped) {
      for (const p of (await pods.list().catch(() => ({ items: [] as KubeObject[] }))).items)
        if (p.metadata.deletionTimestamp)
          await pods.delete(p.metadata.name!, { gracePeriodSeconds: 0 }).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  t.after(async () => {
    stopped = true;
    await reaper;
  });

  await env.createPod(makePod("high", { cpu: "800m", spec: { priorityClassName: "high" } }));
  assert.equal(await env.boundNode("high"), "full");
  const high = await env.getPod("high");
  assert.equal(high.spec.priority, 1000);
  assert.equal(high.status?.nominatedNodeName, "full");
  await waitFor("low gone", async () =>
    (await pods.list()).items.every((p) => p.metadata.name !== "low"),
  );
  assert.ok(
    (await pods.list()).items.some((p) => p.metadata.name === "other-low"),
    "only the pods needed go",
  );
  const events = env.client.resource<CoreEvent>(eventsInfo).namespace("default");
  const preempted = await waitFor("the Preempted event", async () =>
    (await events.list()).items.find(
      (e) => e.reason === "Preempted" && e.involvedObject.name === "low",
    ),
  );
  assert.equal(preempted.message, `Preempted by pod ${high.metadata.uid} on node full`);
});
