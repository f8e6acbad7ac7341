// Change tracker: what changed per object since the last sync, kept as {previous, current}.
//
// Contract: repeated updates of one key merge (previous stays the state at the last sync,
// current follows the newest); a key that changed back to its synced state is dropped, so
// pending() says whether a sync has anything to do.
export interface Change<T> {
  previous: T | undefined;
  current: T | undefined;
}

export class ChangeTracker<T> {
  private changes = new Map<string, Change<T>>();

  /** Records one event; returns whether anything is pending afterwards. */
  update(key: string, previous: T | undefined, current: T | undefined): boolean {
    const change = this.changes.get(key) ?? { previous, current };
    change.current = current;
    if (JSON.stringify(change.previous) === JSON.stringify(change.current))
      this.changes.delete(key);
    else this.changes.set(key, change);
    return this.changes.size > 0;
  }

  pending(): boolean {
    return this.changes.size > 0;
  }

  /** Hands over the accumulated changes and starts afresh. */
  drain(): Map<string, Change<T>> {
    const out = this.changes;
    this.changes = new Map();
    return out;
  }
}
