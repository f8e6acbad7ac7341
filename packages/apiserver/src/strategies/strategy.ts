// The interface of a kind's rules (one file per kind beside this one; strategyFor in index.ts
// picks the one for a resource).
import type { InvalidError } from "../errors.js";
import type { KubeObject } from "../objects.js";
import type { ServiceAllocator } from "../allocator.js";

/** What one kind adds to or changes in the registry's create, update and delete. */
export interface Strategy {
  /** The folder below /registry/ when it is not the resource's name (services/specs). */
  storageDir?: string;
  /** Objects expire after --event-ttl instead of living until deleted. */
  expires?: boolean;
  /**
   * Sets what the server owns on a new object before defaults: its starting status (the
   * client's is dropped; the generic rule is `{}`), generated fields such as a Job's selector.
   */
  prepareForCreate?(obj: KubeObject): void;
  /** Runs after defaults on create (admission that needs the defaulted object). */
  afterDefaults?(obj: KubeObject): void;
  /** Addresses a kind allocates (ClusterIPs, NodePorts): claims held in etcd beside it. */
  claims?: ClaimRules;
  /** Whether an object whose last finalizer was removed goes now (default: yes). */
  finishesOnFinalize?(obj: KubeObject): boolean;
  /**
   * A delete begins: the kind may add finalizers or mark the object terminating; true when the
   * object must wait for the kind's own cleanup (a namespace being emptied) whatever else holds.
   */
  beginDeletion?(obj: KubeObject, finalizers: Set<string>): boolean;
  /** Seconds a deleted object stays for its node to stop it (default 0: none). */
  gracePeriodSeconds?(obj: KubeObject, requested: number | undefined): number;
}

export interface ClaimRules {
  /** The claim keys the object holds. */
  of(obj: KubeObject): string[];
  /** Fills in what the object needs (old: the stored object on update). */
  allocate(obj: KubeObject, old: KubeObject | undefined, alloc: ServiceAllocator): void;
  /** Picks new random values for a claim that collided with another object's. */
  reroll(obj: KubeObject, claim: string, alloc: ServiceAllocator): void;
  /** The error for a claim the client asked for that another object holds. */
  taken(obj: KubeObject, claim: string): InvalidError;
}
