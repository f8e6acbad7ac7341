// Admission for new objects, after defaulting and before validation, as Kubernetes'
// plugins of the same names do, in their order:
//   DefaultStorageClass              a claim naming no class gets the default StorageClass
//   StorageObjectInUseProtection     claims and volumes get their protection finalizers
//   Priority                         a pod's priorityClassName becomes spec.priority
//   LimitRanger                      LimitRange defaults filled in, min/max/ratio enforced
//   ServiceAccount                   a pod's account must exist; its token volume is added
//                                    (serviceaccount-admission.ts)
//   DefaultIngressClass              an Ingress naming no class gets the default IngressClass
//   ResourceQuota                    refuses what would exceed a quota; charges its usage
import {
  SYSTEM_PRIORITY_CLASSES,
  formatUsage,
  parseQuantity,
  podMissing,
  qosClass,
  quotaScopesMatch,
  type QuotaScopeSelector,
  quotaUsage,
  type ResourceInfo,
} from "@skiff/api";
import { ApiError, ForbiddenError } from "./errors.js";
import { get, isObject, meta, type KubeObject } from "./objects.js";
import type { Registry } from "./registry.js";
import { admitServiceAccount, lookupVia } from "./serviceaccount-admission.js";

export const PVC_PROTECTION = "kubernetes.io/pvc-protection";
export const PV_PROTECTION = "kubernetes.io/pv-protection";
const DEFAULT_CLASS = "storageclass.kubernetes.io/is-default-class";
const BETA_DEFAULT_CLASS = "storageclass.beta.kubernetes.io/is-default-class";

export interface AdmissionContext {
  /** Objects of a resource (in a namespace), as the watch cache holds them. */
  list(group: string, resource: string, namespace?: string): Promise<KubeObject[]>;
  registry(group: string, resource: string): Registry;
  /** Plugins turned off (kube-apiserver's --disable-admission-plugins). */
  disabled?: ReadonlySet<string>;
}

type Obj = Record<string, unknown>;
const rec = (v: unknown): Obj => (isObject(v) ? v : {});
const list = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter(isObject) : []);

function addFinalizer(obj: KubeObject, finalizer: string): void {
  const m = meta(obj);
  if (!(m.finalizers ?? []).includes(finalizer))
    m.finalizers = [...(m.finalizers ?? []), finalizer];
}

/** `pods "web" is forbidden: <why>`: a refused admission, worded as Kubernetes does. */
function forbidden(
  info: Pick<ResourceInfo, "resource" | "group">,
  obj: KubeObject,
  why: string[],
): ForbiddenError {
  const what = info.group ? `${info.resource}.${info.group}` : info.resource;
  const name = meta(obj).name ?? "";
  const reason = why.length === 1 ? why[0]! : `[${why.join(", ")}]`;
  return new ForbiddenError(`${what} "${name}" is forbidden: ${reason}`, {
    name,
    kind: info.resource,
    ...(info.group ? { group: info.group } : {}),
  });
}

/** The default StorageClass: the newest one marked default, as Kubernetes 1.28+ picks. */
export function defaultStorageClass(classes: KubeObject[]): string | undefined {
  const marked = classes.filter((c) => {
    const a = meta(c).annotations ?? {};
    return a[DEFAULT_CLASS] === "true" || a[BETA_DEFAULT_CLASS] === "true";
  });
  marked.sort(
    (a, b) =>
      (meta(b).creationTimestamp ?? "").localeCompare(meta(a).creationTimestamp ?? "") ||
      (meta(a).name ?? "").localeCompare(meta(b).name ?? ""),
  );
  return marked[0] ? meta(marked[0]).name : undefined;
}

export async function admitCreate(
  ctx: AdmissionContext,
  info: ResourceInfo,
  obj: KubeObject,
): Promise<void> {
  const ns = meta(obj).namespace;
  switch (info.kind) {
    case "PersistentVolumeClaim": {
      const spec = get(obj, "spec");
      if (
        isObject(spec) &&
        (spec.storageClassName === undefined || spec.storageClassName === null)
      ) {
        const name = defaultStorageClass(await ctx.list("storage.k8s.io", "storageclasses"));
        if (name) spec.storageClassName = name;
      }
      addFinalizer(obj, PVC_PROTECTION);
      limitClaim(info, obj, await ctx.list("", "limitranges", ns));
      break;
    }
    case "PersistentVolume":
      addFinalizer(obj, PV_PROTECTION);
      break;
    case "Ingress":
      await defaultIngressClass(ctx, obj);
      break;
    case "Pod":
      admitPriority(info, obj, await ctx.list("scheduling.k8s.io", "priorityclasses"));
      limitPod(info, obj, await ctx.list("", "limitranges", ns));
      if (!ctx.disabled?.has("ServiceAccount")) {
        // From the watch cache (etcd on a miss, or for an account this server deleted lately),
        // as Kubernetes' plugin reads its informer: not one etcd read per pod.
        const accounts = ctx.registry("", "serviceaccounts");
        const refused = await admitServiceAccount(
          obj,
          lookupVia((n, name) => accounts.getCached(n, name)),
        );
        if (refused) throw forbidden(info, obj, [refused]);
      }
      break;
  }
  if (info.namespaced && ns) await chargeQuota(ctx, info, obj, ns);
}

// ---- DefaultIngressClass --------------------------------------------------------------

const DEFAULT_INGRESS_CLASS = "ingressclass.kubernetes.io/is-default-class";

/**
 * An Ingress naming no class (neither spec.ingressClassName nor the old annotation) gets
 * the default IngressClass: the one marked default, the newest when several are.
 */
async function defaultIngressClass(ctx: AdmissionContext, ing: KubeObject): Promise<void> {
  const spec = rec(ing.spec);
  if (typeof spec.ingressClassName === "string") return;
  if ((meta(ing).annotations ?? {})["kubernetes.io/ingress.class"] !== undefined) return;
  const marked = (await ctx.list("networking.k8s.io", "ingressclasses")).filter(
    (c) => (meta(c).annotations ?? {})[DEFAULT_INGRESS_CLASS] === "true",
  );
  marked.sort((a, b) =>
    (meta(b).creationTimestamp ?? "").localeCompare(meta(a).creationTimestamp ?? ""),
  );
  const name = marked[0] ? meta(marked[0]).name : undefined;
  if (name) ing.spec = { ...spec, ingressClassName: name };
}

// ---- Priority -----------------------------------------------------------------------

function admitPriority(info: ResourceInfo, pod: KubeObject, classes: KubeObject[]): void {
  const spec = rec(pod.spec);
  const wanted = spec.priorityClassName;
  let value = 0;
  let policy: unknown = "PreemptLowerPriority";
  if (typeof wanted === "string" && wanted !== "") {
    const pc = classes.find((c) => meta(c).name === wanted);
    if (!pc) throw forbidden(info, pod, [`no PriorityClass with name ${wanted} was found`]);
    value = typeof pc.value === "number" ? pc.value : 0;
    policy = pc.preemptionPolicy ?? policy;
  } else {
    const dflt = classes
      .filter((c) => c.globalDefault === true)
      .sort((a, b) => Number(b.value) - Number(a.value))[0];
    if (dflt) {
      spec.priorityClassName = meta(dflt).name;
      value = Number(dflt.value);
      policy = dflt.preemptionPolicy ?? policy;
    }
  }
  if (typeof spec.priority === "number" && spec.priority !== value) {
    throw forbidden(info, pod, [
      `the integer value of priority (${spec.priority}) must not be provided in pod spec; priority admission controller computed ${value} from the given PriorityClass name`,
    ]);
  }
  spec.priority = value;
  spec.preemptionPolicy = policy;
}

/** The two classes every cluster has; the apiserver makes them at start. */
export async function ensureSystemPriorityClasses(registry: Registry): Promise<void> {
  for (const [name, value] of Object.entries(SYSTEM_PRIORITY_CLASSES)) {
    try {
      await registry.create(undefined, {
        apiVersion: "scheduling.k8s.io/v1",
        kind: "PriorityClass",
        metadata: { name },
        value,
        description: `Used for system critical pods that must ${name === "system-node-critical" ? "not be moved from their current node" : "run in the cluster, but can be moved to another node if necessary"}.`,
      });
    } catch (e) {
      if (!(e instanceof ApiError && e.reason === "AlreadyExists")) throw e;
    }
  }
}

// ---- LimitRanger ----------------------------------------------------------------------

const q = (v: unknown): number | undefined => {
  if (typeof v !== "string" && typeof v !== "number") return undefined;
  try {
    return parseQuantity(v);
  } catch {
    return undefined;
  }
};

/** min/max/ratio of one resource on one (summed) requests/limits pair. */
function checkBounds(item: Obj, what: string, requests: Obj, limits: Obj, out: string[]): void {
  for (const [r, min] of Object.entries(rec(item.min))) {
    const req = requests[r];
    if (req === undefined)
      out.push(`minimum ${r} usage per ${what} is ${String(min)}.  No request is specified`);
    else if ((q(req) ?? 0) < (q(min) ?? 0))
      out.push(`minimum ${r} usage per ${what} is ${String(min)}, but request is ${String(req)}`);
  }
  for (const [r, max] of Object.entries(rec(item.max))) {
    const lim = limits[r];
    if (lim === undefined)
      out.push(`maximum ${r} usage per ${what} is ${String(max)}.  No limit is specified`);
    else if ((q(lim) ?? 0) > (q(max) ?? 0))
      out.push(`maximum ${r} usage per ${what} is ${String(max)}, but limit is ${String(lim)}`);
  }
  for (const [r, ratio] of Object.entries(rec(item.maxLimitRequestRatio))) {
    const lim = q(limits[r]);
    const req = q(requests[r]);
    if (lim === undefined || req === undefined || req === 0) continue;
    if (lim / req > (q(ratio) ?? Infinity))
      out.push(
        `${r} max limit to request ratio per ${what} is ${String(ratio)}, but provided ratio is ${(lim / req).toFixed(6)}`,
      );
  }
}

function limitPod(info: ResourceInfo, pod: KubeObject, ranges: KubeObject[]): void {
  const items = ranges.flatMap((lr) => list(rec(lr.spec).limits));
  if (items.length === 0) return;
  const spec = rec(pod.spec);
  const containers = [...list(spec.containers), ...list(spec.initContainers)];
  for (const item of items.filter((i) => i.type === "Container")) {
    for (const c of containers) {
      const res = (c.resources = rec(c.resources));
      const limits = (res.limits = rec(res.limits));
      const requests = (res.requests = rec(res.requests));
      for (const [r, v] of Object.entries(rec(item.default))) limits[r] ??= v;
      for (const [r, v] of Object.entries(rec(item.defaultRequest))) requests[r] ??= v;
      // A limit without a request requests the limit (as pod defaulting does).
      for (const [r, v] of Object.entries(limits)) requests[r] ??= v;
      if (Object.keys(limits).length === 0) delete res.limits;
      if (Object.keys(requests).length === 0) delete res.requests;
    }
  }
  const problems: string[] = [];
  for (const item of items) {
    if (item.type === "Container") {
      for (const c of containers) {
        const res = rec(c.resources);
        checkBounds(item, "Container", rec(res.requests), rec(res.limits), problems);
      }
    } else if (item.type === "Pod") {
      const sum = (which: "requests" | "limits"): Obj => {
        const total: Record<string, number> = {};
        for (const c of list(spec.containers))
          for (const [r, v] of Object.entries(rec(rec(c.resources)[which])))
            total[r] = (total[r] ?? 0) + (q(v) ?? 0);
        return Object.fromEntries(Object.entries(total).map(([r, v]) => [r, formatUsage(r, v)]));
      };
      checkBounds(item, "Pod", sum("requests"), sum("limits"), problems);
    }
  }
  if (problems.length) throw forbidden(info, pod, problems);
  // The resources changed: so may the QoS class the pod starts with.
  if (isObject(pod.status)) pod.status.qosClass = qosClass(pod);
}

function limitClaim(info: ResourceInfo, pvc: KubeObject, ranges: KubeObject[]): void {
  const problems: string[] = [];
  const requests = rec(rec(rec(pvc.spec).resources).requests);
  for (const lr of ranges) {
    for (const item of list(rec(lr.spec).limits)) {
      if (item.type !== "PersistentVolumeClaim") continue;
      const storage = requests.storage;
      const min = rec(item.min).storage;
      const max = rec(item.max).storage;
      if (min !== undefined && storage !== undefined && (q(storage) ?? 0) < (q(min) ?? 0))
        problems.push(
          `minimum storage usage per PersistentVolumeClaim is ${String(min)}, but request is ${String(storage)}`,
        );
      if (max !== undefined && storage !== undefined && (q(storage) ?? 0) > (q(max) ?? 0))
        problems.push(
          `maximum storage usage per PersistentVolumeClaim is ${String(max)}, but request is ${String(storage)}`,
        );
    }
  }
  if (problems.length) throw forbidden(info, pvc, problems);
}

// ---- ResourceQuota --------------------------------------------------------------------

/** a > b for quantities held as floats: 0.2 + 0.1 must not exceed 0.3. */
function exceeds(a: number, b: number): boolean {
  return a - b > 1e-9 * Math.max(1, Math.abs(b));
}

/**
 * Refuses the object when it would take a quota of its namespace over its hard limit;
 * otherwise adds its usage to each quota's status.used (compare-and-swap), which the
 * resource quota controller later recounts.
 */
async function chargeQuota(
  ctx: AdmissionContext,
  info: ResourceInfo,
  obj: KubeObject,
  ns: string,
): Promise<void> {
  const quotas = await ctx.list("", "resourcequotas", ns);
  if (quotas.length === 0) return;
  const usage = quotaUsage(info, obj);
  const charges: { name: string; add: Record<string, number> }[] = [];
  for (const quota of quotas) {
    const name = meta(quota).name ?? "";
    const { scopes, scopeSelector } = rec(quota.spec);
    if (
      !quotaScopesMatch(
        info,
        obj,
        Array.isArray(scopes) ? (scopes as string[]) : undefined,
        scopeSelector as QuotaScopeSelector | undefined,
      )
    )
      continue;
    const hard = rec(rec(quota.spec).hard);
    const used = rec(rec(quota.status).used);
    const missing: string[] = [];
    if (info.kind === "Pod") {
      for (const r of Object.keys(hard).sort()) {
        const who = podMissing(obj, r);
        if (who.length && (r.endsWith(".cpu") || r.endsWith(".memory")))
          missing.push(`${r} for: ${who.join(",")}`);
      }
    }
    if (missing.length)
      throw forbidden(info, obj, [`failed quota: ${name}: must specify ${missing.join("; ")}`]);
    const over: string[] = [];
    const add: Record<string, number> = {};
    for (const r of Object.keys(hard).sort()) {
      const requested = usage[r];
      if (requested === undefined) continue;
      add[r] = requested;
      if (exceeds((q(used[r]) ?? 0) + requested, q(hard[r]) ?? 0)) over.push(r);
    }
    if (over.length) {
      const show = (f: (r: string) => string) => over.map((r) => `${r}=${f(r)}`).join(",");
      throw forbidden(info, obj, [
        `exceeded quota: ${name}, requested: ${show((r) => formatUsage(r, usage[r]!))}, used: ${show((r) => formatUsage(r, q(used[r]) ?? 0))}, limited: ${show((r) => String(hard[r]))}`,
      ]);
    }
    if (Object.keys(add).length) charges.push({ name, add });
  }
  const registry = ctx.registry("", "resourcequotas");
  for (const { name, add } of charges) {
    await registry.update(
      ns,
      name,
      (cur) => {
        const status = rec(cur.status);
        const hard = rec(rec(cur.spec).hard);
        const used = { ...rec(status.used) };
        for (const [r, v] of Object.entries(add)) {
          const after = (q(used[r]) ?? 0) + v;
          if (exceeds(after, q(hard[r]) ?? Infinity))
            throw forbidden(info, obj, [
              `exceeded quota: ${name}, requested: ${r}=${formatUsage(r, v)}, used: ${r}=${String(used[r] ?? "0")}, limited: ${r}=${String(hard[r])}`,
            ]);
          used[r] = formatUsage(r, after);
        }
        return { ...cur, status: { ...status, hard: { ...hard }, used } };
      },
      { subresource: "status" },
    );
  }
}
