// Building blocks for the kind schemas: Kubernetes' primitive shapes (int-or-string,
// quantities, timestamps) and the list markers that strategic merge patch and
// server-side apply read (x-kubernetes-patch-*, x-kubernetes-list-*).
import {
  Type,
  type TSchema,
  type TProperties,
  type ObjectOptions,
  type SchemaOptions,
} from "@sinclair/typebox";

export const opt = Type.Optional;
// `default` in the options is the value Kubernetes' defaulting sets when the field is unset.
export const str = (o: SchemaOptions = {}) => Type.String(o);
export const bool = (o: SchemaOptions = {}) => Type.Boolean(o);
export const int32 = (o: SchemaOptions = {}) => Type.Integer({ format: "int32", ...o });
export const int64 = (o: SchemaOptions = {}) => Type.Integer({ format: "int64", ...o });
export const num = () => Type.Number({ format: "double" });
/** meta/v1 Time: RFC 3339 at second precision. */
export const time = () => Type.String({ format: "date-time" });
/** meta/v1 MicroTime: RFC 3339 with microseconds. */
export const microTime = () => Type.String({ format: "date-time" });
export const strMap = () => Type.Record(Type.String(), Type.String());
/** Raw bytes travel as base64 strings in JSON. */
export const bytes = () => Type.String({ format: "byte" });

/** intstr.IntOrString: a port number or name, a count or a percentage. */
export const intOrString = () =>
  Type.Union([Type.Integer(), Type.String()], { "x-kubernetes-int-or-string": true });

/** resource.Quantity: "100m", "1Gi", or a bare number. */
export const quantity = () => Type.Union([Type.String(), Type.Number()]);
export const resourceList = () => Type.Record(Type.String(), quantity());

/** Any JSON object (FieldsV1, opaque payloads): accepted as is, never pruned. */
export const anyObject = () =>
  Type.Record(Type.String(), Type.Unknown(), { "x-kubernetes-preserve-unknown-fields": true });

/** A named type: published under this name in OpenAPI components and referenced by $ref. */
export function named<T extends TProperties>(id: string, props: T, opts: ObjectOptions = {}) {
  return Type.Object(props, { ...opts, $id: id });
}

/** A list replaced as a whole by patches and apply. */
export function atomic<T extends TSchema>(item: T) {
  return Type.Array(item, { "x-kubernetes-list-type": "atomic" });
}

/** A list of distinct scalars, merged as a set. */
export function set<T extends TSchema>(item: T, patchMerge = false) {
  return Type.Array(item, {
    "x-kubernetes-list-type": "set",
    ...(patchMerge ? { "x-kubernetes-patch-strategy": "merge" } : {}),
  });
}

/**
 * A list whose items are identified by key fields: strategic merge patch merges items by
 * `mergeKey`, server-side apply by `keys` (Kubernetes' listMapKeys, which may add more
 * fields than the merge key, e.g. containerPort + protocol). With `strategy: "replace"`
 * strategic merge patch replaces the list whole (no patch markers), as for a CRD's
 * conditions.
 */
export function keyed<T extends TSchema>(
  item: T,
  mergeKey: string,
  opts: { keys?: string[]; strategy?: string; listType?: "map" | "atomic" } = {},
) {
  const listType = opts.listType ?? "map";
  const strategy = opts.strategy ?? "merge";
  return Type.Array(item, {
    ...(strategy === "replace"
      ? {}
      : { "x-kubernetes-patch-merge-key": mergeKey, "x-kubernetes-patch-strategy": strategy }),
    "x-kubernetes-list-type": listType,
    ...(listType === "map" ? { "x-kubernetes-list-map-keys": opts.keys ?? [mergeKey] } : {}),
  });
}

/**
 * The same schema with a default for this use of it (Kubernetes defaults some struct
 * fields to `{}`); OpenAPI shows it as `allOf: [$ref]` plus the default.
 */
export function withDefault<T extends TSchema>(schema: T, value: unknown): T {
  return { ...schema, default: value };
}

/**
 * The same schema with a strategic-merge `patchStrategy` for this use of it: "retainKeys"
 * (a patch that sets one member of a union drops the others, e.g. DeploymentStrategy's
 * rollingUpdate when type becomes Recreate) or "replace" (a patch replaces the value
 * whole). OpenAPI shows it beside the $ref, as Kubernetes does.
 */
export function withPatchStrategy<T extends TSchema>(
  schema: T,
  strategy: "retainKeys" | "replace",
): T {
  return { ...schema, "x-kubernetes-patch-strategy": strategy };
}

/**
 * A status condition of the older shape Pod, Job and PersistentVolumeClaim conditions share:
 * type, status, probe and transition times, reason, message.
 */
export function probedCondition(id: string) {
  return named(id, {
    type: str(),
    status: str(),
    lastProbeTime: opt(time()),
    lastTransitionTime: opt(time()),
    reason: opt(str()),
    message: opt(str()),
  });
}

/** Fields every top-level object carries. */
export const typeMeta = {
  apiVersion: opt(str()),
  kind: opt(str()),
};
