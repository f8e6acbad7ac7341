// Which lists merge by key, which are sets, which values are atomic: per kind and field path.
//
// This table mirrors Kubernetes' struct tags for the fields Skiff serves:
// `patchStrategy`/`patchMergeKey` (strategic merge patch) and `+listType`/`+listMapKey`/
// `+mapType`/`+structType` (server-side apply). A field that is not listed behaves as an
// untagged Kubernetes field: maps and structs merge key by key, lists are replaced whole
// (atomic). Paths are field names joined by "." with list positions left out,
// e.g. "spec.template.spec.containers.env".

import type { CustomResourceDetail, JSONSchemaProps } from "@skiff/api";

export interface FieldStrategy {
  /** `patchStrategy` tag: "merge" (merge by key, or union for primitive lists), "retainKeys". */
  patchStrategy?: "merge" | "retainKeys" | "merge,retainKeys";
  /** `patchMergeKey` tag: the element field that identifies list elements. */
  patchMergeKey?: string;
  /** Server-side apply `+listMapKey`s when they differ from `[patchMergeKey]`. */
  listMapKeys?: string[];
  /** Server-side apply sees the value as one unit (`listType=atomic`, `mapType=atomic`, `structType=atomic`). */
  atomic?: boolean;
}

type Fields = Record<string, FieldStrategy>;

const byName: FieldStrategy = { patchStrategy: "merge", patchMergeKey: "name" };
const byType: FieldStrategy = { patchStrategy: "merge", patchMergeKey: "type" };
const atomic: FieldStrategy = { atomic: true };

/** Prefixes every path of `fields` with `prefix`. */
function under(prefix: string, fields: Fields): Fields {
  return Object.fromEntries(Object.entries(fields).map(([path, s]) => [`${prefix}.${path}`, s]));
}

const objectMeta: Fields = {
  "metadata.finalizers": { patchStrategy: "merge" }, // +listType=set
  "metadata.ownerReferences": { patchStrategy: "merge", patchMergeKey: "uid" },
};

const container: Fields = {
  ports: {
    patchStrategy: "merge",
    patchMergeKey: "containerPort",
    listMapKeys: ["containerPort", "protocol"],
  },
  env: byName,
  volumeMounts: { patchStrategy: "merge", patchMergeKey: "mountPath" },
  volumeDevices: { patchStrategy: "merge", patchMergeKey: "devicePath" },
};

const podSpec: Fields = {
  containers: byName,
  initContainers: byName,
  ephemeralContainers: byName,
  ...under("containers", container),
  ...under("initContainers", container),
  ...under("ephemeralContainers", container),
  volumes: { patchStrategy: "merge,retainKeys", patchMergeKey: "name" },
  imagePullSecrets: byName,
  hostAliases: { patchStrategy: "merge", patchMergeKey: "ip" },
  topologySpreadConstraints: {
    patchStrategy: "merge",
    patchMergeKey: "topologyKey",
    listMapKeys: ["topologyKey", "whenUnsatisfiable"],
  },
  schedulingGates: byName,
  resourceClaims: { patchStrategy: "merge,retainKeys", patchMergeKey: "name" },
  nodeSelector: atomic, // tolerations, readinessGates: untagged, so atomic like every other list
};

// Deployment, ReplicaSet, DaemonSet, StatefulSet, Job: a label selector and a pod template.
const workload: Fields = {
  "spec.selector": atomic, // LabelSelector is +structType=atomic
  ...under("spec.template.spec", podSpec),
  "status.conditions": byType,
};

const kinds: Record<string, Fields> = {
  "/Pod": {
    ...under("spec", podSpec),
    "status.conditions": byType,
    "status.podIPs": { patchStrategy: "merge", patchMergeKey: "ip" },
    "status.hostIPs": { patchStrategy: "merge", patchMergeKey: "ip" },
  },
  "/PodTemplate": under("template.spec", podSpec),
  "/ReplicationController": {
    ...under("spec.template.spec", podSpec),
    "status.conditions": byType,
  },
  "/Service": {
    "spec.ports": {
      patchStrategy: "merge",
      patchMergeKey: "port",
      listMapKeys: ["port", "protocol"],
    },
    "spec.selector": atomic,
    "status.conditions": byType,
  },
  "/Node": {
    "spec.podCIDRs": { patchStrategy: "merge" }, // spec.taints is untagged: atomic
    "status.conditions": byType,
    "status.addresses": byType,
  },
  "/Namespace": { "status.conditions": byType },
  "apps/Deployment": { ...workload, "spec.strategy": { patchStrategy: "retainKeys" } },
  "apps/ReplicaSet": workload,
  "apps/DaemonSet": workload,
  "apps/StatefulSet": workload,
  "batch/Job": { ...workload, "status.conditions": { ...byType, atomic: true } }, // +listType=atomic for apply
  "batch/CronJob": {
    "spec.jobTemplate.spec.selector": atomic,
    ...under("spec.jobTemplate.spec.template.spec", podSpec),
  },
  // Endpoints subsets and EndpointSlice endpoints are untagged: atomic, nothing to list.
  "admissionregistration.k8s.io/MutatingWebhookConfiguration": webhookConfiguration(),
  "admissionregistration.k8s.io/ValidatingWebhookConfiguration": webhookConfiguration(),
  "admissionregistration.k8s.io/ValidatingAdmissionPolicy": { "spec.matchConditions": byName },
};

function webhookConfiguration(): Fields {
  return {
    webhooks: byName,
    "webhooks.matchConditions": byName,
    "webhooks.namespaceSelector": atomic,
    "webhooks.objectSelector": atomic,
  };
}

/** The strategy of the field at `path` (field names only) in objects of `kind`, if it has one. */
export function fieldStrategy(
  kind: { group: string; kind: string; custom?: CustomResourceDetail },
  path: readonly string[],
): FieldStrategy | undefined {
  const key = path.join(".");
  if (kind.custom?.schema && !Object.hasOwn(objectMeta, key))
    return customStrategy(kind.custom.schema, path);
  const name = `${kind.group}/${kind.kind}`;
  const fields = Object.hasOwn(kinds, name) ? kinds[name] : undefined;
  // Paths come from request bodies: look up own entries only.
  if (Object.hasOwn(objectMeta, key)) return objectMeta[key];
  return fields && Object.hasOwn(fields, key) ? fields[key] : undefined;
}

/** Keys that identify elements of an associative list under server-side apply, if the list is one. */
export function listMapKeys(strategy: FieldStrategy | undefined): string[] | undefined {
  if (!strategy?.patchMergeKey || strategy.atomic) return undefined;
  return strategy.listMapKeys ?? [strategy.patchMergeKey];
}

/** Whether a list of primitives unions (a set) rather than being replaced: `patchStrategy:"merge"` without a key. */
export function isSet(strategy: FieldStrategy | undefined): boolean {
  return !!strategy && !strategy.patchMergeKey && !strategy.atomic && hasMerge(strategy);
}

export function hasMerge(strategy: FieldStrategy | undefined): boolean {
  return strategy?.patchStrategy?.split(",").includes("merge") ?? false;
}

/**
 * Key fields Kubernetes defaults, so that an apply that leaves them out still names the
 * element the server stored with the default (`+default="TCP"` on port protocols).
 */
export const keyDefaults: Record<string, unknown> = { protocol: "TCP" };

/** A custom resource's list and map markers (x-kubernetes-list-type, -list-map-keys, -map-type). */
function customStrategy(
  schema: JSONSchemaProps,
  path: readonly string[],
): FieldStrategy | undefined {
  let s: JSONSchemaProps | undefined = schema;
  for (const name of path) {
    if (s?.type === "array") s = s.items;
    const additional: JSONSchemaProps | undefined =
      typeof s?.additionalProperties === "object" ? s.additionalProperties : undefined;
    s = s?.properties?.[name] ?? additional;
    if (!s) return undefined;
  }
  const listType = s["x-kubernetes-list-type"];
  const keys = s["x-kubernetes-list-map-keys"];
  if (listType === "map" && keys?.length)
    return { patchStrategy: "merge", patchMergeKey: keys[0], listMapKeys: keys };
  if (listType === "set") return { patchStrategy: "merge" };
  if (s["x-kubernetes-map-type"] === "atomic") return { atomic: true };
  return undefined;
}
