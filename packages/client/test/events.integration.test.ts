// The event recorder against a real apiserver: repeats fold into one Event with a count;
// failures never reach the caller.
import { test } from "node:test";
import assert from "node:assert/strict";
import { resourceInfo } from "@skiff/api";
import {
  RestClient,
  EventRecorder,
  silentLogger,
  type CoreEvent,
  type KubeObject,
} from "@skiff/client";
import { useApiserver } from "./apiserver.js";

const env = useApiserver();

const events = () =>
  env.client.resource<CoreEvent>(resourceInfo("", "v1", "events")).namespace("default");

async function eventsAbout(name: string): Promise<CoreEvent[]> {
  const list = await events().list();
  return list.items.filter((e) => e.involvedObject.name === name);
}

test("repeats of the same event are aggregated into one Event with count and lastTimestamp", async () => {
  const pod = (await env.client
    .resource(resourceInfo("", "v1", "configmaps"))
    .namespace("default")
    .create({ metadata: { name: "ev-target" } })) as KubeObject;
  let now = Date.UTC(2024, 0, 1, 12, 0, 0);
  const rec = new EventRecorder(env.client, {
    component: "test-controller",
    host: "node-1",
    logger: silentLogger,
    now: () => now,
  });
  rec.event(pod, "Warning", "FailedSync", "could not sync");
  now += 5_000;
  rec.event(pod, "Warning", "FailedSync", "could not sync");
  now += 5_000;
  rec.event(pod, "Warning", "FailedSync", "could not sync");
  rec.event(pod, "Normal", "Synced", "all good");
  await rec.flush();

  const got = await eventsAbout("ev-target");
  assert.equal(got.length, 2);
  const failed = got.find((e) => e.reason === "FailedSync")!;
  assert.equal(failed.count, 3);
  assert.equal(failed.type, "Warning");
  assert.equal(failed.message, "could not sync");
  assert.equal(failed.firstTimestamp, "2024-01-01T12:00:00Z");
  assert.equal(failed.lastTimestamp, "2024-01-01T12:00:10Z");
  assert.deepEqual(failed.source, { component: "test-controller", host: "node-1" });
  assert.equal(failed.reportingComponent, "test-controller");
  assert.equal(failed.reportingInstance, "node-1");
  assert.match(failed.metadata.name!, /^ev-target\.[0-9a-f]+$/);
  assert.deepEqual(failed.involvedObject, {
    apiVersion: "v1",
    kind: "ConfigMap",
    namespace: "default",
    name: "ev-target",
    uid: pod.metadata.uid,
    resourceVersion: pod.metadata.resourceVersion,
  });
  assert.equal(got.find((e) => e.reason === "Synced")!.count, 1);

  // After the 10-minute window, the same event starts a new Event.
  now += 11 * 60_000;
  rec.event(pod, "Warning", "FailedSync", "could not sync");
  await rec.flush();
  assert.equal((await eventsAbout("ev-target")).filter((e) => e.reason === "FailedSync").length, 2);
});

test("an event whose Event was deleted meanwhile is created again", async () => {
  const obj: KubeObject = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { namespace: "default", name: "ev-deleted", uid: "u-1" },
  };
  const rec = new EventRecorder(env.client, { component: "c", logger: silentLogger });
  rec.event(obj, "Normal", "Started", "started");
  await rec.flush();
  const [first] = await eventsAbout("ev-deleted");
  await events().delete(first!.metadata.name!);
  rec.event(obj, "Normal", "Started", "started");
  await rec.flush();
  const again = await eventsAbout("ev-deleted");
  assert.equal(again.length, 1);
  assert.equal(again[0]!.count, 2);
});

test("recording never throws into the caller, even when the apiserver cannot be reached", async () => {
  const dead = new RestClient({ server: "https://127.0.0.1:1", namespace: "default", qps: -1 });
  const dropped: string[] = [];
  const rec = new EventRecorder(dead, {
    component: "c",
    logger: { ...silentLogger, warn: (_o, msg) => void dropped.push(msg) },
  });
  assert.doesNotThrow(() =>
    rec.event({ metadata: { name: "x", namespace: "default" } }, "Normal", "R", "m"),
  );
  await rec.flush();
  assert.deepEqual(dropped, ["dropped event"]);
  dead.close();
});

test("events about cluster-scoped objects go to the default namespace", async () => {
  const rec = new EventRecorder(env.client, { component: "node-controller", logger: silentLogger });
  rec.event(
    { apiVersion: "v1", kind: "Node", metadata: { name: "ev-node" } },
    "Normal",
    "RegisteredNode",
    "Node ev-node registered",
  );
  await rec.flush();
  const [e] = await eventsAbout("ev-node");
  assert.equal(e?.metadata.namespace, "default");
  assert.equal(e?.involvedObject.kind, "Node");
});

test("events about one object and reason with many messages are combined into one Event", async () => {
  const obj: KubeObject = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { namespace: "default", name: "ev-similar", uid: "u-similar" },
  };
  const rec = new EventRecorder(env.client, { component: "c", logger: silentLogger });
  for (let i = 1; i <= 14; i++) {
    rec.event(obj, "Warning", "FailedMount", `volume v${i} is not ready`);
    await rec.flush();
  }
  const got = await eventsAbout("ev-similar");
  // Nine messages are their own Events; from the tenth on they are one, counted.
  assert.equal(got.length, 10);
  const combined = got.filter((e) => e.message?.startsWith("(combined from similar events): "));
  assert.equal(combined.length, 1);
  assert.equal(combined[0]!.count, 5);
  assert.equal(combined[0]!.message, "(combined from similar events): volume v14 is not ready");
  assert.equal(got.find((e) => e.message === "volume v3 is not ready")?.count, 1);
});

test("a key that writes too often is still counted but written only at the spam filter's pace", async () => {
  const obj: KubeObject = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { namespace: "default", name: "ev-spam", uid: "u-spam" },
  };
  let now = Date.UTC(2024, 0, 1, 12, 0, 0);
  const rec = new EventRecorder(env.client, {
    component: "c",
    logger: silentLogger,
    now: () => now,
  });
  for (let i = 0; i < 30; i++) {
    rec.event(obj, "Warning", "BackOff", "back-off restarting");
    await rec.flush(); // each one its own write, as if far apart
  }
  let [e] = await eventsAbout("ev-spam");
  assert.equal(e?.count, 25); // 25 writes at once, then nothing
  assert.equal(rec.stats().filtered, 5);
  now += 5 * 60_000; // one write every five minutes
  rec.event(obj, "Warning", "BackOff", "back-off restarting");
  await rec.flush();
  [e] = await eventsAbout("ev-spam");
  assert.equal(e?.count, 31); // the filtered ones were counted all the same
});

test("a flood of events neither blocks the caller nor queues more than 1000 writes", async () => {
  await env.client
    .resource(resourceInfo("", "v1", "namespaces"))
    .create({ metadata: { name: "ev-flood" } });
  const rec = new EventRecorder(env.client, { component: "c", logger: silentLogger });
  const flood = 50_000;
  const started = performance.now();
  for (let i = 0; i < flood; i++)
    rec.event(
      { apiVersion: "v1", kind: "Pod", metadata: { namespace: "ev-flood", name: `p-${i}` } },
      "Normal",
      "Scheduled",
      `Successfully assigned ev-flood/p-${i} to node-1`,
    );
  const took = performance.now() - started;
  assert.ok(took < 2_000, `recording ${flood} events took ${took.toFixed(0)} ms`);
  const { queued, dropped } = rec.stats();
  assert.ok(queued <= 1000, `queued ${queued}`);
  assert.ok(dropped >= flood - 1004, `dropped ${dropped}`); // 1000 queued, 4 in flight
  await rec.flush();
  const written = await env.client
    .resource<CoreEvent>(resourceInfo("", "v1", "events"))
    .namespace("ev-flood")
    .list();
  assert.equal(written.items.length, flood - dropped);
  assert.ok(written.items.length <= 1004);
  // The queue is free again: a later event is written.
  rec.event(
    { apiVersion: "v1", kind: "Pod", metadata: { namespace: "ev-flood", name: "later" } },
    "Normal",
    "Scheduled",
    "later",
  );
  await rec.flush();
  assert.equal(rec.stats().dropped, dropped);
});
