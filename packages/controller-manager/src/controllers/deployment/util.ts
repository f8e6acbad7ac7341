// Pure Deployment helpers: the pod-template hash, surge/unavailable arithmetic, revisions,
// conditions and proportional shares. No API calls here, so they test without a cluster.
import type { Deployment, ReplicaSet } from "../../objects.js";
import { rfc3339 } from "@skiff/api/light";

export const revisionAnnotation = "deployment.kubernetes.io/revision";
export const revisionHistoryAnnotation = "deployment.kubernetes.io/revision-history";
export const desiredReplicasAnnotation = "deployment.kubernetes.io/desired-replicas";
export const maxReplicasAnnotation = "deployment.kubernetes.io/max-replicas";
export const podTemplateHashLabel = "pod-template-hash";

export type DeploymentCondition = NonNullable<
  NonNullable<Deployment["status"]>["conditions"]
>[number];

/** JSON with object keys sorted, so equal values print equally. */
export function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(",")}]`;
  if (v && typeof v === "object") {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${stableJson(x)}`).join(",")}}`;
  }
  return JSON.stringify(v);
}

/** 32-bit FNV-1a. */
function fnv32a(s: string): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(s, "utf8")) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/**
 * The pod-template-hash: FNV-32a of the template (plus the collision count, when set),
 * written in Kubernetes' "safe" alphabet (no vowels, so it never spells a word).
 */
export function computeHash(template: unknown, collisionCount?: number): string {
  const text = stableJson(template) + (collisionCount ? String(collisionCount) : "");
  const alphabet = "bcdfghjklmnpqrstvwxz2456789";
  return [...String(fnv32a(text))].map((d) => alphabet[d.charCodeAt(0) % alphabet.length]).join("");
}

/** A template without the pod-template-hash label, for comparing RS and Deployment. */
function withoutHash(template: unknown): unknown {
  const t = structuredClone(template ?? {}) as { metadata?: { labels?: Record<string, string> } };
  if (t.metadata?.labels) {
    delete t.metadata.labels[podTemplateHashLabel];
    if (Object.keys(t.metadata.labels).length === 0) delete t.metadata.labels;
  }
  return t;
}

/** Whether two pod templates are equal apart from the pod-template-hash label. */
export function equalIgnoreHash(a: unknown, b: unknown): boolean {
  return stableJson(withoutHash(a)) === stableJson(withoutHash(b));
}

/** An int-or-percent scaled against `total`: percentages round up or down as asked. */
export function scaledValue(
  v: number | string | undefined,
  total: number,
  roundUp: boolean,
): number {
  if (v === undefined) return 0;
  if (typeof v === "number") return v;
  const m = /^(\d+)%$/.exec(v);
  if (!m) return Number.parseInt(v, 10) || 0;
  const exact = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(exact) : Math.floor(exact);
}

/** maxSurge (rounded up) and maxUnavailable (rounded down); both zero becomes 0 and 1. */
export function resolveFenceposts(d: Deployment): { maxSurge: number; maxUnavailable: number } {
  if (d.spec?.strategy?.type === "Recreate") return { maxSurge: 0, maxUnavailable: 0 };
  const desired = d.spec?.replicas ?? 1;
  const ru = d.spec?.strategy?.rollingUpdate;
  const maxSurge = scaledValue(ru?.maxSurge ?? "25%", desired, true);
  let maxUnavailable = scaledValue(ru?.maxUnavailable ?? "25%", desired, false);
  if (maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;
  return { maxSurge, maxUnavailable };
}

export function revisionOf(rs: { metadata: { annotations?: Record<string, string> } }): number {
  return Number.parseInt(rs.metadata.annotations?.[revisionAnnotation] ?? "0", 10) || 0;
}

export const specReplicas = (rs: ReplicaSet): number => rs.spec?.replicas ?? 0;

/** Oldest first (by creation, then name): the order old ReplicaSets are scaled down in. */
export const byCreation = (a: ReplicaSet, b: ReplicaSet): number =>
  (a.metadata.creationTimestamp ?? "").localeCompare(b.metadata.creationTimestamp ?? "") ||
  (a.metadata.name ?? "").localeCompare(b.metadata.name ?? "");

/** The replicas the new RS may have now: up to desired, within maxSurge (NewRSNewReplicas). */
export function newReplicasCount(
  d: Deployment,
  all: ReplicaSet[],
  newRS: ReplicaSet | undefined,
): number {
  const desired = d.spec?.replicas ?? 1;
  if (d.spec?.strategy?.type === "Recreate") return desired;
  const { maxSurge } = resolveFenceposts(d);
  const current = all.reduce((n, rs) => n + specReplicas(rs), 0);
  const have = newRS ? specReplicas(newRS) : 0;
  const room = desired + maxSurge - current;
  if (room <= 0) return have;
  return have + Math.min(room, Math.max(0, desired - have));
}

/** The rollout is done: the new RS has every replica available and the old ones none. */
export function isComplete(d: Deployment, newRS: ReplicaSet, oldRSs: ReplicaSet[]): boolean {
  const desired = d.spec?.replicas ?? 1;
  return (
    specReplicas(newRS) === desired &&
    (newRS.status?.availableReplicas ?? 0) >= desired &&
    oldRSs.every((rs) => specReplicas(rs) === 0 && (rs.status?.replicas ?? 0) === 0)
  );
}

export function getCondition(d: Deployment, type: string): DeploymentCondition | undefined {
  return d.status?.conditions?.find((c) => c.type === type);
}

export function newCondition(
  type: string,
  status: "True" | "False" | "Unknown",
  reason: string,
  message: string,
): DeploymentCondition {
  const now = rfc3339();
  return { type, status, reason, message, lastUpdateTime: now, lastTransitionTime: now };
}

/**
 * Sets a condition on a status: the same status and reason change nothing; the same status
 * keeps its lastTransitionTime.
 */
export function setCondition(
  status: NonNullable<Deployment["status"]>,
  cond: DeploymentCondition,
): void {
  const conditions = status.conditions ?? [];
  const current = conditions.find((c) => c.type === cond.type);
  if (current && current.status === cond.status && current.reason === cond.reason) return;
  if (current && current.status === cond.status)
    cond.lastTransitionTime = current.lastTransitionTime;
  status.conditions = [...conditions.filter((c) => c.type !== cond.type), cond];
}

/**
 * How many replicas this RS should gain (or lose) when the deployment grows or shrinks
 * mid-rollout: its share of the change, in proportion to its size when last scaled.
 */
export function replicaSetFraction(rs: ReplicaSet, d: Deployment, maxSurge: number): number {
  const desired = d.spec?.replicas ?? 1;
  if (desired === 0) return -specReplicas(rs);
  const newSize = desired + maxSurge;
  const annotated = Number.parseInt(rs.metadata.annotations?.[maxReplicasAnnotation] ?? "", 10);
  // Without the annotation, the deployment's last observed size stands in (as Kubernetes).
  const oldSize = Number.isNaN(annotated) ? (d.status?.replicas ?? 0) : annotated;
  if (oldSize === 0) return 0;
  return Math.round((specReplicas(rs) * newSize) / oldSize) - specReplicas(rs);
}
