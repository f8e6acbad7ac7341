// Controller expectations: the creates and deletes a controller has asked for but not yet
// seen through its informer. Until they are seen (or expire), the controller must not act
// on its cache again for that key — a slow watch would otherwise make it create twice.
//
// Creations are counted; deletions are tracked by pod uid, so a delete event for a pod we
// did not delete is not mistaken for ours. Expectations older than 5 minutes count as met
// (a lost event must not block a controller forever).

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
