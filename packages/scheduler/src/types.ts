// The object shapes the scheduler reads: @skiff/api's kinds with the client's metadata.
import type {
  LabelSelector,
  NodeStatus,
  PodSpec,
  PodStatus,
  ServiceSpec,
  Taint,
  Toleration,
  Container,
} from "@skiff/api/light";
import type { KubeObject } from "@skiff/client";

export type { Container, Taint, Toleration };

export interface Pod extends KubeObject {
  spec: PodSpec;
  status?: PodStatus;
}

export interface NodeSpec {
  unschedulable?: boolean;
  taints?: Taint[];
  podCIDR?: string;
}

export interface Node extends KubeObject {
  spec?: NodeSpec;
  status?: NodeStatus;
}

export interface DisruptionBudget extends KubeObject {
  spec?: { selector?: LabelSelector };
  status?: { disruptionsAllowed?: number };
}

export interface Service extends KubeObject {
  spec?: ServiceSpec;
}

export type Affinity = NonNullable<PodSpec["affinity"]>;
export type NodeSelectorTerm = NonNullable<
  NonNullable<
    NonNullable<Affinity["nodeAffinity"]>["requiredDuringSchedulingIgnoredDuringExecution"]
  >["nodeSelectorTerms"]
>[number];
export type PodAffinityTerm = NonNullable<
  NonNullable<Affinity["podAntiAffinity"]>["requiredDuringSchedulingIgnoredDuringExecution"]
>[number];

/** `namespace/name` of a pod. */
export function podKey(pod: Pod): string {
  return `${pod.metadata.namespace ?? ""}/${pod.metadata.name ?? ""}`;
}
