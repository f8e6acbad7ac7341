// Pods: Pending with their QoS class (and SchedulingGated while gated) when created, the default not-ready/unreachable
// tolerations, a grace period on delete while a node runs them, and the binding to a node.
import { qosClass } from "@skiff/api";
import { ConflictError } from "../errors.js";
import { get, meta, now, type KubeObject } from "../objects.js";
import type { Strategy } from "./strategy.js";

export const podStrategy: Strategy = {
  prepareForCreate(pod) {
    // A pod created with scheduling gates says why it waits (the scheduler leaves it alone).
    const gates = get(pod, "spec", "schedulingGates");
    const gated = Array.isArray(gates) && gates.length > 0;
    pod.status = {
      phase: "Pending",
      qosClass: qosClass(pod),
      ...(gated
        ? {
            conditions: [
              {
                type: "PodScheduled",
                status: "False",
                lastProbeTime: null,
                lastTransitionTime: now(),
                reason: "SchedulingGated",
                message: "Scheduling is blocked due to non-empty scheduling gates",
              },
            ],
          }
        : {}),
    };
  },
  afterDefaults: addDefaultTolerations,
  finishesOnFinalize(pod) {
    // A pod with a grace period waits for its kubelet, which then deletes it with grace 0.
    return (meta(pod).deletionGracePeriodSeconds ?? 0) === 0;
  },
  gracePeriodSeconds(pod, requested) {
    // Running pods get their grace period, for the kubelet to stop them; the kubelet then
    // deletes with grace 0. Unscheduled and finished pods go at once.
    const podGrace = get(pod, "spec", "terminationGracePeriodSeconds");
    const phase = get(pod, "status", "phase");
    if (!get(pod, "spec", "nodeName") || phase === "Succeeded" || phase === "Failed") return 0;
    return Math.max(0, requested ?? (typeof podGrace === "number" ? podGrace : 30));
  },
};

/** The DefaultTolerationSeconds admission: pods tolerate not-ready/unreachable nodes for 300 s. */
export function addDefaultTolerations(pod: KubeObject): void {
  const spec = pod.spec as Record<string, unknown> | undefined;
  if (!spec) return;
  const tolerations = (Array.isArray(spec.tolerations) ? spec.tolerations : []) as Record<
    string,
    unknown
  >[];
  for (const key of ["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"]) {
    const has = tolerations.some(
      (t) =>
        (t.key === key || (t.key === undefined && t.operator === "Exists")) &&
        (t.effect === undefined || t.effect === "" || t.effect === "NoExecute"),
    );
    if (!has)
      tolerations.push({ key, operator: "Exists", effect: "NoExecute", tolerationSeconds: 300 });
  }
  spec.tolerations = tolerations;
}

/**
 * pods/binding: assigns the pod to `node` and marks it PodScheduled. Refused (409) for a pod
 * being deleted, one already assigned, or when the Binding names another uid.
 */
export function bindPod(pod: KubeObject, node: string, uid: unknown): KubeObject {
  const name = meta(pod).name ?? "";
  const target = { kind: "pods", group: "", name };
  const spec = (pod.spec ?? {}) as Record<string, unknown>;
  if (meta(pod).deletionTimestamp) {
    throw new ConflictError(target, "pod is being deleted, cannot be assigned to a host");
  }
  if (spec.nodeName) {
    throw new ConflictError(
      target,
      `pod ${name} is already assigned to node "${String(spec.nodeName)}"`,
    );
  }
  if (typeof uid === "string" && uid !== meta(pod).uid) {
    throw new ConflictError(
      target,
      `Precondition failed: UID in precondition: ${uid}, UID in object meta: ${meta(pod).uid}`,
    );
  }
  spec.nodeName = node;
  pod.spec = spec;
  const status = (pod.status ?? {}) as Record<string, unknown>;
  const conditions = ((status.conditions as Record<string, unknown>[]) ?? []).filter(
    (c) => c.type !== "PodScheduled",
  );
  conditions.push({
    type: "PodScheduled",
    status: "True",
    lastProbeTime: null,
    lastTransitionTime: now(),
  });
  status.conditions = conditions;
  pod.status = status;
  return pod;
}
