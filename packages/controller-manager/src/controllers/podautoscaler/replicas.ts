// The HPA's replica calculation for one resource metric (cpu or memory), as Kubernetes'
// replica calculator does it: a pure function from the target's pods, their metrics and the
// target to a replica count.
//
//   desired = ceil(current * currentMetric / targetMetric), skipped within a 10% tolerance.
//
// Pods being deleted or failed are ignored; pending pods, and for cpu pods not yet ready
// (or whose sample predates readiness during the first 5 minutes), count as unready; pods
// without a sample are "missing". When scaling up, unready pods count as using nothing; when
// scaling down, missing pods count as using 100% of their request (0 when scaling up). If
// those assumptions reverse the direction, or land within the tolerance, nothing changes.
import type { Pod } from "../../objects.js";
import { parseQuantity } from "@skiff/api/light";
import { ReplicaCalcError } from "../../errors.js";

export const TOLERANCE = 0.1;
/** --horizontal-pod-autoscaler-cpu-initialization-period */
export const CPU_INITIALIZATION_PERIOD_MS = 5 * 60_000;
/** --horizontal-pod-autoscaler-initial-readiness-delay */
export const INITIAL_READINESS_DELAY_MS = 30_000;

export type ResourceName = "cpu" | "memory";

/** One pod's usage, in millicores (cpu) or bytes (memory), summed over its containers. */
export interface PodMetric {
  value: number;
  /** When the sample was taken, ms since the epoch. */
  timestamp: number;
  /** The window the sample covers, ms. */
  windowMs: number;
}

export type Target =
  | { type: "Utilization"; averageUtilization: number }
  | { type: "AverageValue"; averageValue: number };

export interface ReplicaInput {
  currentReplicas: number;
  resource: ResourceName;
  target: Target;
  pods: Pod[];
  /** By pod name. */
  metrics: Map<string, PodMetric>;
  now: number;
  /** Only this container's usage and request count (ContainerResource metrics). */
  container?: string;
  tolerance?: number;
}

export interface ReplicaResult {
  replicas: number;
  /** Utilization in percent of the requests (Utilization targets). */
  utilization?: number;
  /** Average usage per pod with metrics, in millicores or bytes. */
  averageValue: number;
}

/** Requests in millicores (cpu) or bytes (memory) per pod; throws if a container has none. */
export function podRequests(
  pods: Pod[],
  resource: ResourceName,
  container?: string,
): Map<string, number> {
  const out = new Map<string, number>();
  for (const pod of pods) {
    let sum = 0;
    for (const c of pod.spec?.containers ?? []) {
      if (container && c.name !== container) continue;
      const q = c.resources?.requests?.[resource];
      if (q === undefined) {
        throw new ReplicaCalcError(
          `missing request for ${resource} in container ${c.name} of Pod ${pod.metadata.name ?? ""}`,
        );
      }
      sum += toUnits(resource, parseQuantity(q));
    }
    out.set(pod.metadata.name ?? "", sum);
  }
  return out;
}

/** Base units to the calculator's: millicores for cpu, bytes for memory. */
export function toUnits(resource: ResourceName, value: number): number {
  return resource === "cpu" ? Math.round(value * 1000) : value;
}

interface PodGroups {
  readyCount: number;
  unready: Set<string>;
  missing: Set<string>;
  ignored: Set<string>;
}

export function groupPods(
  pods: Pod[],
  metrics: Map<string, PodMetric>,
  resource: ResourceName,
  now: number,
): PodGroups {
  const g: PodGroups = {
    readyCount: 0,
    unready: new Set(),
    missing: new Set(),
    ignored: new Set(),
  };
  for (const pod of pods) {
    const name = pod.metadata.name ?? "";
    const phase = pod.status?.phase;
    if (pod.metadata.deletionTimestamp || phase === "Failed") {
      g.ignored.add(name);
      continue;
    }
    if (phase === "Pending") {
      g.unready.add(name);
      continue;
    }
    const metric = metrics.get(name);
    if (!metric) {
      g.missing.add(name);
      continue;
    }
    if (resource === "cpu") {
      const ready = pod.status?.conditions?.find((c) => c.type === "Ready");
      const start = pod.status?.startTime ? Date.parse(pod.status.startTime) : NaN;
      let unready: boolean;
      if (!ready || Number.isNaN(start)) {
        unready = true;
      } else {
        const transition = ready.lastTransitionTime ? Date.parse(ready.lastTransitionTime) : 0;
        if (start + CPU_INITIALIZATION_PERIOD_MS > now) {
          // Young pod: not ready, or the sample was taken before it became ready.
          unready = ready.status === "False" || metric.timestamp < transition + metric.windowMs;
        } else {
          // Older pod: ignored only if it is unready and has never been ready.
          unready = ready.status === "False" && start + INITIAL_READINESS_DELAY_MS > transition;
        }
      }
      if (unready) {
        g.unready.add(name);
        continue;
      }
    }
    g.readyCount++;
  }
  return g;
}

/** usage/target ratio, and the utilization or average value it came from. */
function usageRatio(
  metrics: Map<string, number>,
  requests: Map<string, number>,
  target: Target,
): { ratio: number; utilization?: number; averageValue: number } {
  let total = 0;
  for (const v of metrics.values()) total += v;
  const averageValue = metrics.size ? total / metrics.size : 0;
  if (target.type === "AverageValue") {
    return { ratio: averageValue / target.averageValue, averageValue };
  }
  let usage = 0;
  let requested = 0;
  for (const [name, v] of metrics) {
    const r = requests.get(name);
    if (r === undefined) continue;
    usage += v;
    requested += r;
  }
  if (requested === 0) {
    throw new ReplicaCalcError("no metrics returned matched known pods");
  }
  const utilization = Math.trunc((usage * 100) / requested);
  return { ratio: utilization / target.averageUtilization, utilization, averageValue };
}

/** The replica count one resource metric asks for. Throws ReplicaCalcError when it cannot. */
export function resourceReplicas(input: ReplicaInput): ReplicaResult {
  const { currentReplicas, resource, target, pods, now } = input;
  const tolerance = input.tolerance ?? TOLERANCE;
  if (input.metrics.size === 0) {
    throw new ReplicaCalcError(
      `unable to get metrics for resource ${resource}: no metrics returned`,
    );
  }
  if (pods.length === 0) {
    throw new ReplicaCalcError("no pods returned by selector while calculating replica count");
  }
  const g = groupPods(pods, input.metrics, resource, now);
  const metrics = new Map<string, number>();
  for (const [name, m] of input.metrics) {
    if (g.ignored.has(name) || g.unready.has(name)) continue;
    metrics.set(name, m.value);
  }
  if (metrics.size === 0) {
    throw new ReplicaCalcError("did not receive metrics for targeted pods (pods might be unready)");
  }
  const requests =
    target.type === "Utilization" ? podRequests(pods, resource, input.container) : new Map();
  const first = usageRatio(metrics, requests, target);
  const within = (ratio: number): boolean => Math.abs(1 - ratio) <= tolerance;
  const scaleUpWithUnready = g.unready.size > 0 && first.ratio > 1;
  if (!scaleUpWithUnready && g.missing.size === 0) {
    const replicas = within(first.ratio) ? currentReplicas : Math.ceil(first.ratio * g.readyCount);
    return { replicas, utilization: first.utilization, averageValue: first.averageValue };
  }
  if (g.missing.size > 0) {
    if (first.ratio < 1) {
      // Scaling down: a pod without a sample is taken to use its whole request (or the target,
      // when that is above 100%).
      for (const name of g.missing) {
        metrics.set(
          name,
          target.type === "Utilization"
            ? ((requests.get(name) ?? 0) * Math.max(100, target.averageUtilization)) / 100
            : target.averageValue,
        );
      }
    } else if (first.ratio > 1) {
      for (const name of g.missing) metrics.set(name, 0);
    }
  }
  if (scaleUpWithUnready) for (const name of g.unready) metrics.set(name, 0);
  const next = usageRatio(metrics, requests, target);
  const result = { utilization: first.utilization, averageValue: first.averageValue };
  if (
    within(next.ratio) ||
    (first.ratio < 1 && next.ratio > 1) ||
    (first.ratio > 1 && next.ratio < 1)
  ) {
    return { replicas: currentReplicas, ...result };
  }
  const replicas = Math.ceil(next.ratio * metrics.size);
  if (
    (next.ratio < 1 && replicas > currentReplicas) ||
    (next.ratio > 1 && replicas < currentReplicas)
  ) {
    return { replicas: currentReplicas, ...result };
  }
  return { replicas, ...result };
}
