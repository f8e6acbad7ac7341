// One scheduling decision: filter the nodes, score the feasible ones, pick the best. Pure over
// the node infos it is given; when nothing fits it throws a FitError worded like Kubernetes'.
import {
  runFilters,
  newCycleState,
  defaultFilters,
  type FilterFailure,
  type FilterFn,
} from "./filters.js";
import type { NodeInfo, PodInfo } from "./nodeinfo.js";
import { defaultScores, type ScoreContext, type ScorePlugin, type SpreadGroup } from "./scores.js";
import { findPreemption, type Budget, type Preemption } from "./preemption.js";
import { FitError, NoNodesAvailableError } from "../errors.js";

/** The state of the cluster a decision is made against. */
export interface Snapshot {
  /** Every node, in a stable order (the search resumes where the last one stopped). */
  nodes: readonly NodeInfo[];
  nodesWithImage(image: string): number;
}

export interface ScheduleResult {
  nodeName: string;
  evaluatedNodes: number;
  feasibleNodes: number;
}

function histogram(counts: Map<string, number>): string {
  // Kubernetes sorts the "<count> <reason>" strings themselves.
  return [...counts]
    .map(([reason, n]) => `${n} ${reason}`)
    .sort()
    .join(", ");
}

/**
 * "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had untolerated taint {k: v}.
 * preemption: 0/3 nodes are available: ..." — Skiff has no preemption, and says what
 * Kubernetes says when preemption finds nothing: for nodes that removing pods cannot fix,
 * "Preemption is not helpful", for the others "No preemption victims found" (Skiff never evicts).
 */
export function fitErrorMessage(
  numAllNodes: number,
  failures: Iterable<FilterFailure>,
  preemptionNever = false,
): string {
  const reasons = new Map<string, number>();
  const preemption = new Map<string, number>();
  for (const f of failures) {
    for (const r of f.reasons) reasons.set(r, (reasons.get(r) ?? 0) + 1);
    const p =
      f.code === "UnschedulableAndUnresolvable"
        ? "Preemption is not helpful for scheduling"
        : "No preemption victims found for incoming pod";
    preemption.set(p, (preemption.get(p) ?? 0) + 1);
  }
  const head = `0/${numAllNodes} nodes are available: ${histogram(reasons)}.`;
  if (preemptionNever) return `${head} preemption: not eligible due to preemptionPolicy=Never.`;
  return `${head} preemption: 0/${numAllNodes} nodes are available: ${histogram(preemption)}.`;
}

export interface AlgorithmOptions {
  /** 0 (default): Kubernetes' adaptive percentage, from 50% down to 5% as clusters grow. */
  percentageOfNodesToScore?: number;
  filters?: FilterFn[];
  scores?: ScorePlugin[];
  random?: () => number;
}

const minFeasibleNodesToFind = 100;
const minFeasibleNodesPercentageToFind = 5;

/** How many feasible nodes are enough to stop searching (Kubernetes' numFeasibleNodesToFind). */
export function numFeasibleNodesToFind(numAllNodes: number, percentage = 0): number {
  if (numAllNodes < minFeasibleNodesToFind) return numAllNodes;
  let p = percentage;
  if (p <= 0) p = Math.max(minFeasibleNodesPercentageToFind, 50 - Math.trunc(numAllNodes / 125));
  if (p >= 100) return numAllNodes;
  return Math.max(minFeasibleNodesToFind, Math.trunc((numAllNodes * p) / 100));
}

export class Algorithm {
  /** Where the next search starts, so that successive pods look at different nodes first. */
  private nextStartNodeIndex = 0;
  private readonly filters: FilterFn[];
  private readonly scores: ScorePlugin[];
  private readonly random: () => number;

  constructor(private readonly opts: AlgorithmOptions = {}) {
    this.filters = opts.filters ?? defaultFilters;
    this.scores = opts.scores ?? defaultScores;
    this.random = opts.random ?? Math.random;
  }

  /** Where lower-priority pods could make room for a pod that fits nowhere (preemption.ts). */
  preempt(
    pod: PodInfo,
    snapshot: Snapshot,
    failures: Map<string, FilterFailure>,
    budgets: Budget[] = [],
  ): Preemption | undefined {
    return findPreemption(pod, snapshot.nodes, failures, this.filters, budgets);
  }

  /** Picks a node for the pod, or throws FitError / NoNodesAvailableError. */
  schedule(pod: PodInfo, snapshot: Snapshot, spread: SpreadGroup): ScheduleResult {
    const all = snapshot.nodes;
    if (all.length === 0) throw new NoNodesAvailableError();
    const state = newCycleState(pod, all);
    const want = numFeasibleNodesToFind(all.length, this.opts.percentageOfNodesToScore);
    const feasible: NodeInfo[] = [];
    const failures = new Map<string, FilterFailure>();
    let processed = 0;
    for (; processed < all.length && feasible.length < want; processed++) {
      const node = all[(this.nextStartNodeIndex + processed) % all.length]!;
      const failure = runFilters(state, node, this.filters);
      if (failure) failures.set(node.name, failure);
      else feasible.push(node);
    }
    this.nextStartNodeIndex = (this.nextStartNodeIndex + processed) % all.length;
    if (feasible.length === 0)
      throw new FitError(
        all.length,
        failures,
        fitErrorMessage(all.length, failures.values(), pod.pod.spec.preemptionPolicy === "Never"),
      );
    const result = { evaluatedNodes: processed, feasibleNodes: feasible.length };
    if (feasible.length === 1) return { nodeName: feasible[0]!.name, ...result };

    const ctx: ScoreContext = {
      state,
      totalNodes: all.length,
      nodesWithImage: (i) => snapshot.nodesWithImage(i),
      spread,
    };
    const totals = this.prioritize(ctx, feasible);
    return { nodeName: this.selectHost(feasible, totals), ...result };
  }

  /** Weighted sum of every score plugin's normalized score, per feasible node. */
  prioritize(ctx: ScoreContext, nodes: NodeInfo[]): number[] {
    const totals = new Array<number>(nodes.length).fill(0);
    for (const plugin of this.scores) {
      const scores = nodes.map((n) => plugin.score(ctx, n));
      plugin.normalize?.(scores);
      for (let i = 0; i < nodes.length; i++) totals[i]! += scores[i]! * plugin.weight;
    }
    return totals;
  }

  /** The highest total; among equals, one chosen at random (reservoir sampling). */
  private selectHost(nodes: NodeInfo[], totals: number[]): string {
    let best = 0;
    let ties = 1;
    for (let i = 1; i < nodes.length; i++) {
      if (totals[i]! > totals[best]!) {
        best = i;
        ties = 1;
      } else if (totals[i] === totals[best]) {
        ties++;
        if (this.random() * ties < 1) best = i;
      }
    }
    return nodes[best]!.name;
  }
}
