// computePodActions: the kubelet's pure decision of what to do to one pod, from its spec and
// what the runtime shows. No I/O and no clock: time comes in as `now`, and crash-loop delays
// come out as "start after T" instead of sleeps, so every case is a table test.
//
// The rules follow Kubernetes 1.31 (kuberuntime's computePodActions):
// - No ready sandbox (none, it died, several are ready, or it lost its IP): kill everything
//   and start over with a new sandbox, unless the pod will not run anything again.
// - Init containers run one at a time, in order, each to success. A failed one is retried
//   when restartPolicy allows, else the pod is killed. (Sidecar init containers with their
//   own restartPolicy are not supported yet.)
// - App containers start once init is done; an exited one restarts per restartPolicy
//   (Always: always; OnFailure: on a non-zero exit; Never: never). A running one is killed
//   when its spec hash changed (then always restarted) or its liveness/startup probe failed
//   (restarted unless restartPolicy is Never).
// - Ephemeral containers (kubectl debug) start once each, in the ready sandbox, even before
//   init is done; they are never restarted, never killed alone, and keep no pod alive.
// - Restarts of an exited container back off: 10 s doubling to 5 min; the delay resets once
//   a container ran 10 minutes after its last restart. The first restart is immediate. A
//   container killed for a failed liveness or startup probe counts as exiting at that moment,
//   so probe restarts share the same back-off; only a changed spec restarts without waiting.
import { hashContainer } from "./container-hash.js";
import type { ContainerStatus, SandboxStatus } from "./runtime/runtime.js";
import type { Container, PodSpec } from "@skiff/api";
import type { Pod } from "./objects.js";

export const INITIAL_BACKOFF_MS = 10_000;
export const MAX_BACKOFF_MS = 300_000;
/** A container that finishes this long after its last restart starts again with no delay. */
export const BACKOFF_RESET_MS = 2 * MAX_BACKOFF_MS;

/** Crash-loop state for one container of the pod, kept by the caller between decisions. */
export interface BackoffEntry {
  /** The delay the next restart waits for, counted from the last exit. */
  delayMs: number;
  /** When the container was last (re)started by a plan, ms since the epoch. */
  lastStartAt: number;
}

export interface ObservedPod {
  /** The pod's sandboxes, any order. */
  sandboxes: SandboxStatus[];
  /** Every instance of the pod's containers (init and app), any order. */
  containers: ContainerStatus[];
  /** Ids of running containers whose liveness probe reports failure. */
  livenessFailed?: readonly string[];
  /** Ids of running containers whose startup probe reports failure. */
  startupFailed?: readonly string[];
  /** By container name. */
  backoff?: Readonly<Record<string, BackoffEntry>>;
  /** ms since the epoch. */
  now: number;
}

export type KillReason = "SpecChanged" | "LivenessProbe" | "StartupProbe" | "UnknownState";

export interface ContainerToKill {
  id: string;
  name: string;
  reason: KillReason;
  message: string;
}

export interface ContainerToStart {
  name: string;
  /** The restart count the new instance carries. */
  attempt: number;
  hash: string;
}

/** A start held back by CrashLoopBackOff. */
export interface BackOff {
  name: string;
  until: number;
  message: string;
}

export interface PodActions {
  /** Stop every container and sandbox of the pod before anything else. */
  killPod: boolean;
  killPodReason?: string;
  createSandbox: boolean;
  /** The attempt of the sandbox to create, or of the one in use. */
  sandboxAttempt: number;
  /** The ready sandbox to start containers in (absent when one is to be created). */
  sandboxId?: string;
  /** Instances of init containers to remove before a new sandbox runs them again. */
  initContainersToRemove: string[];
  initContainerToStart?: ContainerToStart;
  containersToStart: ContainerToStart[];
  /** Ephemeral containers that never ran yet (attempt 0, never backed off). */
  ephemeralContainersToStart: ContainerToStart[];
  containersToKill: ContainerToKill[];
  backOff: BackOff[];
  /** The earliest `until` in backOff: sync the pod again then. */
  requeueAt?: number;
  /** The crash-loop state to keep for the next decision (entries for started containers updated). */
  backoff: Record<string, BackoffEntry>;
}

export function computePodActions(pod: Pod, observed: ObservedPod): PodActions {
  const plan = decide(pod, observed);
  return applyBackoff(pod, observed, plan);
}

function decide(pod: Pod, observed: ObservedPod): PodActions {
  // The API requires a spec; a pod without one has nothing to run.
  const spec: PodSpec = pod.spec ?? { containers: [] };
  const policy = spec.restartPolicy ?? "Always";
  const initContainers = spec.initContainers ?? [];
  const latest = latestByName(observed.containers);
  const start = (c: Container): ContainerToStart => ({
    name: c.name,
    attempt: (latest.get(c.name)?.attempt ?? -1) + 1,
    hash: hashContainer(c),
  });
  const sandbox = sandboxDecision(spec, observed.sandboxes);
  const plan: PodActions = {
    killPod: sandbox.create,
    createSandbox: sandbox.create,
    sandboxAttempt: sandbox.attempt,
    initContainersToRemove: [],
    containersToStart: [],
    ephemeralContainersToStart: [],
    containersToKill: [],
    backOff: [],
    backoff: { ...observed.backoff },
  };
  if (sandbox.create) plan.killPodReason = sandbox.reason;
  else plan.sandboxId = sandbox.id;

  // A pod being deleted only stops.
  if (pod.metadata.deletionTimestamp) {
    return { ...plan, killPod: true, killPodReason: "pod is terminating", createSandbox: false };
  }

  if (sandbox.create) {
    // A pod that ran and will not run again gets no new sandbox.
    if (policy === "Never" && sandbox.attempt > 0 && observed.containers.length > 0) {
      plan.createSandbox = false;
      return plan;
    }
    const toStart = spec.containers.filter(
      (c) => !(policy === "OnFailure" && succeeded(latest.get(c.name))),
    );
    if (toStart.length === 0 && nextInitContainer(spec, latest).done) {
      plan.createSandbox = false;
      return plan;
    }
    // A new sandbox runs the init containers again from the first.
    plan.initContainersToRemove = observed.containers
      .filter((c) => initContainers.some((i) => i.name === c.name))
      .map((c) => c.id);
    const first = initContainers[0];
    if (first) plan.initContainerToStart = { ...start(first), attempt: 0 };
    else plan.containersToStart = toStart.map(start);
    return plan;
  }

  plan.ephemeralContainersToStart = (spec.ephemeralContainers ?? [])
    .filter((c) => !latest.has(c.name))
    .map(start);

  const init = nextInitContainer(spec, latest);
  if (!init.done) {
    if (init.next) {
      if (init.lastFailed && policy === "Never") {
        plan.killPod = true;
        plan.killPodReason = `init container ${init.next.name} failed`;
      } else {
        const last = latest.get(init.next.name);
        if (last?.state === "unknown") plan.containersToKill.push(killUnknown(last));
        plan.initContainerToStart = start(init.next);
      }
    }
    return plan;
  }

  const livenessFailed = new Set(observed.livenessFailed ?? []);
  const startupFailed = new Set(observed.startupFailed ?? []);
  let keep = 0;
  for (const c of spec.containers) {
    const status = latest.get(c.name);
    if (status?.state !== "running") {
      if (shouldRestart(policy, status)) {
        plan.containersToStart.push(start(c));
        // Unknown might still be running: stop it first, never run two of one container.
        if (status?.state === "unknown") plan.containersToKill.push(killUnknown(status));
      }
      continue;
    }
    let reason: KillReason;
    let message: string;
    let restart = policy !== "Never";
    if (status.hash !== hashContainer(c)) {
      reason = "SpecChanged";
      message = `Container ${c.name} definition changed`;
      restart = true;
    } else if (livenessFailed.has(status.id)) {
      reason = "LivenessProbe";
      message = `Container ${c.name} failed liveness probe`;
    } else if (startupFailed.has(status.id)) {
      reason = "StartupProbe";
      message = `Container ${c.name} failed startup probe`;
    } else {
      keep++;
      continue;
    }
    if (restart) {
      message += ", will be restarted";
      plan.containersToStart.push(start(c));
    }
    plan.containersToKill.push({ id: status.id, name: c.name, reason, message });
  }
  if (keep === 0 && plan.containersToStart.length === 0) {
    plan.killPod = true;
    plan.killPodReason = "no container is running or will run again";
  }
  return plan;
}

function sandboxDecision(
  spec: PodSpec,
  sandboxes: SandboxStatus[],
):
  | { create: true; attempt: number; reason: string }
  | { create: false; attempt: number; id: string } {
  const sorted = [...sandboxes].sort(
    (a, b) => b.attempt - a.attempt || b.createdAt.localeCompare(a.createdAt),
  );
  const newest = sorted[0];
  if (!newest) return { create: true, attempt: 0, reason: "no sandbox" };
  const next = newest.attempt + 1;
  const ready = sorted.filter((s) => s.state === "ready").length;
  if (ready > 1) return { create: true, attempt: next, reason: "more than one ready sandbox" };
  if (newest.state !== "ready")
    return { create: true, attempt: next, reason: "sandbox is not ready" };
  if (newest.hostNetwork !== (spec.hostNetwork === true)) {
    return { create: true, attempt: next, reason: "sandbox network mode changed" };
  }
  if (!newest.hostNetwork && !newest.ip)
    return { create: true, attempt: next, reason: "sandbox has no IP" };
  return { create: false, attempt: newest.attempt, id: newest.id };
}

/** Where initialization stands: done, or the next init container and whether the last one failed. */
function nextInitContainer(
  spec: PodSpec,
  latest: Map<string, ContainerStatus>,
): { done: boolean; next?: Container; lastFailed?: boolean } {
  const init = spec.initContainers ?? [];
  if (init.length === 0) return { done: true };
  // A running app container proves init finished, even if its instances were removed since.
  if (spec.containers.some((c) => latest.get(c.name)?.state === "running")) return { done: true };
  for (let i = init.length - 1; i >= 0; i--) {
    const c = init[i]!;
    if (initFailed(latest.get(c.name))) return { done: false, next: c, lastFailed: true };
  }
  for (let i = init.length - 1; i >= 0; i--) {
    const status = latest.get(init[i]!.name);
    if (!status) continue;
    if (status.state === "running") return { done: false };
    if (status.state === "exited") {
      const following = init[i + 1];
      return following ? { done: false, next: following } : { done: true };
    }
  }
  return { done: false, next: init[0] };
}

function initFailed(s: ContainerStatus | undefined): boolean {
  if (!s) return false;
  return s.oomKilled || s.state === "unknown" || (s.state === "exited" && s.exitCode !== 0);
}

function succeeded(s: ContainerStatus | undefined): boolean {
  return s?.state === "exited" && s.exitCode === 0;
}

/** restartPolicy: "Always" (the default), "OnFailure" or "Never". */
function shouldRestart(policy: string, s: ContainerStatus | undefined): boolean {
  if (!s || s.state === "unknown" || s.state === "created") return true;
  if (policy === "Never") return false;
  if (policy === "OnFailure") return s.exitCode !== 0;
  return true;
}

function killUnknown(s: ContainerStatus): ContainerToKill {
  return {
    id: s.id,
    name: s.name,
    reason: "UnknownState",
    message: `Container ${s.name} is in an unknown state, will be restarted`,
  };
}

function latestByName(containers: ContainerStatus[]): Map<string, ContainerStatus> {
  const out = new Map<string, ContainerStatus>();
  for (const c of containers) {
    const seen = out.get(c.name);
    if (
      !seen ||
      c.attempt > seen.attempt ||
      (c.attempt === seen.attempt && c.createdAt > seen.createdAt)
    ) {
      out.set(c.name, c);
    }
  }
  return out;
}

/** Holds back restarts (after an exit or a probe kill) still within their crash-loop delay. */
function applyBackoff(pod: Pod, observed: ObservedPod, plan: PodActions): PodActions {
  const latest = latestByName(observed.containers);
  const admit = (s: ContainerToStart): boolean => {
    const last = latest.get(s.name);
    // Restarts of a container that exited, or that this plan kills for a failed probe, back
    // off; first starts, restarts for a changed spec and of an unknown state do not.
    const kill = plan.containersToKill.find((k) => k.name === s.name);
    const probeKill = kill?.reason === "LivenessProbe" || kill?.reason === "StartupProbe";
    if (kill ? !probeKill : last?.state !== "exited") return true;
    const finishedAt = probeKill
      ? observed.now
      : Date.parse(last?.finishedAt ?? "") || observed.now;
    const entry = plan.backoff[s.name];
    const fresh = !entry || finishedAt - entry.lastStartAt > BACKOFF_RESET_MS;
    if (!fresh && observed.now - finishedAt < entry.delayMs) {
      const { name, namespace, uid } = pod.metadata;
      plan.backOff.push({
        name: s.name,
        until: finishedAt + entry.delayMs,
        message:
          `back-off ${formatDelay(entry.delayMs)} restarting failed container=${s.name} ` +
          `pod=${name}_${namespace ?? "default"}(${uid})`,
      });
      return false;
    }
    plan.backoff[s.name] = {
      delayMs: fresh ? INITIAL_BACKOFF_MS : Math.min(entry.delayMs * 2, MAX_BACKOFF_MS),
      lastStartAt: observed.now,
    };
    return true;
  };
  if (plan.initContainerToStart && !admit(plan.initContainerToStart))
    delete plan.initContainerToStart;
  plan.containersToStart = plan.containersToStart.filter(admit);
  if (plan.backOff.length > 0) plan.requeueAt = Math.min(...plan.backOff.map((b) => b.until));
  return plan;
}

/** As Go prints a duration, which is what Kubernetes' message shows: "10s", "1m20s", "5m0s". */
function formatDelay(ms: number): string {
  const s = Math.round(ms / 1000);
  return s >= 60 ? `${Math.floor(s / 60)}m${s % 60}s` : `${s}s`;
}
