// Which lists merge by key, which are sets, which values are atomic: read from the kind's
// schema, the one declaration of these facts.
//
// Built-in kinds carry Kubernetes' markers in their @skiff/api schemas (the same ones
// OpenAPI publishes and kubectl computes its patches from, checked against Kubernetes 1.31
// by packages/api/test/k8s-fields.test.ts): `x-kubernetes-patch-strategy` and
// `-patch-merge-key` (strategic merge patch) and `x-kubernetes-list-type`, `-list-map-keys`
// and `-map-type` (server-side apply). A custom resource's come from its CRD's schema. A
// field without markers behaves as an untagged Kubernetes field: maps and structs merge key
// by key, lists are replaced whole (atomic). Paths are field names with list positions left
// out, e.g. ["spec", "template", "spec", "containers", "env"].

import { ObjectMetaSchema, schemaFor, type CustomResourceDetail } from "@skiff/api";

export interface FieldStrategy {
  /** Strategic merge patch: "merge" (by key, or union for primitive lists), "retainKeys", "merge,retainKeys", "replace". */
  patchStrategy?: string;
  /** Strategic merge patch: the element field that identifies list elements. */
  patchMergeKey?: string;
  /** Server-side apply: how a list merges. */
  listType?: "atomic" | "set" | "map";
  /** Server-side apply: the fields that identify the elements of a `map` list. */
  listMapKeys?: string[];
  /** Server-side apply sees the value as one unit (`mapType=atomic`, `structType=atomic`). */
  atomic?: boolean;
  /** Server-side apply sees each element of the list as one unit (a list of atomic structs). */
  itemsAtomic?: boolean;
}

/** The part of a JSON schema (TypeBox's or a CRD's) the walk reads. */
interface SchemaNode {
  type?: unknown;
  items?: unknown;
  properties?: Record<string, SchemaNode>;
  additionalProperties?: unknown;
  patternProperties?: Record<string, SchemaNode>;
  [marker: `x-kubernetes-${string}`]: unknown;
}

type Kind = { group: string; kind: string; custom?: CustomResourceDetail };

/** The strategy of the field at `path` (field names only) in objects of `kind`, if it has one. */
export function fieldStrategy(kind: Kind, path: readonly string[]): FieldStrategy | undefined {
  // A CRD's schema leaves metadata out: it is ObjectMeta as for every kind.
  const root: SchemaNode | undefined =
    path[0] === "metadata"
      ? { properties: { metadata: ObjectMetaSchema as SchemaNode } }
      : kind.custom
        ? (kind.custom.schema as SchemaNode | undefined)
        : (schemaFor(kind) as SchemaNode);
  const node = path.reduce<SchemaNode | undefined>((s, name) => s && child(s, name), root);
  return node && strategyOf(node);
}

/** The schema of field `name` of `s`'s values (of its elements, if `s` is a list). */
function child(s: SchemaNode, name: string): SchemaNode | undefined {
  const value = s.type === "array" ? asNode(s.items) : s;
  // Paths come from request bodies: look up own entries only.
  const props = value?.properties;
  if (props && Object.hasOwn(props, name)) return props[name];
  const additional = asNode(value?.additionalProperties);
  if (additional) return additional;
  return value?.patternProperties ? Object.values(value.patternProperties)[0] : undefined;
}

function asNode(v: unknown): SchemaNode | undefined {
  return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as SchemaNode) : undefined;
}

function strategyOf(s: SchemaNode): FieldStrategy | undefined {
  const out: FieldStrategy = {};
  const strategy = s["x-kubernetes-patch-strategy"];
  const mergeKey = s["x-kubernetes-patch-merge-key"];
  if (typeof strategy === "string") out.patchStrategy = strategy;
  if (typeof mergeKey === "string") out.patchMergeKey = mergeKey;
  if (s.type === "array") {
    const listType = s["x-kubernetes-list-type"];
    const keys = s["x-kubernetes-list-map-keys"];
    if (listType === "map" || listType === "set" || listType === "atomic") {
      out.listType = listType;
      if (listType === "map" && Array.isArray(keys)) out.listMapKeys = keys as string[];
    } else if (hasMerge(out)) {
      // No list type: apply follows the strategic-merge tags, as Kubernetes' schema conversion does.
      out.listType = mergeKey === undefined ? "set" : "map";
      if (typeof mergeKey === "string") out.listMapKeys = [mergeKey];
    }
    if (asNode(s.items)?.["x-kubernetes-map-type"] === "atomic") out.itemsAtomic = true;
  } else if (s["x-kubernetes-map-type"] === "atomic") out.atomic = true;
  return Object.keys(out).length ? out : undefined;
}

/** Keys that identify elements of an associative list under server-side apply, if the list is one. */
export function listMapKeys(strategy: FieldStrategy | undefined): string[] | undefined {
  return strategy?.listType === "map" && strategy.listMapKeys?.length
    ? strategy.listMapKeys
    : undefined;
}

/** Whether a list of primitives unions under server-side apply (`listType=set`) rather than being replaced. */
export function isSet(strategy: FieldStrategy | undefined): boolean {
  return strategy?.listType === "set";
}

/** Whether strategic merge patch merges the list (by `patchMergeKey`, or as a union of primitives). */
export function hasMerge(strategy: FieldStrategy | undefined): boolean {
  return strategy?.patchStrategy?.split(",").includes("merge") ?? false;
}

/**
 * Key fields Kubernetes defaults, so that an apply that leaves them out still names the
 * element the server stored with the default (`+default="TCP"` on port protocols).
 */
export const keyDefaults: Record<string, unknown> = { protocol: "TCP" };
