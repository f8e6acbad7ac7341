// Server-side apply and field ownership (`metadata.managedFields`), after Kubernetes'
// structured-merge-diff, simplified: a manager owns the fields it applied or changed; an
// apply that changes a field another manager owns is a conflict unless forced; fields an
// applier stops applying are removed unless someone else still owns them.

import { PatchError, badPatch } from "./errors.js";
import { clone, deepEqual, isObject, own, put, type JsonObject } from "./json.js";
import { fieldStrategy, isSet, keyDefaults, listMapKeys } from "./schema.js";
import {
  fieldValues,
  fromFieldsV1,
  matchesElement,
  printPath,
  serverMetadata,
  toFieldsV1,
  type Kind,
  type PathSet,
} from "./fieldset.js";

/** One `metadata.managedFields` entry, with its FieldsV1 decoded to a path set. */
interface Manager {
  manager: string;
  operation: "Apply" | "Update";
  apiVersion: string;
  time?: string;
  subresource?: string;
  fields: PathSet;
}

export interface ApplyArgs {
  /** The stored object, or undefined when the apply creates it. */
  live: object | undefined;
  /** The applied configuration (the PATCH body). */
  applied: object;
  manager: string;
  force: boolean;
  apiVersion: string;
  /** RFC 3339 time stamped on the manager's entry. */
  now: string;
  kind: Kind;
  /** Drop `status` from the applied configuration, as Kubernetes does for kinds with a status subresource. Default true. */
  ignoreStatus?: boolean;
}

/**
 * Applies `applied` for `manager` and returns the new object with `metadata.managedFields`
 * updated. Throws PatchError 409 Conflict (one cause per field) when the apply would change
 * fields other managers own and `force` is false, 400/422 for a malformed configuration.
 * The caller still checks `metadata.resourceVersion` preconditions, names and validation.
 */
export function serverSideApply(args: ApplyArgs): JsonObject {
  const { kind, manager } = args;
  if (!isObject(args.applied)) throw badPatch("an apply configuration must be a JSON object");
  const appliedMeta = args.applied.metadata;
  if (isObject(appliedMeta) && appliedMeta.managedFields != null)
    throw badPatch("metadata.managedFields must be nil");
  const applied = withoutNulls(args.applied) as JsonObject;
  if (args.ignoreStatus ?? true) delete applied.status;

  const live: JsonObject = isObject(args.live) ? clone(args.live) : {};
  const managers = readManagedFields(live);
  if (isObject(args.live) && managers.length === 0) {
    // An object nobody tracked yet: Kubernetes gives all it has to "before-first-apply".
    managers.push({
      manager: "before-first-apply",
      operation: "Update",
      apiVersion: args.apiVersion,
      fields: new Set(fieldValues(live, kind, false).keys()),
    });
  }

  const appliedSet: PathSet = new Set(fieldValues(applied, kind, true).keys());
  const me = identity({ manager, operation: "Apply", apiVersion: args.apiVersion });
  const previous = managers.find((m) => identity(m) === me);
  const others = managers.filter((m) => m !== previous);

  let merged = mergeApplied(clone(live), applied, [], kind) as JsonObject;
  const before = fieldValues(live, kind, false);
  const after = fieldValues(merged, kind, false);
  const changed = [...appliedSet].filter(
    (p) => !before.has(p) || !deepEqual(before.get(p), after.get(p)),
  );

  const conflicts = others.flatMap((m) =>
    changed.filter((p) => m.fields.has(p)).map((path) => ({ m, path })),
  );
  if (conflicts.length > 0 && !args.force) throw conflictError(conflicts);
  for (const { m, path } of conflicts) m.fields.delete(path); // force: the applier takes them over

  // Fields this manager applied last time but not now go away, unless someone else still holds them.
  const held = [appliedSet, ...others.map((m) => m.fields)];
  const dropped = [...(previous?.fields ?? [])].filter(
    (p) => !held.some((s) => s.has(p) || ownsBeneath(s, p)),
  );
  for (const p of dropped) merged = removePath(merged, JSON.parse(p) as string[], held);
  for (const m of others) for (const p of dropped) m.fields.delete(p);

  const objectChanged = !deepEqual(stripManagedFields(live), stripManagedFields(merged));
  const mine: Manager = {
    manager,
    operation: "Apply",
    apiVersion: args.apiVersion,
    time:
      objectChanged || !previous || !sameSet(previous.fields, appliedSet)
        ? args.now
        : previous.time,
    fields: appliedSet,
  };
  const entries = previous ? managers.map((m) => (m === previous ? mine : m)) : [...managers, mine];
  return writeManagedFields(merged, entries);
}

export interface UpdateArgs {
  /** The object before the write, or undefined for a create. */
  old: object | undefined;
  /** The object about to be stored. */
  updated: object;
  manager: string;
  operation: "Update";
  apiVersion: string;
  now: string;
  kind: Kind;
  /** "status" for writes through the status subresource. */
  subresource?: string;
  /**
   * `updated` is the caller's to give away (a create's freshly decoded body): the result may
   * share its parts, so it is not copied first.
   */
  owned?: boolean;
}

/**
 * Records an ordinary create, update or patch by `manager`: it now owns every field it
 * added or changed (taking them from other managers, as Kubernetes' updates always force),
 * and removed fields are dropped from every manager. Returns `updated` with new managedFields.
 */
export function trackUpdate(args: UpdateArgs): JsonObject {
  const { kind } = args;
  const updated = (args.owned ? args.updated : clone(args.updated)) as JsonObject;
  const old: JsonObject = isObject(args.old) ? args.old : {};
  let managers = readManagedFields(old);

  // A client that sends managedFields of its own replaces the stored ones; `[{}]` clears them.
  const sent = isObject(updated.metadata) ? updated.metadata.managedFields : undefined;
  const stored = isObject(old.metadata) ? old.metadata.managedFields : undefined;
  if (Array.isArray(sent) && sent.length > 0 && !deepEqual(sent, stored)) {
    managers = readManagedFields(updated);
    if (managers.length === 0) return writeManagedFields(updated, []);
  }

  const before = fieldValues(old, kind, false);
  const after = fieldValues(updated, kind, false);
  const changed = [...after.keys()].filter(
    (p) => !before.has(p) || !deepEqual(before.get(p), after.get(p)),
  );
  const removed = [...before.keys()].filter((p) => !after.has(p));
  if (changed.length === 0 && removed.length === 0) return writeManagedFields(updated, managers);

  const me = identity({
    manager: args.manager,
    operation: "Update",
    apiVersion: args.apiVersion,
    subresource: args.subresource,
  });
  for (const m of managers) for (const p of [...changed, ...removed]) m.fields.delete(p);
  const previous = managers.find((m) => identity(m) === me);
  const mine: Manager = {
    manager: args.manager,
    operation: "Update",
    apiVersion: args.apiVersion,
    time: args.now,
    ...(args.subresource ? { subresource: args.subresource } : {}),
    fields: new Set([...(previous?.fields ?? []), ...changed]),
  };
  const entries = previous ? managers.map((m) => (m === previous ? mine : m)) : [...managers, mine];
  return writeManagedFields(updated, entries);
}

// Managers are the same when name, operation and subresource match; for updates, the
// apiVersion too (Kubernetes' manager identifier).
function identity(
  m: Pick<Manager, "manager" | "operation" | "apiVersion" | "subresource">,
): string {
  return JSON.stringify([
    m.manager,
    m.operation,
    m.operation === "Update" ? m.apiVersion : "",
    m.subresource ?? "",
  ]);
}

function readManagedFields(obj: JsonObject): Manager[] {
  const list = isObject(obj.metadata) ? obj.metadata.managedFields : undefined;
  if (!Array.isArray(list)) return [];
  const managers: Manager[] = [];
  for (const e of list) {
    if (
      !isObject(e) ||
      typeof e.manager !== "string" ||
      (e.operation !== "Apply" && e.operation !== "Update")
    )
      continue;
    managers.push({
      manager: e.manager,
      operation: e.operation,
      apiVersion: typeof e.apiVersion === "string" ? e.apiVersion : "",
      ...(typeof e.time === "string" ? { time: e.time } : {}),
      ...(typeof e.subresource === "string" && e.subresource ? { subresource: e.subresource } : {}),
      fields: fromFieldsV1(e.fieldsV1),
    });
  }
  return managers;
}

function writeManagedFields(obj: JsonObject, managers: Manager[]): JsonObject {
  const entries = managers
    .filter((m) => m.fields.size > 0)
    .map((m) => ({
      manager: m.manager,
      operation: m.operation,
      apiVersion: m.apiVersion,
      ...(m.time ? { time: m.time } : {}),
      fieldsType: "FieldsV1",
      fieldsV1: toFieldsV1(m.fields),
      ...(m.subresource ? { subresource: m.subresource } : {}),
    }));
  const metadata: JsonObject = isObject(obj.metadata) ? { ...obj.metadata } : {};
  if (entries.length > 0) metadata.managedFields = entries;
  else delete metadata.managedFields;
  return { ...obj, metadata };
}

function printManager(m: Manager): string {
  let s = JSON.stringify(m.manager);
  if (m.subresource) s += ` with subresource ${JSON.stringify(m.subresource)}`;
  if (m.operation === "Update") s += ` using ${m.apiVersion}`;
  return s;
}

// Kubernetes' wording: one conflict inline, several grouped by manager.
function conflictError(conflicts: { m: Manager; path: string }[]): PatchError {
  const items = conflicts.map(({ m, path }) => ({
    who: printManager(m),
    field: printPath(JSON.parse(path) as string[]),
  }));
  const causes = items.map(({ who, field }) => ({
    type: "FieldManagerConflict",
    message: `conflict with ${who}`,
    field,
  }));
  const [first] = items;
  if (items.length === 1 && first) {
    return new PatchError(
      409,
      "Conflict",
      `Apply failed with 1 conflict: conflict with ${first.who}: ${first.field}`,
      causes,
    );
  }
  const lines: string[] = [];
  for (const who of [...new Set(items.map((i) => i.who))].sort()) {
    lines.push(
      `conflicts with ${who}:`,
      ...items.filter((i) => i.who === who).map((i) => `- ${i.field}`),
    );
  }
  return new PatchError(
    409,
    "Conflict",
    `Apply failed with ${items.length} conflicts: ${lines.join("\n")}`,
    causes,
  );
}

/** Merges the applied configuration into a copy of the live object, list by list as the schema says. */
function mergeApplied(live: unknown, applied: unknown, fields: string[], kind: Kind): unknown {
  const strategy = fieldStrategy(kind, fields);
  if (strategy?.atomic || applied === null || typeof applied !== "object") return clone(applied);
  if (isObject(applied)) {
    const result: JsonObject = isObject(live) ? { ...live } : {};
    for (const [key, value] of Object.entries(applied)) {
      if (fields.length === 1 && fields[0] === "metadata" && serverMetadata.includes(key)) continue;
      put(result, key, mergeApplied(own(result, key), value, [...fields, key], kind));
    }
    return result;
  }
  if (!Array.isArray(applied)) return clone(applied);
  const keys = listMapKeys(strategy);
  const result = Array.isArray(live) ? [...live] : [];
  if (keys) {
    for (const element of applied) {
      const index = result.findIndex((e) =>
        keys.every((k) => deepEqual(keyOf(e, k), keyOf(element, k))),
      );
      if (index >= 0 && !strategy?.itemsAtomic)
        result[index] = mergeApplied(result[index], element, fields, kind);
      else if (index >= 0) result[index] = clone(element);
      else result.push(clone(element));
    }
    return result;
  }
  if (isSet(strategy)) {
    for (const v of applied) if (!result.some((e) => deepEqual(e, v))) result.push(clone(v));
    return result;
  }
  return clone(applied);
}

function keyOf(element: unknown, key: string): unknown {
  return isObject(element) ? (element[key] ?? keyDefaults[key]) : undefined;
}

/**
 * Removes the field at `path` from `obj` (a private copy), then any map or list left empty
 * by it that nobody holds. Key fields of a list element that stays are never removed.
 */
function removePath(obj: JsonObject, path: string[], held: PathSet[]): JsonObject {
  const parents: unknown[] = [obj];
  for (const pe of path.slice(0, -1)) {
    const node = child(parents.at(-1), pe);
    if (node === undefined) return obj;
    parents.push(node);
  }
  const last = path.at(-1);
  const parentPe = path.at(-2);
  if (last === undefined) return obj;
  if (
    last.startsWith("f:") &&
    parentPe?.startsWith("k:") &&
    last.slice(2) in (JSON.parse(parentPe.slice(2)) as JsonObject)
  )
    return obj;
  for (let depth = path.length - 1; depth >= 0; depth--) {
    const container = parents[depth];
    const pe = path[depth] ?? "";
    if (!detach(container, pe)) return obj;
    const prefix = JSON.stringify(path.slice(0, depth));
    const empty = Array.isArray(container)
      ? container.length === 0
      : isObject(container) && Object.keys(container).length === 0;
    if (depth === 0 || !empty || held.some((s) => s.has(prefix))) break;
  }
  return obj;
}

function child(node: unknown, pe: string): unknown {
  if (pe.startsWith("f:")) return isObject(node) ? own(node, pe.slice(2)) : undefined;
  return Array.isArray(node) ? node.find((e) => matchesElement(e, pe)) : undefined;
}

function detach(node: unknown, pe: string): boolean {
  if (pe.startsWith("f:") && isObject(node) && Object.hasOwn(node, pe.slice(2))) {
    delete node[pe.slice(2)];
    return true;
  }
  if (Array.isArray(node)) {
    const index = node.findIndex((e) => matchesElement(e, pe));
    if (index >= 0) {
      node.splice(index, 1);
      return true;
    }
  }
  return false;
}

/** Whether `set` holds some path strictly below `path` (both in their JSON form). */
function ownsBeneath(set: PathSet, path: string): boolean {
  const prefix = path.slice(0, -1) + ",";
  for (const p of set) if (p.startsWith(prefix)) return true;
  return false;
}

function sameSet(a: PathSet, b: PathSet): boolean {
  return a.size === b.size && [...a].every((p) => b.has(p));
}

function stripManagedFields(obj: JsonObject): JsonObject {
  if (!isObject(obj.metadata)) return obj;
  const { managedFields: _, ...metadata } = obj.metadata;
  return { ...obj, metadata };
}

function withoutNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutNulls);
  if (!isObject(v)) return v;
  return Object.fromEntries(
    Object.entries(v)
      .filter(([, x]) => x !== null)
      .map(([k, x]) => [k, withoutNulls(x)]),
  );
}
