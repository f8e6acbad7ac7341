// What the kubelet remembers about one pod between syncs — crash-loop and image back-off,
// why containers wait, probe workers and their results — and the probe workers' upkeep.
// All of it is rebuildable: after a restart, the runtime's labels tell what runs.
import type { Logger } from "@skiff/client";
import type { BackoffEntry } from "./pod-actions.js";
import type { ImageBackoff } from "./images.js";
import type { Pod } from "./objects.js";
import type { Waiting } from "./pod-status.js";
import { ProbeWorker, type ProbeKind } from "./probes.js";
import type { ContainerRuntime, ContainerStatus as RuntimeContainer } from "./runtime/runtime.js";

export interface PodState {
  backoff: Record<string, BackoffEntry>;
  imageBackoff: Map<string, ImageBackoff>;
  /** By container name; "*" for the whole pod. */
  waiting: Map<string, Waiting>;
  /** By container id. */
  probes: Map<string, ProbeWorker[]>;
  /** Readiness probe results, by container id. */
  ready: Map<string, boolean>;
  /** Startup probe results, by container id. */
  started: Map<string, boolean>;
  livenessFailed: Set<string>;
  startupFailed: Set<string>;
  startTime?: string;
  /** The last status written, as JSON: an unchanged status is not written again. */
  lastStatus?: string;
  /** Deleted and stopped: a terminated pod never runs again. */
  terminated?: boolean;
  /** Stopped and failed by the kubelet itself (DeadlineExceeded): the status says why. */
  failed?: { reason: string; message: string };
  /** When spec.activeDeadlineSeconds runs out, and the timer that syncs the pod then. */
  deadline?: { at: number; timer: NodeJS.Timeout };
}

export function newPodState(): PodState {
  return {
    backoff: {},
    imageBackoff: new Map(),
    waiting: new Map(),
    probes: new Map(),
    ready: new Map(),
    started: new Map(),
    livenessFailed: new Set(),
    startupFailed: new Set(),
  };
}

export interface ProbeContext {
  runtime: ContainerRuntime;
  log: Logger;
  signal: AbortSignal;
  /** Records an event on the pod. */
  event(pod: Pod, type: "Normal" | "Warning", reason: string, message: string): void;
  /** A probe result changed: the pod is synced again. */
  enqueue(uid: string): void;
}

/** Starts the probes of newly running containers and stops those of containers gone. */
export function syncProbes(
  ctx: ProbeContext,
  pod: Pod,
  st: PodState,
  containers: RuntimeContainer[],
  podIP: string,
): void {
  if (ctx.signal.aborted) return;
  const running = new Set(containers.filter((c) => c.state === "running").map((c) => c.id));
  for (const id of st.probes.keys()) if (!running.has(id)) stopProbes(st, id);
  for (const c of containers) {
    if (c.state !== "running" || st.probes.has(c.id)) continue;
    const spec = pod.spec?.containers.find((x) => x.name === c.name);
    if (!spec) continue;
    const workers: ProbeWorker[] = [];
    const target = { runtime: ctx.runtime, containerId: c.id, container: spec, podIP };
    // Liveness and readiness wait until a startup probe (if any) has succeeded.
    const started = () => !spec.startupProbe || st.started.get(c.id) === true;
    const add = (kind: ProbeKind, probe: typeof spec.livenessProbe) => {
      if (!probe) return;
      workers.push(
        new ProbeWorker(
          kind,
          probe,
          target,
          (w, message) => onProbe(ctx, pod, st, c.id, spec.name, w, message),
          (w, message) =>
            ctx.event(
              pod,
              "Warning",
              "Unhealthy",
              `${capitalize(w.kind)} probe failed: ${message}`,
            ),
          kind === "startup" ? undefined : started,
        ),
      );
    };
    add("startup", spec.startupProbe);
    add("liveness", spec.livenessProbe);
    add("readiness", spec.readinessProbe);
    st.probes.set(c.id, workers);
  }
}

export function stopProbes(st: PodState, id: string): void {
  for (const w of st.probes.get(id) ?? []) w.stop();
  st.probes.delete(id);
}

export function stopAllProbes(st: PodState): void {
  for (const id of [...st.probes.keys()]) stopProbes(st, id);
  clearTimeout(st.deadline?.timer);
}

function onProbe(
  ctx: ProbeContext,
  pod: Pod,
  st: PodState,
  id: string,
  name: string,
  w: ProbeWorker,
  message: string,
): void {
  if (w.kind === "readiness") st.ready.set(id, w.result === true);
  if (w.kind === "startup") {
    st.started.set(id, w.result === true);
    if (w.result === false) st.startupFailed.add(id);
  }
  if (w.kind === "liveness" && w.result === false) {
    st.livenessFailed.add(id);
    ctx.log.info({ pod: podKey(pod), container: name, message }, "liveness probe failed");
  }
  ctx.enqueue(pod.metadata.uid ?? "");
}

/** `namespace/name`, the key logs name a pod by. */
export function podKey(pod: Pod): string {
  return `${pod.metadata.namespace ?? "default"}/${pod.metadata.name ?? ""}`;
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
