// The HPA's replica calculation and behavior, on the examples Kubernetes' documentation
// gives (Horizontal Pod Autoscaling: "Algorithm details", "Configurable scaling behavior",
// and the HorizontalPodAutoscaler walkthrough).
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  resourceReplicas,
  type PodMetric,
  type Target,
} from "../src/controllers/podautoscaler/replicas.js";
import { ReplicaCalcError } from "../src/errors.js";
import {
  emptyHistory,
  normalizeReplicas,
  recordScale,
  type History,
} from "../src/controllers/podautoscaler/behavior.js";
import type { Pod } from "../src/objects.js";
import type { HorizontalPodAutoscalerBehavior } from "@skiff/api";

const NOW = Date.parse("2026-01-01T12:00:00Z");
const LONG_AGO = new Date(NOW - 3600_000).toISOString();

interface PodOpts {
  cpu?: string;
  memory?: string;
  phase?: string;
  ready?: "True" | "False";
  readySince?: string;
  started?: string;
  deleting?: boolean;
}

function pod(name: string, o: PodOpts = {}): Pod {
  const requests: Record<string, string> = {};
  if (o.cpu !== undefined) requests.cpu = o.cpu;
  if (o.memory !== undefined) requests.memory = o.memory;
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: "default",
      ...(o.deleting ? { deletionTimestamp: new Date(NOW).toISOString() } : {}),
    },
    spec: { containers: [{ name: "app", image: "busybox", resources: { requests } }] },
    status: {
      phase: o.phase ?? "Running",
      startTime: o.started ?? LONG_AGO,
      conditions: [
        { type: "Ready", status: o.ready ?? "True", lastTransitionTime: o.readySince ?? LONG_AGO },
      ],
    },
  } as Pod;
}

function samples(values: Record<string, number>): Map<string, PodMetric> {
  return new Map(
    Object.entries(values).map(([k, v]) => [
      k,
      { value: v, timestamp: NOW - 5000, windowMs: 15_000 },
    ]),
  );
}

const pct = (n: number): Target => ({ type: "Utilization", averageUtilization: n });

function calc(
  pods: Pod[],
  usage: Record<string, number>,
  target: Target,
  current = pods.length,
  resource: "cpu" | "memory" = "cpu",
): number {
  return resourceReplicas({
    currentReplicas: current,
    resource,
    target,
    pods,
    metrics: samples(usage),
    now: NOW,
  }).replicas;
}

test("desired = ceil(current × current/target): 200m against 100m doubles, 50m halves", () => {
  const pods = [pod("a", { cpu: "1" }), pod("b", { cpu: "1" })];
  const avg = (m: number): Target => ({ type: "AverageValue", averageValue: m });
  assert.equal(calc(pods, { a: 200, b: 200 }, avg(100)), 4);
  assert.equal(calc(pods, { a: 50, b: 50 }, avg(100)), 1);
});

test("walkthrough: one php-apache pod at 305% of its request against a 50% target → 7", () => {
  const r = resourceReplicas({
    currentReplicas: 1,
    resource: "cpu",
    target: pct(50),
    pods: [pod("php", { cpu: "200m" })],
    metrics: samples({ php: 610 }),
    now: NOW,
  });
  assert.equal(r.replicas, 7);
  assert.equal(r.utilization, 305);
});

test("within the 10% tolerance nothing changes; just outside it does", () => {
  const pods = [pod("a", { cpu: "100m" }), pod("b", { cpu: "100m" })];
  assert.equal(calc(pods, { a: 54, b: 54 }, pct(50)), 2); // ratio 1.08
  assert.equal(calc(pods, { a: 45, b: 45 }, pct(50)), 2); // ratio 0.90
  assert.equal(calc(pods, { a: 56, b: 56 }, pct(50)), 3); // ratio 1.12
  assert.equal(calc(pods, { a: 40, b: 40 }, pct(50)), 2); // ratio 0.80 → ceil(1.6)
  assert.equal(calc(pods, { a: 20, b: 20 }, pct(50)), 1); // ratio 0.40
});

test("memory AverageValue: the average per pod against the target", () => {
  const pods = [pod("a", { memory: "64Mi" }), pod("b"), pod("c")];
  const mi = 2 ** 20;
  const t: Target = { type: "AverageValue", averageValue: 100 * mi };
  assert.equal(calc(pods, { a: 300 * mi, b: 300 * mi, c: 300 * mi }, t, 3, "memory"), 9);
});

test("missing metrics: counted as 100% of the request on a scale-down, 0% on a scale-up", () => {
  const pods = ["a", "b", "c", "d"].map((n) => pod(n, { cpu: "100m" }));
  // Scale-down: a, b at 10% of a 50% target; c, d taken at 100% → ratio (10+10+100+100)/4/50
  // = 1.1, which reverses the direction: nothing changes.
  assert.equal(calc(pods, { a: 10, b: 10 }, pct(50)), 4);
  // Without the missing pods the same samples would have halved it twice over.
  assert.equal(calc(pods.slice(0, 2), { a: 10, b: 10 }, pct(50), 4), 1);
  // Scale-up: a, b at 200% of a 50% target; c, d taken at 0 → (200+200)/4/50 = 2 → 8.
  assert.equal(calc(pods, { a: 200, b: 200 }, pct(50)), 8);
});

test("not-ready pods count as using nothing on a scale-up and are left out of a scale-down", () => {
  const young = new Date(NOW - 60_000).toISOString();
  const pods = [
    pod("a", { cpu: "100m" }),
    pod("b", { cpu: "100m" }),
    pod("c", { cpu: "100m", ready: "False", started: young, readySince: young }),
    pod("d", { cpu: "100m", phase: "Pending" }),
  ];
  // Up: a, b at 150% of 50 → 3; with c, d at 0: 300/4/50 = 1.5 → ceil(1.5 × 4) = 6.
  assert.equal(calc(pods, { a: 150, b: 150, c: 300 }, pct(50)), 6);
  // Down: a, b at 20% of 50 → ceil(0.4 × 2) = 1; c's sample is not used.
  assert.equal(calc(pods, { a: 20, b: 20, c: 500 }, pct(50)), 1);
});

test("a young pod's cpu sample taken before it became ready is not used", () => {
  const started = new Date(NOW - 60_000).toISOString();
  const readySince = new Date(NOW - 10_000).toISOString(); // sample at NOW-5s covers 15 s
  const pods = [pod("a", { cpu: "100m" }), pod("b", { cpu: "100m", started, readySince })];
  // b is unready: 200 of 100m is 400% against 50%; with b at 0, 200 of 200m → 100%, ratio 2.
  assert.equal(calc(pods, { a: 200, b: 1000 }, pct(50)), 4);
});

test("deleted and failed pods are ignored; pods without a cpu request are an error", () => {
  const pods = [
    pod("a", { cpu: "100m" }),
    pod("b", { cpu: "100m", deleting: true }),
    pod("c", { cpu: "100m", phase: "Failed" }),
  ];
  assert.equal(calc(pods, { a: 100, b: 0, c: 0 }, pct(50), 1), 2);
  assert.throws(
    () => calc([pod("x")], { x: 100 }, pct(50)),
    (e: unknown) =>
      e instanceof ReplicaCalcError &&
      e.message === "missing request for cpu in container app of Pod x",
  );
  assert.throws(() => calc([pod("a", { cpu: "1" })], {}, pct(50)), ReplicaCalcError);
  assert.throws(
    () => calc([pod("a", { cpu: "1", phase: "Pending" })], { a: 1 }, pct(50)),
    /did not receive metrics for targeted pods/,
  );
});

// ---- behavior ------------------------------------------------------------------------------

function normalize(
  current: number,
  desired: number,
  opts: {
    min?: number;
    max?: number;
    behavior?: HorizontalPodAutoscalerBehavior;
    history?: History;
    now?: number;
  } = {},
) {
  return normalizeReplicas({
    currentReplicas: current,
    desiredReplicas: desired,
    minReplicas: opts.min ?? 1,
    maxReplicas: opts.max ?? 100,
    behavior: opts.behavior,
    history: opts.history ?? emptyHistory(),
    now: opts.now ?? NOW,
  });
}

test("default scale-up: at most 4 pods or 100% per 15 s, whichever is more", () => {
  const b: HorizontalPodAutoscalerBehavior = {};
  assert.equal(normalize(2, 10, { behavior: b }).replicas, 6);
  assert.equal(normalize(10, 50, { behavior: b }).replicas, 20);
  const r = normalize(10, 50, { behavior: b });
  assert.deepEqual([r.scalingLimited.status, r.scalingLimited.reason], ["True", "ScaleUpLimit"]);
  // A scale from 1 to 5 five seconds ago used the period up: 1 + 4 = 5 is the limit.
  const h = recordScale(emptyHistory(), 1, 5, b, NOW - 5000);
  assert.equal(normalize(5, 10, { behavior: b, history: h }).replicas, 5);
  // Twenty seconds later the period has passed.
  assert.equal(normalize(5, 10, { behavior: b, history: h, now: NOW + 20_000 }).replicas, 10);
});

test("max replicas and min replicas bound the result, with their reasons", () => {
  const up = normalize(3, 9, { max: 5, behavior: {} });
  assert.equal(up.replicas, 5);
  assert.equal(up.scalingLimited.reason, "TooManyReplicas");
  const down = normalize(4, 1, {
    min: 2,
    behavior: { scaleDown: { stabilizationWindowSeconds: 0 } },
  });
  assert.equal(down.replicas, 2);
  assert.equal(down.scalingLimited.reason, "TooFewReplicas");
  const within = normalize(3, 4, { behavior: {} });
  assert.deepEqual([within.replicas, within.scalingLimited.status], [4, "False"]);
  assert.equal(within.scalingLimited.reason, "DesiredWithinRange");
});

test("scale-down stabilization: the highest recommendation of the last 300 s wins", () => {
  const history: History = {
    ...emptyHistory(),
    recommendations: [
      { at: NOW - 200_000, replicas: 8 },
      { at: NOW - 100_000, replicas: 6 },
      { at: NOW - 400_000, replicas: 10 }, // outside the window
    ],
  };
  for (const behavior of [undefined, {}]) {
    const r = normalize(8, 2, { history, behavior });
    assert.equal(r.replicas, 8);
    assert.equal(r.ableToScale.reason, "ScaleDownStabilized");
    assert.equal(r.history.recommendations.at(-1)!.replicas, 2);
    assert.ok(!r.history.recommendations.some((x) => x.replicas === 10));
  }
  // A shortened window (as the end-to-end manifest sets) lets it go down.
  const short = normalize(8, 2, {
    history,
    behavior: { scaleDown: { stabilizationWindowSeconds: 30 } },
  });
  assert.equal(short.replicas, 2);
  assert.equal(short.ableToScale.reason, "ReadyForNewScale");
});

test("docs example: Pods 4/60s and Percent 10/60s — 80 replicas drop by 8, then 72 by 8", () => {
  const behavior: HorizontalPodAutoscalerBehavior = {
    scaleDown: {
      stabilizationWindowSeconds: 0,
      policies: [
        { type: "Pods", value: 4, periodSeconds: 60 },
        { type: "Percent", value: 10, periodSeconds: 60 },
      ],
    },
  };
  const first = normalize(80, 10, { behavior });
  assert.equal(first.replicas, 72);
  assert.equal(first.scalingLimited.reason, "ScaleDownLimit");
  // Within the same minute nothing more may go.
  const h = recordScale(emptyHistory(), 80, 72, behavior, NOW);
  assert.equal(normalize(72, 10, { behavior, history: h, now: NOW + 30_000 }).replicas, 72);
  assert.equal(normalize(72, 10, { behavior, history: h, now: NOW + 61_000 }).replicas, 64);
  // selectPolicy Min: the policy with the smallest change (4 pods).
  const min = { scaleDown: { ...behavior.scaleDown, selectPolicy: "Min" as const } };
  assert.equal(normalize(80, 10, { behavior: min }).replicas, 76);
  // selectPolicy Disabled: no scale-down at all.
  const off = { scaleDown: { ...behavior.scaleDown, selectPolicy: "Disabled" as const } };
  assert.equal(normalize(80, 10, { behavior: off }).replicas, 80);
});

test("scale-up stabilization window: the lowest recommendation of the window wins", () => {
  const history: History = {
    ...emptyHistory(),
    recommendations: [{ at: NOW - 30_000, replicas: 4 }],
  };
  const r = normalize(3, 6, { history, behavior: { scaleUp: { stabilizationWindowSeconds: 60 } } });
  assert.equal(r.replicas, 4);
  assert.equal(r.ableToScale.reason, "ScaleUpStabilized");
});

test("without behavior: at most max(2 × current, 4), as before autoscaling/v2", () => {
  assert.equal(normalize(1, 10).replicas, 4);
  assert.equal(normalize(3, 10).replicas, 6);
  assert.equal(normalize(3, 10).scalingLimited.reason, "ScaleUpLimit");
  assert.equal(normalize(3, 10, { max: 5 }).scalingLimited.reason, "TooManyReplicas");
});
