// Preemption (Kubernetes' DefaultPreemption, in Skiff's size): when no node fits a pod, find
// the node where removing the fewest, least important lower-priority pods makes it fit.
// Pure over the node infos (it removes pods from them while it looks and puts them back).
import { newCycleState, runFilters, type FilterFailure, type FilterFn } from "./filters.js";
import type { NodeInfo, PodInfo } from "./nodeinfo.js";

export interface Preemption {
  node: string;
  victims: PodInfo[];
}

/** A PodDisruptionBudget as preemption weighs it: whom it covers, how many it may lose. */
export interface Budget {
  covers(pod: PodInfo): boolean;
  disruptionsAllowed: number;
}

/** How many victims would break a budget (each budget's allowance spent in order). */
export function budgetViolations(victims: PodInfo[], budgets: Budget[]): number {
  const left = budgets.map((b) => b.disruptionsAllowed);
  let violations = 0;
  for (const v of victims) {
    let broken = false;
    budgets.forEach((b, i) => {
      if (!b.covers(v)) return;
      left[i]!--;
      if (left[i]! < 0) broken = true;
    });
    if (broken) violations++;
  }
  return violations;
}

const priorityOf = (p: PodInfo) => p.pod.spec.priority ?? 0;

/** The victims on one node, or undefined when even removing every lower pod does not help. */
function victimsOn(
  pod: PodInfo,
  node: NodeInfo,
  nodes: readonly NodeInfo[],
  filters: FilterFn[],
  budgets: Budget[],
): PodInfo[] | undefined {
  const prio = priorityOf(pod);
  const lower = [...node.pods.values()].filter(
    (p) => priorityOf(p) < prio && !p.pod.metadata.deletionTimestamp,
  );
  if (lower.length === 0) return undefined;
  for (const p of lower) node.removePod(p.key);
  const fits = () => runFilters(newCycleState(pod, nodes), node, filters) === undefined;
  try {
    if (!fits()) return undefined;
    // Reprieve as many as possible: pods a budget protects first, then the most important.
    const protectedFirst = (p: PodInfo) => (budgetViolations([p], budgets) > 0 ? 0 : 1);
    const order = [...lower].sort(
      (a, b) => protectedFirst(a) - protectedFirst(b) || priorityOf(b) - priorityOf(a),
    );
    const victims: PodInfo[] = [];
    for (const p of order) {
      node.addPod(p);
      if (!fits()) {
        node.removePod(p.key);
        victims.push(p);
      }
    }
    return victims;
  } finally {
    for (const p of lower) if (!node.pods.has(p.key)) node.addPod(p);
  }
}

/**
 * Where to preempt for `pod`, given why each node refused it: only nodes whose failure
 * removing pods could fix are tried. The choice, as Kubernetes makes it: the fewest
 * victims whose disruption budgets forbid it, then the lowest highest-victim priority,
 * then the smallest sum of victim priorities, then the fewest victims.
 */
export function findPreemption(
  pod: PodInfo,
  nodes: readonly NodeInfo[],
  failures: Map<string, FilterFailure>,
  filters: FilterFn[],
  budgets: Budget[] = [],
): Preemption | undefined {
  if (pod.pod.spec.preemptionPolicy === "Never") return undefined;
  let best: { p: Preemption; key: number[] } | undefined;
  for (const node of nodes) {
    if (failures.get(node.name)?.code !== "Unschedulable") continue;
    const victims = victimsOn(pod, node, nodes, filters, budgets);
    if (!victims?.length) continue;
    const prios = victims.map(priorityOf);
    const key = [
      budgetViolations(victims, budgets),
      Math.max(...prios),
      prios.reduce((a, b) => a + b, 0),
      victims.length,
    ];
    const first = best ? key.findIndex((k, i) => k !== best!.key[i]) : 0;
    if (!best || (first >= 0 && key[first]! < best.key[first]!))
      best = { p: { node: node.name, victims }, key };
  }
  return best?.p;
}
