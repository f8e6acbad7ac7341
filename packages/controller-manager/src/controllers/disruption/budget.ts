// A PodDisruptionBudget's status from its pods, as a pure function (Kubernetes'
// disruption controller): how many pods are expected, how many must stay healthy, how
// many are, and so how many may be disrupted now.
import type * as api from "@skiff/api/light";
import type { Pod, PodDisruptionBudget } from "../../objects.js";
import { isPodReady, rfc3339 } from "@skiff/api/light";

/** An eviction noted in disruptedPods counts as done for this long if the pod lingers. */
export const DISRUPTED_POD_TIMEOUT_MS = 2 * 60_000;

/** The scale (replicas) of the controller a pod belongs to, by the controller's uid. */
export type ScaleOf = (pod: Pod) => { uid: string; replicas: number } | undefined;

function scaled(v: number | string, total: number): number {
  if (typeof v === "number") return v;
  const pct = Number(v.replace(/%$/, ""));
  return Math.ceil((pct * total) / 100);
}

export function budgetStatus(
  pdb: PodDisruptionBudget,
  pods: Pod[],
  scaleOf: ScaleOf,
  now: number,
): api.PodDisruptionBudgetStatus {
  const spec = pdb.spec ?? {};
  const live = new Set(
    pods.filter((p) => !p.metadata.deletionTimestamp).map((p) => p.metadata.name),
  );
  // Evictions the apiserver noted: they stay until the pod goes, or for two minutes.
  const disruptedPods: Record<string, string> = {};
  for (const [name, at] of Object.entries(pdb.status?.disruptedPods ?? {})) {
    if (live.has(name) && Date.parse(at) + DISRUPTED_POD_TIMEOUT_MS > now) disruptedPods[name] = at;
  }
  const currentHealthy = pods.filter(
    (p) => !p.metadata.deletionTimestamp && isPodReady(p) && !(p.metadata.name! in disruptedPods),
  ).length;

  let expectedPods: number;
  let desiredHealthy: number;
  let failure: string | undefined;
  const byScale = spec.maxUnavailable !== undefined || typeof spec.minAvailable === "string";
  if (byScale) {
    const controllers = new Map<string, number>();
    for (const pod of pods) {
      const scale = scaleOf(pod);
      if (!scale) {
        failure = `found no controllers for pod "${pod.metadata.name ?? ""}"`;
        break;
      }
      controllers.set(scale.uid, scale.replicas);
    }
    expectedPods = [...controllers.values()].reduce((a, b) => a + b, 0);
    desiredHealthy =
      spec.maxUnavailable !== undefined
        ? Math.max(0, expectedPods - scaled(spec.maxUnavailable, expectedPods))
        : scaled(spec.minAvailable!, expectedPods);
  } else {
    expectedPods = pods.length;
    desiredHealthy = typeof spec.minAvailable === "number" ? spec.minAvailable : 0;
  }
  const disruptionsAllowed = failure ? 0 : Math.max(0, currentHealthy - desiredHealthy);
  const previous = pdb.status?.conditions?.find((c) => c.type === "DisruptionAllowed");
  const condition = {
    type: "DisruptionAllowed",
    status: disruptionsAllowed > 0 ? "True" : "False",
    reason: failure ? "SyncFailed" : disruptionsAllowed > 0 ? "SufficientPods" : "InsufficientPods",
    message: failure ?? "",
    observedGeneration: pdb.metadata.generation ?? 1,
    lastTransitionTime: rfc3339(now),
  };
  if (previous && previous.status === condition.status && previous.reason === condition.reason)
    condition.lastTransitionTime = previous.lastTransitionTime;
  return {
    observedGeneration: pdb.metadata.generation ?? 1,
    ...(Object.keys(disruptedPods).length ? { disruptedPods } : {}),
    disruptionsAllowed,
    currentHealthy,
    desiredHealthy: failure ? 0 : desiredHealthy,
    expectedPods,
    conditions: [condition],
  };
}
