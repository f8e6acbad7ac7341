// The errors a scheduling attempt ends with when it places no pod. Both are expected outcomes,
// not faults: the scheduler turns them into a FailedScheduling event and the pod's
// PodScheduled=False condition (reason Unschedulable), and retries when the cluster changes.
import type { FilterFailure } from "./framework/filters.js";

/**
 * No node fits the pod (Kubernetes' FitError). `message` is the FailedScheduling text,
 * "0/3 nodes are available: 1 Insufficient cpu, ..." (see `fitErrorMessage`); `failures` says
 * why each node was rejected, so the scheduler knows which cluster changes may help.
 */
export class FitError extends Error {
  override readonly name = "FitError";
  constructor(
    readonly numAllNodes: number,
    /** node name → why it was rejected */
    readonly failures: Map<string, FilterFailure>,
    message: string,
  ) {
    super(message);
  }
}

/** The cluster has no nodes at all (Kubernetes' ErrNoNodesAvailable). */
export class NoNodesAvailableError extends Error {
  override readonly name = "NoNodesAvailableError";
  constructor() {
    super("no nodes available to schedule pods");
  }
}
