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
  probedCondition,
} from "./helpers.js";
import { ObjectMetaSchema, kindSchema } from "./meta.js";
import {
  AWSElasticBlockStoreVolumeSourceSchema,
  AzureDiskVolumeSourceSchema,
  AzureFilePersistentVolumeSourceSchema,
  CSIPersistentVolumeSourceSchema,
  CephFSPersistentVolumeSourceSchema,
  CinderPersistentVolumeSourceSchema,
  FCVolumeSourceSchema,
  FlexPersistentVolumeSourceSchema,
  FlockerVolumeSourceSchema,
  GCEPersistentDiskVolumeSourceSchema,
  GlusterfsPersistentVolumeSourceSchema,
  HostPathVolumeSourceSchema,
  ISCSIPersistentVolumeSourceSchema,
  NFSVolumeSourceSchema,
  NodeSelectorSchema,
  ObjectReferenceSchema,
  PersistentVolumeClaimSpecSchema,
  PhotonPersistentDiskVolumeSourceSchema,
  PortworxVolumeSourceSchema,
  QuobyteVolumeSourceSchema,
  RBDPersistentVolumeSourceSchema,
  ScaleIOPersistentVolumeSourceSchema,
  StorageOSPersistentVolumeSourceSchema,
  VsphereVirtualDiskVolumeSourceSchema,
} from "./core.js";

const CORE = "io.k8s.api.core.v1";
const STORAGE = "io.k8s.api.storage.v1";

export const ACCESS_MODES = [
  "ReadOnlyMany",
  "ReadWriteMany",
  "ReadWriteOnce",
  "ReadWriteOncePod",
] as const;

export const PersistentVolumeClaimConditionSchema = probedCondition(
  `${CORE}.PersistentVolumeClaimCondition`,
);

export const PersistentVolumeClaimStatusSchema = named(`${CORE}.PersistentVolumeClaimStatus`, {
  phase: opt(str({ default: "Pending" })),
  accessModes: opt(atomic(str())),
  capacity: opt(resourceList()),
  conditions: opt(keyed(PersistentVolumeClaimConditionSchema, "type")),
  currentVolumeAttributesClassName: opt(str()),
  modifyVolumeStatus: opt(
    named(`${CORE}.ModifyVolumeStatus`, {
      targetVolumeAttributesClassName: opt(str()),
      status: str(),
    }),
  ),
});
export type PersistentVolumeClaimStatus = Static<typeof PersistentVolumeClaimStatusSchema>;

export const PersistentVolumeClaimSchema = kindSchema(
  `${CORE}.PersistentVolumeClaim`,
  PersistentVolumeClaimSpecSchema,
  PersistentVolumeClaimStatusSchema,
);
export type PersistentVolumeClaim = Static<typeof PersistentVolumeClaimSchema>;

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
  gcePersistentDisk: opt(GCEPersistentDiskVolumeSourceSchema),
  awsElasticBlockStore: opt(AWSElasticBlockStoreVolumeSourceSchema),
  glusterfs: opt(GlusterfsPersistentVolumeSourceSchema),
  nfs: opt(NFSVolumeSourceSchema),
  rbd: opt(RBDPersistentVolumeSourceSchema),
  iscsi: opt(ISCSIPersistentVolumeSourceSchema),
  cinder: opt(CinderPersistentVolumeSourceSchema),
  cephfs: opt(CephFSPersistentVolumeSourceSchema),
  fc: opt(FCVolumeSourceSchema),
  flocker: opt(FlockerVolumeSourceSchema),
  flexVolume: opt(FlexPersistentVolumeSourceSchema),
  azureFile: opt(AzureFilePersistentVolumeSourceSchema),
  vsphereVolume: opt(VsphereVirtualDiskVolumeSourceSchema),
  quobyte: opt(QuobyteVolumeSourceSchema),
  azureDisk: opt(AzureDiskVolumeSourceSchema),
  photonPersistentDisk: opt(PhotonPersistentDiskVolumeSourceSchema),
  portworxVolume: opt(PortworxVolumeSourceSchema),
  scaleIO: opt(ScaleIOPersistentVolumeSourceSchema),
  storageos: opt(StorageOSPersistentVolumeSourceSchema),
  csi: opt(CSIPersistentVolumeSourceSchema),
});
export type PersistentVolumeSpec = Static<typeof PersistentVolumeSpecSchema>;

export const PersistentVolumeStatusSchema = named(`${CORE}.PersistentVolumeStatus`, {
  phase: opt(str({ default: "Pending" })),
  message: opt(str()),
  reason: opt(str()),
  lastPhaseTransitionTime: opt(time()),
});

export const PersistentVolumeSchema = kindSchema(
  `${CORE}.PersistentVolume`,
  PersistentVolumeSpecSchema,
  PersistentVolumeStatusSchema,
);
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
