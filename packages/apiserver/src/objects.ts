// The apiserver's view of a stored object (any kind, as JSON) and small helpers for reading
// and writing it without a type per kind.
import { copyJson, isObject, rfc3339, type ObjectMeta } from "@skiff/api";

export { isObject };

/** An object of any kind as the registry stores and serves it. */
export type KubeObject = Record<string, unknown> & { metadata: Record<string, unknown> };

/**
 * An object typed as its @skiff/api kind (Role, Pod, ...): what a caller that knows the kind
 * asks the registry and watch cache for (`getCached<Role>(...)`), as the client's
 * `resource<T>()` does.
 */
export type ApiObject = { metadata?: ObjectMeta };

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
/** meta/v1 ObjectMeta (from @skiff/api), open to fields a newer client may send. */
export type Meta = ObjectMeta & { [key: string]: unknown };

/** Sets metadata.resourceVersion from the etcd mod revision (it is not stored). */
export function withVersion(value: Record<string, unknown>, rev: number): KubeObject {
  const obj = value as KubeObject;
  obj.metadata = { ...(obj.metadata ?? {}), resourceVersion: String(rev) };
  return obj;
}

/** A status condition as every kind words it (type, status, reason, message, transition time). */
export interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

/** Sets a condition on obj.status.conditions; the transition time changes only with status. */
export function setCondition(obj: Record<string, unknown>, c: Condition): void {
  const status: Record<string, unknown> = isObject(obj.status) ? obj.status : {};
  obj.status = status;
  const list = Array.isArray(status.conditions) ? (status.conditions as Condition[]) : [];
  const old = list.find((x) => x.type === c.type);
  const next = {
    ...c,
    lastTransitionTime:
      old && old.status === c.status && old.lastTransitionTime ? old.lastTransitionTime : now(),
  };
  status.conditions = old ? list.map((x) => (x.type === c.type ? next : x)) : [...list, next];
}

export function meta(obj: KubeObject): Meta {
  return obj.metadata as Meta;
}

/** Reads a nested field (`get(obj, "spec", "nodeName")`), or undefined. */
export function get(obj: unknown, ...path: string[]): unknown {
  let cur: unknown = obj;
  for (const p of path) {
    if (!isObject(cur)) return undefined;
    cur = cur[p];
  }
  return cur;
}

/** Kubernetes timestamps: RFC 3339 with second precision. */
export function now(): string {
  return rfc3339();
}

/** Deep equality of JSON values. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== "object") return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => jsonEqual(x, b[i]));
  }
  if (Array.isArray(b)) return false;
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const ak = Object.keys(ao).filter((k) => ao[k] !== undefined);
  const bk = Object.keys(bo).filter((k) => bo[k] !== undefined);
  if (ak.length !== bk.length) return false;
  return ak.every((k) => jsonEqual(ao[k], bo[k]));
}

export function clone<T>(v: T): T {
  return copyJson(v);
}

/** A copy without metadata.resourceVersion, as objects are written to etcd. */
export function stripVersion(obj: KubeObject): KubeObject {
  // Copied without it rather than deleted from a copy: a deleted property (the client's
  // resourceVersion sits mid-object) makes the metadata a slow dictionary object.
  const { resourceVersion: _, ...metadata } = obj.metadata;
  return { ...obj, metadata };
}

/** The five characters generateName appends, from Kubernetes' alphabet (no vowels). */
export function randomSuffix(): string {
  const alphabet = "bcdfghjklmnpqrstvwxz2456789";
  let s = "";
  for (let i = 0; i < 5; i++) s += alphabet[Math.floor(Math.random() * alphabet.length)];
  return s;
}
