import { test } from "node:test";
import assert from "node:assert/strict";
import { SchedulerCache } from "../src/cache.js";
import { newPodInfo } from "../src/framework/nodeinfo.js";
import { SchedulingQueue, isPodUpdated } from "../src/queue.js";
import { nodeChangeMayHelp } from "../src/scheduler.js";
import { makeNode, makePod } from "./fixtures.js";

test("an assumed pod counts on its node until the watch confirms it", () => {
  const cache = new SchedulerCache();
  cache.addNode(makeNode("n1", { cpu: "2" }));
  const pod = makePod("p", { cpu: "1500m" });
  cache.assumePod(newPodInfo(pod), "n1");
  assert.equal(cache.nodeInfo("n1")!.requested.milliCPU, 1500);
  assert.ok(cache.isAssumed("default/p"));
  cache.addPod({ ...pod, spec: { ...pod.spec, nodeName: "n1" } });
  assert.ok(!cache.isAssumed("default/p"));
  assert.equal(
    cache.nodeInfo("n1")!.requested.milliCPU,
    1500,
    "confirming does not count the pod twice",
  );
  cache.forgetPod("default/p");
  assert.equal(cache.nodeInfo("n1")!.pods.size, 1, "a confirmed pod is not forgotten");
});

test("a failed binding is forgotten and frees the node", () => {
  const cache = new SchedulerCache();
  cache.addNode(makeNode("n1"));
  cache.assumePod(newPodInfo(makePod("p", { cpu: "1", hostPort: 80 })), "n1");
  cache.forgetPod("default/p");
  const ni = cache.nodeInfo("n1")!;
  assert.equal(ni.requested.milliCPU, 0);
  assert.equal(ni.pods.size, 0);
  assert.equal(ni.usedPorts.size, 0);
});

test("a pod bound elsewhere than assumed moves to the node it was bound to", () => {
  const cache = new SchedulerCache();
  cache.addNode(makeNode("n1"));
  cache.addNode(makeNode("n2"));
  const pod = makePod("p", { cpu: "1" });
  cache.assumePod(newPodInfo(pod), "n1");
  cache.addPod({ ...pod, spec: { ...pod.spec, nodeName: "n2" } });
  assert.equal(cache.nodeInfo("n1")!.requested.milliCPU, 0);
  assert.equal(cache.nodeInfo("n2")!.requested.milliCPU, 1000);
});

test("a deleted node is no longer offered, and image counts follow nodes", () => {
  const cache = new SchedulerCache();
  const images = [{ names: ["nginx:1.27"], sizeBytes: 1 }];
  cache.addNode(makeNode("n1", { images }));
  cache.addNode(makeNode("n2", { images }));
  cache.addPod(makePod("p", { nodeName: "n1" }));
  assert.equal(cache.nodesWithImage("nginx:1.27"), 2);
  cache.removeNode("n1");
  assert.deepEqual(
    cache.nodes.map((n) => n.name),
    ["n2"],
  );
  assert.equal(cache.nodesWithImage("nginx:1.27"), 1);
  cache.removePod(makePod("p", { nodeName: "n1" }));
  assert.equal(cache.nodeInfo("n1"), undefined);
});

test("the active queue hands out higher priority first, then oldest first", async () => {
  let now = 0;
  const q = new SchedulingQueue({ now: () => now });
  q.add(makePod("low", { priority: 0 }));
  now = 1;
  q.add(makePod("high", { priority: 100 }));
  now = 2;
  q.add(makePod("low2", { priority: 0 }));
  const order = [];
  for (let i = 0; i < 3; i++) order.push((await q.pop())!.pod.metadata.name);
  assert.deepEqual(order, ["high", "low", "low2"]);
});

test("an unschedulable pod waits until a cluster event, then is retried after its backoff", async () => {
  let now = 0;
  const q = new SchedulingQueue({ now: () => now });
  q.add(makePod("p"));
  const p = (await q.pop())!;
  q.addUnschedulable(p, q.schedulingCycle);
  q.flush();
  assert.deepEqual(q.lengths(), { active: 0, backoff: 0, unschedulable: 1 });
  now = 500; // still within the first 1 s backoff
  q.moveAllToActiveOrBackoff("NodeAdd");
  assert.deepEqual(q.lengths(), { active: 0, backoff: 1, unschedulable: 0 });
  now = 1001;
  q.flush();
  assert.deepEqual(q.lengths(), { active: 1, backoff: 0, unschedulable: 0 });
  assert.equal((await q.pop())!.attempts, 2);
});

test("an event during a pod's attempt sends it to backoff, not to the unschedulable pods", async () => {
  const q = new SchedulingQueue({ now: () => 0 });
  q.add(makePod("p"));
  const p = (await q.pop())!;
  const cycle = q.schedulingCycle;
  q.moveAllToActiveOrBackoff("NodeAdd"); // a node arrived while we were deciding
  q.addUnschedulable(p, cycle);
  assert.deepEqual(q.lengths(), { active: 0, backoff: 1, unschedulable: 0 });
});

test("pods unschedulable for five minutes are tried again anyway", async () => {
  let now = 0;
  const q = new SchedulingQueue({ now: () => now });
  q.add(makePod("p"));
  q.addUnschedulable((await q.pop())!, q.schedulingCycle);
  now = 5 * 60_000 + 1;
  q.flush();
  assert.equal(q.lengths().active, 1);
});

test("a deleted pod leaves the queue, and a waiting pop gets the next pod", async () => {
  const q = new SchedulingQueue();
  q.add(makePod("gone"));
  q.delete(makePod("gone"));
  assert.equal(q.lengths().active, 0);
  const next = q.pop();
  q.add(makePod("next"));
  assert.equal((await next)!.pod.metadata.name, "next");
  q.close();
  assert.equal(await q.pop(), undefined);
});

test("an update to an unschedulable pod gives it another try", async () => {
  let now = 0;
  const q = new SchedulingQueue({ now: () => now });
  q.add(makePod("p"));
  q.addUnschedulable((await q.pop())!, q.schedulingCycle);
  now = 2000;
  q.update(makePod("p", { nodeSelector: { disk: "ssd" } }));
  const again = (await q.pop())!;
  assert.deepEqual(again.pod.spec.nodeSelector, { disk: "ssd" });
});

test("only changes that could help wake unschedulable pods: not status writes, not heartbeats", () => {
  const pod = makePod("p");
  const withStatus = {
    ...pod,
    metadata: { ...pod.metadata, resourceVersion: "9" },
    status: { conditions: [{ type: "PodScheduled", status: "False" }] },
  };
  assert.equal(isPodUpdated(pod, withStatus), false);
  assert.equal(isPodUpdated(pod, makePod("p", { labels: { tier: "web" } })), true);
  const node = makeNode("n");
  const heartbeat = {
    ...node,
    status: {
      ...node.status,
      conditions: [{ type: "Ready", status: "True", lastHeartbeatTime: "2026-01-01T00:00:00Z" }],
    },
  };
  assert.equal(nodeChangeMayHelp(node, heartbeat), false);
  assert.equal(nodeChangeMayHelp(node, makeNode("n", { cpu: "8" })), true);
  assert.equal(nodeChangeMayHelp(makeNode("n", { unschedulable: true }), node), true);
  assert.equal(nodeChangeMayHelp(node, makeNode("n", { labels: { disk: "ssd" } })), true);
});
