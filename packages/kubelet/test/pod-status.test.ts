// Table tests for computePodStatus: one row per situation a pod's reported status can show.
import assert from "node:assert/strict";
import { test } from "node:test";
import { rfc3339, type Container, type PodSpec, type PodStatus } from "@skiff/api";
import type { Pod } from "../src/objects.js";
import { computePodStatus, type PodStatusInput, type Waiting } from "../src/pod-status.js";
import type { ContainerStatus, SandboxStatus } from "../src/runtime/runtime.js";

const IMAGE = "skiff.local/busybox:1.36";
const NOW = Date.parse("2026-01-01T12:00:00Z");
const NODE_IP = "127.0.0.1";
const ref = { uid: "0f3c2a55-1111-2222-3333-444455556666", namespace: "default", name: "web" };
// The engine reports times in nanoseconds; the API shows whole seconds.
const engine = (secondsAgo: number) =>
  new Date(NOW - secondsAgo * 1000).toISOString().replace("Z", "123456Z");
const api = (secondsAgo: number) => rfc3339(NOW - secondsAgo * 1000);

function newPod(spec: Partial<PodSpec> = {}, status?: PodStatus): Pod {
  return {
    metadata: { name: ref.name, namespace: ref.namespace, uid: ref.uid },
    spec: { containers: [app("app")], ...spec },
    ...(status ? { status } : {}),
  };
}
function app(name: string, over: Partial<Container> = {}): Container {
  return { name, image: IMAGE, ...over };
}
const sandbox: SandboxStatus = {
  id: "sb0",
  pod: ref,
  attempt: 0,
  state: "ready",
  createdAt: engine(60),
  ip: "10.244.1.5",
  hostNetwork: false,
  labels: {},
};
function running(name: string, attempt = 0): ContainerStatus {
  return instance({ name, attempt, state: "running" });
}
function exited(name: string, exitCode: number, attempt = 0): ContainerStatus {
  return instance({
    name,
    attempt,
    state: "exited",
    exitCode,
    reason: exitCode === 0 ? "Completed" : "Error",
    finishedAt: engine(5),
  });
}
function instance(
  s: Partial<ContainerStatus> & { name: string; attempt: number },
): ContainerStatus {
  return {
    id: `${s.name}-${s.attempt}`,
    pod: ref,
    hash: "h",
    state: "running",
    oomKilled: false,
    createdAt: engine(50 - s.attempt),
    startedAt: engine(40 - s.attempt),
    image: IMAGE,
    imageID: "sha256:1",
    labels: {},
    ...s,
  };
}

/** The status in one line per fact, for readable rows. */
function summary(s: PodStatus) {
  const cond = Object.fromEntries(
    (s.conditions ?? []).map((c) => [c.type, c.status + (c.reason ? `/${c.reason}` : "")]),
  );
  const state = (c: NonNullable<PodStatus["containerStatuses"]>[number]) => {
    const st = c.state ?? {};
    const word = st.running
      ? "running"
      : st.terminated
        ? `terminated:${st.terminated.exitCode}`
        : `waiting:${st.waiting?.reason}`;
    return `${c.name}=${word}${c.ready ? ",ready" : ""}#${c.restartCount}`;
  };
  return {
    phase: s.phase,
    ready: cond.Ready,
    initialized: cond.Initialized,
    podIP: s.podIP,
    containers: (s.containerStatuses ?? []).map(state),
    init: (s.initContainerStatuses ?? []).map(state),
  };
}

interface Row {
  name: string;
  pod: Pod;
  input?: Partial<PodStatusInput>;
  want: Partial<ReturnType<typeof summary>>;
}

const withInit = { initContainers: [app("init1")], containers: [app("app")] };
const waiting = (entries: Record<string, Waiting>) => new Map(Object.entries(entries));

const rows: Row[] = [
  {
    name: "a running container without probes is ready, and so is the pod",
    pod: newPod(),
    input: { containers: [running("app")] },
    want: {
      phase: "Running",
      ready: "True",
      podIP: "10.244.1.5",
      containers: ["app=running,ready#0"],
    },
  },
  {
    name: "a readiness probe that has not yet succeeded keeps the pod not ready",
    pod: newPod({ containers: [app("app", { readinessProbe: { periodSeconds: 1 } })] }),
    input: { containers: [running("app")] },
    want: { phase: "Running", ready: "False/ContainersNotReady", containers: ["app=running#0"] },
  },
  {
    name: "a readiness probe that succeeded makes the container ready",
    pod: newPod({ containers: [app("app", { readinessProbe: { periodSeconds: 1 } })] }),
    input: { containers: [running("app")], ready: new Map([["app-0", true]]) },
    want: { ready: "True", containers: ["app=running,ready#0"] },
  },
  {
    name: "a container held back by CrashLoopBackOff waits with the reason and its restart count",
    pod: newPod(),
    input: {
      containers: [exited("app", 1, 2), exited("app", 1, 1)],
      waiting: waiting({ app: { reason: "CrashLoopBackOff", message: "back-off 20s" } }),
    },
    want: { phase: "Running", containers: ["app=waiting:CrashLoopBackOff#2"] },
  },
  {
    name: "a pod whose network is not ready waits as ContainerCreating",
    pod: newPod(),
    input: {
      sandboxes: [],
      waiting: waiting({ "*": { reason: "ContainerCreating", message: "network is not ready" } }),
    },
    want: { phase: "Pending", ready: "False/ContainersNotReady", podIP: undefined },
  },
  {
    name: "restartPolicy Never: all containers exited 0 is Succeeded, the pod IP kept",
    pod: newPod(
      { restartPolicy: "Never" },
      { podIP: "10.244.1.5", podIPs: [{ ip: "10.244.1.5" }] },
    ),
    input: {
      sandboxes: [{ ...sandbox, state: "notready", ip: undefined }],
      containers: [exited("app", 0)],
    },
    want: {
      phase: "Succeeded",
      ready: "False/PodCompleted",
      podIP: "10.244.1.5",
      containers: ["app=terminated:0#0"],
    },
  },
  {
    name: "restartPolicy Never: a container that failed fails the pod",
    pod: newPod({ restartPolicy: "Never" }),
    input: { containers: [exited("app", 2)] },
    want: { phase: "Failed", ready: "False/PodCompleted", podIP: undefined },
  },
  {
    name: "restartPolicy OnFailure: a failed container is still Running (it restarts)",
    pod: newPod({ restartPolicy: "OnFailure" }),
    input: { containers: [exited("app", 2)] },
    want: { phase: "Running" },
  },
  {
    name: "restartPolicy Always: even a container that exited 0 keeps the pod Running",
    pod: newPod(),
    input: { containers: [exited("app", 0)] },
    want: { phase: "Running" },
  },
  {
    name: "while an init container runs, the pod is Pending and the app waits PodInitializing",
    pod: newPod(withInit),
    input: { containers: [running("init1")] },
    want: {
      phase: "Pending",
      initialized: "False/ContainersNotInitialized",
      init: ["init1=running#0"],
      containers: ["app=waiting:PodInitializing#0"],
    },
  },
  {
    name: "init done: Initialized, and the app container runs",
    pod: newPod(withInit),
    input: { containers: [exited("init1", 0), running("app")] },
    want: { phase: "Running", initialized: "True", init: ["init1=terminated:0#0"] },
  },
  {
    name: "restartPolicy Never: a failed init container fails the pod",
    pod: newPod({ ...withInit, restartPolicy: "Never" }),
    input: { containers: [exited("init1", 1)] },
    want: { phase: "Failed", initialized: "False/ContainersNotInitialized" },
  },
  {
    name: "a host-network pod has the node's IP",
    pod: newPod({ hostNetwork: true }),
    input: {
      sandboxes: [{ ...sandbox, ip: undefined, hostNetwork: true }],
      containers: [running("app")],
    },
    want: { podIP: NODE_IP },
  },
  {
    name: "an ephemeral container that failed counts for neither phase nor readiness",
    pod: newPod({ ephemeralContainers: [app("debug")] }),
    input: { containers: [running("app"), exited("debug", 1)] },
    want: { phase: "Running", ready: "True" },
  },
];

function input(pod: Pod, over: Partial<PodStatusInput> = {}): PodStatusInput {
  return {
    pod,
    sandboxes: [sandbox],
    containers: [],
    waiting: new Map(),
    ready: new Map(),
    started: new Map(),
    startTime: api(60),
    nodeIP: NODE_IP,
    now: NOW,
    ...over,
  };
}

for (const row of rows) {
  test(row.name, () => {
    const got = summary(computePodStatus(input(row.pod, row.input)));
    const want = { ...got, ...row.want };
    assert.deepEqual(got, want);
  });
}

test("engine times are shown to the second, with the previous instance as lastState", () => {
  const s = computePodStatus(
    input(newPod(), { containers: [running("app", 1), exited("app", 1)] }),
  );
  const [c] = s.containerStatuses ?? [];
  assert.deepEqual(c?.state, { running: { startedAt: api(39) } });
  assert.deepEqual(c?.lastState, {
    terminated: {
      exitCode: 1,
      reason: "Error",
      startedAt: api(40),
      finishedAt: api(5),
      containerID: "docker://app-0",
    },
  });
  assert.equal(c?.containerID, "docker://app-1");
  assert.equal(c?.restartCount, 1);
});

test("a condition keeps its lastTransitionTime while its status stays, and moves when it changes", () => {
  const before = computePodStatus(input(newPod(), { containers: [running("app")] }));
  const later = NOW + 60_000;
  const same = computePodStatus(
    input(newPod({}, before), { containers: [running("app")], now: later }),
  );
  const changed = computePodStatus(
    input(newPod({}, before), { containers: [exited("app", 1)], now: later }),
  );
  const readyAt = (s: PodStatus) =>
    s.conditions?.find((c) => c.type === "Ready")?.lastTransitionTime;
  assert.equal(readyAt(before), api(0));
  assert.equal(readyAt(same), api(0));
  assert.equal(readyAt(changed), rfc3339(later));
});

test("the QoS class and host IPs are reported", () => {
  const guaranteed = newPod({
    containers: [
      app("app", {
        resources: {
          requests: { cpu: "100m", memory: "64Mi" },
          limits: { cpu: "100m", memory: "64Mi" },
        },
      }),
    ],
  });
  const s = computePodStatus(input(guaranteed, { containers: [running("app")] }));
  assert.equal(s.qosClass, "Guaranteed");
  assert.equal(s.hostIP, NODE_IP);
  assert.deepEqual(s.hostIPs, [{ ip: NODE_IP }]);
  assert.equal(s.startTime, api(60));
});

test("readiness gates hold Ready back until their conditions are True, which are carried over", () => {
  const gated = (conditions: { type: string; status: string }[]) =>
    newPod(
      {
        readinessGates: [{ conditionType: "example.com/lb" }, { conditionType: "example.com/dns" }],
      },
      { conditions },
    );
  const ready = (s: PodStatus) => s.conditions?.find((c) => c.type === "Ready");
  const none = computePodStatus(input(gated([]), { containers: [running("app")] }));
  assert.deepEqual(
    [ready(none)?.status, ready(none)?.reason, ready(none)?.message],
    [
      "False",
      "ReadinessGatesNotReady",
      'corresponding condition of pod readiness gate "example.com/lb" does not exist., corresponding condition of pod readiness gate "example.com/dns" does not exist.',
    ],
  );
  assert.equal(none.conditions?.find((c) => c.type === "ContainersReady")?.status, "True");

  const half = computePodStatus(
    input(
      gated([
        { type: "example.com/lb", status: "True" },
        { type: "example.com/dns", status: "False" },
      ]),
      { containers: [running("app")] },
    ),
  );
  assert.equal(
    ready(half)?.message,
    'the status of pod readiness gate "example.com/dns" is not "True", but False',
  );

  const conditions = [
    { type: "example.com/lb", status: "True" },
    { type: "example.com/dns", status: "True" },
    { type: "DisruptionTarget", status: "False" },
  ];
  const all = computePodStatus(input(gated(conditions), { containers: [running("app")] }));
  assert.equal(ready(all)?.status, "True");
  assert.deepEqual(
    all.conditions?.slice(-3).map((c) => `${c.type}=${c.status}`),
    ["example.com/lb=True", "example.com/dns=True", "DisruptionTarget=False"],
  );
  // A container that is not ready says so first, as in Kubernetes.
  const notRunning = computePodStatus(input(gated(conditions), { containers: [exited("app", 1)] }));
  assert.equal(ready(notRunning)?.reason, "ContainersNotReady");
});
