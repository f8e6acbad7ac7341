// The pods/eviction subresource: deletes a pod unless that would break the one
// PodDisruptionBudget covering it, in which case it answers 429 as Kubernetes does. An
// allowed eviction takes one disruption from the budget's status (compare-and-swap, so two
// evictions never spend the same one) and notes the pod in status.disruptedPods until the
// disruption controller sees it go.
import { labelSelectorToRequirements, resourceInfo, matchesLabels } from "@skiff/api";
import type { DeleteOptions, Registry } from "./registry.js";
import { ForbiddenError, InternalError, TooManyRequestsError } from "./errors.js";
import { get, isObject, meta, now, type KubeObject } from "./objects.js";

const VIOLATION = "Cannot evict pod as it would violate the pod's disruption budget.";

function isReady(pod: KubeObject): boolean {
  const conditions = get(pod, "status", "conditions");
  return (
    Array.isArray(conditions) &&
    conditions.some((c) => isObject(c) && c.type === "Ready" && c.status === "True")
  );
}

/** Pods that cannot count toward a budget are evicted without one (canIgnorePDB). */
function ignoresBudget(pod: KubeObject): boolean {
  const phase = get(pod, "status", "phase");
  return (
    phase === "Succeeded" ||
    phase === "Failed" ||
    phase === "Pending" ||
    meta(pod).deletionTimestamp !== undefined
  );
}

function budgetsFor(pod: KubeObject, budgets: KubeObject[]): KubeObject[] {
  const ns = meta(pod).namespace;
  return budgets.filter((b) => {
    if (meta(b).namespace !== ns) return false;
    const selector = get(b, "spec", "selector");
    if (!isObject(selector)) return false;
    try {
      const reqs = labelSelectorToRequirements(selector);
      // An empty selector selects every pod in policy/v1.
      return matchesLabels(reqs, meta(pod).labels);
    } catch {
      return false;
    }
  });
}

export async function evictPod(
  registry: (resource: string, group: string) => Registry,
  namespace: string,
  name: string,
  opts: DeleteOptions,
): Promise<void> {
  const pods = registry("pods", "");
  const pod = await pods.get(namespace, name);
  if (!ignoresBudget(pod)) {
    const budgetsInfo = resourceInfo("policy", "v1", "poddisruptionbudgets");
    const budgets = registry(budgetsInfo.resource, budgetsInfo.group);
    const page = await budgets.list(namespace, {});
    const matching = budgetsFor(pod, page.items);
    if (matching.length > 1) {
      throw new InternalError(
        "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
      );
    }
    const pdb = matching[0];
    if (pdb) await takeDisruption(budgets, pdb, pod);
  }
  await pods.delete(namespace, name, opts);
}

async function takeDisruption(budgets: Registry, pdb: KubeObject, pod: KubeObject): Promise<void> {
  const pdbName = meta(pdb).name ?? "";
  const podName = meta(pod).name ?? "";
  const unhealthyPolicy = get(pdb, "spec", "unhealthyPodEvictionPolicy");
  const status = (isObject(pdb.status) ? pdb.status : {}) as Record<string, unknown>;
  const num = (k: string) => (typeof status[k] === "number" ? (status[k] as number) : 0);
  if (!isReady(pod)) {
    // An unready pod does not count as healthy: evicting it costs the budget nothing when
    // the budget is met anyway (IfHealthyBudget), or always (AlwaysAllow).
    if (unhealthyPolicy === "AlwaysAllow") return;
    if (num("desiredHealthy") > 0 && num("currentHealthy") >= num("desiredHealthy")) return;
  }
  await budgets.update(
    meta(pdb).namespace,
    pdbName,
    (cur) => {
      const s = (isObject(cur.status) ? cur.status : {}) as Record<string, unknown>;
      const observed = typeof s.observedGeneration === "number" ? s.observedGeneration : 0;
      if (observed < (meta(cur).generation ?? 0)) {
        throw new TooManyRequestsError(VIOLATION, [
          {
            type: "DisruptionBudget",
            message: `The disruption budget ${pdbName} is still being processed by the server.`,
          },
        ]);
      }
      const allowed = typeof s.disruptionsAllowed === "number" ? s.disruptionsAllowed : 0;
      if (allowed < 0) throw new ForbiddenError("pdb disruptions allowed is negative");
      const disrupted = isObject(s.disruptedPods) ? { ...s.disruptedPods } : {};
      if (Object.keys(disrupted).length > 2000)
        throw new ForbiddenError(
          "DisruptedPods map too big - too many evictions not confirmed by PDB controller",
        );
      if (allowed === 0) {
        throw new TooManyRequestsError(VIOLATION, [
          {
            type: "DisruptionBudget",
            message: `The disruption budget ${pdbName} needs ${String(s.desiredHealthy ?? 0)} healthy pods and has ${String(s.currentHealthy ?? 0)} currently`,
          },
        ]);
      }
      disrupted[podName] = now();
      return {
        ...cur,
        status: { ...s, disruptionsAllowed: allowed - 1, disruptedPods: disrupted },
      };
    },
    { subresource: "status" },
  );
}
