// Preemption (Kubernetes' DefaultPreemption, in Skiff's size): when no node fits a pod, find
// the node where removing the fewest, least important lower-priority pods makes it fit.
// Pure over the node infos (it removes pods from them while it looks and puts them back).
import { newCycleState, runFilters, type FilterFailure, type FilterFn } from "./filters.js";
import type { NodeInfo, PodInfo } from "./nodeinfo.js";

export interface Preemption {
  node: string;
  victims: PodInfo[];
}

const priorityOf = (p: PodInfo) => p.pod.spec.priority ?? 0;

/** The victims on one node, or undefined when even removing every lower pod does not help. */
function victimsOn(
  pod: PodInfo,
  node: NodeInfo,
  nodes: readonly NodeInfo[],
  filters: FilterFn[],
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
    // Reprieve as many as possible, the most important first.
    const victims: PodInfo[] = [];
    for (const p of [...lower].sort((a, b) => priorityOf(b) - priorityOf(a))) {
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
 * removing pods could fix are tried. The choice: the lowest highest-victim priority, then
 * the smallest sum of victim priorities, then the fewest victims.
 */
export function findPreemption(
  pod: PodInfo,
  nodes: readonly NodeInfo[],
  failures: Map<string, FilterFailure>,
  filters: FilterFn[],
): Preemption | undefined {
  if (pod.pod.spec.preemptionPolicy === "Never") return undefined;
  let best: { p: Preemption; key: [number, number, number] } | undefined;
  for (const node of nodes) {
    if (failures.get(node.name)?.code !== "Unschedulable") continue;
    const victims = victimsOn(pod, node, nodes, filters);
    if (!victims?.length) continue;
    const prios = victims.map(priorityOf);
    const key: [number, number, number] = [
      Math.max(...prios),
      prios.reduce((a, b) => a + b, 0),
      victims.length,
    ];
    const better =
      !best ||
      key[0] < best.key[0] ||
      (key[0] === best.key[0] &&
        (key[1] < best.key[1] || (key[1] === best.key[1] && key[2] < best.key[2])));
    if (better) best = { p: { node: node.name, victims }, key };
  }
  return best?.p;
}
