import { test } from "node:test";
import assert from "node:assert/strict";
import {
  copyJson,
  humanDuration,
  qosClass,
  resourceInfo,
  rfc3339,
  rfc3339Micro,
} from "../src/index.js";

test("ages read like kubectl's: exact seconds, then coarser units", () => {
  const s = 1000;
  const cases: [number, string][] = [
    [-3 * s, "<invalid>"],
    [-1 * s, "0s"],
    [0, "0s"],
    [5 * s, "5s"],
    [119 * s, "119s"],
    [120 * s, "2m"],
    [200 * s, "3m20s"],
    [599 * s, "9m59s"],
    [600 * s, "10m"],
    [179 * 60 * s, "179m"],
    [180 * 60 * s, "3h"],
    [(3 * 3600 + 25 * 60) * s, "3h25m"],
    [8 * 3600 * s, "8h"],
    [47 * 3600 * s, "47h"],
    [48 * 3600 * s, "2d"],
    [(2 * 24 + 3) * 3600 * s, "2d3h"],
    [8 * 24 * 3600 * s, "8d"],
    [400 * 24 * 3600 * s, "400d"],
    [730 * 24 * 3600 * s, "2y"],
    [735 * 24 * 3600 * s, "2y5d"],
    [10 * 365 * 24 * 3600 * s, "10y"],
  ];
  for (const [ms, want] of cases) assert.equal(humanDuration(ms), want, `${ms}ms`);
});

test("times go out as metav1.Time (seconds) and metav1.MicroTime (microseconds)", () => {
  const at = Date.UTC(2024, 4, 1, 10, 0, 0, 123);
  assert.equal(rfc3339(at), "2024-05-01T10:00:00Z");
  assert.equal(rfc3339Micro(at), "2024-05-01T10:00:00.123000Z");
  assert.equal(rfc3339(new Date(at)), "2024-05-01T10:00:00Z");
});

const pod = (...containers: { requests?: object; limits?: object }[]) => ({
  spec: { containers: containers.map((resources) => ({ resources })) },
});

test("QoS class follows Kubernetes: cpu and memory only, sums compared, requests default to limits", () => {
  assert.equal(qosClass(pod({})), "BestEffort");
  // Resources other than cpu and memory do not count.
  assert.equal(qosClass(pod({ limits: { "ephemeral-storage": "1Gi" } })), "BestEffort");
  // Zero does not count either.
  assert.equal(qosClass(pod({ requests: { cpu: "0" } })), "BestEffort");
  assert.equal(qosClass(pod({ limits: { cpu: "1", memory: "1Gi" } })), "Guaranteed");
  // Quantities compare by value, not spelling.
  assert.equal(
    qosClass(
      pod({ requests: { cpu: "1000m", memory: "1024Mi" }, limits: { cpu: "1", memory: "1Gi" } }),
    ),
    "Guaranteed",
  );
  assert.equal(qosClass(pod({ limits: { cpu: "1" } })), "Burstable");
  assert.equal(qosClass(pod({ requests: { cpu: "1" } })), "Burstable");
  assert.equal(
    qosClass(pod({ requests: { cpu: "500m" }, limits: { cpu: "1", memory: "1Gi" } })),
    "Burstable",
  );
  // One container without limits makes the whole pod Burstable.
  assert.equal(
    qosClass(pod({ limits: { cpu: "1", memory: "1Gi" } }, { requests: { cpu: "1" } })),
    "Burstable",
  );
  // Init containers count.
  assert.equal(
    qosClass({
      spec: {
        initContainers: [{ resources: { requests: { memory: "1Gi" } } }],
        containers: [{ resources: {} }],
      },
    }),
    "Burstable",
  );
});

test("resourceInfo returns a served resource and throws, naming it, on one that is not", () => {
  assert.equal(resourceInfo("apps", "v1", "deployments").kind, "Deployment");
  assert.throws(() => resourceInfo("apps", "v1", "widgets"), /no resource widgets in apps\/v1/);
});

test("copyJson copies API objects deeply; a __proto__ key stays a field", () => {
  const pod = JSON.parse(
    '{"metadata":{"name":"p","labels":{"a":"1"},"__proto__":{"polluted":true}},' +
      '"spec":{"containers":[{"name":"c","args":["x",null]}]},"n":1.5,"b":false}',
  );
  const copy = copyJson(pod);
  assert.deepEqual(copy, pod);
  copy.metadata.labels.a = "2";
  copy.spec.containers[0].args.push("y");
  assert.equal(pod.metadata.labels.a, "1");
  assert.deepEqual(pod.spec.containers[0].args, ["x", null]);
  assert.ok(Object.hasOwn(copy.metadata, "__proto__"));
  assert.equal(Object.getPrototypeOf(copy.metadata), Object.prototype);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  // Not JSON: left to structuredClone.
  const bytes = copyJson({ data: Buffer.from("hi") });
  assert.ok(bytes.data instanceof Uint8Array);
});
