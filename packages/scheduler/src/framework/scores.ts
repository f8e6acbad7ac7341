// Score plugins: pure functions that rank the nodes a pod fits on, 0 (worst) to 100 (best),
// normalized across the feasible nodes and weighted as in Kubernetes' default profile.
import { matchesLabels, type Requirement } from "@skiff/api/light";
import { nodeSelectorTermMatches, toleratesTaint, type CycleState } from "./filters.js";
import type { NodeInfo, PodInfo } from "./nodeinfo.js";

export const maxNodeScore = 100;

/** What scoring needs beyond the pod and the node. */
export interface ScoreContext {
  state: CycleState;
  /** How many nodes there are, and how many of them hold an image (image locality). */
  totalNodes: number;
  nodesWithImage(image: string): number;
  /** Pods that count as the same group for spreading: same controller, or matched by these selectors. */
  spread: SpreadGroup;
}

export interface SpreadGroup {
  namespace: string;
  controllerUID: string | undefined;
  /** Selectors of the Services that select the pod. */
  selectors: Requirement[][];
}

export interface ScorePlugin {
  name: string;
  weight: number;
  score(ctx: ScoreContext, node: NodeInfo): number;
  /** Rescales the raw scores of all feasible nodes in place to 0..100. */
  normalize?(scores: number[]): void;
}

/** Scales to 0..100 by the highest score; reversed, the lowest raw score becomes 100. */
export function defaultNormalize(scores: number[], reverse: boolean): void {
  const max = Math.max(0, ...scores);
  for (let i = 0; i < scores.length; i++) {
    if (max === 0) scores[i] = reverse ? maxNodeScore : 0;
    else {
      const s = Math.trunc((maxNodeScore * scores[i]!) / max);
      scores[i] = reverse ? maxNodeScore - s : s;
    }
  }
}

/** Favours nodes with the most cpu and memory left after placing the pod. */
export const leastAllocated: ScorePlugin = {
  name: "NodeResourcesFit",
  weight: 1,
  score({ state }, node) {
    const free = (alloc: number, req: number) =>
      alloc === 0 || req > alloc ? 0 : Math.trunc(((alloc - req) * maxNodeScore) / alloc);
    const cpu = free(
      node.allocatable.milliCPU,
      node.nonZeroRequested.milliCPU + state.pod.nonZero.milliCPU,
    );
    const memory = free(
      node.allocatable.memory,
      node.nonZeroRequested.memory + state.pod.nonZero.memory,
    );
    return Math.trunc((cpu + memory) / 2);
  },
};

/** Favours nodes whose cpu and memory would be used in the same proportion. */
export const balancedAllocation: ScorePlugin = {
  name: "NodeResourcesBalancedAllocation",
  weight: 1,
  score({ state }, node) {
    const { milliCPU, memory } = node.allocatable;
    // With two resources the standard deviation of the fractions is half their difference.
    if (milliCPU <= 0 || memory <= 0) return maxNodeScore;
    const cpu = Math.min(1, (node.requested.milliCPU + state.pod.requests.milliCPU) / milliCPU);
    const mem = Math.min(1, (node.requested.memory + state.pod.requests.memory) / memory);
    return Math.trunc((1 - Math.abs(cpu - mem) / 2) * maxNodeScore);
  },
};

/** Sum of the weights of the preferred node affinity terms the node matches. */
export const nodeAffinityPreferred: ScorePlugin = {
  name: "NodeAffinity",
  weight: 2,
  score({ state }, node) {
    const preferred =
      state.pod.pod.spec.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ??
      [];
    let sum = 0;
    for (const p of preferred)
      if (p.weight !== 0 && nodeSelectorTermMatches(p.preference, node.name, node.labels()))
        sum += p.weight;
    return sum;
  },
  normalize: (s) => defaultNormalize(s, false),
};

/** Counts PreferNoSchedule taints the pod does not tolerate; fewer is better. */
export const taintTolerationPreferred: ScorePlugin = {
  name: "TaintToleration",
  weight: 3,
  score({ state }, node) {
    const taints = node.taints;
    if (!taints.length) return 0;
    const tolerations = (state.pod.pod.spec.tolerations ?? []).filter(
      (t) => !t.effect || t.effect === "PreferNoSchedule",
    );
    let n = 0;
    for (const taint of taints) {
      if (taint.effect === "PreferNoSchedule" && !tolerations.some((t) => toleratesTaint(t, taint)))
        n++;
    }
    return n;
  },
  normalize: (s) => defaultNormalize(s, true),
};

/** Whether an existing pod belongs to the same ReplicaSet (or other controller) or Service as the pod. */
export function inSpreadGroup(group: SpreadGroup, other: PodInfo): boolean {
  const meta = other.pod.metadata;
  if (meta.deletionTimestamp || (meta.namespace ?? "") !== group.namespace) return false;
  if (
    group.controllerUID &&
    meta.ownerReferences?.some((o) => o.controller && o.uid === group.controllerUID)
  )
    return true;
  return group.selectors.some((sel) => matchesLabels(sel, meta.labels));
}

/** Counts pods of the same group on the node; fewer is better, so replicas spread out. */
export const selectorSpread: ScorePlugin = {
  name: "SelectorSpread",
  weight: 2,
  score({ spread }, node) {
    if (!spread.controllerUID && spread.selectors.length === 0) return 0;
    let n = 0;
    for (const other of node.pods.values()) if (inSpreadGroup(spread, other)) n++;
    return n;
  },
  normalize: (s) => defaultNormalize(s, true),
};

const mb = 1024 * 1024;
const minImageThreshold = 23 * mb;
const maxContainerThreshold = 1000 * mb;

/** Favours nodes that already hold the pod's images, weighted by how rare they are across nodes. */
export const imageLocality: ScorePlugin = {
  name: "ImageLocality",
  weight: 1,
  score({ state, totalNodes, nodesWithImage }, node) {
    const spec = state.pod.pod.spec;
    const containers = (spec.initContainers?.length ?? 0) + (spec.containers?.length ?? 0);
    let sum = 0;
    for (const name of state.pod.images) {
      const size = node.imageSizes.get(name);
      if (size !== undefined && totalNodes > 0) sum += size * (nodesWithImage(name) / totalNodes);
    }
    const maxThreshold = maxContainerThreshold * Math.max(1, containers);
    const clamped = Math.min(Math.max(sum, minImageThreshold), maxThreshold);
    return Math.trunc(
      (maxNodeScore * (clamped - minImageThreshold)) / (maxThreshold - minImageThreshold),
    );
  },
};

export const defaultScores: ScorePlugin[] = [
  taintTolerationPreferred,
  nodeAffinityPreferred,
  selectorSpread,
  leastAllocated,
  balancedAllocation,
  imageLocality,
];
