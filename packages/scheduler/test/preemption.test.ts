import { test } from "node:test";
import assert from "node:assert/strict";
import { SchedulerCache } from "../src/cache.js";
import {
  defaultFilters,
  newCycleState,
  runFilters,
  type FilterFailure,
} from "../src/framework/filters.js";
import { newPodInfo } from "../src/framework/nodeinfo.js";
import { findPreemption, type Budget } from "../src/framework/preemption.js";
import type { Node, Pod } from "../src/types.js";
import { makeNode, makePod } from "./fixtures.js";

function cluster(nodes: Node[], placed: Pod[]): SchedulerCache {
  const cache = new SchedulerCache();
  for (const n of nodes) cache.addNode(n);
  for (const p of placed) cache.addPod(p);
  return cache;
}

function failuresFor(pod: Pod, cache: SchedulerCache): Map<string, FilterFailure> {
  const pi = newPodInfo(pod);
  const out = new Map<string, FilterFailure>();
  for (const n of cache.nodes) {
    const f = runFilters(newCycleState(pi, cache.nodes), n, defaultFilters);
    if (f) out.set(n.name, f);
  }
  return out;
}

const on = (
  node: string,
  name: string,
  cpu: string,
  priority: number,
  labels: Record<string, string> = {},
) => makePod(name, { cpu, priority, nodeName: node, labels });

test("preemption takes the fewest, least important pods, keeps what it can, and leaves the cache as it was", () => {
  const cache = cluster(
    [makeNode("a", { cpu: "2" }), makeNode("b", { cpu: "2" })],
    [on("a", "a-low", "1", 1), on("a", "a-lower", "1", 0), on("b", "b-mid", "1500m", 5)],
  );
  const high = makePod("high", { cpu: "1", priority: 100 });
  const before = cache.nodes.map((n) => [...n.pods.keys()].sort().join());
  const p = findPreemption(newPodInfo(high), cache.nodes, failuresFor(high, cache), defaultFilters);
  assert.equal(p?.node, "a");
  assert.deepEqual(
    p?.victims.map((v) => v.pod.metadata.name),
    ["a-lower"],
    "a-low is reprieved",
  );
  assert.deepEqual(
    cache.nodes.map((n) => [...n.pods.keys()].sort().join()),
    before,
  );
  const never = makePod("never", { cpu: "1", priority: 100, spec: { preemptionPolicy: "Never" } });
  assert.equal(
    findPreemption(newPodInfo(never), cache.nodes, failuresFor(never, cache), defaultFilters),
    undefined,
  );
  const equal = makePod("peer", { cpu: "1500m", priority: 0 });
  assert.equal(
    findPreemption(newPodInfo(equal), cache.nodes, failuresFor(equal, cache), defaultFilters),
    undefined,
    "no pod of lower priority to take",
  );
});

test("preemption prefers a node where no disruption budget would break", () => {
  const cache = cluster(
    [makeNode("a", { cpu: "1" }), makeNode("b", { cpu: "1" })],
    [on("a", "guarded", "1", 0, { app: "db" }), on("b", "free", "1", 5)],
  );
  const high = makePod("high", { cpu: "1", priority: 100 });
  const budget: Budget = {
    covers: (p) => p.pod.metadata.labels?.app === "db",
    disruptionsAllowed: 0,
  };
  const failures = failuresFor(high, cache);
  assert.equal(
    findPreemption(newPodInfo(high), cache.nodes, failures, defaultFilters)?.node,
    "a",
    "lowest priority without budgets",
  );
  assert.equal(
    findPreemption(newPodInfo(high), cache.nodes, failures, defaultFilters, [budget])?.node,
    "b",
  );
});
