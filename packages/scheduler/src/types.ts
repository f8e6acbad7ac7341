// The object shapes the scheduler reads: @skiff/api's kinds with the client's metadata.
import type * as api from "@skiff/api/light";
import type { Container, PodSpec, PodStatus, Taint, Toleration } from "@skiff/api/light";
import type { KubeObject } from "@skiff/client";

export type { Container, Taint, Toleration };

/** A pod as the scheduler reads it: with a spec (every pod the apiserver stores has one). */
export interface Pod extends KubeObject {
  spec: PodSpec;
  status?: PodStatus;
}

export type Node = api.Node & KubeObject;
export type DisruptionBudget = api.PodDisruptionBudget & KubeObject;
export type Service = api.Service & KubeObject;
export type PersistentVolumeClaim = api.PersistentVolumeClaim & KubeObject;
export type PersistentVolume = api.PersistentVolume & KubeObject;
export type StorageClass = api.StorageClass & KubeObject;

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
