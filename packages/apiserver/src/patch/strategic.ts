// Kubernetes strategic merge patch (`application/strategic-merge-patch+json`), which
// `kubectl apply` (client-side), `set image` and `rollout restart` send.
//
// Maps merge recursively (unless tagged `patchStrategy:"replace"`) and `null` deletes a key.
// Lists tagged `patchStrategy:"merge"` merge element by element on their `patchMergeKey`
// (primitive lists union); other lists are replaced. Directives: `$patch: replace|delete|merge` (in a map, or as a list element),
// `$retainKeys`, `$setElementOrder/<list>`, `$deleteFromPrimitiveList/<list>`.

import { badPatch, unappliable } from "./errors.js";
import { clone, deepEqual, isObject, own, put, type JsonObject } from "./json.js";
import { fieldStrategy, hasMerge } from "./schema.js";

type Kind = { group: string; kind: string };

const setOrderPrefix = "$setElementOrder/";
const deleteFromPrefix = "$deleteFromPrimitiveList/";

/** Applies a strategic merge patch to `original` (never changed) and returns the result. */
export function strategicMergePatch(original: unknown, patch: unknown, kind: Kind): unknown {
  if (!isObject(patch)) throw badPatch("a strategic merge patch must be a JSON object");
  return mergeMap(isObject(original) ? clone(original) : {}, patch, [], kind);
}

// `original` is a private copy and may be changed; `patch` is the caller's and is only read.
function mergeMap(original: JsonObject, patch: JsonObject, path: string[], kind: Kind): JsonObject {
  const directive = patch.$patch;
  if (directive === "replace") {
    const { $patch: _, ...rest } = patch;
    return mergeMap({}, rest, path, kind);
  }
  if (directive === "delete") return {};
  if (directive !== undefined && directive !== "merge") {
    throw badPatch(
      `unknown $patch directive ${JSON.stringify(directive)} at ${where(path)}: expected replace, delete or merge`,
    );
  }

  if (Object.hasOwn(patch, "$retainKeys")) retainKeys(original, patch, path);

  for (const [key, values] of Object.entries(patch)) {
    if (!key.startsWith(deleteFromPrefix)) continue;
    const list = key.slice(deleteFromPrefix.length);
    if (!Array.isArray(values)) throw badPatch(`${key} at ${where(path)} must be a list`);
    const current = own(original, list);
    if (Array.isArray(current))
      put(
        original,
        list,
        current.filter((v) => !values.some((d) => deepEqual(d, v))),
      );
  }

  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith("$")) continue;
    const fieldPath = [...path, key];
    if (value === null) delete original[key];
    else if (isObject(value)) {
      // patchStrategy "replace" (PodDisruptionBudget's selector): the patch's map replaces the original's.
      const replace = fieldStrategy(kind, fieldPath)?.patchStrategy === "replace";
      const current = replace ? undefined : own(original, key);
      put(original, key, mergeMap(isObject(current) ? current : {}, value, fieldPath, kind));
    } else if (Array.isArray(value)) {
      const current = own(original, key);
      put(original, key, mergeList(Array.isArray(current) ? current : [], value, fieldPath, kind));
    } else put(original, key, value);
  }

  // `$setElementOrder` also applies to lists the patch only reorders or deletes from.
  for (const [key, order] of Object.entries(patch)) {
    if (!key.startsWith(setOrderPrefix)) continue;
    const list = key.slice(setOrderPrefix.length);
    if (!Array.isArray(order)) throw badPatch(`${key} at ${where(path)} must be a list`);
    const current = own(original, list);
    if (Array.isArray(current)) {
      put(
        original,
        list,
        applyElementOrder(current, order, fieldStrategy(kind, [...path, list])?.patchMergeKey),
      );
    }
  }
  return original;
}

// `$retainKeys: [...]` keeps only the listed keys of the original (used by Deployment
// `strategy` and volume sources so that switching type drops the old type's fields).
function retainKeys(original: JsonObject, patch: JsonObject, path: string[]): void {
  const keep = patch.$retainKeys;
  if (!Array.isArray(keep) || !keep.every((k) => typeof k === "string")) {
    throw badPatch(`$retainKeys at ${where(path)} must be a list of strings`);
  }
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith("$") || value === null) continue;
    if (!keep.includes(key)) {
      throw unappliable(
        `the patch at ${where(path)} sets ${JSON.stringify(key)}, which its $retainKeys list does not name`,
      );
    }
  }
  for (const key of Object.keys(original)) if (!keep.includes(key)) delete original[key];
}

function mergeList(original: unknown[], patch: unknown[], path: string[], kind: Kind): unknown[] {
  const isDirective = (e: unknown): boolean => isObject(e) && typeof e.$patch === "string";
  if (patch.some((e) => isObject(e) && e.$patch === "replace")) {
    return patch.filter((e) => !isDirective(e)).map((e) => cleaned(e, path, kind));
  }
  const strategy = fieldStrategy(kind, path);
  if (!hasMerge(strategy)) return patch.map((e) => cleaned(e, path, kind));

  const mergeKey = strategy?.patchMergeKey;
  if (mergeKey === undefined) {
    // A set of primitives: union, keeping the original's order.
    const result = [...original];
    for (const value of patch)
      if (!result.some((v) => deepEqual(v, value))) result.push(clone(value));
    return result;
  }

  const result = [...original];
  for (const element of patch) {
    if (!isObject(element))
      throw badPatch(
        `${where(path)}: list elements must be objects with the merge key "${mergeKey}"`,
      );
    if (element.$patch === "merge" && Object.keys(element).length === 1) continue;
    if (!Object.hasOwn(element, mergeKey)) {
      throw badPatch(
        `${where(path)}: element ${JSON.stringify(element)} does not contain declared merge key: ${mergeKey}`,
      );
    }
    const index = result.findIndex((e) => isObject(e) && deepEqual(e[mergeKey], element[mergeKey]));
    if (element.$patch === "delete") {
      if (index >= 0) result.splice(index, 1);
      continue;
    }
    const current = result[index];
    if (index >= 0 && isObject(current)) result[index] = mergeMap(current, element, path, kind);
    else result.push(mergeMap({}, element, path, kind));
  }
  return result;
}

// A patch value stored as is, with any directives inside it applied to nothing.
function cleaned(value: unknown, path: string[], kind: Kind): unknown {
  if (isObject(value)) return mergeMap({}, value, path, kind);
  if (Array.isArray(value)) return mergeList([], value, path, kind);
  return value;
}

/**
 * Orders a merged list after `$setElementOrder`: the elements it names come in its order;
 * the others (present only on the server, or left out of the order) keep their place
 * relative to them as far as the original order says, as Kubernetes does.
 */
function applyElementOrder(
  list: unknown[],
  order: unknown[],
  mergeKey: string | undefined,
): unknown[] {
  const id = (e: unknown): string =>
    JSON.stringify(mergeKey !== undefined && isObject(e) ? e[mergeKey] : e);
  const orderIds = order.map(id);
  const serverIds = list.map(id);
  const named = list
    .filter((e) => orderIds.includes(id(e)))
    .sort((a, b) => orderIds.indexOf(id(a)) - orderIds.indexOf(id(b)));
  const others = list.filter((e) => !orderIds.includes(id(e)));
  const result: unknown[] = [];
  while (named.length > 0 && others.length > 0) {
    const a = serverIds.indexOf(id(named[0]));
    const b = serverIds.indexOf(id(others[0]));
    // Take a named element first only when the server order puts it before the other one.
    result.push((a >= 0 && b >= 0 && a < b ? named : others).shift());
  }
  return [...result, ...named, ...others];
}

function where(path: string[]): string {
  return path.length ? path.join(".") : "the top level";
}
