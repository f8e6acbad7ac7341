// computePodStatus: the pod's status as the kubelet reports it (pods/status), from the spec,
// what the runtime shows and what the kubelet knows besides (probe results, why a container
// waits). No I/O and no clock: time comes in as `now`, so every case is a table test.
//
// The rules follow Kubernetes 1.31 (kubelet's generateAPIPodStatus and getPhase):
// - Each container's status shows its newest instance (running, terminated, or waiting with
//   a reason) and, as lastState, the one before; restartCount is the newest one's attempt.
// - Initialized once every init container exited 0 (or an app container ever ran); a failed
//   init container fails the pod only under restartPolicy Never.
// - Phase: Pending while any app container waits; Running while one runs (or restarts, per
//   restartPolicy); Succeeded when all exited 0; Failed otherwise.
// - Conditions keep their lastTransitionTime while their status stays the same. Conditions
//   of other types (readiness gates' conditions, DisruptionTarget, ...) are carried over.
// - Ready also needs the condition of each readiness gate to be True (ReadinessGatesNotReady).
// - A finished pod keeps the pod IP it had (its sandbox is gone, the address is history).
import { qosClass, rfc3339, type Container, type PodStatus } from "@skiff/api";
import type { Pod } from "./objects.js";
import type { ContainerStatus as RuntimeContainer, SandboxStatus } from "./runtime/runtime.js";

/** Why a container (or, under the key "*", every container of the pod) waits. */
export interface Waiting {
  reason: string;
  message: string;
}

export interface PodStatusInput {
  pod: Pod;
  /** The pod's sandboxes, any order. */
  sandboxes: SandboxStatus[];
  /** Every instance of the pod's containers, any order. */
  containers: RuntimeContainer[];
  /** By container name; "*" for the whole pod. */
  waiting: ReadonlyMap<string, Waiting>;
  /** Readiness probe results, by container id. */
  ready: ReadonlyMap<string, boolean>;
  /** Startup probe results, by container id. */
  started: ReadonlyMap<string, boolean>;
  /** When the kubelet first took the pod up (RFC 3339). */
  startTime?: string;
  /** The kubelet stopped the pod for good (past its active deadline): phase Failed, and why. */
  failed?: { reason: string; message: string };
  nodeIP: string;
  /** ms since the epoch: the lastTransitionTime of a condition that changes now. */
  now: number;
}

type Status = Record<string, unknown>;
type State = Record<string, { exitCode?: number } | undefined>;

export function computePodStatus(input: PodStatusInput): PodStatus {
  const { pod, sandboxes, nodeIP } = input;
  const spec = pod.spec ?? { containers: [] };
  const policy = spec.restartPolicy ?? "Always";
  const byName = instancesByName(input.containers);
  const statusOf = (c: Container, init: boolean) =>
    containerStatus(c, init, byName.get(c.name) ?? [], input, !!spec.initContainers?.length);
  const initStatuses = (spec.initContainers ?? []).map((c) => statusOf(c, true));
  const containerStatuses = spec.containers.map((c) => statusOf(c, false));
  // Ephemeral containers are reported, never counted in the phase or readiness.
  const ephemeralStatuses = (spec.ephemeralContainers ?? []).map((c) => statusOf(c, true));
  const initDone =
    initStatuses.every((s) => stateOf(s).terminated?.exitCode === 0) ||
    containerStatuses.some(
      (s) => stateOf(s).running || stateOf(s).terminated || lastStateOf(s).terminated,
    );
  const initFailed = initStatuses.some((s) => (stateOf(s).terminated?.exitCode ?? 0) !== 0);
  const phase = input.failed
    ? "Failed"
    : !initDone
      ? initFailed && policy === "Never"
        ? "Failed"
        : "Pending"
      : phaseOf(containerStatuses, policy);

  const now = rfc3339(input.now);
  const old = new Map((pod.status?.conditions ?? []).map((c) => [c.type, c]));
  const cond = (type: string, ok: boolean, reason?: string, message?: string) => {
    const status = ok ? "True" : "False";
    const prev = old.get(type);
    return {
      type,
      status,
      lastProbeTime: null,
      lastTransitionTime: prev?.status === status ? prev.lastTransitionTime : now,
      ...(ok || !reason ? {} : { reason }),
      ...(ok || !message ? {} : { message }),
    };
  };
  const containersReady = containerStatuses.every((s) => s.ready === true);
  const terminal = phase === "Succeeded" || phase === "Failed";
  const gates = unreadyGates(spec.readinessGates ?? [], old);
  const sandbox = sandboxes.find((s) => s.state === "ready");
  const podIP = spec.hostNetwork ? nodeIP : sandbox?.ip;
  const status: Status = {
    phase,
    conditions: [
      cond("PodReadyToStartContainers", !!sandbox || terminal),
      cond("Initialized", initDone, "ContainersNotInitialized"),
      containersReady && !terminal && gates.length
        ? cond("Ready", false, "ReadinessGatesNotReady", gates.join(", "))
        : cond(
            "Ready",
            containersReady && !terminal,
            terminal ? "PodCompleted" : "ContainersNotReady",
          ),
      cond(
        "ContainersReady",
        containersReady && !terminal,
        terminal ? "PodCompleted" : "ContainersNotReady",
      ),
      cond("PodScheduled", true),
      ...(pod.status?.conditions ?? []).filter((c) => !KUBELET_CONDITIONS.has(c.type)),
    ],
    hostIP: nodeIP,
    hostIPs: [{ ip: nodeIP }],
    startTime: input.startTime,
    qosClass: qosClass(pod),
    containerStatuses,
  };
  if (podIP && !terminal) {
    status.podIP = podIP;
    status.podIPs = [{ ip: podIP }];
  } else if (pod.status?.podIP) {
    status.podIP = pod.status.podIP;
    status.podIPs = pod.status.podIPs;
  }
  if (initStatuses.length) status.initContainerStatuses = initStatuses;
  if (ephemeralStatuses.length) status.ephemeralContainerStatuses = ephemeralStatuses;
  if (input.failed) {
    status.reason = input.failed.reason;
    status.message = input.failed.message;
  }
  return status as PodStatus;
}

/** The conditions the kubelet owns; any other a pod carries is someone else's to set. */
const KUBELET_CONDITIONS = new Set([
  "PodReadyToStartContainers",
  "Initialized",
  "Ready",
  "ContainersReady",
  "PodScheduled",
]);

/** Why each readiness gate holds the pod back, in Kubernetes' words (none: all are True). */
function unreadyGates(
  gates: { conditionType: string }[],
  conditions: ReadonlyMap<string, { status: string }>,
): string[] {
  return gates.flatMap(({ conditionType: t }) => {
    const c = conditions.get(t);
    if (!c) return [`corresponding condition of pod readiness gate "${t}" does not exist.`];
    return c.status === "True"
      ? []
      : [`the status of pod readiness gate "${t}" is not "True", but ${c.status}`];
  });
}

/** Whether a status write changed the condition of one of the pod's readiness gates. */
export function readinessGateChanged(a: Pod, b: Pod): boolean {
  const of = (p: Pod) =>
    JSON.stringify(
      (b.spec?.readinessGates ?? []).map(
        (g) => p.status?.conditions?.find((c) => c.type === g.conditionType)?.status,
      ),
    );
  return of(a) !== of(b);
}

/** Each container name's instances, newest first (by attempt, then creation). */
function instancesByName(containers: RuntimeContainer[]): Map<string, RuntimeContainer[]> {
  const byName = new Map<string, RuntimeContainer[]>();
  for (const c of [...containers].sort(
    (a, b) => b.attempt - a.attempt || b.createdAt.localeCompare(a.createdAt),
  )) {
    const list = byName.get(c.name) ?? [];
    list.push(c);
    byName.set(c.name, list);
  }
  return byName;
}

/** One container's status from its newest two instances. */
function containerStatus(
  c: Container,
  init: boolean,
  [latest, previous]: RuntimeContainer[],
  input: PodStatusInput,
  podHasInitContainers: boolean,
): Status {
  const waiting = input.waiting.get(c.name) ?? input.waiting.get("*");
  const out: Status = {
    name: c.name,
    ready: false,
    restartCount: latest?.attempt ?? 0,
    image: c.image ?? "",
    imageID: latest?.imageID ?? "",
    started: false,
  };
  if (latest) out.containerID = `docker://${latest.id}`;
  if (latest?.state === "running") {
    const started = c.startupProbe ? input.started.get(latest.id) === true : true;
    out.state = { running: { startedAt: engineTime(latest.startedAt ?? latest.createdAt) } };
    out.started = started;
    out.ready = init
      ? false
      : started && (c.readinessProbe ? input.ready.get(latest.id) === true : true);
    if (previous) out.lastState = terminated(previous);
  } else if (waiting && (!latest || waiting.reason === "CrashLoopBackOff")) {
    out.state = { waiting: waiting };
    if (latest) out.lastState = terminated(latest);
  } else if (latest?.state === "exited") {
    out.state = terminated(latest);
    out.ready = false;
    if (previous) out.lastState = terminated(previous);
  } else {
    out.state = {
      waiting: {
        reason: init || !podHasInitContainers ? "ContainerCreating" : "PodInitializing",
      },
    };
  }
  if (!out.lastState) out.lastState = {};
  return out;
}

function terminated(x: RuntimeContainer) {
  return {
    terminated: {
      exitCode: x.exitCode ?? 0,
      reason: x.reason ?? "Error",
      ...(x.message ? { message: x.message } : {}),
      ...(x.startedAt ? { startedAt: engineTime(x.startedAt) } : {}),
      ...(x.finishedAt ? { finishedAt: engineTime(x.finishedAt) } : {}),
      containerID: `docker://${x.id}`,
    },
  };
}

/** Kubernetes' getPhase once initialization is done. */
function phaseOf(containerStatuses: Status[], policy: string): string {
  let running = 0,
    waiting = 0,
    stopped = 0,
    succeeded = 0;
  for (const s of containerStatuses) {
    const state = stateOf(s);
    if (state.running) running++;
    else if (state.terminated) {
      stopped++;
      if (state.terminated.exitCode === 0) succeeded++;
    } else if (lastStateOf(s).terminated) stopped++;
    else waiting++;
  }
  if (waiting > 0) return "Pending";
  if (running > 0) return "Running";
  if (stopped > 0) {
    if (policy === "Always") return "Running";
    if (stopped === succeeded) return "Succeeded";
    return policy === "OnFailure" ? "Running" : "Failed";
  }
  return "Pending";
}

function stateOf(s: Status): State {
  return s.state as State;
}

function lastStateOf(s: Status): State {
  return s.lastState as State;
}

/** The engine's times (nanoseconds) as metav1.Time (whole seconds). */
function engineTime(t: string): string {
  return rfc3339(Date.parse(t));
}
