// meta/v1 shapes shared by every kind: ObjectMeta, ListMeta, LabelSelector, Status,
// DeleteOptions, and the List wrapper.
import { Type, type TSchema, type Static } from "@sinclair/typebox";
import {
  anyObject,
  atomic,
  bool,
  int32,
  int64,
  keyed,
  named,
  opt,
  set,
  str,
  strMap,
  time,
  typeMeta,
  withDefault,
} from "./helpers.js";

const META = "io.k8s.apimachinery.pkg.apis.meta.v1";

export const OwnerReferenceSchema = named(
  `${META}.OwnerReference`,
  {
    apiVersion: str(),
    kind: str(),
    name: str(),
    uid: str(),
    controller: opt(bool()),
    blockOwnerDeletion: opt(bool()),
  },
  { "x-kubernetes-map-type": "atomic" },
);
export type OwnerReference = Static<typeof OwnerReferenceSchema>;

export const ManagedFieldsEntrySchema = named(`${META}.ManagedFieldsEntry`, {
  manager: opt(str()),
  operation: opt(str()),
  apiVersion: opt(str()),
  time: opt(time()),
  fieldsType: opt(str()),
  fieldsV1: opt(anyObject()),
  subresource: opt(str()),
});
export type ManagedFieldsEntry = Static<typeof ManagedFieldsEntrySchema>;

export const ObjectMetaSchema = named(`${META}.ObjectMeta`, {
  name: opt(str()),
  generateName: opt(str()),
  namespace: opt(str()),
  selfLink: opt(str()),
  uid: opt(str()),
  resourceVersion: opt(str()),
  generation: opt(int64()),
  creationTimestamp: opt(time()),
  deletionTimestamp: opt(time()),
  deletionGracePeriodSeconds: opt(int64()),
  labels: opt(strMap()),
  annotations: opt(strMap()),
  ownerReferences: opt(keyed(OwnerReferenceSchema, "uid")),
  finalizers: opt(set(str(), true)),
  managedFields: opt(atomic(ManagedFieldsEntrySchema)),
});
export type ObjectMeta = Static<typeof ObjectMetaSchema>;

export const ListMetaSchema = named(`${META}.ListMeta`, {
  selfLink: opt(str()),
  resourceVersion: opt(str()),
  continue: opt(str()),
  remainingItemCount: opt(int64()),
});
export type ListMeta = Static<typeof ListMetaSchema>;

export const LabelSelectorRequirementSchema = named(`${META}.LabelSelectorRequirement`, {
  key: str(),
  operator: str(),
  values: opt(atomic(str())),
});
export type LabelSelectorRequirement = Static<typeof LabelSelectorRequirementSchema>;

export const LabelSelectorSchema = named(
  `${META}.LabelSelector`,
  {
    matchLabels: opt(strMap()),
    matchExpressions: opt(atomic(LabelSelectorRequirementSchema)),
  },
  { "x-kubernetes-map-type": "atomic" },
);
export type LabelSelector = Static<typeof LabelSelectorSchema>;

/** meta/v1 Condition, the shape newer APIs use for status conditions. */
export const ConditionSchema = named(`${META}.Condition`, {
  type: str(),
  status: str(),
  observedGeneration: opt(int64()),
  lastTransitionTime: time(),
  reason: str(),
  message: str(),
});

export const StatusCauseSchema = named(`${META}.StatusCause`, {
  reason: opt(str()),
  message: opt(str()),
  field: opt(str()),
});
export type StatusCause = Static<typeof StatusCauseSchema>;

export const StatusDetailsSchema = named(`${META}.StatusDetails`, {
  name: opt(str()),
  group: opt(str()),
  kind: opt(str()),
  uid: opt(str()),
  causes: opt(atomic(StatusCauseSchema)),
  retryAfterSeconds: opt(int32()),
});
export type StatusDetails = Static<typeof StatusDetailsSchema>;

export const StatusSchema = named(`${META}.Status`, {
  ...typeMeta,
  metadata: opt(ListMetaSchema),
  status: opt(str()),
  message: opt(str()),
  reason: opt(str()),
  details: opt(StatusDetailsSchema),
  code: opt(int32()),
});
export type Status = Static<typeof StatusSchema>;

/** One resource of a group version in legacy discovery (GET /api/v1, /apis/{group}/{version}). */
export const APIResourceSchema = named(`${META}.APIResource`, {
  name: str(),
  singularName: str(),
  namespaced: bool(),
  group: opt(str()),
  version: opt(str()),
  kind: str(),
  verbs: atomic(str()),
  shortNames: opt(atomic(str())),
  categories: opt(atomic(str())),
});
export type APIResource = Static<typeof APIResourceSchema>;

export const APIResourceListSchema = named(`${META}.APIResourceList`, {
  ...typeMeta,
  groupVersion: str(),
  resources: atomic(APIResourceSchema),
});
export type APIResourceList = Static<typeof APIResourceListSchema>;

export const PreconditionsSchema = named(`${META}.Preconditions`, {
  uid: opt(str()),
  resourceVersion: opt(str()),
});

export const DeleteOptionsSchema = named(`${META}.DeleteOptions`, {
  ...typeMeta,
  gracePeriodSeconds: opt(int64()),
  preconditions: opt(PreconditionsSchema),
  orphanDependents: opt(bool()),
  propagationPolicy: opt(str()),
  dryRun: opt(atomic(str())),
});
export type DeleteOptions = Static<typeof DeleteOptionsSchema>;

/** The List wrapper for a kind (PodList, DeploymentList, ...). */
export function listSchemaOf<T extends TSchema>(id: string, item: T) {
  return named(id, {
    ...typeMeta,
    metadata: opt(ListMetaSchema),
    items: Type.Array(item),
  });
}

/**
 * A top-level kind with a spec and a status: TypeMeta, ObjectMeta, spec, and a status that
 * defaulting sets to `statusDefault` when it is missing.
 */
export function kindSchema<S extends TSchema, T extends TSchema>(
  id: string,
  spec: S,
  status: T,
  statusDefault: unknown = {},
) {
  return named(id, {
    ...typeMeta,
    metadata: opt(ObjectMetaSchema),
    spec: opt(spec),
    status: opt(withDefault(status, statusDefault)),
  });
}

/** A template inside another kind (a Pod or Job template): metadata and spec. */
export function templateSchema<S extends TSchema>(id: string, spec: S) {
  return named(id, { metadata: opt(ObjectMetaSchema), spec: opt(spec) });
}

/** The TypeScript shape of any List. */
export interface KubeList<T> {
  apiVersion?: string;
  kind?: string;
  metadata?: ListMeta;
  items: T[];
}
