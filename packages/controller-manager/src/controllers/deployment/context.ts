// The one value every Deployment sync step takes: see DeploymentSync.
import type { EventRecorder, Lister, ResourceClient } from "@skiff/client";
import type { Deployment, Pod, ReplicaSet } from "../../objects.js";

/**
 * What a sync step may use: the clients it writes through, the pod cache Recreate reads,
 * the controller's event recorder, and a way to look at the Deployment again later.
 * Every step takes working copies (never cached objects) and updates them in place with
 * what the server returned, so later steps of the same sync see the writes.
 */
export interface DeploymentSync {
  readonly deployments: ResourceClient<Deployment>;
  readonly replicaSets: ResourceClient<ReplicaSet>;
  readonly pods: Lister<Pod>;
  readonly recorder: EventRecorder;
  /** Syncs `d` again in `ms` (a progress deadline not yet due). */
  requeueAfter(d: Deployment, ms: number): void;
}
