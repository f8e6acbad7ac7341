// The StatefulSet controller's decisions, as pure functions: the pods and claims for an
// ordinal, and (set, its pods, the current and update revisions) → which ordinals to
// create, which pods to delete, and the status — Kubernetes' stateful_set_control.
import type * as api from "@skiff/api/light";
import {
  isPodAvailable,
  isPodRunningAndReady,
  type PersistentVolumeClaim,
  type Pod,
  type StatefulSet,
} from "../../objects.js";

export const podNameLabel = "statefulset.kubernetes.io/pod-name";
export const podIndexLabel = "apps.kubernetes.io/pod-index";
export const revisionLabel = "controller-revision-hash";

/** The ordinal in a pod's name `<set>-<ordinal>`, or undefined for a name of another form. */
export function ordinalOf(setName: string, pod: Pod): number | undefined {
  const name = pod.metadata.name ?? "";
  const m = /^(.*)-([0-9]+)$/.exec(name);
  if (!m || m[1] !== setName) return undefined;
  return Number(m[2]);
}

export function podName(sts: StatefulSet, ordinal: number): string {
  return `${sts.metadata.name ?? ""}-${ordinal}`;
}

/** `<claim template>-<set>-<ordinal>`: the claim one ordinal keeps across pod replacements. */
export function claimName(templateName: string, sts: StatefulSet, ordinal: number): string {
  return `${templateName}-${podName(sts, ordinal)}`;
}

function ownerRef(sts: StatefulSet, controller: boolean) {
  return {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    name: sts.metadata.name ?? "",
    uid: sts.metadata.uid ?? "",
    ...(controller ? { controller: true } : {}),
    blockOwnerDeletion: true,
  };
}

/** The claims the pod of `ordinal` mounts, built from the set's volumeClaimTemplates. */
export function newClaims(sts: StatefulSet, ordinal: number): PersistentVolumeClaim[] {
  const deleteWithSet = sts.spec?.persistentVolumeClaimRetentionPolicy?.whenDeleted === "Delete";
  return (sts.spec?.volumeClaimTemplates ?? []).map((t) => ({
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: {
      name: claimName(t.metadata?.name ?? "", sts, ordinal),
      namespace: sts.metadata.namespace,
      labels: {
        ...(t.metadata?.labels ?? {}),
        ...(sts.spec?.selector.matchLabels ?? {}),
      },
      ...(t.metadata?.annotations ? { annotations: { ...t.metadata.annotations } } : {}),
      ...(deleteWithSet ? { ownerReferences: [ownerRef(sts, false)] } : {}),
    },
    spec: structuredClone(t.spec),
  }));
}

/**
 * The pod of `ordinal` made from `template` (the template of revision `revisionName`): a
 * stable name, hostname and subdomain for the headless Service's DNS, and its claims
 * mounted in place of the template's volumes of the same name.
 */
export function newStatefulPod(
  sts: StatefulSet,
  template: api.PodTemplateSpec,
  revisionName: string,
  ordinal: number,
): Pod {
  const name = podName(sts, ordinal);
  const spec = structuredClone(template.spec ?? { containers: [] });
  spec.hostname = name;
  if (sts.spec?.serviceName) spec.subdomain = sts.spec.serviceName;
  const claims = new Map(
    (sts.spec?.volumeClaimTemplates ?? []).map((t) => [
      t.metadata?.name ?? "",
      claimName(t.metadata?.name ?? "", sts, ordinal),
    ]),
  );
  const volumes = (spec.volumes ?? []).filter((v) => !claims.has(v.name));
  for (const [volume, claim] of claims) {
    volumes.push({ name: volume, persistentVolumeClaim: { claimName: claim } });
  }
  if (volumes.length > 0) spec.volumes = volumes;
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: sts.metadata.namespace,
      labels: {
        ...(template.metadata?.labels ?? {}),
        [podNameLabel]: name,
        [podIndexLabel]: String(ordinal),
        [revisionLabel]: revisionName,
      },
      ...(template.metadata?.annotations
        ? { annotations: { ...template.metadata.annotations } }
        : {}),
      ownerReferences: [ownerRef(sts, true)],
    },
    spec,
  } as Pod;
}

export interface StatefulSetPlan {
  /** Ordinals whose pod (and claims) to create, each from the revision named. */
  create: { ordinal: number; revision: "current" | "update" }[];
  /** Pods to delete: failed ones, ones beyond the replica count, ones to update. */
  delete: Pod[];
  /** Condemned pods (scale down) whose claims go with them (whenScaled: Delete). */
  condemned: Pod[];
  status: api.StatefulSetStatus;
}

const isTerminating = (p: Pod) => p.metadata.deletionTimestamp !== undefined;
const isFinished = (p: Pod) => p.status?.phase === "Failed" || p.status?.phase === "Succeeded";

/** maxUnavailable as a number of pods: percentages of replicas round up; at least 1. */
export function maxUnavailable(sts: StatefulSet): number {
  const v = sts.spec?.updateStrategy?.rollingUpdate?.maxUnavailable ?? 1;
  const replicas = sts.spec?.replicas ?? 1;
  const n = typeof v === "number" ? v : Math.ceil((Number(v.replace(/%$/, "")) * replicas) / 100);
  return Number.isFinite(n) && n >= 1 ? n : 1;
}

export function planStatefulSet(input: {
  sts: StatefulSet;
  pods: Pod[];
  currentRevision: string;
  updateRevision: string;
  now: number;
}): StatefulSetPlan {
  const { sts, pods, currentRevision, updateRevision, now } = input;
  const setName = sts.metadata.name ?? "";
  const replicas = sts.spec?.replicas ?? 1;
  const start = sts.spec?.ordinals?.start ?? 0;
  const minReady = sts.spec?.minReadySeconds ?? 0;
  const monotonic = sts.spec?.podManagementPolicy !== "Parallel";
  const rolling = (sts.spec?.updateStrategy?.type ?? "RollingUpdate") === "RollingUpdate";
  const partition = rolling ? (sts.spec?.updateStrategy?.rollingUpdate?.partition ?? 0) : 0;
  const revisionOf = (p: Pod) => p.metadata.labels?.[revisionLabel];
  const healthy = (p: Pod) =>
    !isTerminating(p) && isPodRunningAndReady(p) && isPodAvailable(p, minReady, now);

  const slots: (Pod | undefined)[] = Array.from({ length: replicas }, () => undefined);
  const condemned: Pod[] = [];
  for (const pod of pods) {
    const ordinal = ordinalOf(setName, pod);
    if (ordinal === undefined) continue;
    if (ordinal >= start && ordinal < start + replicas) slots[ordinal - start] = pod;
    else condemned.push(pod);
  }
  condemned.sort((a, b) => ordinalOf(setName, b)! - ordinalOf(setName, a)!);

  const status = statusOf(sts, pods, currentRevision, updateRevision, now);
  const plan: StatefulSetPlan = { create: [], delete: [], condemned: [], status };

  // 1. Every ordinal gets its pod, in order; OrderedReady waits for each to be healthy.
  for (let i = 0; i < replicas; i++) {
    const pod = slots[i];
    if (!pod) {
      // Below the partition, a replacement keeps the current revision.
      plan.create.push({
        ordinal: start + i,
        revision: rolling && i < partition ? "current" : "update",
      });
      if (monotonic) return plan;
      continue;
    }
    if (isFinished(pod) && !isTerminating(pod)) {
      plan.delete.push(pod); // recreated on a later sync, under the same name
      if (monotonic) return plan;
      continue;
    }
    if (monotonic && !healthy(pod)) return plan;
  }

  // 2. Scale down from the highest ordinal; OrderedReady one at a time, all else healthy.
  const firstUnhealthy = [...slots, ...condemned].find((p) => p !== undefined && !healthy(p));
  for (const pod of condemned) {
    if (isTerminating(pod)) {
      if (monotonic) return plan;
      continue;
    }
    if (monotonic && firstUnhealthy !== undefined && firstUnhealthy !== pod) return plan;
    plan.delete.push(pod);
    plan.condemned.push(pod);
    if (monotonic) return plan;
  }

  // 3. RollingUpdate: replace pods of other revisions from the highest ordinal down to the
  // partition, with at most maxUnavailable pods unavailable at a time. OnDelete waits for
  // the user to delete pods.
  if (!rolling) return plan;
  let unavailable = slots.filter((p) => p === undefined || !healthy(p)).length;
  unavailable += plan.delete.filter((p) => slots.includes(p) && healthy(p)).length;
  const budget = maxUnavailable(sts);
  for (let i = replicas - 1; i >= partition; i--) {
    const pod = slots[i];
    if (!pod || isTerminating(pod) || plan.delete.includes(pod)) continue;
    if (revisionOf(pod) === updateRevision) continue;
    if (unavailable >= budget) break;
    plan.delete.push(pod);
    if (healthy(pod)) unavailable++;
  }
  return plan;
}

/** Status from the pods as observed (Kubernetes' computeReplicaStatus + completeRollingUpdate). */
export function statusOf(
  sts: StatefulSet,
  pods: Pod[],
  currentRevision: string,
  updateRevision: string,
  now: number,
): api.StatefulSetStatus {
  const minReady = sts.spec?.minReadySeconds ?? 0;
  let replicas = 0;
  let ready = 0;
  let available = 0;
  let current = 0;
  let updated = 0;
  for (const pod of pods) {
    if (ordinalOf(sts.metadata.name ?? "", pod) === undefined) continue;
    replicas++;
    if (isPodRunningAndReady(pod)) {
      ready++;
      if (isPodAvailable(pod, minReady, now)) available++;
    }
    if (!isTerminating(pod)) {
      const rev = pod.metadata.labels?.[revisionLabel];
      if (rev === currentRevision) current++;
      if (rev === updateRevision) updated++;
    }
  }
  const status: api.StatefulSetStatus = {
    ...structuredClone(sts.status ?? { replicas: 0 }),
    observedGeneration: sts.metadata.generation ?? 1,
    replicas,
    readyReplicas: ready,
    availableReplicas: available,
    currentReplicas: current,
    updatedReplicas: updated,
    currentRevision,
    updateRevision,
  };
  const rolling = (sts.spec?.updateStrategy?.type ?? "RollingUpdate") === "RollingUpdate";
  if (rolling && updated === replicas && ready === replicas) {
    status.currentReplicas = updated;
    status.currentRevision = updateRevision;
  }
  return status;
}
