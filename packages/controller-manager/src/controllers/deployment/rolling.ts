// The RollingUpdate strategy (Kubernetes' rolling.go): scale the new ReplicaSet up within
// maxSurge, the old ones down as far as maxUnavailable allows, and clean up once complete.
import type { Deployment, ReplicaSet } from "../../objects.js";
import type { DeploymentSync } from "./context.js";
import { syncStatus } from "./progress.js";
import { getNewReplicaSet } from "./revision.js";
import { cleanup, scaleReplicaSet } from "./sync.js";
import {
  byCreation,
  isComplete,
  newReplicasCount,
  resolveFenceposts,
  specReplicas,
} from "./util.js";

export async function rolloutRolling(
  s: DeploymentSync,
  d: Deployment,
  rsList: ReplicaSet[],
): Promise<void> {
  const { newRS, oldRSs } = await getNewReplicaSet(s, d, rsList, true);
  if (!newRS) return;
  const all = [newRS, ...oldRSs];
  const desired = d.spec?.replicas ?? 1;

  // Scale the new RS up (within maxSurge) or down to desired.
  if (specReplicas(newRS) > desired) await scaleReplicaSet(s, d, newRS, desired);
  else if (specReplicas(newRS) < desired) {
    await scaleReplicaSet(s, d, newRS, newReplicasCount(d, all, newRS));
  }
  await reconcileOldReplicaSets(s, d, newRS, oldRSs);

  if (isComplete(d, newRS, oldRSs)) await cleanup(s, d, oldRSs);
  await syncStatus(s, d, rsList, newRS);
}

/** Scales old ReplicaSets down as far as maxUnavailable allows. */
async function reconcileOldReplicaSets(
  s: DeploymentSync,
  d: Deployment,
  newRS: ReplicaSet,
  oldRSs: ReplicaSet[],
): Promise<void> {
  const oldCount = oldRSs.reduce((n, rs) => n + specReplicas(rs), 0);
  if (oldCount === 0) return;
  const desired = d.spec?.replicas ?? 1;
  const { maxUnavailable } = resolveFenceposts(d);
  const minAvailable = desired - maxUnavailable;
  const all = [newRS, ...oldRSs];
  const allCount = all.reduce((n, rs) => n + specReplicas(rs), 0);
  const newUnavailable = specReplicas(newRS) - (newRS.status?.availableReplicas ?? 0);
  let maxScaledDown = allCount - minAvailable - newUnavailable;
  if (maxScaledDown <= 0) return;

  // First, unhealthy old replicas: removing them costs no availability.
  const oldest = [...oldRSs].sort(byCreation);
  for (const rs of oldest) {
    if (maxScaledDown <= 0) break;
    const unhealthy = specReplicas(rs) - (rs.status?.availableReplicas ?? 0);
    if (unhealthy <= 0) continue;
    const down = Math.min(unhealthy, maxScaledDown);
    await scaleReplicaSet(s, d, rs, specReplicas(rs) - down);
    maxScaledDown -= down;
  }
  // Then available ones, keeping minAvailable.
  const available = all.reduce(
    (n, rs) => n + Math.min(specReplicas(rs), rs.status?.availableReplicas ?? 0),
    0,
  );
  let total = Math.min(available - minAvailable, maxScaledDown);
  for (const rs of oldest) {
    if (total <= 0) break;
    if (specReplicas(rs) === 0) continue;
    const down = Math.min(specReplicas(rs), total);
    await scaleReplicaSet(s, d, rs, specReplicas(rs) - down);
    total -= down;
  }
}
