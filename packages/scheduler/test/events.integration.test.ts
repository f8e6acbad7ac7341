// Events never cost a binding: the scheduler writes Events through a client of its own, and
// a recorder whose queue is bounded, so a slow or stingy events budget leaves bindings alone.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  RestClient,
  loadClientConfig,
  silentLogger,
  type CoreEvent,
  type KubeObject,
} from "@skiff/client";
import { Scheduler } from "../src/scheduler.js";
import { eventsInfo, podsInfo, startEnv, waitFor } from "./helpers.js";
import { makeNode, makePod } from "./fixtures.js";

test("pods are all bound while their Scheduled events still wait on a stingy events budget", async (t) => {
  const env = await startEnv();
  t.after(() => env.stop());
  await env.createNode(makeNode("roomy", { cpu: "100", pods: 500 }));
  const pods = 150;
  await Promise.all(
    Array.from({ length: pods }, (_, i) => env.createPod(makePod(`p${i}`, { cpu: "100m" }))),
  );
  // One Event a second: were bindings waiting on events, binding 150 pods would take minutes.
  const eventClient = new RestClient({
    ...loadClientConfig({ kubeconfig: env.api.kubeconfig }),
    qps: 1,
    burst: 1,
  });
  const scheduler = new Scheduler({ client: env.client, eventClient, logger: silentLogger });
  t.after(async () => {
    await scheduler.stop();
    eventClient.close();
  });
  await scheduler.start();
  const started = Date.now();
  void scheduler.run();

  const podList = env.client.resource<KubeObject & { spec: { nodeName?: string } }>(podsInfo);
  await waitFor(
    "every pod bound",
    async () => {
      const list = (await podList.namespace("default").list()).items;
      return list.filter((p) => p.spec.nodeName).length === pods || undefined;
    },
    30_000,
  );
  const took = Date.now() - started;
  const events = await env.client.resource<CoreEvent>(eventsInfo).namespace("default").list();
  const scheduled = events.items.filter((e) => e.reason === "Scheduled").length;
  assert.ok(scheduled < pods / 2, `${scheduled} Scheduled events already written in ${took} ms`);
  assert.ok(scheduler.eventStats().queued > 0, "the rest wait in the recorder's queue");
  assert.equal(scheduler.eventStats().dropped, 0);
});
