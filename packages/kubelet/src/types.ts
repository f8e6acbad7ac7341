// The slice of the Kubernetes v1 Pod shape that the kubelet reads. @skiff/api will export the
// full types; these stay structurally compatible with them (same names, same JSON).

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
}

export interface EnvVar {
  name: string;
  value?: string;
}

export interface ContainerPort {
  name?: string;
  containerPort: number;
  hostPort?: number;
  hostIP?: string;
  protocol?: "TCP" | "UDP" | "SCTP";
}

export interface ResourceRequirements {
  limits?: Record<string, string | number>;
  requests?: Record<string, string | number>;
}

export interface Capabilities {
  add?: string[];
  drop?: string[];
}

export interface SecurityContext {
  privileged?: boolean;
  runAsUser?: number;
  runAsGroup?: number;
  readOnlyRootFilesystem?: boolean;
  capabilities?: Capabilities;
}

export interface VolumeMount {
  name: string;
  mountPath: string;
  readOnly?: boolean;
  subPath?: string;
}

export interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  workingDir?: string;
  env?: EnvVar[];
  ports?: ContainerPort[];
  resources?: ResourceRequirements;
  securityContext?: SecurityContext;
  volumeMounts?: VolumeMount[];
  imagePullPolicy?: "Always" | "IfNotPresent" | "Never";
  stdin?: boolean;
  stdinOnce?: boolean;
  tty?: boolean;
}

/** A container added through pods/ephemeralcontainers: never restarted, no ports or probes. */
export interface EphemeralContainer extends Container {
  /** The container whose PID namespace it joins. */
  targetContainerName?: string;
}

export interface PodDNSConfig {
  nameservers?: string[];
  searches?: string[];
  options?: { name: string; value?: string }[];
}

export type RestartPolicy = "Always" | "OnFailure" | "Never";

export interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  ephemeralContainers?: EphemeralContainer[];
  restartPolicy?: RestartPolicy;
  nodeName?: string;
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  shareProcessNamespace?: boolean;
  hostname?: string;
  subdomain?: string;
  dnsPolicy?: "ClusterFirst" | "ClusterFirstWithHostNet" | "Default" | "None";
  dnsConfig?: PodDNSConfig;
  terminationGracePeriodSeconds?: number;
}

export interface Pod {
  apiVersion?: "v1";
  kind?: "Pod";
  metadata: ObjectMeta;
  spec: PodSpec;
}
