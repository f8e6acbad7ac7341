// Table tests for computePodActions: one row per situation a pod can be in.
import assert from "node:assert/strict";
import { test } from "node:test";
import { hashContainer } from "../src/container-hash.js";
import {
  BACKOFF_RESET_MS,
  computePodActions,
  type BackoffEntry,
  type ObservedPod,
  type PodActions,
} from "../src/pod-actions.js";
import type { ContainerStatus, SandboxStatus } from "../src/runtime/runtime.js";
import type { Container, PodSpec } from "@skiff/api";
import type { Pod } from "../src/objects.js";

const IMAGE = "skiff.local/busybox:1.36";
const NOW = Date.parse("2026-01-01T12:00:00Z");
const UID = "0f3c2a55-1111-2222-3333-444455556666";
const ref = { uid: UID, namespace: "default", name: "web" };
const at = (msAgo: number) => new Date(NOW - msAgo).toISOString();

function newPod(spec: Partial<PodSpec> = {}, deleting = false): Pod {
  return {
    metadata: {
      name: "web",
      namespace: "default",
      uid: UID,
      ...(deleting ? { deletionTimestamp: at(0) } : {}),
    },
    spec: { containers: [app("app")], ...spec },
  };
}
function app(name: string, image = IMAGE): Container {
  return { name, image };
}
function sandbox(over: Partial<SandboxStatus> = {}): SandboxStatus {
  return {
    id: "sb0",
    pod: ref,
    attempt: 0,
    state: "ready",
    createdAt: at(60_000),
    ip: "10.244.1.5",
    hostNetwork: false,
    labels: {},
    ...over,
  };
}
type Run = Partial<ContainerStatus> & { name: string };
function running(name: string, over: Partial<ContainerStatus> = {}): ContainerStatus {
  return status({ name, state: "running", ...over });
}
function exited(
  name: string,
  exitCode: number,
  over: Partial<ContainerStatus> = {},
): ContainerStatus {
  return status({ name, state: "exited", exitCode, finishedAt: at(1_000), ...over });
}
function status(s: Run): ContainerStatus {
  const attempt = s.attempt ?? 0;
  return {
    id: `${s.name}-${attempt}`,
    pod: ref,
    attempt,
    hash: hashContainer(app(s.name)),
    state: "running",
    oomKilled: false,
    createdAt: at(50_000 - attempt),
    startedAt: at(40_000),
    image: IMAGE,
    imageID: "sha256:1",
    labels: {},
    ...s,
  };
}

/** The plan in one line per field, for readable rows. */
function summary(p: PodActions) {
  return {
    killPod: p.killPod,
    createSandbox: p.createSandbox,
    sandboxAttempt: p.sandboxAttempt,
    init: p.initContainerToStart
      ? `${p.initContainerToStart.name}#${p.initContainerToStart.attempt}`
      : undefined,
    start: p.containersToStart.map((c) => `${c.name}#${c.attempt}`),
    ephemeral: p.ephemeralContainersToStart.map((c) => `${c.name}#${c.attempt}`),
    kill: p.containersToKill.map((k) => `${k.name}:${k.reason}`),
    backOff: p.backOff.map((b) => `${b.name}@${(b.until - NOW) / 1000}s`),
  };
}
type Summary = ReturnType<typeof summary>;
const nothing: Summary = {
  killPod: false,
  createSandbox: false,
  sandboxAttempt: 0,
  init: undefined,
  start: [],
  ephemeral: [],
  kill: [],
  backOff: [],
};

interface Row {
  name: string;
  pod: Pod;
  observed: Partial<ObservedPod>;
  want: Partial<Summary>;
}

const twoApps = { containers: [app("a"), app("b")] };
const withInit = { initContainers: [app("init1"), app("init2")], containers: [app("app")] };

const rows: Row[] = [
  // ---- the sandbox ----
  {
    name: "a new pod gets a sandbox and all its containers",
    pod: newPod(twoApps),
    observed: {},
    want: { killPod: true, createSandbox: true, start: ["a#0", "b#0"] },
  },
  {
    name: "a dead sandbox: kill everything, new sandbox with the next attempt, restart all",
    pod: newPod(twoApps),
    observed: {
      sandboxes: [sandbox({ state: "notready", ip: undefined })],
      containers: [running("a"), exited("b", 0)],
    },
    want: { killPod: true, createSandbox: true, sandboxAttempt: 1, start: ["a#1", "b#1"] },
  },
  {
    name: "two ready sandboxes are replaced",
    pod: newPod(),
    observed: {
      sandboxes: [sandbox(), sandbox({ id: "sb1", attempt: 1 })],
      containers: [running("app")],
    },
    want: { killPod: true, createSandbox: true, sandboxAttempt: 2, start: ["app#1"] },
  },
  {
    name: "a sandbox that lost its IP is replaced",
    pod: newPod(),
    observed: { sandboxes: [sandbox({ ip: undefined })], containers: [running("app")] },
    want: { killPod: true, createSandbox: true, sandboxAttempt: 1, start: ["app#1"] },
  },
  {
    name: "a host-network sandbox needs no IP",
    pod: newPod({ hostNetwork: true }),
    observed: {
      sandboxes: [sandbox({ ip: undefined, hostNetwork: true })],
      containers: [running("app")],
    },
    want: nothing,
  },
  {
    name: "restartPolicy Never: a dead sandbox after the pod ran is not recreated",
    pod: newPod({ restartPolicy: "Never" }),
    observed: { sandboxes: [sandbox({ state: "notready" })], containers: [exited("app", 1)] },
    want: { killPod: true, createSandbox: false, sandboxAttempt: 1 },
  },
  {
    name: "restartPolicy OnFailure: a new sandbox restarts only the failed containers",
    pod: newPod({ ...twoApps, restartPolicy: "OnFailure" }),
    observed: {
      sandboxes: [sandbox({ state: "notready" })],
      containers: [exited("a", 0), exited("b", 2)],
    },
    want: { killPod: true, createSandbox: true, sandboxAttempt: 1, start: ["b#1"] },
  },
  {
    name: "restartPolicy OnFailure: all succeeded, so no new sandbox",
    pod: newPod({ ...twoApps, restartPolicy: "OnFailure" }),
    observed: {
      sandboxes: [sandbox({ state: "notready" })],
      containers: [exited("a", 0), exited("b", 0)],
    },
    want: { killPod: true, createSandbox: false, sandboxAttempt: 1 },
  },
  {
    name: "a new sandbox runs the init containers again from the first",
    pod: newPod(withInit),
    observed: {
      sandboxes: [sandbox({ state: "notready" })],
      containers: [exited("init1", 0), exited("init2", 0), running("app")],
    },
    want: { killPod: true, createSandbox: true, sandboxAttempt: 1, init: "init1#0" },
  },
  // ---- init containers ----
  {
    name: "init containers start first, one at a time",
    pod: newPod(withInit),
    observed: { sandboxes: [sandbox()] },
    want: { init: "init1#0" },
  },
  {
    name: "a running init container is waited for",
    pod: newPod(withInit),
    observed: { sandboxes: [sandbox()], containers: [running("init1")] },
    want: nothing,
  },
  {
    name: "a succeeded init container is followed by the next",
    pod: newPod(withInit),
    observed: { sandboxes: [sandbox()], containers: [exited("init1", 0)] },
    want: { init: "init2#0" },
  },
  {
    name: "when every init container succeeded the app containers start",
    pod: newPod(withInit),
    observed: { sandboxes: [sandbox()], containers: [exited("init1", 0), exited("init2", 0)] },
    want: { start: ["app#0"] },
  },
  {
    name: "a failed init container is retried (restartPolicy Always)",
    pod: newPod(withInit),
    observed: {
      sandboxes: [sandbox()],
      containers: [exited("init1", 0), exited("init2", 1, { attempt: 2 })],
    },
    want: { init: "init2#3" },
  },
  {
    name: "a failed init container is retried (restartPolicy OnFailure)",
    pod: newPod({ ...withInit, restartPolicy: "OnFailure" }),
    observed: { sandboxes: [sandbox()], containers: [exited("init1", 1)] },
    want: { init: "init1#1" },
  },
  {
    name: "a failed init container fails the pod (restartPolicy Never)",
    pod: newPod({ ...withInit, restartPolicy: "Never" }),
    observed: { sandboxes: [sandbox()], containers: [exited("init1", 1)] },
    want: { killPod: true },
  },
  {
    name: "an OOM-killed init container counts as failed even with exit code 0",
    pod: newPod({ ...withInit, restartPolicy: "Never" }),
    observed: { sandboxes: [sandbox()], containers: [exited("init1", 0, { oomKilled: true })] },
    want: { killPod: true },
  },
  {
    name: "an init container in an unknown state is stopped and started again",
    pod: newPod(withInit),
    observed: { sandboxes: [sandbox()], containers: [status({ name: "init1", state: "unknown" })] },
    want: { init: "init1#1", kill: ["init1:UnknownState"] },
  },
  {
    name: "a running app container proves init finished even if init instances are gone",
    pod: newPod(withInit),
    observed: { sandboxes: [sandbox()], containers: [running("app")] },
    want: nothing,
  },
  // ---- app containers ----
  {
    name: "running containers with an unchanged spec are kept",
    pod: newPod(twoApps),
    observed: { sandboxes: [sandbox()], containers: [running("a"), running("b")] },
    want: nothing,
  },
  {
    name: "a changed image kills and restarts the container, even with restartPolicy Never",
    pod: newPod({ restartPolicy: "Never", containers: [app("app", "skiff.local/busybox:1.36.1")] }),
    observed: { sandboxes: [sandbox()], containers: [running("app", { attempt: 1 })] },
    want: { start: ["app#2"], kill: ["app:SpecChanged"] },
  },
  {
    name: "a failed liveness probe kills and restarts the container",
    pod: newPod(twoApps),
    observed: {
      sandboxes: [sandbox()],
      containers: [running("a"), running("b")],
      livenessFailed: ["b-0"],
    },
    want: { start: ["b#1"], kill: ["b:LivenessProbe"] },
  },
  {
    name: "a failed liveness probe with restartPolicy Never kills without restart",
    pod: newPod({ ...twoApps, restartPolicy: "Never" }),
    observed: {
      sandboxes: [sandbox()],
      containers: [running("a"), running("b")],
      livenessFailed: ["b-0"],
    },
    want: { kill: ["b:LivenessProbe"] },
  },
  {
    name: "the last running container killed for liveness with restartPolicy Never ends the pod",
    pod: newPod({ restartPolicy: "Never" }),
    observed: { sandboxes: [sandbox()], containers: [running("app")], livenessFailed: ["app-0"] },
    want: { killPod: true, kill: ["app:LivenessProbe"] },
  },
  {
    name: "a failed startup probe kills and restarts the container",
    pod: newPod(),
    observed: { sandboxes: [sandbox()], containers: [running("app")], startupFailed: ["app-0"] },
    want: { start: ["app#1"], kill: ["app:StartupProbe"] },
  },
  {
    name: "restartPolicy Always restarts a container that succeeded",
    pod: newPod(),
    observed: { sandboxes: [sandbox()], containers: [exited("app", 0)] },
    want: { start: ["app#1"] },
  },
  {
    name: "restartPolicy OnFailure does not restart a container that succeeded",
    pod: newPod({ ...twoApps, restartPolicy: "OnFailure" }),
    observed: { sandboxes: [sandbox()], containers: [exited("a", 0), running("b")] },
    want: nothing,
  },
  {
    name: "restartPolicy OnFailure restarts a container that failed",
    pod: newPod({ restartPolicy: "OnFailure" }),
    observed: { sandboxes: [sandbox()], containers: [exited("app", 137, { oomKilled: true })] },
    want: { start: ["app#1"] },
  },
  {
    name: "restartPolicy Never restarts nothing, and a pod with nothing left running is stopped",
    pod: newPod({ restartPolicy: "Never" }),
    observed: { sandboxes: [sandbox()], containers: [exited("app", 1)] },
    want: { killPod: true },
  },
  {
    name: "restartPolicy OnFailure: when everything succeeded the pod is stopped",
    pod: newPod({ restartPolicy: "OnFailure" }),
    observed: { sandboxes: [sandbox()], containers: [exited("app", 0)] },
    want: { killPod: true },
  },
  {
    name: "a container created but never started is started again, even with restartPolicy Never",
    pod: newPod({ restartPolicy: "Never" }),
    observed: { sandboxes: [sandbox()], containers: [status({ name: "app", state: "created" })] },
    want: { start: ["app#1"] },
  },
  {
    name: "a container in an unknown state is stopped, then started again",
    pod: newPod(),
    observed: { sandboxes: [sandbox()], containers: [status({ name: "app", state: "unknown" })] },
    want: { start: ["app#1"], kill: ["app:UnknownState"] },
  },
  {
    name: "the restart count follows the newest instance",
    pod: newPod(),
    observed: {
      sandboxes: [sandbox()],
      containers: [exited("app", 1, { attempt: 3 }), exited("app", 1, { attempt: 4 })],
    },
    want: { start: ["app#5"] },
  },
  // ---- ephemeral containers ----
  {
    name: "an ephemeral container added to a running pod starts in its sandbox",
    pod: newPod({ ephemeralContainers: [{ ...app("dbg"), targetContainerName: "app" }] }),
    observed: { sandboxes: [sandbox()], containers: [running("app")] },
    want: { ephemeral: ["dbg#0"] },
  },
  {
    name: "an ephemeral container that exited is never restarted, and keeps no pod alive",
    pod: newPod({ restartPolicy: "Never", ephemeralContainers: [app("dbg")] }),
    observed: { sandboxes: [sandbox()], containers: [exited("app", 0), exited("dbg", 1)] },
    want: { killPod: true },
  },
  {
    name: "an ephemeral container starts even while init containers still run",
    pod: newPod({ ...withInit, ephemeralContainers: [app("dbg")] }),
    observed: { sandboxes: [sandbox()], containers: [running("init1")] },
    want: { ephemeral: ["dbg#0"] },
  },
  {
    name: "a new sandbox does not run ephemeral containers again",
    pod: newPod({ ephemeralContainers: [app("dbg")] }),
    observed: {
      sandboxes: [sandbox({ state: "notready" })],
      containers: [exited("app", 1), exited("dbg", 0)],
    },
    want: { killPod: true, createSandbox: true, sandboxAttempt: 1, start: ["app#1"] },
  },
  {
    name: "a pod being deleted is only stopped",
    pod: newPod({}, true),
    observed: { sandboxes: [sandbox()], containers: [exited("app", 1)] },
    want: { killPod: true },
  },
  {
    name: "a pod being deleted gets no sandbox",
    pod: newPod({}, true),
    observed: {},
    want: { killPod: true, createSandbox: false },
  },
];

for (const row of rows) {
  test(`computePodActions: ${row.name}`, () => {
    const plan = computePodActions(row.pod, {
      sandboxes: [],
      containers: [],
      now: NOW,
      ...row.observed,
    });
    assert.deepEqual(summary(plan), { ...nothing, ...row.want });
  });
}

// ---- CrashLoopBackOff ----

function crashed(
  backoff: Record<string, BackoffEntry> | undefined,
  finishedMsAgo: number,
  extra: Partial<ObservedPod> = {},
) {
  return computePodActions(newPod(), {
    sandboxes: [sandbox()],
    containers: [exited("app", 1, { attempt: 2, finishedAt: at(finishedMsAgo) })],
    backoff,
    now: NOW,
    ...extra,
  });
}

test("the first restart after a crash is immediate and arms a 10 s back-off", () => {
  const plan = crashed(undefined, 1_000);
  assert.deepEqual(summary(plan).start, ["app#3"]);
  assert.deepEqual(plan.backoff.app, { delayMs: 10_000, lastStartAt: NOW });
  assert.equal(plan.requeueAt, undefined);
});

test("a crash within the back-off delay waits until the delay has passed (CrashLoopBackOff)", () => {
  const plan = crashed({ app: { delayMs: 10_000, lastStartAt: NOW - 5_000 } }, 3_000);
  assert.deepEqual(summary(plan), { ...nothing, backOff: ["app@7s"] });
  assert.equal(plan.requeueAt, NOW + 7_000);
  assert.equal(
    plan.backOff[0]?.message,
    `back-off 10s restarting failed container=app pod=web_default(${UID})`,
  );
  assert.deepEqual(
    plan.backoff.app,
    { delayMs: 10_000, lastStartAt: NOW - 5_000 },
    "the wait does not change the state",
  );
});

test("once the delay has passed the container restarts and the next delay doubles", () => {
  const plan = crashed({ app: { delayMs: 10_000, lastStartAt: NOW - 30_000 } }, 11_000);
  assert.deepEqual(summary(plan).start, ["app#3"]);
  assert.deepEqual(plan.backoff.app, { delayMs: 20_000, lastStartAt: NOW });
});

test("the delay doubles up to 5 minutes and no further", () => {
  const delays: number[] = [];
  let entry: BackoffEntry | undefined;
  for (let i = 0; i < 8; i++) {
    // Each crash comes 2 s after its restart (far below the reset time) and is looked at
    // just after its delay has passed.
    const plan = crashed(entry ? { app: entry } : undefined, (entry?.delayMs ?? 0) + 1);
    const next = plan.backoff.app;
    assert.ok(next);
    delays.push(next.delayMs / 1000);
    entry = { ...next, lastStartAt: NOW - (next.delayMs + 2_000) };
  }
  assert.deepEqual(delays, [10, 20, 40, 80, 160, 300, 300, 300]);
  const waiting = crashed({ app: { delayMs: 300_000, lastStartAt: NOW - 60_000 } }, 10_000);
  assert.equal(
    waiting.backOff[0]?.message,
    `back-off 5m0s restarting failed container=app pod=web_default(${UID})`,
  );
});

test("a container that ran 10 minutes before crashing restarts at once with the delay reset", () => {
  const lastStartAt = NOW - BACKOFF_RESET_MS - 5_000;
  const plan = crashed({ app: { delayMs: 300_000, lastStartAt } }, 1_000);
  assert.deepEqual(summary(plan).start, ["app#3"]);
  assert.deepEqual(plan.backoff.app, { delayMs: 10_000, lastStartAt: NOW });
});

test("a restart for a changed spec is not held back by a back-off", () => {
  const plan = computePodActions(
    newPod({ containers: [app("app", "skiff.local/busybox:1.36.1")] }),
    {
      sandboxes: [sandbox()],
      containers: [running("app", { attempt: 2 })],
      backoff: { app: { delayMs: 300_000, lastStartAt: NOW - 1_000 } },
      now: NOW,
    },
  );
  assert.deepEqual(summary(plan), { ...nothing, start: ["app#3"], kill: ["app:SpecChanged"] });
});

test("a crash-looping init container backs off too", () => {
  const plan = computePodActions(newPod(withInit), {
    sandboxes: [sandbox()],
    containers: [exited("init1", 1, { attempt: 1, finishedAt: at(2_000) })],
    backoff: { init1: { delayMs: 20_000, lastStartAt: NOW - 4_000 } },
    now: NOW,
  });
  assert.deepEqual(summary(plan), { ...nothing, backOff: ["init1@18s"] });
});

test("only the crashed container waits; the others of the pod still start", () => {
  const plan = computePodActions(newPod(twoApps), {
    sandboxes: [sandbox()],
    containers: [exited("a", 1, { finishedAt: at(1_000) })],
    backoff: { a: { delayMs: 10_000, lastStartAt: NOW - 3_000 } },
    now: NOW,
  });
  assert.deepEqual(summary(plan), { ...nothing, start: ["b#0"], backOff: ["a@9s"] });
});

test("a liveness restart shares the crash-loop back-off: first at once, the next after the delay", () => {
  const killed = (backoff?: Record<string, BackoffEntry>) =>
    computePodActions(newPod(), {
      sandboxes: [sandbox()],
      containers: [running("app", { attempt: 1 })],
      livenessFailed: ["app-1"],
      backoff,
      now: NOW,
    });
  const first = killed(undefined);
  assert.deepEqual(summary(first), { ...nothing, start: ["app#2"], kill: ["app:LivenessProbe"] });
  assert.deepEqual(first.backoff.app, { delayMs: 10_000, lastStartAt: NOW });
  // Killed again 6 s after that restart: the kill happens, the start waits 10 s.
  const second = killed({ app: { delayMs: 10_000, lastStartAt: NOW - 6_000 } });
  assert.deepEqual(summary(second), {
    ...nothing,
    kill: ["app:LivenessProbe"],
    backOff: ["app@10s"],
  });
  assert.equal(
    second.backOff[0]?.message,
    `back-off 10s restarting failed container=app pod=web_default(${UID})`,
  );
  assert.equal(second.requeueAt, NOW + 10_000);
});

test("a startup-probe restart backs off like a crash", () => {
  const plan = computePodActions(newPod(), {
    sandboxes: [sandbox()],
    containers: [running("app", { attempt: 3 })],
    startupFailed: ["app-3"],
    backoff: { app: { delayMs: 40_000, lastStartAt: NOW - 20_000 } },
    now: NOW,
  });
  assert.deepEqual(summary(plan), { ...nothing, kill: ["app:StartupProbe"], backOff: ["app@40s"] });
});
