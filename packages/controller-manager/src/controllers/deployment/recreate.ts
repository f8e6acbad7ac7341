// The Recreate strategy (Kubernetes' recreate.go): scale every old ReplicaSet to zero, wait
// until none of their pods is left running, then create and scale up the new one.
import { controllerRef } from "../../controller.js";
import type { Deployment, ReplicaSet } from "../../objects.js";
import type { DeploymentSync } from "./context.js";
import { syncStatus } from "./progress.js";
import { getNewReplicaSet } from "./revision.js";
import { cleanup, scaleReplicaSet } from "./sync.js";
import { isComplete, specReplicas } from "./util.js";

export async function rolloutRecreate(
  s: DeploymentSync,
  d: Deployment,
  rsList: ReplicaSet[],
): Promise<void> {
  const { newRS, oldRSs } = await getNewReplicaSet(s, d, rsList, false);
  const activeOld = oldRSs.filter((rs) => specReplicas(rs) > 0);
  if (activeOld.length > 0) {
    for (const rs of activeOld) await scaleReplicaSet(s, d, rs, 0);
    return syncStatus(s, d, rsList, newRS);
  }
  // Wait until no pod of an old ReplicaSet is left running (a pod's deletion wakes the
  // Deployment: see the controller's pod handler).
  const oldUids = new Set(oldRSs.map((rs) => rs.metadata.uid));
  const oldPodsLeft = s.pods
    .namespace(d.metadata.namespace ?? "")
    .list()
    .some((p) => {
      const phase = p.status?.phase;
      return oldUids.has(controllerRef(p)?.uid) && phase !== "Succeeded" && phase !== "Failed";
    });
  if (oldPodsLeft) return syncStatus(s, d, rsList, newRS);

  const created = newRS ?? (await getNewReplicaSet(s, d, rsList, true)).newRS;
  if (!created) return;
  await scaleReplicaSet(s, d, created, d.spec?.replicas ?? 1);
  if (isComplete(d, created, oldRSs)) await cleanup(s, d, oldRSs);
  await syncStatus(s, d, rsList, created);
}
