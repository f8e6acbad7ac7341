// ControllerRevision history, shared by the StatefulSet and DaemonSet controllers: each
// distinct pod template a workload has had is one ControllerRevision whose `data` is the
// strategic merge patch that restores it — what `kubectl rollout history|undo` reads and
// applies. Pure helpers, plus `ensureRevision`, which writes the one revision a sync needs.
import type * as api from "@skiff/api/light";
import { isAlreadyExists, type ResourceClient } from "@skiff/client";
import { computeHash, stableJson } from "./controllers/deployment/util.js";
import type { ControllerRevision } from "./objects.js";
import { newControllerRef } from "./controller.js";
import { HashCollisionError } from "./errors.js";

/** The label a revision's hash is published under (Kubernetes' ControllerRevisionHashLabel). */
export const revisionHashLabel = "controller.kubernetes.io/hash";

export interface Owner {
  apiVersion: string;
  kind: string;
  metadata: { name?: string; namespace?: string; uid?: string };
}

/** The patch that puts `template` back: {"spec":{"template":{..., "$patch":"replace"}}}. */
export function revisionData(template: api.PodTemplateSpec): Record<string, unknown> {
  return { spec: { template: { ...structuredClone(template), $patch: "replace" } } };
}

/** The pod template a revision restores. */
export function templateOfRevision(cr: ControllerRevision): api.PodTemplateSpec {
  const data = (cr.data ?? {}) as { spec?: { template?: Record<string, unknown> } };
  const { $patch: _, ...template } = data.spec?.template ?? {};
  return template as api.PodTemplateSpec;
}

/** A new revision of `owner` for its template (not yet stored). */
export function newRevision(
  owner: Owner,
  template: api.PodTemplateSpec,
  revision: number,
  collisionCount = 0,
): ControllerRevision {
  const data = revisionData(template);
  const hash = computeHash(data, collisionCount);
  return {
    apiVersion: "apps/v1",
    kind: "ControllerRevision",
    metadata: {
      name: `${owner.metadata.name ?? ""}-${hash}`,
      namespace: owner.metadata.namespace,
      labels: { ...(template.metadata?.labels ?? {}), [revisionHashLabel]: hash },
      ownerReferences: [newControllerRef(owner, owner.apiVersion, owner.kind)],
    },
    data,
    revision,
  };
}

export function sameData(a: ControllerRevision, b: ControllerRevision): boolean {
  return stableJson(a.data) === stableJson(b.data);
}

export function byRevision(revisions: ControllerRevision[]): ControllerRevision[] {
  return [...revisions].sort(
    (a, b) =>
      a.revision - b.revision || (a.metadata.name ?? "").localeCompare(b.metadata.name ?? ""),
  );
}

export function nextRevisionNumber(revisions: ControllerRevision[]): number {
  return revisions.reduce((max, r) => Math.max(max, r.revision), 0) + 1;
}

/** The oldest revisions beyond `limit` that nothing live (current, update, a pod) uses. */
export function historyToDelete(
  revisions: ControllerRevision[],
  live: Set<string>,
  limit: number,
): ControllerRevision[] {
  const dead = byRevision(revisions).filter((r) => !live.has(r.metadata.name ?? ""));
  return dead.slice(0, Math.max(0, dead.length - limit));
}

/**
 * The revision for the owner's current template, stored: an equal revision is reused (and
 * renumbered to be the newest, as after a rollback), otherwise a new one is created.
 */
export async function ensureRevision(
  client: ResourceClient<ControllerRevision>,
  owner: Owner,
  template: api.PodTemplateSpec,
  revisions: ControllerRevision[],
  collisionCount: number,
): Promise<ControllerRevision> {
  const sorted = byRevision(revisions);
  const next = nextRevisionNumber(sorted);
  const candidate = newRevision(owner, template, next, collisionCount);
  const equal = sorted.filter((r) => sameData(r, candidate));
  const latest = equal[equal.length - 1];
  const ns = client.namespace(owner.metadata.namespace ?? "");
  if (latest && latest === sorted[sorted.length - 1]) return latest;
  if (latest) {
    const renumbered = structuredClone(latest);
    renumbered.revision = next;
    return ns.update(renumbered);
  }
  try {
    return await ns.create(candidate);
  } catch (e) {
    if (!isAlreadyExists(e)) throw e;
    const existing = await ns.get(candidate.metadata.name ?? "");
    if (sameData(existing, candidate)) return existing;
    throw new HashCollisionError(
      `revision ${candidate.metadata.name ?? ""} exists with other data`,
    );
  }
}
