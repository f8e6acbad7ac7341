// What the Endpoints and EndpointSlice controllers share: which pods back a Service, and how a Service port resolves against one pod.
import type { ObjectReference, ServicePort } from "@skiff/api/light";
import type { Lister } from "@skiff/client";
import type { Pod, Service } from "../../objects.js";

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

/** A Service port as one pod serves it: its number resolved against the pod's ports. */
export interface ResolvedPort {
  name: string;
  port: number;
  protocol: string;
  appProtocol?: string;
}

/** The Service's ports this pod serves (a named targetPort the pod lacks is left out). */
export function resolvePorts(svc: Service, pod: Pod): ResolvedPort[] {
  const out: ResolvedPort[] = [];
  for (const sp of svc.spec?.ports ?? []) {
    const port = resolveTargetPort(sp, pod);
    if (port === undefined) continue;
    out.push({
      name: sp.name ?? "",
      port,
      protocol: sp.protocol ?? "TCP",
      ...(sp.appProtocol ? { appProtocol: sp.appProtocol } : {}),
    });
  }
  return out;
}

/**
 * What an endpoint (an Endpoints address or an EndpointSlice endpoint) says about its pod:
 * the hostname when the pod names the Service as its subdomain, the node, and a reference.
 */
export function endpointPodFields(
  svc: Service,
  pod: Pod,
): { hostname?: string; nodeName?: string; targetRef: ObjectReference } {
  return {
    ...(pod.spec?.hostname && pod.spec.subdomain === svc.metadata.name
      ? { hostname: pod.spec.hostname }
      : {}),
    ...(pod.spec?.nodeName ? { nodeName: pod.spec.nodeName } : {}),
    targetRef: {
      kind: "Pod",
      namespace: pod.metadata.namespace ?? "",
      name: pod.metadata.name ?? "",
      uid: pod.metadata.uid ?? "",
    },
  };
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
