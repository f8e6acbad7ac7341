// Storage kinds: core/v1 PersistentVolumeClaim and PersistentVolume, storage.k8s.io/v1
// StorageClass.
import type { Static } from "@sinclair/typebox";
import {
  atomic,
  bool,
  keyed,
  named,
  opt,
  resourceList,
  str,
  strMap,
  time,
  typeMeta,
  withDefault,
} from "./helpers.js";
import { LabelSelectorSchema, ObjectMetaSchema } from "./meta.js";
import { HostPathVolumeSourceSchema, NodeSelectorSchema, ObjectReferenceSchema } from "./core.js";

const CORE = "io.k8s.api.core.v1";
const STORAGE = "io.k8s.api.storage.v1";

export const ACCESS_MODES = [
  "ReadOnlyMany",
  "ReadWriteMany",
  "ReadWriteOnce",
  "ReadWriteOncePod",
] as const;

export const TypedLocalObjectReference = named(`${CORE}.TypedLocalObjectReference`, {
  apiGroup: opt(str()),
  kind: str(),
  name: str(),
});

export const PersistentVolumeClaimSpecSchema = named(`${CORE}.PersistentVolumeClaimSpec`, {
  accessModes: opt(atomic(str())),
  selector: opt(LabelSelectorSchema),
  resources: opt(
    named(`${CORE}.VolumeResourceRequirements`, {
      limits: opt(resourceList()),
      requests: opt(resourceList()),
    }),
  ),
  volumeName: opt(str()),
  storageClassName: opt(str()),
  volumeMode: opt(str({ default: "Filesystem" })),
  dataSource: opt(TypedLocalObjectReference),
  dataSourceRef: opt(
    named(`${CORE}.TypedObjectReference`, {
      apiGroup: opt(str()),
      kind: str(),
      name: str(),
      namespace: opt(str()),
    }),
  ),
  volumeAttributesClassName: opt(str()),
});
export type PersistentVolumeClaimSpec = Static<typeof PersistentVolumeClaimSpecSchema>;

export const PersistentVolumeClaimConditionSchema = named(
  `${CORE}.PersistentVolumeClaimCondition`,
  {
    type: str(),
    status: str(),
    lastProbeTime: opt(time()),
    lastTransitionTime: opt(time()),
    reason: opt(str()),
    message: opt(str()),
  },
);

export const PersistentVolumeClaimStatusSchema = named(`${CORE}.PersistentVolumeClaimStatus`, {
  phase: opt(str({ default: "Pending" })),
  accessModes: opt(atomic(str())),
  capacity: opt(resourceList()),
  conditions: opt(keyed(PersistentVolumeClaimConditionSchema, "type")),
  allocatedResources: opt(resourceList()),
  allocatedResourceStatuses: opt(strMap()),
  currentVolumeAttributesClassName: opt(str()),
});
export type PersistentVolumeClaimStatus = Static<typeof PersistentVolumeClaimStatusSchema>;

export const PersistentVolumeClaimSchema = named(`${CORE}.PersistentVolumeClaim`, {
  ...typeMeta,
  metadata: opt(ObjectMetaSchema),
  spec: opt(PersistentVolumeClaimSpecSchema),
  status: opt(withDefault(PersistentVolumeClaimStatusSchema, {})),
});
export type PersistentVolumeClaim = Static<typeof PersistentVolumeClaimSchema>;

/** The claim templates of a StatefulSet (and of ephemeral volumes). */
export const PersistentVolumeClaimTemplateSchema = named(`${CORE}.PersistentVolumeClaimTemplate`, {
  metadata: opt(ObjectMetaSchema),
  spec: PersistentVolumeClaimSpecSchema,
});

export const PersistentVolumeSpecSchema = named(`${CORE}.PersistentVolumeSpec`, {
  capacity: opt(resourceList()),
  accessModes: opt(atomic(str())),
  claimRef: opt(ObjectReferenceSchema),
  persistentVolumeReclaimPolicy: opt(str({ default: "Retain" })),
  storageClassName: opt(str()),
  mountOptions: opt(atomic(str())),
  volumeMode: opt(str({ default: "Filesystem" })),
  nodeAffinity: opt(named(`${CORE}.VolumeNodeAffinity`, { required: opt(NodeSelectorSchema) })),
  volumeAttributesClassName: opt(str()),
  hostPath: opt(HostPathVolumeSourceSchema),
  local: opt(named(`${CORE}.LocalVolumeSource`, { path: str(), fsType: opt(str()) })),
});
export type PersistentVolumeSpec = Static<typeof PersistentVolumeSpecSchema>;

export const PersistentVolumeStatusSchema = named(`${CORE}.PersistentVolumeStatus`, {
  phase: opt(str({ default: "Pending" })),
  message: opt(str()),
  reason: opt(str()),
  lastPhaseTransitionTime: opt(time()),
});

export const PersistentVolumeSchema = named(`${CORE}.PersistentVolume`, {
  ...typeMeta,
  metadata: opt(ObjectMetaSchema),
  spec: opt(PersistentVolumeSpecSchema),
  status: opt(withDefault(PersistentVolumeStatusSchema, {})),
});
export type PersistentVolume = Static<typeof PersistentVolumeSchema>;

export const StorageClassSchema = named(`${STORAGE}.StorageClass`, {
  ...typeMeta,
  metadata: opt(ObjectMetaSchema),
  provisioner: str(),
  parameters: opt(strMap()),
  reclaimPolicy: opt(str({ default: "Delete" })),
  mountOptions: opt(atomic(str())),
  allowVolumeExpansion: opt(bool()),
  volumeBindingMode: opt(str({ default: "Immediate" })),
  allowedTopologies: opt(
    atomic(
      named(
        "io.k8s.api.core.v1.TopologySelectorTerm",
        {
          matchLabelExpressions: opt(
            atomic(
              named("io.k8s.api.core.v1.TopologySelectorLabelRequirement", {
                key: str(),
                values: atomic(str()),
              }),
            ),
          ),
        },
        { "x-kubernetes-map-type": "atomic" },
      ),
    ),
  ),
});
export type StorageClass = Static<typeof StorageClassSchema>;
