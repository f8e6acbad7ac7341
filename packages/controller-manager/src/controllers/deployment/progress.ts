// Writing a Deployment's status (Kubernetes' progress.go and syncDeploymentStatus): the
// computed status (status.ts) when it changed, a look again when a progress deadline is still
// ahead, the paused/resumed Progressing condition, and the Progressing reasons the ReplicaSet
// steps stamp (NewReplicaSetCreated, FoundNewReplicaSet).
import type { Deployment, ReplicaSet } from "../../objects.js";
import type { DeploymentSync } from "./context.js";
import { deploymentStatus } from "./status.js";
import { getCondition, newCondition, setCondition, stableJson } from "./util.js";

type Status = NonNullable<Deployment["status"]>;

/** Writes the status `d`'s ReplicaSets give it, if it changed; requeues for a deadline. */
export async function syncStatus(
  s: DeploymentSync,
  d: Deployment,
  rsList: ReplicaSet[],
  newRS: ReplicaSet | undefined,
): Promise<void> {
  const { status, requeueMs } = deploymentStatus(d, rsList, newRS, Date.now());
  if (stableJson(status) !== stableJson(d.status ?? {})) await writeStatus(s, d, status);
  if (requeueMs !== undefined) s.requeueAfter(d, requeueMs);
}

/** Sets Progressing to True with `reason` (no write when it already says so). */
export async function stampProgressing(
  s: DeploymentSync,
  d: Deployment,
  reason: string,
  message: string,
): Promise<void> {
  const status: Status = structuredClone(d.status ?? {});
  const before = JSON.stringify(status.conditions ?? []);
  setCondition(status, newCondition("Progressing", "True", reason, message));
  if (JSON.stringify(status.conditions ?? []) === before) return;
  await writeStatus(s, d, status);
}

/** Progressing Unknown with DeploymentPaused / DeploymentResumed as spec.paused changes. */
export async function checkPausedConditions(s: DeploymentSync, d: Deployment): Promise<void> {
  const cond = getCondition(d, "Progressing");
  if (cond?.reason === "ProgressDeadlineExceeded") return;
  const paused = d.spec?.paused === true;
  const status: Status = structuredClone(d.status ?? {});
  if (paused && cond?.reason !== "DeploymentPaused") {
    setCondition(
      status,
      newCondition("Progressing", "Unknown", "DeploymentPaused", "Deployment is paused"),
    );
  } else if (!paused && cond?.reason === "DeploymentPaused") {
    setCondition(
      status,
      newCondition("Progressing", "Unknown", "DeploymentResumed", "Deployment is resumed"),
    );
  } else return;
  await writeStatus(s, d, status);
}

/** Writes `status` through the status subresource; `d` takes the server's answer. */
async function writeStatus(s: DeploymentSync, d: Deployment, status: Status): Promise<void> {
  const next = structuredClone(d);
  next.status = status;
  const updated = await s.deployments.namespace(d.metadata.namespace ?? "").updateStatus(next);
  d.metadata = updated.metadata;
  d.status = updated.status;
}
