// Facts Kubernetes derives from a Pod that several components need.
import { parseQuantity } from "./quantity.js";
import type { Pod } from "./index.js";

interface ResourceList {
  [name: string]: string | number | undefined;
}
interface ContainerResources {
  resources?: { requests?: ResourceList; limits?: ResourceList };
}
/** What these functions read of a pod (a typed `Pod`, or one read off the wire). */
interface PodParts {
  spec?: { containers?: ContainerResources[]; initContainers?: ContainerResources[] };
  status?: { conditions?: { type: string; status: string }[] };
}

export type QOSClass = "Guaranteed" | "Burstable" | "BestEffort";

/**
 * The pod's QoS class as Kubernetes computes it (GetPodQOS), on the defaulted pod (a missing
 * request counts as its limit, as defaulting makes it): only cpu and memory count, and only
 * above zero; BestEffort when no container requests or limits either; Guaranteed when every
 * container (init containers included, ephemeral ones not) limits both, and the summed
 * requests equal the summed limits; Burstable otherwise.
 */
export function qosClass(obj: object): QOSClass {
  const pod = obj as PodParts;
  const requests = new Map<string, number>();
  const limits = new Map<string, number>();
  const add = (m: Map<string, number>, r: string, v: number) => m.set(r, (m.get(r) ?? 0) + v);
  let guaranteed = true;
  for (const c of [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])]) {
    let limited = 0;
    for (const r of ["cpu", "memory"]) {
      const limitText = c.resources?.limits?.[r];
      const limit = limitText === undefined ? 0 : parseQuantity(limitText);
      const requestText = c.resources?.requests?.[r] ?? limitText;
      const request = requestText === undefined ? 0 : parseQuantity(requestText);
      if (request > 0) add(requests, r, request);
      if (limit > 0) {
        add(limits, r, limit);
        limited++;
      }
    }
    if (limited < 2) guaranteed = false;
  }
  if (requests.size === 0 && limits.size === 0) return "BestEffort";
  for (const [r, v] of requests) if (limits.get(r) !== v) guaranteed = false;
  return guaranteed && requests.size === limits.size ? "Guaranteed" : "Burstable";
}

/** The pod's Ready condition is True. */
export function isPodReady(obj: object): boolean {
  return (
    (obj as PodParts).status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ??
    false
  );
}

/**
 * What one pod references, by kind: secrets, configmaps, persistentvolumeclaims,
 * serviceaccounts — what the Node authorizer lets its kubelet read, and what the kubelet watches.
 */
export function podReferences(pod: Pod): Record<string, Set<string>> {
  const secrets = new Set<string>();
  const configmaps = new Set<string>();
  const claims = new Set<string>();
  const add = (set: Set<string>, name: string | undefined) => {
    if (name !== undefined) set.add(name);
  };
  const spec = pod.spec;
  for (const s of spec?.imagePullSecrets ?? []) add(secrets, s.name);
  for (const v of spec?.volumes ?? []) {
    add(secrets, v.secret?.secretName);
    add(configmaps, v.configMap?.name);
    add(claims, v.persistentVolumeClaim?.claimName);
    for (const src of v.projected?.sources ?? []) {
      add(secrets, src.secret?.name);
      add(configmaps, src.configMap?.name);
    }
  }
  const containers = [
    ...(spec?.initContainers ?? []),
    ...(spec?.containers ?? []),
    ...(spec?.ephemeralContainers ?? []),
  ];
  for (const c of containers) {
    for (const e of c.env ?? []) {
      add(secrets, e.valueFrom?.secretKeyRef?.name);
      add(configmaps, e.valueFrom?.configMapKeyRef?.name);
    }
    for (const e of c.envFrom ?? []) {
      add(secrets, e.secretRef?.name);
      add(configmaps, e.configMapRef?.name);
    }
  }
  return {
    secrets,
    configmaps,
    persistentvolumeclaims: claims,
    serviceaccounts: new Set([spec?.serviceAccountName || "default"]),
  };
}
