// Change tracking: what changed per object since the last sync, kept as {previous, current},
// and the part every proxier shares (iptables and IPVS): informer events in, the current
// Services and EndpointSlices out at the start of each sync.
import type { EndpointSlice, Service } from "./types.js";
import type { BoundedFrequencyRunner } from "./runner.js";
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

/**
 * The Services and EndpointSlices a proxier programs. Informer events are recorded as changes
 * and poke the runner; `applyChanges()` folds them in when a sync starts. A failed sync hands
 * its start time back with `changesNotSynced()`, so healthz keeps counting from the oldest
 * change still not in the kernel.
 */
export abstract class ServiceProxier {
  protected readonly services = new Map<string, Service>();
  protected readonly slices = new Map<string, EndpointSlice>();
  private readonly serviceChanges = new ChangeTracker<Service>();
  private readonly sliceChanges = new ChangeTracker<EndpointSlice>();
  protected abstract readonly runner: BoundedFrequencyRunner;
  /** When the oldest change not yet in the kernel was recorded (kube-proxy's healthz). */
  pendingSince: number | undefined;

  onServiceAdd(s: Service): void {
    this.onServiceUpdate(undefined, s);
  }
  onServiceUpdate(old: Service | undefined, s: Service | undefined): void {
    if (this.serviceChanges.update(objectKey((s ?? old)!), old, s)) this.poke();
  }
  onServiceDelete(s: Service): void {
    this.onServiceUpdate(s, undefined);
  }
  onEndpointSliceAdd(e: EndpointSlice): void {
    this.onEndpointSliceUpdate(undefined, e);
  }
  onEndpointSliceUpdate(old: EndpointSlice | undefined, e: EndpointSlice | undefined): void {
    if (this.sliceChanges.update(objectKey((e ?? old)!), old, e)) this.poke();
  }
  onEndpointSliceDelete(e: EndpointSlice): void {
    this.onEndpointSliceUpdate(e, undefined);
  }

  protected poke(): void {
    this.pendingSince ??= Date.now();
    this.runner.run();
  }

  /** Folds the recorded changes into services/slices; returns when the oldest was recorded. */
  protected applyChanges(): number | undefined {
    const pendingSince = this.pendingSince;
    this.pendingSince = undefined;
    for (const [key, c] of this.serviceChanges.drain()) put(this.services, key, c.current);
    for (const [key, c] of this.sliceChanges.drain()) put(this.slices, key, c.current);
    return pendingSince;
  }

  /** The sync that applied changes recorded since `pendingSince` failed: they are still pending. */
  protected changesNotSynced(pendingSince: number | undefined): void {
    if (pendingSince !== undefined)
      this.pendingSince = Math.min(pendingSince, this.pendingSince ?? Infinity);
  }
}

function objectKey(o: Service | EndpointSlice): string {
  return `${o.metadata.namespace ?? "default"}/${o.metadata.name}`;
}

function put<T>(map: Map<string, T>, key: string, current: T | undefined): void {
  if (current === undefined) map.delete(key);
  else map.set(key, current);
}
