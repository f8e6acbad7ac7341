// A Deployment's status from its ReplicaSets, as a pure function (Kubernetes' calculateStatus
// and syncRolloutStatus): the replica counts, Available, Progressing (with the progress
// deadline) and ReplicaFailure conditions, and when to look again for a deadline not yet due.
import type { Deployment, ReplicaSet } from "../../objects.js";
import { getCondition, newCondition, resolveFenceposts, setCondition } from "./util.js";

type Status = NonNullable<Deployment["status"]>;

/**
 * The status `d` should have, given its ReplicaSets and the new one (if any), at `now` (ms).
 * `requeueMs` is set when a Progressing deadline is still ahead: sync again then.
 */
export function deploymentStatus(
  d: Deployment,
  rsList: ReplicaSet[],
  newRS: ReplicaSet | undefined,
  now: number,
): { status: Status; requeueMs?: number } {
  const desired = d.spec?.replicas ?? 1;
  const sum = (f: (rs: ReplicaSet) => number) => rsList.reduce((n, rs) => n + f(rs), 0);
  const available = sum((rs) => rs.status?.availableReplicas ?? 0);
  const status: Status = {
    ...structuredClone(d.status ?? {}),
    observedGeneration: d.metadata.generation,
    replicas: sum((rs) => rs.status?.replicas ?? 0),
    updatedReplicas: newRS?.status?.replicas ?? 0,
    readyReplicas: sum((rs) => rs.status?.readyReplicas ?? 0),
    availableReplicas: available,
    unavailableReplicas: Math.max(0, desired - available),
  };
  const { maxUnavailable } = resolveFenceposts(d);
  if (available >= desired - maxUnavailable) {
    setCondition(
      status,
      newCondition(
        "Available",
        "True",
        "MinimumReplicasAvailable",
        "Deployment has minimum availability.",
      ),
    );
  } else {
    setCondition(
      status,
      newCondition(
        "Available",
        "False",
        "MinimumReplicasUnavailable",
        "Deployment does not have minimum availability.",
      ),
    );
  }

  const deadline = d.spec?.progressDeadlineSeconds;
  let requeueMs: number | undefined;
  if (deadline !== undefined && deadline !== 2147483647 && !d.spec?.paused && newRS) {
    const rsName = newRS.metadata.name ?? "";
    const current = getCondition(d, "Progressing");
    const complete =
      status.updatedReplicas === desired &&
      status.replicas === desired &&
      available >= desired &&
      (status.observedGeneration ?? 0) >= (d.metadata.generation ?? 0);
    const old = d.status ?? {};
    const progressing =
      (status.updatedReplicas ?? 0) > (old.updatedReplicas ?? 0) ||
      (status.readyReplicas ?? 0) > (old.readyReplicas ?? 0) ||
      available > (old.availableReplicas ?? 0) ||
      (status.replicas ?? 0) < (old.replicas ?? 0);
    if (complete) {
      setCondition(
        status,
        newCondition(
          "Progressing",
          "True",
          "NewReplicaSetAvailable",
          `ReplicaSet "${rsName}" has successfully progressed.`,
        ),
      );
    } else if (progressing) {
      const c = newCondition(
        "Progressing",
        "True",
        "ReplicaSetUpdated",
        `ReplicaSet "${rsName}" is progressing.`,
      );
      // The same reason again still counts as progress now: refresh lastUpdateTime.
      status.conditions = (status.conditions ?? []).filter((x) => x.type !== "Progressing");
      if (current?.status === "True") c.lastTransitionTime = current.lastTransitionTime;
      status.conditions.push(c);
    } else if (
      current &&
      current.reason !== "NewReplicaSetAvailable" &&
      current.reason !== "ProgressDeadlineExceeded"
    ) {
      const since = Date.parse(current.lastUpdateTime ?? current.lastTransitionTime ?? "");
      const left = since + deadline * 1000 - now;
      if (!Number.isNaN(since) && left <= 0) {
        setCondition(
          status,
          newCondition(
            "Progressing",
            "False",
            "ProgressDeadlineExceeded",
            `ReplicaSet "${rsName}" has timed out progressing.`,
          ),
        );
      } else if (!Number.isNaN(since)) requeueMs = left + 500;
    }
  }

  const failure = rsList
    .map((rs) => rs.status?.conditions?.find((c) => c.type === "ReplicaFailure"))
    .find(Boolean);
  if (failure)
    setCondition(
      status,
      newCondition("ReplicaFailure", "True", failure.reason ?? "", failure.message ?? ""),
    );
  else if (status.conditions)
    status.conditions = status.conditions.filter((c) => c.type !== "ReplicaFailure");
  return { status, ...(requeueMs !== undefined ? { requeueMs } : {}) };
}
