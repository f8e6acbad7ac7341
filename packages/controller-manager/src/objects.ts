// The kinds the controllers handle, as @skiff/api types with the metadata the client
// guarantees, plus small pod and selector helpers several controllers need.
import type * as api from "@skiff/api/light";
import {
  isPodReady,
  labelSelectorToRequirements,
  matchesLabels,
  type Requirement,
} from "@skiff/api/light";
import type { KubeObject } from "@skiff/client";

export type Pod = api.Pod & KubeObject;
export type ReplicaSet = api.ReplicaSet & KubeObject;
export type ReplicationController = api.ReplicationController & KubeObject;
export type Deployment = api.Deployment & KubeObject;
export type Namespace = api.Namespace & KubeObject;
export type StatefulSet = api.StatefulSet & KubeObject;
export type ControllerRevision = api.ControllerRevision & KubeObject;
export type PersistentVolumeClaim = api.PersistentVolumeClaim & KubeObject;
export type CronJob = api.CronJob & KubeObject;
export type PersistentVolume = api.PersistentVolume & KubeObject;
export type StorageClass = api.StorageClass & KubeObject;
export type Node = api.Node & KubeObject;
export type PodDisruptionBudget = api.PodDisruptionBudget & KubeObject;
export type ResourceQuota = api.ResourceQuota & KubeObject;
export type BatchJob = api.Job & KubeObject;
export type Service = api.Service & KubeObject;
export type DaemonSet = api.DaemonSet & KubeObject;
export type Lease = api.Lease & KubeObject;
export type Endpoints = api.Endpoints & KubeObject;
export type EndpointSlice = api.EndpointSlice & KubeObject;
export type ServiceAccount = api.ServiceAccount & KubeObject;
export type ConfigMap = api.ConfigMap & KubeObject;
export type ClusterRole = api.ClusterRole & KubeObject;
export type HorizontalPodAutoscaler = api.HorizontalPodAutoscaler & KubeObject;

type PodCondition = NonNullable<NonNullable<api.Pod["status"]>["conditions"]>[number];

/** A selector as requirements; an absent selector matches nothing (undefined). */
export function selectorOf(sel: api.LabelSelectorInput | undefined): Requirement[] | undefined {
  if (!sel) return undefined;
  try {
    return labelSelectorToRequirements(sel);
  } catch {
    return undefined;
  }
}

/** Whether labels match; an invalid or absent selector (undefined) matches nothing. */
export function selects(reqs: Requirement[] | undefined, obj: KubeObject): boolean {
  return reqs !== undefined && matchesLabels(reqs, obj.metadata.labels);
}

export function podReadyCondition(pod: Pod): PodCondition | undefined {
  return pod.status?.conditions?.find((c) => c.type === "Ready");
}

/** Ready for at least minReadySeconds (at `now`, in ms). */
export function isPodAvailable(pod: Pod, minReadySeconds: number, now: number): boolean {
  const ready = podReadyCondition(pod);
  if (ready?.status !== "True") return false;
  if (minReadySeconds <= 0) return true;
  const since = ready.lastTransitionTime ? Date.parse(ready.lastTransitionTime) : NaN;
  return !Number.isNaN(since) && since + minReadySeconds * 1000 <= now;
}

/** Not finished and not being deleted: the pods that count toward replicas. */
export function isPodActive(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase !== "Succeeded" && phase !== "Failed" && !pod.metadata.deletionTimestamp;
}

/** Phase Running with the Ready condition True (the StatefulSet controller's "healthy"). */
export function isPodRunningAndReady(pod: Pod): boolean {
  return pod.status?.phase === "Running" && isPodReady(pod);
}
