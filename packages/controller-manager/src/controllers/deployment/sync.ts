// What every Deployment sync shares (Kubernetes' sync.go): the paused / scale-only and
// status-only syncs, proportional scaling for a change of spec.replicas mid-rollout, scaling
// one ReplicaSet, and deleting old ReplicaSets beyond revisionHistoryLimit. The strategies
// (rolling.ts, recreate.ts) build on these steps.
import { isNotFound } from "@skiff/client";
import type { Deployment, ReplicaSet } from "../../objects.js";
import type { DeploymentSync } from "./context.js";
import { syncStatus } from "./progress.js";
import { getNewReplicaSet, splitReplicaSets } from "./revision.js";
import {
  byCreation,
  desiredReplicasAnnotation,
  maxReplicasAnnotation,
  replicaSetFraction,
  resolveFenceposts,
  revisionOf,
  specReplicas,
} from "./util.js";

/** Whether spec.replicas changed since the active ReplicaSets were last scaled. */
export function isScalingEvent(d: Deployment, rsList: ReplicaSet[]): boolean {
  const desired = String(d.spec?.replicas ?? 1);
  return rsList.some(
    (rs) =>
      specReplicas(rs) > 0 &&
      rs.metadata.annotations?.[desiredReplicasAnnotation] !== undefined &&
      rs.metadata.annotations[desiredReplicasAnnotation] !== desired,
  );
}

/** A paused Deployment, or a change of spec.replicas only: scale, never roll. */
export async function syncScaleOnly(
  s: DeploymentSync,
  d: Deployment,
  rsList: ReplicaSet[],
): Promise<void> {
  const { newRS, oldRSs } = await getNewReplicaSet(s, d, rsList, false);
  await scale(s, d, newRS, oldRSs);
  if (d.spec?.paused) await cleanup(s, d, oldRSs);
  await syncStatus(s, d, rsList, newRS);
}

/** A Deployment being deleted: only its status follows its ReplicaSets. */
export async function syncStatusOnly(
  s: DeploymentSync,
  d: Deployment,
  rsList: ReplicaSet[],
): Promise<void> {
  const { newRS } = splitReplicaSets(d, rsList);
  await syncStatus(s, d, rsList, newRS);
}

/** Scales for a change of spec.replicas; mid-rollout, proportionally across ReplicaSets. */
async function scale(
  s: DeploymentSync,
  d: Deployment,
  newRS: ReplicaSet | undefined,
  oldRSs: ReplicaSet[],
): Promise<void> {
  const desired = d.spec?.replicas ?? 1;
  const all = [...(newRS ? [newRS] : []), ...oldRSs];
  const active = all.filter((rs) => specReplicas(rs) > 0);
  // One active (or none: the newest) takes everything.
  if (active.length <= 1) {
    const target = active[0] ?? newRS ?? [...oldRSs].sort(byCreation).at(-1);
    if (target) await scaleReplicaSet(s, d, target, desired);
    return;
  }
  // A saturated new RS: the old ones go to zero.
  if (
    newRS &&
    specReplicas(newRS) === desired &&
    newRS.metadata.annotations?.[desiredReplicasAnnotation] === String(desired)
  ) {
    for (const rs of oldRSs) await scaleReplicaSet(s, d, rs, 0);
    return;
  }
  if (d.spec?.strategy?.type === "Recreate") return;
  const { maxSurge } = resolveFenceposts(d);
  const allowed = desired > 0 ? desired + maxSurge : 0;
  const current = all.reduce((n, rs) => n + specReplicas(rs), 0);
  const toAdd = allowed - current;
  if (toAdd === 0) {
    for (const rs of all) await scaleReplicaSet(s, d, rs, specReplicas(rs)); // annotations
    return;
  }
  // Larger first (newer on ties) when growing; also when shrinking, so rounding leftovers
  // land on the biggest.
  const sorted = [...all].sort((a, b) => specReplicas(b) - specReplicas(a) || byCreation(b, a));
  let added = 0;
  const sizes = new Map<ReplicaSet, number>();
  for (const rs of sorted) {
    let share = 0;
    if (specReplicas(rs) > 0 && added !== toAdd) {
      const fraction = replicaSetFraction(rs, d, maxSurge);
      const left = toAdd - added;
      share = toAdd > 0 ? Math.min(fraction, left) : Math.max(fraction, left);
    }
    added += share;
    sizes.set(rs, specReplicas(rs) + share);
  }
  const first = sorted[0]!;
  if (added !== toAdd) sizes.set(first, Math.max(0, sizes.get(first)! + toAdd - added));
  for (const rs of sorted) await scaleReplicaSet(s, d, rs, Math.max(0, sizes.get(rs)!));
}

/** Sets an RS's replicas and its desired/max-replicas annotations (no write if unchanged). */
export async function scaleReplicaSet(
  s: DeploymentSync,
  d: Deployment,
  rs: ReplicaSet,
  size: number,
): Promise<void> {
  const desired = String(d.spec?.replicas ?? 1);
  const max = String((d.spec?.replicas ?? 1) + resolveFenceposts(d).maxSurge);
  const ann = rs.metadata.annotations ?? {};
  if (
    specReplicas(rs) === size &&
    ann[desiredReplicasAnnotation] === desired &&
    ann[maxReplicasAnnotation] === max
  ) {
    return;
  }
  const from = specReplicas(rs);
  const next = structuredClone(rs);
  next.spec = { ...next.spec!, replicas: size };
  next.metadata.annotations = {
    ...ann,
    [desiredReplicasAnnotation]: desired,
    [maxReplicasAnnotation]: max,
  };
  const updated = await s.replicaSets.namespace(rs.metadata.namespace ?? "").update(next);
  // Keep the working copy current for the rest of this sync.
  Object.assign(rs, { metadata: updated.metadata, spec: updated.spec, status: updated.status });
  if (from !== size) {
    s.recorder.event(
      d,
      "Normal",
      "ScalingReplicaSet",
      `Scaled ${size > from ? "up" : "down"} replica set ${rs.metadata.name ?? ""} from ${from} to ${size}`,
    );
  }
}

/** Deletes the oldest scaled-down ReplicaSets beyond revisionHistoryLimit. */
export async function cleanup(
  s: DeploymentSync,
  d: Deployment,
  oldRSs: ReplicaSet[],
): Promise<void> {
  const limit = d.spec?.revisionHistoryLimit ?? 10;
  const idle = oldRSs
    .filter(
      (rs) =>
        specReplicas(rs) === 0 &&
        (rs.status?.replicas ?? 0) === 0 &&
        !rs.metadata.deletionTimestamp,
    )
    .sort((a, b) => revisionOf(a) - revisionOf(b) || byCreation(a, b));
  const rsClient = s.replicaSets.namespace(d.metadata.namespace ?? "");
  for (const rs of idle.slice(0, Math.max(0, idle.length - limit))) {
    try {
      await rsClient.delete(rs.metadata.name ?? "", {
        preconditions: { uid: rs.metadata.uid ?? "" },
      });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
}
