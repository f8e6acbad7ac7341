// A Deployment's revisions: which ReplicaSet is the new one (the one whose template is the
// Deployment's), creating it as the next revision, and moving an old one back to the newest
// revision when its template returns — the controller's half of a rollback (`kubectl rollout
// undo` writes the old template into the Deployment; the deprecated spec.rollbackTo of
// Kubernetes' rollback.go is not served). Also the Deployment's own revision annotation.
import { controllerRef, newControllerRef } from "../../controller.js";
import { isAlreadyExists } from "@skiff/client";
import { HashCollisionError } from "../../errors.js";
import type { Deployment, ReplicaSet } from "../../objects.js";
import type { DeploymentSync } from "./context.js";
import { stampProgressing } from "./progress.js";
import {
  byCreation,
  computeHash,
  desiredReplicasAnnotation,
  equalIgnoreHash,
  getCondition,
  maxReplicasAnnotation,
  newReplicasCount,
  podTemplateHashLabel,
  resolveFenceposts,
  revisionAnnotation,
  revisionHistoryAnnotation,
  revisionOf,
  specReplicas,
} from "./util.js";

/** Splits into the RS whose template matches the deployment's (if any) and the rest. */
export function splitReplicaSets(
  d: Deployment,
  rsList: ReplicaSet[],
): { newRS?: ReplicaSet; oldRSs: ReplicaSet[] } {
  // The oldest match wins when several exist (as Kubernetes' FindNewReplicaSet).
  const newRS = [...rsList]
    .sort(byCreation)
    .find((rs) => equalIgnoreHash(rs.spec?.template, d.spec?.template));
  return { newRS, oldRSs: rsList.filter((rs) => rs !== newRS) };
}

/**
 * An RS's annotations at `revision`: a lower revision it had goes to the revision history
 * (so `kubectl rollout history` still lists it after an undo).
 */
export function withRevision(rs: ReplicaSet, revision: number): Record<string, string> {
  const annotations = rs.metadata.annotations ?? {};
  const current = revisionOf(rs);
  if (current >= revision) return annotations;
  const next: Record<string, string> = { ...annotations, [revisionAnnotation]: String(revision) };
  if (current > 0) {
    const history = annotations[revisionHistoryAnnotation];
    next[revisionHistoryAnnotation] = history ? `${history},${current}` : String(current);
  }
  return next;
}

/**
 * Finds the new RS (bumping its revision when an older template came back, as after
 * `kubectl rollout undo`) or, if `create`, creates it. Also stamps the deployment's own
 * revision annotation.
 */
export async function getNewReplicaSet(
  s: DeploymentSync,
  d: Deployment,
  rsList: ReplicaSet[],
  create: boolean,
): Promise<{ newRS?: ReplicaSet; oldRSs: ReplicaSet[] }> {
  const { newRS: existing, oldRSs } = splitReplicaSets(d, rsList);
  const revision = Math.max(0, ...oldRSs.map(revisionOf)) + 1;
  let newRS = existing;
  if (existing) {
    const rsNeedsUpdate =
      revisionOf(existing) < revision ||
      (existing.spec?.minReadySeconds ?? 0) !== (d.spec?.minReadySeconds ?? 0);
    if (rsNeedsUpdate) {
      const next = structuredClone(existing);
      next.metadata.annotations = withRevision(next, revision);
      next.spec = { ...next.spec!, minReadySeconds: d.spec?.minReadySeconds };
      newRS = await s.replicaSets.namespace(d.metadata.namespace ?? "").update(next);
      rsList.splice(rsList.indexOf(existing), 1, newRS);
    }
    if (!getCondition(d, "Progressing") && d.spec?.progressDeadlineSeconds !== undefined) {
      await stampProgressing(
        s,
        d,
        "FoundNewReplicaSet",
        `Found new replica set "${existing.metadata.name ?? ""}"`,
      );
    }
  } else if (create) {
    newRS = await createNewReplicaSet(s, d, rsList, revision);
    if (!newRS) return { oldRSs };
    rsList.push(newRS);
  }
  if (newRS) await setDeploymentRevision(s, d, String(revisionOf(newRS)));
  return { newRS, oldRSs };
}

/** The new RS for `d`'s template at `revision`: named and labelled by the template's hash. */
export function newReplicaSet(d: Deployment, rsList: ReplicaSet[], revision: number): ReplicaSet {
  const template = structuredClone(d.spec!.template);
  const hash = computeHash(template, d.status?.collisionCount);
  template.metadata = {
    ...template.metadata,
    labels: { ...(template.metadata?.labels ?? {}), [podTemplateHashLabel]: hash },
  };
  const selector = structuredClone(d.spec!.selector);
  selector.matchLabels = { ...(selector.matchLabels ?? {}), [podTemplateHashLabel]: hash };
  const { maxSurge } = resolveFenceposts(d);
  const desired = d.spec?.replicas ?? 1;
  const annotations: Record<string, string> = {};
  for (const [k, v] of Object.entries(d.metadata.annotations ?? {})) {
    if (
      !k.startsWith("deployment.kubernetes.io/") &&
      k !== "kubectl.kubernetes.io/last-applied-configuration"
    ) {
      annotations[k] = v;
    }
  }
  annotations[revisionAnnotation] = String(revision);
  annotations[desiredReplicasAnnotation] = String(desired);
  annotations[maxReplicasAnnotation] = String(desired + maxSurge);
  return {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: {
      name: `${d.metadata.name ?? ""}-${hash}`,
      namespace: d.metadata.namespace ?? "",
      labels: template.metadata.labels,
      annotations,
      ownerReferences: [newControllerRef(d, "apps/v1", "Deployment")],
    },
    spec: {
      replicas: newReplicasCount(d, rsList, undefined),
      minReadySeconds: d.spec?.minReadySeconds,
      selector,
      template,
    },
  };
}

async function createNewReplicaSet(
  s: DeploymentSync,
  d: Deployment,
  rsList: ReplicaSet[],
  revision: number,
): Promise<ReplicaSet | undefined> {
  const ns = d.metadata.namespace ?? "";
  const rs = newReplicaSet(d, rsList, revision);
  try {
    const created = await s.replicaSets.namespace(ns).create(rs);
    s.recorder.event(
      d,
      "Normal",
      "ScalingReplicaSet",
      `Scaled up replica set ${created.metadata.name ?? ""} from 0 to ${specReplicas(created)}`,
    );
    await stampProgressing(
      s,
      d,
      "NewReplicaSetCreated",
      `Created new replica set "${created.metadata.name ?? ""}"`,
    );
    return created;
  } catch (e) {
    if (!isAlreadyExists(e)) throw e;
    // Ours already (a stale cache)? Then the next sync finds it. Otherwise a hash
    // collision: count it, so the next hash differs.
    const other = await s.replicaSets.namespace(ns).get(rs.metadata.name ?? "");
    if (
      controllerRef(other)?.uid === d.metadata.uid &&
      equalIgnoreHash(other.spec?.template, d.spec?.template)
    ) {
      return other;
    }
    const next = structuredClone(d);
    next.status = { ...next.status, collisionCount: (d.status?.collisionCount ?? 0) + 1 };
    await s.deployments.namespace(ns).updateStatus(next);
    throw new HashCollisionError(
      `hash collision for ReplicaSet ${rs.metadata.name ?? ""}; retrying`,
      {
        cause: e,
      },
    );
  }
}

/** Stamps the Deployment's revision annotation (the new RS's revision). */
async function setDeploymentRevision(
  s: DeploymentSync,
  d: Deployment,
  revision: string,
): Promise<void> {
  if (d.metadata.annotations?.[revisionAnnotation] === revision) return;
  const updated = await s.deployments.namespace(d.metadata.namespace ?? "").patch(
    d.metadata.name ?? "",
    {
      metadata: {
        resourceVersion: d.metadata.resourceVersion,
        annotations: { [revisionAnnotation]: revision },
      },
    },
    "merge",
  );
  d.metadata = updated.metadata;
}
