import { test } from "node:test";
import assert from "node:assert/strict";
import { SchedulerCache } from "../src/cache.js";
import { newCycleState, runFilters, type FilterFailure } from "../src/framework/filters.js";
import { newPodInfo, podRequests } from "../src/framework/nodeinfo.js";
import { Algorithm, fitErrorMessage, numFeasibleNodesToFind } from "../src/framework/schedule.js";
import { FitError, NoNodesAvailableError } from "../src/errors.js";
import type { SpreadGroup } from "../src/framework/scores.js";
import type { Node, Pod } from "../src/types.js";
import { makeNode, makePod } from "./fixtures.js";

const noSpread: SpreadGroup = { namespace: "default", controllerUID: undefined, selectors: [] };

function clusterOf(nodes: Node[], placed: Pod[] = []): SchedulerCache {
  const cache = new SchedulerCache();
  for (const n of nodes) cache.addNode(n);
  for (const p of placed) cache.addPod(p);
  return cache;
}

/** The filter verdict for a pod on a one-node cluster (after placing `placed`). */
function verdict(pod: Pod, node: Node, placed: Pod[] = []): FilterFailure | undefined {
  const cache = clusterOf([node], placed);
  const pi = newPodInfo(pod);
  return runFilters(newCycleState(pi, cache.nodes), cache.nodes[0]!);
}

const reasonOf = (pod: Pod, node: Node, placed: Pod[] = []) =>
  verdict(pod, node, placed)?.reasons.join("; ");

const antiAffinity = (app: string, topologyKey = "kubernetes.io/hostname") => ({
  affinity: {
    podAntiAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: [
        { labelSelector: { matchLabels: { app } }, topologyKey },
      ],
    },
  },
});
const requiredNodeAffinity = (key: string, operator: string, values?: string[]) => ({
  affinity: {
    nodeAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: {
        nodeSelectorTerms: [
          { matchExpressions: [{ key, operator, ...(values ? { values } : {}) }] },
        ],
      },
    },
  },
});

const cases: { name: string; pod: Pod; node: Node; placed?: Pod[]; want: string | undefined }[] = [
  {
    name: "a cordoned node is refused",
    pod: makePod("p"),
    node: makeNode("n", { unschedulable: true }),
    want: "node(s) were unschedulable",
  },
  {
    name: "a cordoned node is accepted with the unschedulable toleration",
    pod: makePod("p", {
      tolerations: [
        { key: "node.kubernetes.io/unschedulable", operator: "Exists", effect: "NoSchedule" },
      ],
    }),
    node: makeNode("n", { unschedulable: true }),
    want: undefined,
  },
  {
    name: "spec.nodeName elsewhere is refused",
    pod: makePod("p", { nodeName: "other" }),
    node: makeNode("n"),
    want: "node(s) didn't match the requested node name",
  },
  {
    name: "nodeSelector that matches",
    pod: makePod("p", { nodeSelector: { disk: "ssd" } }),
    node: makeNode("n", { labels: { disk: "ssd" } }),
    want: undefined,
  },
  {
    name: "nodeSelector that does not match",
    pod: makePod("p", { nodeSelector: { disk: "ssd" } }),
    node: makeNode("n"),
    want: "node(s) didn't match Pod's node affinity/selector",
  },
  {
    name: "affinity In",
    pod: makePod("p", { spec: requiredNodeAffinity("zone", "In", ["a", "b"]) }),
    node: makeNode("n", { labels: { zone: "b" } }),
    want: undefined,
  },
  {
    name: "affinity In (no match)",
    pod: makePod("p", { spec: requiredNodeAffinity("zone", "In", ["a"]) }),
    node: makeNode("n", { labels: { zone: "b" } }),
    want: "node(s) didn't match Pod's node affinity/selector",
  },
  {
    name: "affinity NotIn",
    pod: makePod("p", { spec: requiredNodeAffinity("zone", "NotIn", ["a"]) }),
    node: makeNode("n", { labels: { zone: "a" } }),
    want: "node(s) didn't match Pod's node affinity/selector",
  },
  {
    name: "affinity Exists",
    pod: makePod("p", { spec: requiredNodeAffinity("gpu", "Exists") }),
    node: makeNode("n", { labels: { gpu: "" } }),
    want: undefined,
  },
  {
    name: "affinity DoesNotExist",
    pod: makePod("p", { spec: requiredNodeAffinity("gpu", "DoesNotExist") }),
    node: makeNode("n", { labels: { gpu: "1" } }),
    want: "node(s) didn't match Pod's node affinity/selector",
  },
  {
    name: "affinity Gt",
    pod: makePod("p", { spec: requiredNodeAffinity("cores", "Gt", ["8"]) }),
    node: makeNode("n", { labels: { cores: "16" } }),
    want: undefined,
  },
  {
    name: "affinity Lt",
    pod: makePod("p", { spec: requiredNodeAffinity("cores", "Lt", ["8"]) }),
    node: makeNode("n", { labels: { cores: "16" } }),
    want: "node(s) didn't match Pod's node affinity/selector",
  },
  {
    name: "a NoSchedule taint without toleration",
    pod: makePod("p"),
    node: makeNode("n", {
      taints: [{ key: "node-role.kubernetes.io/control-plane", effect: "NoSchedule" }],
    }),
    want: "node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }",
  },
  {
    name: "a NoExecute taint with a matching Equal toleration",
    pod: makePod("p", {
      tolerations: [{ key: "dedicated", operator: "Equal", value: "db", effect: "NoExecute" }],
    }),
    node: makeNode("n", { taints: [{ key: "dedicated", value: "db", effect: "NoExecute" }] }),
    want: undefined,
  },
  {
    name: "a toleration with the wrong value",
    pod: makePod("p", { tolerations: [{ key: "dedicated", value: "web" }] }),
    node: makeNode("n", { taints: [{ key: "dedicated", value: "db", effect: "NoSchedule" }] }),
    want: "node(s) had untolerated taint {dedicated: db}",
  },
  {
    name: "a PreferNoSchedule taint does not filter",
    pod: makePod("p"),
    node: makeNode("n", { taints: [{ key: "x", effect: "PreferNoSchedule" }] }),
    want: undefined,
  },
  {
    name: "cpu that fits",
    pod: makePod("p", { cpu: "1" }),
    node: makeNode("n", { cpu: "2" }),
    placed: [makePod("a", { cpu: "1", nodeName: "n" })],
    want: undefined,
  },
  {
    name: "cpu counted with placed pods",
    pod: makePod("p", { cpu: "1100m" }),
    node: makeNode("n", { cpu: "2" }),
    placed: [makePod("a", { cpu: "1", nodeName: "n" })],
    want: "Insufficient cpu",
  },
  {
    name: "cpu and memory both short",
    pod: makePod("p", { cpu: "8", memory: "16Gi" }),
    node: makeNode("n"),
    want: "Insufficient cpu; Insufficient memory",
  },
  {
    name: "too many pods",
    pod: makePod("p"),
    node: makeNode("n", { pods: 1 }),
    placed: [makePod("a", { nodeName: "n" })],
    want: "Too many pods",
  },
  {
    name: "ephemeral-storage",
    pod: makePod("p", {
      spec: {
        containers: [{ name: "c", resources: { requests: { "ephemeral-storage": "2Gi" } } }],
      },
    }),
    node: makeNode("n", { ephemeralStorage: "1Gi" }),
    want: "Insufficient ephemeral-storage",
  },
  {
    name: "an extended resource the node lacks",
    pod: makePod("p", {
      spec: { containers: [{ name: "c", resources: { requests: { "nvidia.com/gpu": "1" } } }] },
    }),
    node: makeNode("n"),
    want: "Insufficient nvidia.com/gpu",
  },
  {
    name: "a free host port",
    pod: makePod("p", { hostPort: 8080 }),
    node: makeNode("n"),
    placed: [makePod("a", { hostPort: 9090, nodeName: "n" })],
    want: undefined,
  },
  {
    name: "a taken host port",
    pod: makePod("p", { hostPort: 8080 }),
    node: makeNode("n"),
    placed: [makePod("a", { hostPort: 8080, nodeName: "n" })],
    want: "node(s) didn't have free ports for the requested pod ports",
  },
  {
    name: "anti-affinity to a pod on the node",
    pod: makePod("p", { labels: { app: "web" }, spec: antiAffinity("web") }),
    node: makeNode("n"),
    placed: [makePod("a", { labels: { app: "web" }, nodeName: "n" })],
    want: "node(s) didn't match pod anti-affinity rules",
  },
  {
    name: "anti-affinity ignores pods of other namespaces",
    pod: makePod("p", { labels: { app: "web" }, spec: antiAffinity("web") }),
    node: makeNode("n"),
    placed: [makePod("a", { namespace: "other", labels: { app: "web" }, nodeName: "n" })],
    want: undefined,
  },
  {
    name: "an existing pod's anti-affinity",
    pod: makePod("p", { labels: { app: "web" } }),
    node: makeNode("n"),
    placed: [makePod("a", { labels: { app: "db" }, nodeName: "n", spec: antiAffinity("web") })],
    want: "node(s) didn't satisfy existing pods anti-affinity rules",
  },
];

for (const c of cases) {
  test(`filter: ${c.name}`, () => {
    assert.equal(reasonOf(c.pod, c.node, c.placed), c.want);
  });
}

test("a pod's request is max(sum of app containers, largest init container), plus sidecars", () => {
  const pod = makePod("p", {
    spec: {
      initContainers: [
        { name: "i1", resources: { requests: { cpu: "2", memory: "1Gi" } } },
        { name: "i2", resources: { requests: { cpu: "500m", memory: "3Gi" } } },
      ],
      containers: [
        { name: "a", resources: { requests: { cpu: "1", memory: "1Gi" } } },
        { name: "b", resources: { requests: { cpu: "300m", memory: "512Mi" } } },
      ],
    },
  });
  const r = podRequests(pod);
  assert.equal(r.milliCPU, 2000);
  assert.equal(r.memory, 3 * 2 ** 30);
  const withSidecar = makePod("s", {
    spec: {
      initContainers: [
        { name: "sidecar", restartPolicy: "Always", resources: { requests: { cpu: "200m" } } },
        { name: "init", resources: { requests: { cpu: "1" } } },
      ],
      containers: [{ name: "a", resources: { requests: { cpu: "500m" } } }],
    },
  });
  // The sidecar runs beside the app (700m) and beside the later init container (1200m).
  assert.equal(podRequests(withSidecar).milliCPU, 1200);
});

test("the FailedScheduling message counts reasons in Kubernetes' words and order", () => {
  const taint = { key: "node-role.kubernetes.io/control-plane", effect: "NoSchedule" };
  const cache = clusterOf([
    makeNode("small", { cpu: "1" }),
    makeNode("cp1", { taints: [taint] }),
    makeNode("cp2", { taints: [taint] }),
  ]);
  let err: unknown;
  try {
    new Algorithm().schedule(newPodInfo(makePod("p", { cpu: "2" })), cache, noSpread);
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof FitError);
  assert.equal(
    err.message,
    "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }. " +
      "preemption: 0/3 nodes are available: 1 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling.",
  );
  assert.equal(
    fitErrorMessage(
      1,
      [
        {
          plugin: "NodeAffinity",
          code: "UnschedulableAndUnresolvable",
          reasons: ["node(s) didn't match Pod's node affinity/selector"],
        },
      ],
      true,
    ),
    "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector. preemption: not eligible due to preemptionPolicy=Never.",
  );
});

test("a cluster without nodes says no nodes are available", () => {
  assert.throws(
    () => new Algorithm().schedule(newPodInfo(makePod("p")), new SchedulerCache(), noSpread),
    NoNodesAvailableError,
  );
});

/** Where the algorithm puts a pod (ties broken by the first node). */
function place(pod: Pod, nodes: Node[], placed: Pod[] = [], spread = noSpread): string {
  return new Algorithm({ random: () => 0.99 }).schedule(
    newPodInfo(pod),
    clusterOf(nodes, placed),
    spread,
  ).nodeName;
}

test("score: least allocated picks the emptier node", () => {
  const nodes = [makeNode("busy"), makeNode("idle")];
  assert.equal(
    place(makePod("p", { cpu: "1" }), nodes, [
      makePod("a", { cpu: "3", memory: "4Gi", nodeName: "busy" }),
    ]),
    "idle",
  );
});

test("score: balanced allocation prefers the node where cpu and memory stay in proportion", () => {
  // Both nodes end equally free in total; on "cpuheavy" the cpu-only pod would tip the balance further.
  const nodes = [
    makeNode("cpuheavy", { cpu: "4", memory: "4Gi" }),
    makeNode("memheavy", { cpu: "4", memory: "4Gi" }),
  ];
  const placed = [
    makePod("a", { cpu: "2", memory: "0", nodeName: "cpuheavy" }),
    makePod("b", { cpu: "0", memory: "2Gi", nodeName: "memheavy" }),
  ];
  assert.equal(place(makePod("p", { cpu: "1", memory: "100Mi" }), nodes, placed), "memheavy");
});

test("score: preferred node affinity wins", () => {
  const pod = makePod("p", {
    spec: {
      affinity: {
        nodeAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            {
              weight: 50,
              preference: { matchExpressions: [{ key: "disk", operator: "In", values: ["ssd"] }] },
            },
          ],
        },
      },
    },
  });
  assert.equal(
    place(pod, [makeNode("a"), makeNode("b", { labels: { disk: "ssd" } }), makeNode("c")]),
    "b",
  );
});

test("score: a PreferNoSchedule taint is avoided when another node is free of it", () => {
  const nodes = [
    makeNode("tainted", { taints: [{ key: "spot", effect: "PreferNoSchedule" }] }),
    makeNode("clean"),
  ];
  assert.equal(place(makePod("p"), nodes), "clean");
  const tolerant = makePod("q", { tolerations: [{ key: "spot", operator: "Exists" }] });
  const picks = new Set(
    [0.01, 0.99].map(
      (r) =>
        new Algorithm({ random: () => r }).schedule(
          newPodInfo(tolerant),
          clusterOf(nodes),
          noSpread,
        ).nodeName,
    ),
  );
  assert.deepEqual([...picks].sort(), ["clean", "tainted"]);
});

test("score: pods of one ReplicaSet spread across nodes", () => {
  const nodes = [makeNode("a"), makeNode("b")];
  const placed = [makePod("r1", { owner: "web", nodeName: "a" })];
  const spread: SpreadGroup = { namespace: "default", controllerUID: "uid-web", selectors: [] };
  assert.equal(place(makePod("r2", { owner: "web" }), nodes, placed, spread), "b");
});

test("score: a node that already holds the image is preferred", () => {
  const nodes = [
    makeNode("cold"),
    makeNode("warm", {
      images: [{ names: ["docker.io/library/postgres:16"], sizeBytes: 400 * 2 ** 20 }],
    }),
  ];
  assert.equal(place(makePod("p", { image: "postgres:16" }), nodes), "warm");
});

test("only a share of large clusters is searched, as in Kubernetes", () => {
  assert.equal(numFeasibleNodesToFind(50), 50);
  assert.equal(numFeasibleNodesToFind(100), 100);
  assert.equal(numFeasibleNodesToFind(1000), 420);
  assert.equal(numFeasibleNodesToFind(5000), 500);
  assert.equal(numFeasibleNodesToFind(1000, 100), 1000);
});
