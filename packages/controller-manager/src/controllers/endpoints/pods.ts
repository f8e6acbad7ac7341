// What the Endpoints and EndpointSlice controllers share: the object shapes they read,
// which pods back a Service, and how a Service port resolves against one pod.
import {
  findResource,
  type PodSpec,
  type PodStatus,
  type ResourceInfo,
  type ServicePort,
  type ServiceSpec,
} from "@skiff/api/light";
import type { KubeObject, Lister } from "@skiff/client";

export interface Pod extends KubeObject {
  spec?: PodSpec;
  status?: PodStatus;
}

export interface Service extends KubeObject {
  spec?: ServiceSpec;
}

export function resourceInfo(group: string, version: string, resource: string): ResourceInfo {
  const info = findResource(group, version, resource);
  if (!info) throw new Error(`@skiff/api does not know ${resource}`);
  return info;
}

/** Whether the pod reports the Ready condition True. */
export function podReady(pod: Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
}

/** A pod in phase Succeeded or Failed never serves again. */
export function podTerminal(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase === "Succeeded" || phase === "Failed";
}

/** Whether a Service selector picks this pod: every key=value of it is one of the pod's labels. */
export function selectorMatches(selector: Record<string, string>, pod: Pod): boolean {
  const labels = pod.metadata.labels ?? {};
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/** A Service's selector, or undefined when it has none (its endpoints are managed by hand). */
export function serviceSelector(svc: Service): Record<string, string> | undefined {
  const sel = svc.spec?.selector;
  if (!sel || Object.keys(sel).length === 0) return undefined;
  if (svc.spec?.type === "ExternalName") return undefined;
  return sel;
}

/**
 * The pods that may appear as endpoints: selected, with an IP, not finished; pods being
 * deleted only when the Service publishes not-ready addresses (`includeTerminating`).
 */
export function servicePods(svc: Service, pods: Lister<Pod>, includeTerminating: boolean): Pod[] {
  const sel = serviceSelector(svc);
  if (!sel) return [];
  return pods
    .namespace(svc.metadata.namespace ?? "")
    .list()
    .filter((p) => selectorMatches(sel, p))
    .filter((p) => !!p.status?.podIP && !podTerminal(p))
    .filter((p) => includeTerminating || !p.metadata.deletionTimestamp)
    .sort((a, b) => (a.metadata.name ?? "").localeCompare(b.metadata.name ?? ""));
}

/**
 * The port a Service port reaches on one pod: a numeric targetPort as is, a named one
 * looked up among the pod's container ports (undefined when the pod has no such port),
 * no targetPort at all means the Service's own port.
 */
export function resolveTargetPort(sp: ServicePort, pod: Pod): number | undefined {
  const target = sp.targetPort;
  if (target === undefined || target === "") return sp.port;
  if (typeof target === "number") return target;
  if (/^\d+$/.test(target)) return Number(target);
  const protocol = sp.protocol ?? "TCP";
  for (const c of pod.spec?.containers ?? []) {
    for (const p of c.ports ?? []) {
      if (p.name === target && (p.protocol ?? "TCP") === protocol) return p.containerPort;
    }
  }
  return undefined;
}

/** Every Service in the pod's namespace whose selector picks the pod, as keys. */
export function servicesForPod(pod: Pod, services: Lister<Service>): string[] {
  const ns = pod.metadata.namespace ?? "";
  return services
    .namespace(ns)
    .list()
    .filter((s) => {
      const sel = serviceSelector(s);
      return sel !== undefined && selectorMatches(sel, pod);
    })
    .map((s) => `${ns}/${s.metadata.name ?? ""}`);
}
