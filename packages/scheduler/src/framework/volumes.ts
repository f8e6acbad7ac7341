// VolumeBinding, in Skiff's size: what a pod's PersistentVolumeClaims say about where it
// may run. Bound claims pin the pod to their volumes' nodes (volume node affinity); an
// unbound claim of a WaitForFirstConsumer class is bound after the scheduler picks a node
// (the scheduler marks the claim with that node); any other unbound claim, or a missing
// one, keeps the pod pending.
import type {
  NodeSelectorTerm,
  PersistentVolume as Volume,
  PersistentVolumeClaim as Claim,
  Pod,
  StorageClass as Class,
} from "../types.js";

export type { Claim, Class, Volume };

export const SELECTED_NODE = "volume.kubernetes.io/selected-node";

export interface VolumePlan {
  /** Why the pod cannot be scheduled now, whatever the node. */
  blocked?: string;
  /** The required node terms of each bound volume: a node must match one term of each. */
  nodeTerms: NodeSelectorTerm[][];
  /** Claims to mark with the chosen node before binding (WaitForFirstConsumer). */
  delayed: string[];
}

export function planVolumes(
  pod: Pod,
  lookup: {
    claim(namespace: string, name: string): Claim | undefined;
    volume(name: string): Volume | undefined;
    storageClass(name: string): Class | undefined;
  },
): VolumePlan {
  const plan: VolumePlan = { nodeTerms: [], delayed: [] };
  const ns = pod.metadata.namespace ?? "";
  for (const v of pod.spec.volumes ?? []) {
    const claimName = v.persistentVolumeClaim?.claimName;
    if (!claimName) continue;
    const claim = lookup.claim(ns, claimName);
    if (!claim) {
      plan.blocked = `persistentvolumeclaim "${claimName}" not found`;
      return plan;
    }
    if (claim.metadata.deletionTimestamp) {
      plan.blocked = `persistentvolumeclaim "${claimName}" is being deleted`;
      return plan;
    }
    const volumeName = claim.spec?.volumeName;
    if (volumeName) {
      const terms = lookup.volume(volumeName)?.spec?.nodeAffinity?.required?.nodeSelectorTerms;
      if (terms) plan.nodeTerms.push(terms);
      continue;
    }
    const sc = lookup.storageClass(claim.spec?.storageClassName ?? "");
    if (sc?.volumeBindingMode === "WaitForFirstConsumer") {
      if (!claim.metadata.annotations?.[SELECTED_NODE]) plan.delayed.push(claimName);
      continue;
    }
    plan.blocked = "pod has unbound immediate PersistentVolumeClaims";
    return plan;
  }
  return plan;
}
