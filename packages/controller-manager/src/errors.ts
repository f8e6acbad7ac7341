// The errors the controller-manager's own code throws. A sync that throws is retried
// rate-limited and logged with the error's message (QueueController); a bad flag or file is a
// one-line message and a non-zero exit (main.ts). API errors are the client's (ApiError).

/**
 * Two objects a controller names by a hash of their template (ControllerRevisions, a
 * Deployment's ReplicaSets) got the same name for different templates. Thrown by
 * `ensureRevision` and the Deployment controller; the owner's `status.collisionCount` is raised
 * so the next sync's hash, and name, differ. Retrying helps.
 */
export class HashCollisionError extends Error {
  override readonly name = "HashCollisionError";
}

/**
 * The HPA cannot compute a replica count from the metrics it got (Kubernetes' messages, e.g.
 * "no pods returned by selector while calculating replica count"). Thrown by the pure
 * calculation in podautoscaler/replicas.ts; the controller reports it as the condition
 * ScalingActive=False (FailedGetResourceMetric) and tries again at the next resync.
 */
export class ReplicaCalcError extends Error {
  override readonly name = "ReplicaCalcError";
}

/**
 * A flag or setting the manager cannot run with: an unknown name in --controllers, a
 * --cluster-cidr that is no IPv4 CIDR, a --node-cidr-mask-size that does not fit it, a
 * root-ca-cert-publisher without a CA. Thrown while the manager is built; main prints the
 * message on one line and exits non-zero. Retrying does not help.
 */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/**
 * A metric the HPA could not read or use, worded as Kubernetes' ("unable to get metrics for
 * resource cpu: ..."). Thrown while the HPA computes one metric's proposal; its message becomes
 * the FailedGet…Metric event and the ScalingActive=False condition, and the HPA tries again
 * at the next resync.
 */
export class MetricError extends Error {
  override readonly name = "MetricError";
}
