// core/v1 kinds (Pod, Node, Service, Endpoints, ConfigMap, Secret, ServiceAccount, Event,
// Namespace, Binding) and the pod template the workload kinds embed.
// Over 600 lines on purpose: one file per API group, as Kubernetes' core/v1 types.go, so a
// schema is found where its Kubernetes type is (the group's biggest, the PodSpec, is most of it).
import { Type, type Static, type TSchema } from "@sinclair/typebox";
import {
  atomic,
  bool,
  bytes,
  int32,
  int64,
  intOrString,
  keyed,
  microTime,
  named,
  opt,
  quantity,
  resourceList,
  set,
  str,
  strMap,
  time,
  typeMeta,
  withDefault,
  probedCondition,
} from "./helpers.js";
import {
  ConditionSchema,
  LabelSelectorSchema,
  ObjectMetaSchema,
  kindSchema,
  templateSchema,
} from "./meta.js";

const CORE = "io.k8s.api.core.v1";
/** A map replaced as a whole by patches (selectors). */
const atomicStrMap = () =>
  Type.Record(Type.String(), Type.String(), { "x-kubernetes-map-type": "atomic" });

// ---- references and selectors -------------------------------------------------------

export const ObjectReferenceSchema = named(
  `${CORE}.ObjectReference`,
  {
    kind: opt(str()),
    namespace: opt(str()),
    name: opt(str()),
    uid: opt(str()),
    apiVersion: opt(str()),
    resourceVersion: opt(str()),
    fieldPath: opt(str()),
  },
  { "x-kubernetes-map-type": "atomic" },
);
export type ObjectReference = Static<typeof ObjectReferenceSchema>;

export const LocalObjectReferenceSchema = named(
  `${CORE}.LocalObjectReference`,
  { name: opt(str()) },
  { "x-kubernetes-map-type": "atomic" },
);

export const ObjectFieldSelectorSchema = named(
  `${CORE}.ObjectFieldSelector`,
  { apiVersion: opt(str({ default: "v1" })), fieldPath: str() },
  { "x-kubernetes-map-type": "atomic" },
);

export const ResourceFieldSelectorSchema = named(
  `${CORE}.ResourceFieldSelector`,
  { containerName: opt(str()), resource: str(), divisor: opt(quantity()) },
  { "x-kubernetes-map-type": "atomic" },
);

const keySelector = (id: string) =>
  named(
    id,
    { name: opt(str()), key: str(), optional: opt(bool()) },
    { "x-kubernetes-map-type": "atomic" },
  );
export const ConfigMapKeySelectorSchema = keySelector(`${CORE}.ConfigMapKeySelector`);
export const SecretKeySelectorSchema = keySelector(`${CORE}.SecretKeySelector`);

// ---- containers ---------------------------------------------------------------------

export const ContainerPortSchema = named(`${CORE}.ContainerPort`, {
  name: opt(str()),
  hostPort: opt(int32()),
  containerPort: int32(),
  protocol: opt(str({ default: "TCP" })),
  hostIP: opt(str()),
});
export type ContainerPort = Static<typeof ContainerPortSchema>;

export const EnvVarSourceSchema = named(`${CORE}.EnvVarSource`, {
  fieldRef: opt(ObjectFieldSelectorSchema),
  resourceFieldRef: opt(ResourceFieldSelectorSchema),
  configMapKeyRef: opt(ConfigMapKeySelectorSchema),
  secretKeyRef: opt(SecretKeySelectorSchema),
});

export const EnvVarSchema = named(`${CORE}.EnvVar`, {
  name: str(),
  value: opt(str()),
  valueFrom: opt(EnvVarSourceSchema),
});
export type EnvVar = Static<typeof EnvVarSchema>;

const envSource = (id: string) => named(id, { name: opt(str()), optional: opt(bool()) });
export const EnvFromSourceSchema = named(`${CORE}.EnvFromSource`, {
  prefix: opt(str()),
  configMapRef: opt(envSource(`${CORE}.ConfigMapEnvSource`)),
  secretRef: opt(envSource(`${CORE}.SecretEnvSource`)),
});

export const ResourceRequirementsSchema = named(`${CORE}.ResourceRequirements`, {
  limits: opt(resourceList()),
  requests: opt(resourceList()),
});
export type ResourceRequirements = Static<typeof ResourceRequirementsSchema>;

export const VolumeMountSchema = named(`${CORE}.VolumeMount`, {
  name: str(),
  readOnly: opt(bool()),
  recursiveReadOnly: opt(str()),
  mountPath: str(),
  subPath: opt(str()),
  mountPropagation: opt(str()),
  subPathExpr: opt(str()),
});
export type VolumeMount = Static<typeof VolumeMountSchema>;

export const ExecActionSchema = named(`${CORE}.ExecAction`, { command: opt(atomic(str())) });

export const HTTPHeaderSchema = named(`${CORE}.HTTPHeader`, { name: str(), value: str() });

export const HTTPGetActionSchema = named(`${CORE}.HTTPGetAction`, {
  path: opt(str({ default: "/" })),
  port: intOrString(),
  host: opt(str()),
  scheme: opt(str({ default: "HTTP" })),
  httpHeaders: opt(atomic(HTTPHeaderSchema)),
});

export const TCPSocketActionSchema = named(`${CORE}.TCPSocketAction`, {
  port: intOrString(),
  host: opt(str()),
});

export const GRPCActionSchema = named(`${CORE}.GRPCAction`, {
  port: int32(),
  service: opt(str({ default: "" })),
});

export const ProbeSchema = named(`${CORE}.Probe`, {
  exec: opt(ExecActionSchema),
  httpGet: opt(HTTPGetActionSchema),
  tcpSocket: opt(TCPSocketActionSchema),
  grpc: opt(GRPCActionSchema),
  initialDelaySeconds: opt(int32()),
  timeoutSeconds: opt(int32({ default: 1 })),
  periodSeconds: opt(int32({ default: 10 })),
  successThreshold: opt(int32({ default: 1 })),
  failureThreshold: opt(int32({ default: 3 })),
  terminationGracePeriodSeconds: opt(int64()),
});
export type Probe = Static<typeof ProbeSchema>;

export const LifecycleHandlerSchema = named(`${CORE}.LifecycleHandler`, {
  exec: opt(ExecActionSchema),
  httpGet: opt(HTTPGetActionSchema),
  tcpSocket: opt(TCPSocketActionSchema),
  sleep: opt(named(`${CORE}.SleepAction`, { seconds: int64() })),
});

export const LifecycleSchema = named(`${CORE}.Lifecycle`, {
  postStart: opt(LifecycleHandlerSchema),
  preStop: opt(LifecycleHandlerSchema),
});

export const SELinuxOptionsSchema = named(`${CORE}.SELinuxOptions`, {
  user: opt(str()),
  role: opt(str()),
  type: opt(str()),
  level: opt(str()),
});

export const SeccompProfileSchema = named(`${CORE}.SeccompProfile`, {
  type: str(),
  localhostProfile: opt(str()),
});

export const AppArmorProfileSchema = named(`${CORE}.AppArmorProfile`, {
  type: str(),
  localhostProfile: opt(str()),
});

export const WindowsSecurityContextOptionsSchema = named(`${CORE}.WindowsSecurityContextOptions`, {
  gmsaCredentialSpecName: opt(str()),
  gmsaCredentialSpec: opt(str()),
  runAsUserName: opt(str()),
  hostProcess: opt(bool()),
});

export const SecurityContextSchema = named(`${CORE}.SecurityContext`, {
  capabilities: opt(
    named(`${CORE}.Capabilities`, { add: opt(atomic(str())), drop: opt(atomic(str())) }),
  ),
  privileged: opt(bool()),
  seLinuxOptions: opt(SELinuxOptionsSchema),
  runAsUser: opt(int64()),
  runAsGroup: opt(int64()),
  runAsNonRoot: opt(bool()),
  readOnlyRootFilesystem: opt(bool()),
  allowPrivilegeEscalation: opt(bool()),
  procMount: opt(str()),
  seccompProfile: opt(SeccompProfileSchema),
  appArmorProfile: opt(AppArmorProfileSchema),
  windowsOptions: opt(WindowsSecurityContextOptionsSchema),
});

export const ContainerSchema = named(`${CORE}.Container`, {
  name: str(),
  image: opt(str()),
  command: opt(atomic(str())),
  args: opt(atomic(str())),
  workingDir: opt(str()),
  ports: opt(keyed(ContainerPortSchema, "containerPort", { keys: ["containerPort", "protocol"] })),
  envFrom: opt(atomic(EnvFromSourceSchema)),
  env: opt(keyed(EnvVarSchema, "name")),
  resources: opt(withDefault(ResourceRequirementsSchema, {})),
  restartPolicy: opt(str()),
  volumeMounts: opt(keyed(VolumeMountSchema, "mountPath")),
  volumeDevices: opt(
    keyed(named(`${CORE}.VolumeDevice`, { name: str(), devicePath: str() }), "devicePath"),
  ),
  livenessProbe: opt(ProbeSchema),
  readinessProbe: opt(ProbeSchema),
  startupProbe: opt(ProbeSchema),
  lifecycle: opt(LifecycleSchema),
  terminationMessagePath: opt(str({ default: "/dev/termination-log" })),
  terminationMessagePolicy: opt(str({ default: "File" })),
  imagePullPolicy: opt(str()),
  securityContext: opt(SecurityContextSchema),
  stdin: opt(bool()),
  stdinOnce: opt(bool()),
  tty: opt(bool()),
});
export type Container = Static<typeof ContainerSchema>;

/**
 * A container added to a running pod through pods/ephemeralcontainers (kubectl debug): the
 * container fields, of which validation refuses those an ephemeral container may not have
 * (ports, probes, lifecycle, resources, restartPolicy), plus the container whose namespaces
 * (PID) it joins.
 */
export const EphemeralContainerSchema = named(`${CORE}.EphemeralContainer`, {
  ...ContainerSchema.properties,
  targetContainerName: opt(str()),
});
export type EphemeralContainer = Static<typeof EphemeralContainerSchema>;

// ---- volumes ------------------------------------------------------------------------

export const KeyToPathSchema = named(`${CORE}.KeyToPath`, {
  key: str(),
  path: str(),
  mode: opt(int32()),
});

export const DownwardAPIVolumeFileSchema = named(`${CORE}.DownwardAPIVolumeFile`, {
  path: str(),
  fieldRef: opt(ObjectFieldSelectorSchema),
  resourceFieldRef: opt(ResourceFieldSelectorSchema),
  mode: opt(int32()),
});

// 0644, the mode Kubernetes gives projected files unless told otherwise.
const DEFAULT_MODE = 420;

export const VolumeProjectionSchema = named(`${CORE}.VolumeProjection`, {
  secret: opt(
    named(`${CORE}.SecretProjection`, {
      name: opt(str()),
      items: opt(atomic(KeyToPathSchema)),
      optional: opt(bool()),
    }),
  ),
  configMap: opt(
    named(`${CORE}.ConfigMapProjection`, {
      name: opt(str()),
      items: opt(atomic(KeyToPathSchema)),
      optional: opt(bool()),
    }),
  ),
  downwardAPI: opt(
    named(`${CORE}.DownwardAPIProjection`, { items: opt(atomic(DownwardAPIVolumeFileSchema)) }),
  ),
  serviceAccountToken: opt(
    named(`${CORE}.ServiceAccountTokenProjection`, {
      audience: opt(str()),
      expirationSeconds: opt(int64({ default: 3600 })),
      path: str(),
    }),
  ),
});

export const HostPathVolumeSourceSchema = named(`${CORE}.HostPathVolumeSource`, {
  path: str(),
  type: opt(str({ default: "" })),
});

// ---- persistent volume claims (the spec an ephemeral volume templates) ----------------

export const TypedLocalObjectReference = named(
  `${CORE}.TypedLocalObjectReference`,
  { apiGroup: opt(str()), kind: str(), name: str() },
  { "x-kubernetes-map-type": "atomic" },
);

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
    }),
  ),
  volumeAttributesClassName: opt(str()),
});
export type PersistentVolumeClaimSpec = Static<typeof PersistentVolumeClaimSpecSchema>;

/** The claim template of an ephemeral volume. */
export const PersistentVolumeClaimTemplateSchema = named(`${CORE}.PersistentVolumeClaimTemplate`, {
  metadata: opt(ObjectMetaSchema),
  spec: PersistentVolumeClaimSpecSchema,
});

// ---- in-tree and CSI volume sources: accepted and stored; the kubelet mounts none of them --
// A pod's volume and a PersistentVolume share most of these; where they differ it is only
// in how a secret is named (a pod's secret is in its namespace, a PV's anywhere) and in a
// few PV-only fields, so each pair comes from one builder.

/** A PersistentVolume's reference to a secret, which may be in any namespace. */
export const SecretReferenceSchema = named(
  `${CORE}.SecretReference`,
  { name: opt(str()), namespace: opt(str()) },
  { "x-kubernetes-map-type": "atomic" },
);

const disk = (id: string, key: string) =>
  named(`${CORE}.${id}`, {
    [key]: str(),
    fsType: opt(str()),
    partition: opt(int32()),
    readOnly: opt(bool()),
  });
export const GCEPersistentDiskVolumeSourceSchema = disk("GCEPersistentDiskVolumeSource", "pdName");
export const AWSElasticBlockStoreVolumeSourceSchema = disk(
  "AWSElasticBlockStoreVolumeSource",
  "volumeID",
);

export const NFSVolumeSourceSchema = named(`${CORE}.NFSVolumeSource`, {
  server: str(),
  path: str(),
  readOnly: opt(bool()),
});

const iscsi = <R extends TSchema>(id: string, secretRef: R) =>
  named(`${CORE}.${id}`, {
    targetPortal: str(),
    iqn: str(),
    lun: int32(),
    iscsiInterface: opt(str({ default: "default" })),
    fsType: opt(str()),
    readOnly: opt(bool()),
    portals: opt(atomic(str())),
    chapAuthDiscovery: opt(bool()),
    chapAuthSession: opt(bool()),
    secretRef: opt(secretRef),
    initiatorName: opt(str()),
  });
export const ISCSIVolumeSourceSchema = iscsi("ISCSIVolumeSource", LocalObjectReferenceSchema);
export const ISCSIPersistentVolumeSourceSchema = iscsi(
  "ISCSIPersistentVolumeSource",
  SecretReferenceSchema,
);

export const GlusterfsVolumeSourceSchema = named(`${CORE}.GlusterfsVolumeSource`, {
  endpoints: str(),
  path: str(),
  readOnly: opt(bool()),
});
export const GlusterfsPersistentVolumeSourceSchema = named(
  `${CORE}.GlusterfsPersistentVolumeSource`,
  { ...GlusterfsVolumeSourceSchema.properties, endpointsNamespace: opt(str()) },
);

const rbd = <R extends TSchema>(id: string, secretRef: R) =>
  named(`${CORE}.${id}`, {
    monitors: atomic(str()),
    image: str(),
    fsType: opt(str()),
    pool: opt(str({ default: "rbd" })),
    user: opt(str({ default: "admin" })),
    keyring: opt(str({ default: "/etc/ceph/keyring" })),
    secretRef: opt(secretRef),
    readOnly: opt(bool()),
  });
export const RBDVolumeSourceSchema = rbd("RBDVolumeSource", LocalObjectReferenceSchema);
export const RBDPersistentVolumeSourceSchema = rbd(
  "RBDPersistentVolumeSource",
  SecretReferenceSchema,
);

const flex = <R extends TSchema>(id: string, secretRef: R) =>
  named(`${CORE}.${id}`, {
    driver: str(),
    fsType: opt(str()),
    secretRef: opt(secretRef),
    readOnly: opt(bool()),
    options: opt(strMap()),
  });
export const FlexVolumeSourceSchema = flex("FlexVolumeSource", LocalObjectReferenceSchema);
export const FlexPersistentVolumeSourceSchema = flex(
  "FlexPersistentVolumeSource",
  SecretReferenceSchema,
);

const cinder = <R extends TSchema>(id: string, secretRef: R) =>
  named(`${CORE}.${id}`, {
    volumeID: str(),
    fsType: opt(str()),
    readOnly: opt(bool()),
    secretRef: opt(secretRef),
  });
export const CinderVolumeSourceSchema = cinder("CinderVolumeSource", LocalObjectReferenceSchema);
export const CinderPersistentVolumeSourceSchema = cinder(
  "CinderPersistentVolumeSource",
  SecretReferenceSchema,
);

const cephfs = <R extends TSchema>(id: string, secretRef: R) =>
  named(`${CORE}.${id}`, {
    monitors: atomic(str()),
    path: opt(str()),
    user: opt(str()),
    secretFile: opt(str()),
    secretRef: opt(secretRef),
    readOnly: opt(bool()),
  });
export const CephFSVolumeSourceSchema = cephfs("CephFSVolumeSource", LocalObjectReferenceSchema);
export const CephFSPersistentVolumeSourceSchema = cephfs(
  "CephFSPersistentVolumeSource",
  SecretReferenceSchema,
);

export const FlockerVolumeSourceSchema = named(`${CORE}.FlockerVolumeSource`, {
  datasetName: opt(str()),
  datasetUUID: opt(str()),
});

export const FCVolumeSourceSchema = named(`${CORE}.FCVolumeSource`, {
  targetWWNs: opt(atomic(str())),
  lun: opt(int32()),
  fsType: opt(str()),
  readOnly: opt(bool()),
  wwids: opt(atomic(str())),
});

export const AzureFileVolumeSourceSchema = named(`${CORE}.AzureFileVolumeSource`, {
  secretName: str(),
  shareName: str(),
  readOnly: opt(bool()),
});
export const AzureFilePersistentVolumeSourceSchema = named(
  `${CORE}.AzureFilePersistentVolumeSource`,
  { ...AzureFileVolumeSourceSchema.properties, secretNamespace: opt(str()) },
);

export const VsphereVirtualDiskVolumeSourceSchema = named(
  `${CORE}.VsphereVirtualDiskVolumeSource`,
  {
    volumePath: str(),
    fsType: opt(str()),
    storagePolicyName: opt(str()),
    storagePolicyID: opt(str()),
  },
);

export const QuobyteVolumeSourceSchema = named(`${CORE}.QuobyteVolumeSource`, {
  registry: str(),
  volume: str(),
  readOnly: opt(bool()),
  user: opt(str()),
  group: opt(str()),
  tenant: opt(str()),
});

export const AzureDiskVolumeSourceSchema = named(`${CORE}.AzureDiskVolumeSource`, {
  diskName: str(),
  diskURI: str(),
  cachingMode: opt(str({ default: "ReadWrite" })),
  fsType: opt(str({ default: "ext4" })),
  readOnly: opt(bool({ default: false })),
  kind: opt(str({ default: "Shared" })),
});

export const PhotonPersistentDiskVolumeSourceSchema = named(
  `${CORE}.PhotonPersistentDiskVolumeSource`,
  { pdID: str(), fsType: opt(str()) },
);

export const PortworxVolumeSourceSchema = named(`${CORE}.PortworxVolumeSource`, {
  volumeID: str(),
  fsType: opt(str()),
  readOnly: opt(bool()),
});

const scaleIO = <R extends TSchema>(id: string, secretRef: R) =>
  named(`${CORE}.${id}`, {
    gateway: str(),
    system: str(),
    secretRef,
    sslEnabled: opt(bool()),
    protectionDomain: opt(str()),
    storagePool: opt(str()),
    storageMode: opt(str({ default: "ThinProvisioned" })),
    volumeName: opt(str()),
    fsType: opt(str({ default: "xfs" })),
    readOnly: opt(bool()),
  });
export const ScaleIOVolumeSourceSchema = scaleIO("ScaleIOVolumeSource", LocalObjectReferenceSchema);
export const ScaleIOPersistentVolumeSourceSchema = scaleIO(
  "ScaleIOPersistentVolumeSource",
  SecretReferenceSchema,
);

const storageos = <R extends TSchema>(id: string, secretRef: R) =>
  named(`${CORE}.${id}`, {
    volumeName: opt(str()),
    volumeNamespace: opt(str()),
    fsType: opt(str()),
    readOnly: opt(bool()),
    secretRef: opt(secretRef),
  });
export const StorageOSVolumeSourceSchema = storageos(
  "StorageOSVolumeSource",
  LocalObjectReferenceSchema,
);
export const StorageOSPersistentVolumeSourceSchema = storageos(
  "StorageOSPersistentVolumeSource",
  ObjectReferenceSchema,
);

export const CSIVolumeSourceSchema = named(`${CORE}.CSIVolumeSource`, {
  driver: str(),
  readOnly: opt(bool()),
  fsType: opt(str()),
  volumeAttributes: opt(strMap()),
  nodePublishSecretRef: opt(LocalObjectReferenceSchema),
});
export const CSIPersistentVolumeSourceSchema = named(`${CORE}.CSIPersistentVolumeSource`, {
  driver: str(),
  volumeHandle: str(),
  readOnly: opt(bool()),
  fsType: opt(str()),
  volumeAttributes: opt(strMap()),
  controllerPublishSecretRef: opt(SecretReferenceSchema),
  nodeStageSecretRef: opt(SecretReferenceSchema),
  nodePublishSecretRef: opt(SecretReferenceSchema),
  controllerExpandSecretRef: opt(SecretReferenceSchema),
  nodeExpandSecretRef: opt(SecretReferenceSchema),
});

export const GitRepoVolumeSourceSchema = named(`${CORE}.GitRepoVolumeSource`, {
  repository: str(),
  revision: opt(str()),
  directory: opt(str()),
});

export const EphemeralVolumeSourceSchema = named(`${CORE}.EphemeralVolumeSource`, {
  volumeClaimTemplate: opt(PersistentVolumeClaimTemplateSchema),
});

export const VolumeSchema = named(`${CORE}.Volume`, {
  name: str(),
  emptyDir: opt(
    named(`${CORE}.EmptyDirVolumeSource`, { medium: opt(str()), sizeLimit: opt(quantity()) }),
  ),
  hostPath: opt(HostPathVolumeSourceSchema),
  configMap: opt(
    named(`${CORE}.ConfigMapVolumeSource`, {
      name: opt(str()),
      items: opt(atomic(KeyToPathSchema)),
      defaultMode: opt(int32({ default: DEFAULT_MODE })),
      optional: opt(bool()),
    }),
  ),
  secret: opt(
    named(`${CORE}.SecretVolumeSource`, {
      secretName: opt(str()),
      items: opt(atomic(KeyToPathSchema)),
      defaultMode: opt(int32({ default: DEFAULT_MODE })),
      optional: opt(bool()),
    }),
  ),
  downwardAPI: opt(
    named(`${CORE}.DownwardAPIVolumeSource`, {
      items: opt(atomic(DownwardAPIVolumeFileSchema)),
      defaultMode: opt(int32({ default: DEFAULT_MODE })),
    }),
  ),
  projected: opt(
    named(`${CORE}.ProjectedVolumeSource`, {
      sources: opt(atomic(VolumeProjectionSchema)),
      defaultMode: opt(int32({ default: DEFAULT_MODE })),
    }),
  ),
  persistentVolumeClaim: opt(
    named(`${CORE}.PersistentVolumeClaimVolumeSource`, {
      claimName: str(),
      readOnly: opt(bool()),
    }),
  ),
  gcePersistentDisk: opt(GCEPersistentDiskVolumeSourceSchema),
  awsElasticBlockStore: opt(AWSElasticBlockStoreVolumeSourceSchema),
  gitRepo: opt(GitRepoVolumeSourceSchema),
  nfs: opt(NFSVolumeSourceSchema),
  iscsi: opt(ISCSIVolumeSourceSchema),
  glusterfs: opt(GlusterfsVolumeSourceSchema),
  rbd: opt(RBDVolumeSourceSchema),
  flexVolume: opt(FlexVolumeSourceSchema),
  cinder: opt(CinderVolumeSourceSchema),
  cephfs: opt(CephFSVolumeSourceSchema),
  flocker: opt(FlockerVolumeSourceSchema),
  fc: opt(FCVolumeSourceSchema),
  azureFile: opt(AzureFileVolumeSourceSchema),
  vsphereVolume: opt(VsphereVirtualDiskVolumeSourceSchema),
  quobyte: opt(QuobyteVolumeSourceSchema),
  azureDisk: opt(AzureDiskVolumeSourceSchema),
  photonPersistentDisk: opt(PhotonPersistentDiskVolumeSourceSchema),
  portworxVolume: opt(PortworxVolumeSourceSchema),
  scaleIO: opt(ScaleIOVolumeSourceSchema),
  storageos: opt(StorageOSVolumeSourceSchema),
  csi: opt(CSIVolumeSourceSchema),
  ephemeral: opt(EphemeralVolumeSourceSchema),
});
export type Volume = Static<typeof VolumeSchema>;
/** The volume sources of 1.31; a volume names exactly one. */
export const volumeSources = [
  "emptyDir",
  "hostPath",
  "configMap",
  "secret",
  "downwardAPI",
  "projected",
  "persistentVolumeClaim",
  "gcePersistentDisk",
  "awsElasticBlockStore",
  "gitRepo",
  "nfs",
  "iscsi",
  "glusterfs",
  "rbd",
  "flexVolume",
  "cinder",
  "cephfs",
  "flocker",
  "fc",
  "azureFile",
  "vsphereVolume",
  "quobyte",
  "azureDisk",
  "photonPersistentDisk",
  "portworxVolume",
  "scaleIO",
  "storageos",
  "csi",
  "ephemeral",
] as const;

// ---- scheduling ---------------------------------------------------------------------

export const NodeSelectorRequirementSchema = named(`${CORE}.NodeSelectorRequirement`, {
  key: str(),
  operator: str(),
  values: opt(atomic(str())),
});

export const NodeSelectorTermSchema = named(
  `${CORE}.NodeSelectorTerm`,
  {
    matchExpressions: opt(atomic(NodeSelectorRequirementSchema)),
    matchFields: opt(atomic(NodeSelectorRequirementSchema)),
  },
  { "x-kubernetes-map-type": "atomic" },
);

export const NodeSelectorSchema = named(
  `${CORE}.NodeSelector`,
  { nodeSelectorTerms: atomic(NodeSelectorTermSchema) },
  { "x-kubernetes-map-type": "atomic" },
);

export const PodAffinityTermSchema = named(`${CORE}.PodAffinityTerm`, {
  labelSelector: opt(LabelSelectorSchema),
  namespaces: opt(atomic(str())),
  topologyKey: str(),
  namespaceSelector: opt(LabelSelectorSchema),
  matchLabelKeys: opt(atomic(str())),
  mismatchLabelKeys: opt(atomic(str())),
});

export const WeightedPodAffinityTermSchema = named(`${CORE}.WeightedPodAffinityTerm`, {
  weight: int32(),
  podAffinityTerm: PodAffinityTermSchema,
});

const podAffinity = (id: string) =>
  named(id, {
    requiredDuringSchedulingIgnoredDuringExecution: opt(atomic(PodAffinityTermSchema)),
    preferredDuringSchedulingIgnoredDuringExecution: opt(atomic(WeightedPodAffinityTermSchema)),
  });

export const AffinitySchema = named(`${CORE}.Affinity`, {
  nodeAffinity: opt(
    named(`${CORE}.NodeAffinity`, {
      requiredDuringSchedulingIgnoredDuringExecution: opt(NodeSelectorSchema),
      preferredDuringSchedulingIgnoredDuringExecution: opt(
        atomic(
          named(`${CORE}.PreferredSchedulingTerm`, {
            weight: int32(),
            preference: NodeSelectorTermSchema,
          }),
        ),
      ),
    }),
  ),
  podAffinity: opt(podAffinity(`${CORE}.PodAffinity`)),
  podAntiAffinity: opt(podAffinity(`${CORE}.PodAntiAffinity`)),
});

export const TolerationSchema = named(`${CORE}.Toleration`, {
  key: opt(str()),
  operator: opt(str()),
  value: opt(str()),
  effect: opt(str()),
  tolerationSeconds: opt(int64()),
});
export type Toleration = Static<typeof TolerationSchema>;

export const TopologySpreadConstraintSchema = named(`${CORE}.TopologySpreadConstraint`, {
  maxSkew: int32(),
  topologyKey: str(),
  whenUnsatisfiable: str(),
  labelSelector: opt(LabelSelectorSchema),
  minDomains: opt(int32()),
  nodeAffinityPolicy: opt(str()),
  nodeTaintsPolicy: opt(str()),
  matchLabelKeys: opt(atomic(str())),
});

// ---- pods ---------------------------------------------------------------------------

export const PodSecurityContextSchema = named(`${CORE}.PodSecurityContext`, {
  seLinuxOptions: opt(SELinuxOptionsSchema),
  runAsUser: opt(int64()),
  runAsGroup: opt(int64()),
  runAsNonRoot: opt(bool()),
  supplementalGroups: opt(atomic(int64())),
  fsGroup: opt(int64()),
  fsGroupChangePolicy: opt(str()),
  sysctls: opt(atomic(named(`${CORE}.Sysctl`, { name: str(), value: str() }))),
  seccompProfile: opt(SeccompProfileSchema),
  appArmorProfile: opt(AppArmorProfileSchema),
  windowsOptions: opt(WindowsSecurityContextOptionsSchema),
});

export const HostAliasSchema = named(`${CORE}.HostAlias`, {
  ip: str(),
  hostnames: opt(atomic(str())),
});

export const PodDNSConfigSchema = named(`${CORE}.PodDNSConfig`, {
  nameservers: opt(atomic(str())),
  searches: opt(atomic(str())),
  options: opt(
    atomic(named(`${CORE}.PodDNSConfigOption`, { name: opt(str()), value: opt(str()) })),
  ),
});

export const PodSpecSchema = named(`${CORE}.PodSpec`, {
  volumes: opt(keyed(VolumeSchema, "name", { strategy: "merge,retainKeys" })),
  initContainers: opt(keyed(ContainerSchema, "name")),
  containers: keyed(ContainerSchema, "name"),
  ephemeralContainers: opt(keyed(EphemeralContainerSchema, "name")),
  restartPolicy: opt(str({ default: "Always" })),
  terminationGracePeriodSeconds: opt(int64({ default: 30 })),
  activeDeadlineSeconds: opt(int64()),
  dnsPolicy: opt(str({ default: "ClusterFirst" })),
  nodeSelector: opt(atomicStrMap()),
  serviceAccountName: opt(str()),
  serviceAccount: opt(str()),
  automountServiceAccountToken: opt(bool()),
  nodeName: opt(str()),
  hostNetwork: opt(bool()),
  hostPID: opt(bool()),
  hostIPC: opt(bool()),
  shareProcessNamespace: opt(bool()),
  securityContext: opt(withDefault(PodSecurityContextSchema, {})),
  imagePullSecrets: opt(keyed(LocalObjectReferenceSchema, "name")),
  hostname: opt(str()),
  subdomain: opt(str()),
  setHostnameAsFQDN: opt(bool()),
  affinity: opt(AffinitySchema),
  schedulerName: opt(str({ default: "default-scheduler" })),
  tolerations: opt(atomic(TolerationSchema)),
  hostAliases: opt(keyed(HostAliasSchema, "ip")),
  priorityClassName: opt(str()),
  priority: opt(int32()),
  preemptionPolicy: opt(str()),
  dnsConfig: opt(PodDNSConfigSchema),
  readinessGates: opt(atomic(named(`${CORE}.PodReadinessGate`, { conditionType: str() }))),
  runtimeClassName: opt(str()),
  enableServiceLinks: opt(bool()),
  topologySpreadConstraints: opt(
    keyed(TopologySpreadConstraintSchema, "topologyKey", {
      keys: ["topologyKey", "whenUnsatisfiable"],
    }),
  ),
  overhead: opt(resourceList()),
  os: opt(named(`${CORE}.PodOS`, { name: str() })),
  hostUsers: opt(bool()),
  schedulingGates: opt(keyed(named(`${CORE}.PodSchedulingGate`, { name: str() }), "name")),
});
export type PodSpec = Static<typeof PodSpecSchema>;

export const PodConditionSchema = probedCondition(`${CORE}.PodCondition`);
export type PodCondition = Static<typeof PodConditionSchema>;

export const ContainerStateSchema = named(`${CORE}.ContainerState`, {
  waiting: opt(named(`${CORE}.ContainerStateWaiting`, { reason: opt(str()), message: opt(str()) })),
  running: opt(named(`${CORE}.ContainerStateRunning`, { startedAt: opt(time()) })),
  terminated: opt(
    named(`${CORE}.ContainerStateTerminated`, {
      exitCode: int32(),
      signal: opt(int32()),
      reason: opt(str()),
      message: opt(str()),
      startedAt: opt(time()),
      finishedAt: opt(time()),
      containerID: opt(str()),
    }),
  ),
});
export type ContainerState = Static<typeof ContainerStateSchema>;

export const ContainerStatusSchema = named(`${CORE}.ContainerStatus`, {
  name: str(),
  state: opt(ContainerStateSchema),
  lastState: opt(ContainerStateSchema),
  ready: bool(),
  restartCount: int32(),
  image: str(),
  imageID: str(),
  containerID: opt(str()),
  started: opt(bool()),
  volumeMounts: opt(
    keyed(
      named(`${CORE}.VolumeMountStatus`, {
        name: str(),
        mountPath: str(),
        readOnly: opt(bool()),
        recursiveReadOnly: opt(str()),
      }),
      "mountPath",
    ),
  ),
});
export type ContainerStatus = Static<typeof ContainerStatusSchema>;

const ipEntry = (id: string) => named(id, { ip: str() });

export const PodStatusSchema = named(`${CORE}.PodStatus`, {
  phase: opt(str()),
  conditions: opt(keyed(PodConditionSchema, "type")),
  message: opt(str()),
  reason: opt(str()),
  nominatedNodeName: opt(str()),
  hostIP: opt(str()),
  hostIPs: opt(keyed(ipEntry(`${CORE}.HostIP`), "ip", { listType: "atomic" })),
  podIP: opt(str()),
  podIPs: opt(keyed(ipEntry(`${CORE}.PodIP`), "ip")),
  startTime: opt(time()),
  initContainerStatuses: opt(atomic(ContainerStatusSchema)),
  containerStatuses: opt(atomic(ContainerStatusSchema)),
  ephemeralContainerStatuses: opt(atomic(ContainerStatusSchema)),
  qosClass: opt(str()),
});
export type PodStatus = Static<typeof PodStatusSchema>;

export const PodSchema = kindSchema(`${CORE}.Pod`, PodSpecSchema, PodStatusSchema);
export type Pod = Static<typeof PodSchema>;

export const PodTemplateSpecSchema = templateSchema(`${CORE}.PodTemplateSpec`, PodSpecSchema);
export type PodTemplateSpec = Static<typeof PodTemplateSpecSchema>;

export const BindingSchema = named(`${CORE}.Binding`, {
  ...typeMeta,
  metadata: opt(ObjectMetaSchema),
  target: ObjectReferenceSchema,
});
export type Binding = Static<typeof BindingSchema>;

// ---- nodes --------------------------------------------------------------------------

export const TaintSchema = named(`${CORE}.Taint`, {
  key: str(),
  value: opt(str()),
  effect: str(),
  timeAdded: opt(time()),
});
export type Taint = Static<typeof TaintSchema>;

export const ConfigMapNodeConfigSourceSchema = named(`${CORE}.ConfigMapNodeConfigSource`, {
  namespace: str(),
  name: str(),
  uid: opt(str()),
  resourceVersion: opt(str()),
  kubeletConfigKey: str(),
});

export const NodeConfigSourceSchema = named(`${CORE}.NodeConfigSource`, {
  configMap: opt(ConfigMapNodeConfigSourceSchema),
});

export const NodeSpecSchema = named(`${CORE}.NodeSpec`, {
  podCIDR: opt(str()),
  podCIDRs: opt(set(str(), true)),
  providerID: opt(str()),
  unschedulable: opt(bool()),
  taints: opt(atomic(TaintSchema)),
  configSource: opt(NodeConfigSourceSchema),
  externalID: opt(str()),
});
export type NodeSpec = Static<typeof NodeSpecSchema>;

export const NodeConditionSchema = named(`${CORE}.NodeCondition`, {
  type: str(),
  status: str(),
  lastHeartbeatTime: opt(time()),
  lastTransitionTime: opt(time()),
  reason: opt(str()),
  message: opt(str()),
});
export type NodeCondition = Static<typeof NodeConditionSchema>;

export const NodeAddressSchema = named(`${CORE}.NodeAddress`, { type: str(), address: str() });

export const NodeSystemInfoSchema = named(`${CORE}.NodeSystemInfo`, {
  machineID: opt(str()),
  systemUUID: opt(str()),
  bootID: opt(str()),
  kernelVersion: opt(str()),
  osImage: opt(str()),
  containerRuntimeVersion: opt(str()),
  kubeletVersion: opt(str()),
  kubeProxyVersion: opt(str()),
  operatingSystem: opt(str()),
  architecture: opt(str()),
});

export const NodeStatusSchema = named(`${CORE}.NodeStatus`, {
  capacity: opt(resourceList()),
  allocatable: opt(resourceList()),
  phase: opt(str()),
  conditions: opt(keyed(NodeConditionSchema, "type")),
  addresses: opt(keyed(NodeAddressSchema, "type")),
  daemonEndpoints: opt(
    named(`${CORE}.NodeDaemonEndpoints`, {
      kubeletEndpoint: opt(named(`${CORE}.DaemonEndpoint`, { Port: int32() })),
    }),
  ),
  nodeInfo: opt(NodeSystemInfoSchema),
  images: opt(
    atomic(
      named(`${CORE}.ContainerImage`, {
        names: opt(atomic(str())),
        sizeBytes: opt(int64()),
      }),
    ),
  ),
  volumesInUse: opt(atomic(str())),
  volumesAttached: opt(atomic(named(`${CORE}.AttachedVolume`, { name: str(), devicePath: str() }))),
  config: opt(
    named(`${CORE}.NodeConfigStatus`, {
      assigned: opt(NodeConfigSourceSchema),
      active: opt(NodeConfigSourceSchema),
      lastKnownGood: opt(NodeConfigSourceSchema),
      error: opt(str()),
    }),
  ),
  runtimeHandlers: opt(
    atomic(
      named(`${CORE}.NodeRuntimeHandler`, {
        name: opt(str()),
        features: opt(
          named(`${CORE}.NodeRuntimeHandlerFeatures`, {
            recursiveReadOnlyMounts: opt(bool()),
            userNamespaces: opt(bool()),
          }),
        ),
      }),
    ),
  ),
});
export type NodeStatus = Static<typeof NodeStatusSchema>;

export const NodeSchema = named(`${CORE}.Node`, {
  ...typeMeta,
  metadata: opt(ObjectMetaSchema),
  spec: opt(withDefault(NodeSpecSchema, {})),
  status: opt(withDefault(NodeStatusSchema, {})),
});
export type Node = Static<typeof NodeSchema>;

// ---- services and endpoints ---------------------------------------------------------

export const ServicePortSchema = named(`${CORE}.ServicePort`, {
  name: opt(str()),
  protocol: opt(str({ default: "TCP" })),
  appProtocol: opt(str()),
  port: int32(),
  targetPort: opt(intOrString()),
  nodePort: opt(int32()),
});
export type ServicePort = Static<typeof ServicePortSchema>;

export const ServiceSpecSchema = named(`${CORE}.ServiceSpec`, {
  ports: opt(keyed(ServicePortSchema, "port", { keys: ["port", "protocol"] })),
  selector: opt(atomicStrMap()),
  clusterIP: opt(str()),
  clusterIPs: opt(atomic(str())),
  type: opt(str({ default: "ClusterIP" })),
  externalIPs: opt(atomic(str())),
  sessionAffinity: opt(str({ default: "None" })),
  loadBalancerIP: opt(str()),
  loadBalancerSourceRanges: opt(atomic(str())),
  externalName: opt(str()),
  externalTrafficPolicy: opt(str()),
  healthCheckNodePort: opt(int32()),
  publishNotReadyAddresses: opt(bool()),
  sessionAffinityConfig: opt(
    named(`${CORE}.SessionAffinityConfig`, {
      clientIP: opt(named(`${CORE}.ClientIPConfig`, { timeoutSeconds: opt(int32()) })),
    }),
  ),
  ipFamilies: opt(atomic(str())),
  ipFamilyPolicy: opt(str()),
  allocateLoadBalancerNodePorts: opt(bool()),
  loadBalancerClass: opt(str()),
  internalTrafficPolicy: opt(str()),
  trafficDistribution: opt(str()),
});
export type ServiceSpec = Static<typeof ServiceSpecSchema>;

export const LoadBalancerStatusSchema = named(`${CORE}.LoadBalancerStatus`, {
  ingress: opt(
    atomic(
      named(`${CORE}.LoadBalancerIngress`, {
        ip: opt(str()),
        hostname: opt(str()),
        ipMode: opt(str()),
        ports: opt(
          atomic(
            named(`${CORE}.PortStatus`, { port: int32(), protocol: str(), error: opt(str()) }),
          ),
        ),
      }),
    ),
  ),
});

export const ServiceStatusSchema = named(`${CORE}.ServiceStatus`, {
  loadBalancer: opt(withDefault(LoadBalancerStatusSchema, {})),
  conditions: opt(keyed(ConditionSchema, "type")),
});

export const ServiceSchema = named(`${CORE}.Service`, {
  ...typeMeta,
  metadata: opt(ObjectMetaSchema),
  spec: opt(withDefault(ServiceSpecSchema, {})),
  status: opt(withDefault(ServiceStatusSchema, {})),
});
export type Service = Static<typeof ServiceSchema>;

export const EndpointAddressSchema = named(
  `${CORE}.EndpointAddress`,
  {
    ip: str(),
    hostname: opt(str()),
    nodeName: opt(str()),
    targetRef: opt(ObjectReferenceSchema),
  },
  { "x-kubernetes-map-type": "atomic" },
);
export type EndpointAddress = Static<typeof EndpointAddressSchema>;

export const EndpointPortSchema = named(
  `${CORE}.EndpointPort`,
  {
    name: opt(str()),
    port: int32(),
    protocol: opt(str({ default: "TCP" })),
    appProtocol: opt(str()),
  },
  { "x-kubernetes-map-type": "atomic" },
);
export type EndpointPort = Static<typeof EndpointPortSchema>;

export const EndpointSubsetSchema = named(`${CORE}.EndpointSubset`, {
  addresses: opt(atomic(EndpointAddressSchema)),
  notReadyAddresses: opt(atomic(EndpointAddressSchema)),
  ports: opt(atomic(EndpointPortSchema)),
});
export type EndpointSubset = Static<typeof EndpointSubsetSchema>;

export const EndpointsSchema = named(`${CORE}.Endpoints`, {
  ...typeMeta,
  metadata: opt(ObjectMetaSchema),
  subsets: opt(atomic(EndpointSubsetSchema)),
});
export type Endpoints = Static<typeof EndpointsSchema>;

// ---- configuration ------------------------------------------------------------------

export const ConfigMapSchema = named(`${CORE}.ConfigMap`, {
  ...typeMeta,
  metadata: opt(ObjectMetaSchema),
  immutable: opt(bool()),
  data: opt(strMap()),
  binaryData: opt(Type.Record(Type.String(), bytes())),
});
export type ConfigMap = Static<typeof ConfigMapSchema>;

export const SecretSchema = named(`${CORE}.Secret`, {
  ...typeMeta,
  metadata: opt(ObjectMetaSchema),
  immutable: opt(bool()),
  data: opt(Type.Record(Type.String(), bytes())),
  stringData: opt(strMap()),
  type: opt(str({ default: "Opaque" })),
});
export type Secret = Static<typeof SecretSchema>;

export const ServiceAccountSchema = named(`${CORE}.ServiceAccount`, {
  ...typeMeta,
  metadata: opt(ObjectMetaSchema),
  secrets: opt(keyed(ObjectReferenceSchema, "name")),
  imagePullSecrets: opt(atomic(LocalObjectReferenceSchema)),
  automountServiceAccountToken: opt(bool()),
});
export type ServiceAccount = Static<typeof ServiceAccountSchema>;

// ---- events and namespaces ----------------------------------------------------------

export const EventSchema = named(`${CORE}.Event`, {
  ...typeMeta,
  metadata: ObjectMetaSchema,
  involvedObject: ObjectReferenceSchema,
  reason: opt(str()),
  message: opt(str()),
  source: opt(named(`${CORE}.EventSource`, { component: opt(str()), host: opt(str()) })),
  firstTimestamp: opt(time()),
  lastTimestamp: opt(time()),
  count: opt(int32()),
  type: opt(str()),
  eventTime: opt(microTime()),
  series: opt(
    named(`${CORE}.EventSeries`, { count: opt(int32()), lastObservedTime: opt(microTime()) }),
  ),
  action: opt(str()),
  related: opt(ObjectReferenceSchema),
  reportingComponent: opt(str({ default: "" })),
  reportingInstance: opt(str({ default: "" })),
});
export type Event = Static<typeof EventSchema>;

export const NamespaceConditionSchema = named(`${CORE}.NamespaceCondition`, {
  type: str(),
  status: str(),
  lastTransitionTime: opt(time()),
  reason: opt(str()),
  message: opt(str()),
});

export const NamespaceSchema = named(`${CORE}.Namespace`, {
  ...typeMeta,
  metadata: opt(ObjectMetaSchema),
  spec: opt(withDefault(named(`${CORE}.NamespaceSpec`, { finalizers: opt(atomic(str())) }), {})),
  status: opt(
    withDefault(
      named(`${CORE}.NamespaceStatus`, {
        phase: opt(str({ default: "Active" })),
        conditions: opt(keyed(NamespaceConditionSchema, "type")),
      }),
      {},
    ),
  ),
});
export type Namespace = Static<typeof NamespaceSchema>;
