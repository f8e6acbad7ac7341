// What one object counts against a ResourceQuota: shared by the apiserver's ResourceQuota
// admission (the change a create makes) and the controller that keeps status.used (the
// sum over a namespace). Values are in base units (cores, bytes, counts).
import { formatQuantity, parseQuantity } from "./quantity.js";
import type { ResourceInfo } from "./resources.js";
import { isObject } from "./schema.js";

type Obj = Record<string, unknown>;
const rec = (v: unknown): Obj => (isObject(v) ? v : {});
const list = (v: unknown): Obj[] => (Array.isArray(v) ? v.map(rec) : []);

/** The resources whose quantities are bytes (printed with binary suffixes). */
function isBytes(resource: string): boolean {
  return /(^|\.|\/)(memory|storage|ephemeral-storage)$/.test(resource);
}

/** A usage value as Kubernetes prints quantities ("500m", "1Gi", "3"). */
export function formatUsage(resource: string, value: number): string {
  return formatQuantity(value, isBytes(resource) ? "memory" : "cpu");
}

function quantity(v: unknown): number {
  if (typeof v !== "string" && typeof v !== "number") return 0;
  try {
    return parseQuantity(v);
  } catch {
    return 0;
  }
}

/** A pod's effective requests or limits: the sum over containers, at least any init container. */
function podResources(spec: Obj, which: "requests" | "limits"): Record<string, number> {
  const sum: Record<string, number> = {};
  for (const c of list(spec.containers)) {
    for (const [r, q] of Object.entries(rec(rec(c.resources)[which])))
      sum[r] = (sum[r] ?? 0) + quantity(q);
  }
  for (const c of list(spec.initContainers)) {
    for (const [r, q] of Object.entries(rec(rec(c.resources)[which])))
      sum[r] = Math.max(sum[r] ?? 0, quantity(q));
  }
  return sum;
}

/** Usage of one object of a kind; an empty map for objects that count for nothing. */
export function quotaUsage(
  info: Pick<ResourceInfo, "resource" | "group">,
  obj: Obj,
): Record<string, number> {
  const usage: Record<string, number> = {};
  const meta = rec(obj.metadata);
  if (meta.deletionTimestamp !== undefined && info.resource !== "pods") return usage;
  usage[info.group ? `count/${info.resource}.${info.group}` : `count/${info.resource}`] = 1;
  const spec = rec(obj.spec);
  switch (info.group ? "" : info.resource) {
    case "pods": {
      const phase = rec(obj.status).phase;
      if (phase === "Succeeded" || phase === "Failed" || meta.deletionTimestamp !== undefined)
        return {};
      usage.pods = 1;
      for (const [r, v] of Object.entries(podResources(spec, "requests"))) {
        usage[`requests.${r}`] = v;
        if (r === "cpu" || r === "memory" || r === "ephemeral-storage") usage[r] = v;
      }
      for (const [r, v] of Object.entries(podResources(spec, "limits"))) usage[`limits.${r}`] = v;
      break;
    }
    case "services": {
      usage.services = 1;
      if (spec.type === "LoadBalancer") usage["services.loadbalancers"] = 1;
      if (spec.type === "NodePort" || spec.type === "LoadBalancer")
        usage["services.nodeports"] = list(spec.ports).length;
      break;
    }
    case "persistentvolumeclaims": {
      usage.persistentvolumeclaims = 1;
      const storage = quantity(rec(rec(spec.resources).requests).storage);
      usage["requests.storage"] = storage;
      const sc = spec.storageClassName;
      if (typeof sc === "string" && sc) {
        usage[`${sc}.storageclass.storage.k8s.io/persistentvolumeclaims`] = 1;
        usage[`${sc}.storageclass.storage.k8s.io/requests.storage`] = storage;
      }
      break;
    }
    case "configmaps":
    case "secrets":
    case "replicationcontrollers":
    case "resourcequotas":
      usage[info.resource] = 1;
      break;
  }
  return usage;
}

/** Whether a pod's containers all name `resource` in `requests.` or `limits.` (the quota's "must specify"). */
export function podMissing(obj: Obj, resource: string): string[] {
  const [which, name] = resource.split(".", 2) as [string, string];
  if ((which !== "requests" && which !== "limits") || !name) return [];
  return list(rec(obj.spec).containers)
    .filter((c) => rec(rec(c.resources)[which])[name] === undefined)
    .map((c) => String(c.name ?? ""));
}

/** Whether a pod has no cpu/memory requests or limits at all (QoS BestEffort). */
function isBestEffort(spec: Obj): boolean {
  return [...list(spec.containers), ...list(spec.initContainers)].every((c) => {
    const res = rec(c.resources);
    return ["requests", "limits"].every((w) =>
      Object.keys(rec(res[w])).every((r) => r !== "cpu" && r !== "memory"),
    );
  });
}

/** A quota's spec.scopeSelector: each expression names a scope the object must (not) be in. */
export interface QuotaScopeSelector {
  matchExpressions?: { scopeName: string; operator: string; values?: string[] }[];
}

/**
 * Whether a quota with these scopes (and scope selector) tracks the object. Scoped quotas
 * track pods only: Terminating pods have activeDeadlineSeconds, BestEffort ones no
 * cpu/memory resources, PriorityClass ones a priorityClassName (among `values` for In).
 */
export function quotaScopesMatch(
  info: Pick<ResourceInfo, "resource" | "group">,
  obj: Obj,
  scopes: readonly string[] | undefined,
  scopeSelector?: QuotaScopeSelector,
): boolean {
  const expressions = scopeSelector?.matchExpressions ?? [];
  if ((!scopes || scopes.length === 0) && expressions.length === 0) return true;
  if (info.group !== "" || info.resource !== "pods") return false;
  const spec = rec(obj.spec);
  const terminating = typeof spec.activeDeadlineSeconds === "number";
  const priorityClass = typeof spec.priorityClassName === "string" ? spec.priorityClassName : "";
  const inScope = (scope: string): boolean => {
    switch (scope) {
      case "Terminating":
        return terminating;
      case "NotTerminating":
        return !terminating;
      case "BestEffort":
        return isBestEffort(spec);
      case "NotBestEffort":
        return !isBestEffort(spec);
      case "PriorityClass":
        return priorityClass !== "";
      default:
        return false;
    }
  };
  return (
    (scopes ?? []).every(inScope) &&
    expressions.every((e) => {
      switch (e.operator) {
        case "Exists":
          return inScope(e.scopeName);
        case "DoesNotExist":
          return !inScope(e.scopeName);
        case "In":
          return e.scopeName === "PriorityClass" && (e.values ?? []).includes(priorityClass);
        case "NotIn":
          return e.scopeName === "PriorityClass" && !(e.values ?? []).includes(priorityClass);
        default:
          return false;
      }
    })
  );
}
