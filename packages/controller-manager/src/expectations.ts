// Controller expectations: the creates and deletes a controller has asked for but not yet
// seen through its informer. Until they are seen (or expire), the controller must not act
// on its cache again for that key — a slow watch would otherwise make it create twice.
//
// Creations are counted; deletions are tracked by pod uid, so a delete event for a pod we
// did not delete is not mistaken for ours. Expectations older than 5 minutes count as met
// (a lost event must not block a controller forever).

import type { KubeObject, ResourceEventHandler, WorkQueue } from "@skiff/client";
import { unwrapTombstone } from "./controller.js";

const ttlMs = 5 * 60_000;

interface Expectation {
  adds: number;
  deletes: Set<string>;
  at: number;
}

export class Expectations {
  private readonly byKey = new Map<string, Expectation>();

  /** Whether the controller may sync `key` from its cache now. */
  satisfied(key: string): boolean {
    const e = this.byKey.get(key);
    if (!e) return true;
    return (e.adds <= 0 && e.deletes.size === 0) || Date.now() - e.at > ttlMs;
  }

  expectCreations(key: string, n: number): void {
    this.byKey.set(key, { adds: n, deletes: new Set(), at: Date.now() });
  }

  expectDeletions(key: string, uids: string[]): void {
    this.byKey.set(key, { adds: 0, deletes: new Set(uids), at: Date.now() });
  }

  /** A pod we created showed up (or a create failed and will never show up). */
  creationObserved(key: string, n = 1): void {
    const e = this.byKey.get(key);
    if (e) e.adds -= n;
  }

  /** A pod we deleted is gone (or the delete failed). */
  deletionObserved(key: string, uid: string): void {
    this.byKey.get(key)?.deletes.delete(uid);
  }

  delete(key: string): void {
    this.byKey.delete(key);
  }
}

/**
 * The event handler for the pods a controller creates: each event enqueues the pod's owner
 * (`ownerKey`, or nothing for pods it does not own) and settles the expected creations and
 * deletions. A pod that has begun terminating counts as deleted.
 */
export function ownedPodHandler<P extends KubeObject>(
  queue: WorkQueue<string>,
  expectations: Expectations,
  ownerKey: (pod: P) => string | undefined,
): ResourceEventHandler<P> {
  return {
    add: (p) => {
      const key = ownerKey(p);
      if (!key) return;
      expectations.creationObserved(key);
      queue.add(key);
    },
    update: (o, n) => {
      const key = ownerKey(n);
      if (!key || o.metadata.resourceVersion === n.metadata.resourceVersion) return;
      if (n.metadata.deletionTimestamp) expectations.deletionObserved(key, n.metadata.uid ?? "");
      queue.add(key);
    },
    delete: (obj) => {
      const p = unwrapTombstone(obj);
      const key = ownerKey(p);
      if (!key) return;
      expectations.deletionObserved(key, p.metadata.uid ?? "");
      queue.add(key);
    },
  };
}
