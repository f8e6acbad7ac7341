// Field sets for server-side apply: which fields of an object exist, in the path notation of
// structured-merge-diff, and their FieldsV1 encoding as stored in `metadata.managedFields`.
//
// A path is a list of elements: `f:<field>` (a map or struct field), `k:<json of key
// fields>` (an element of an associative list), `v:<json>` (an element of a set). A set of
// paths is kept as a Set of `JSON.stringify(path)`, so that union and difference are Set ops.

import type { CustomResourceDetail } from "@skiff/api";
import { PatchError } from "./errors.js";
import { isObject, own, put, type JsonObject } from "./json.js";
import { fieldStrategy, isSet, keyDefaults, listMapKeys } from "./schema.js";

export type Kind = { group: string; kind: string; custom?: CustomResourceDetail };
export type PathSet = Set<string>;

/** Metadata the server sets: an apply never changes it and nobody owns it. */
export const serverMetadata = [
  "uid",
  "resourceVersion",
  "generation",
  "creationTimestamp",
  "selfLink",
  "managedFields",
  "deletionTimestamp",
  "deletionGracePeriodSeconds",
];

/** Fields Kubernetes never tracks ownership of: identity and server-set metadata. */
const untracked = new Set(
  [
    ["f:apiVersion"],
    ["f:kind"],
    ...["name", "namespace", ...serverMetadata].map((f) => ["f:metadata", `f:${f}`]),
  ].map((p) => JSON.stringify(p)),
);

/**
 * Every tracked field of `obj`, mapped to its value: leaves (scalars, atomic lists and
 * maps, empty maps, atomic list elements) carry the value, other associative list elements
 * and set elements carry `true`.
 * With `strict`, an associative list element without its keys, or two with the same keys,
 * is refused (422): that is the applied configuration's fault.
 */
export function fieldValues(obj: JsonObject, kind: Kind, strict: boolean): Map<string, unknown> {
  const out = new Map<string, unknown>();
  walkMap(obj, [], [], kind, strict, out);
  for (const path of untracked) out.delete(path);
  out.delete(JSON.stringify(["f:metadata"])); // an empty metadata is a leaf; ignore it too
  return out;
}

function walk(
  value: unknown,
  fields: string[],
  path: string[],
  kind: Kind,
  strict: boolean,
  out: Map<string, unknown>,
): void {
  const strategy = fieldStrategy(kind, fields);
  if (strategy?.atomic || value === null || typeof value !== "object") {
    out.set(JSON.stringify(path), value);
  } else if (Array.isArray(value)) {
    const keys = listMapKeys(strategy);
    if (keys) {
      for (const element of value) {
        const elementPath = [...path, keyElement(element, keys, path, strict)];
        if (strict && out.has(JSON.stringify(elementPath))) {
          throw new PatchError(
            422,
            "Invalid",
            `${printPath(path)}: duplicate entries for key ${printElement(elementPath.at(-1) ?? "")}`,
          );
        }
        // An element of atomic struct type (an ownerReference) is owned as one value.
        if (strategy?.itemsAtomic) out.set(JSON.stringify(elementPath), element);
        else {
          out.set(JSON.stringify(elementPath), true);
          if (isObject(element)) walkMap(element, fields, elementPath, kind, strict, out);
        }
      }
    } else if (isSet(strategy) && value.every((v) => v === null || typeof v !== "object")) {
      for (const element of value)
        out.set(JSON.stringify([...path, `v:${JSON.stringify(element)}`]), true);
    } else {
      out.set(JSON.stringify(path), value);
    }
  } else {
    walkMap(value as JsonObject, fields, path, kind, strict, out);
  }
}

function walkMap(
  obj: JsonObject,
  fields: string[],
  path: string[],
  kind: Kind,
  strict: boolean,
  out: Map<string, unknown>,
): void {
  const entries = Object.entries(obj);
  if (entries.length === 0 && path.length > 0) out.set(JSON.stringify(path), obj);
  for (const [key, value] of entries)
    walk(value, [...fields, key], [...path, `f:${key}`], kind, strict, out);
}

/** `k:{"name":"nginx"}`: the key fields of a list element, sorted by name, defaults filled in. */
function keyElement(element: unknown, keys: string[], path: string[], strict: boolean): string {
  const id: JsonObject = {};
  for (const key of [...keys].sort()) {
    const value = isObject(element) ? (element[key] ?? keyDefaults[key]) : undefined;
    if (value === undefined) {
      if (strict)
        throw new PatchError(
          422,
          "Invalid",
          `${printPath(path)}: an element is missing its key field "${key}"`,
        );
      continue;
    }
    id[key] = value;
  }
  return `k:${JSON.stringify(id)}`;
}

/** Whether `element` (an object or primitive) is the one a `k:` or `v:` path element names. */
export function matchesElement(element: unknown, pe: string): boolean {
  if (pe.startsWith("v:")) return JSON.stringify(element) === pe.slice(2);
  if (!pe.startsWith("k:") || !isObject(element)) return false;
  const id = JSON.parse(pe.slice(2)) as JsonObject;
  return Object.entries(id).every(
    ([k, v]) => JSON.stringify(element[k] ?? keyDefaults[k]) === JSON.stringify(v),
  );
}

/** Encodes a path set as FieldsV1: nested `{"f:spec":{"f:replicas":{}}}`, "." marking a node that is itself a member. */
export function toFieldsV1(set: PathSet): JsonObject {
  const root: JsonObject = {};
  const paths = [...set].map((p) => JSON.parse(p) as string[]);
  for (const path of paths) {
    let node = root;
    for (const pe of path) {
      const existing = own(node, pe);
      const child = isObject(existing) ? existing : {};
      put(node, pe, child);
      node = child;
    }
    node["."] = {};
  }
  return sortAndTrim(root);
}

// Leaves come out as `{}` and members with children as `{".":{}, ...}`, keys sorted.
function sortAndTrim(node: JsonObject): JsonObject {
  const keys = Object.keys(node)
    .filter((k) => k !== ".")
    .sort();
  if (keys.length === 0) return {};
  const out: JsonObject = Object.hasOwn(node, ".") ? { ".": {} } : {};
  for (const k of keys) put(out, k, sortAndTrim(node[k] as JsonObject));
  return out;
}

/** Decodes FieldsV1 into a path set; anything that is not a nested object is ignored. */
export function fromFieldsV1(fields: unknown): PathSet {
  const set: PathSet = new Set();
  const visit = (node: JsonObject, path: string[]): void => {
    const keys = Object.keys(node);
    if (keys.length === 0 && path.length > 0) set.add(JSON.stringify(path));
    for (const key of keys) {
      if (key === ".") set.add(JSON.stringify(path));
      else if (isObject(node[key])) visit(node[key] as JsonObject, [...path, key]);
    }
  };
  if (isObject(fields)) visit(fields, []);
  return set;
}

/** `.spec.template.spec.containers[name="nginx"].image`, as Kubernetes prints field paths. */
export function printPath(path: string[]): string {
  return path.map((pe) => (pe.startsWith("f:") ? `.${pe.slice(2)}` : printElement(pe))).join("");
}

function printElement(pe: string): string {
  if (pe.startsWith("v:")) return `[=${pe.slice(2)}]`;
  if (pe.startsWith("k:")) {
    const id = JSON.parse(pe.slice(2)) as JsonObject;
    return `[${Object.entries(id)
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join(",")}]`;
  }
  return pe;
}
