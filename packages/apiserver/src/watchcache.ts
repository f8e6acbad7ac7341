// The watch cache: one etcd watch per resource, the current objects, and a bounded
// history of events that fans out to every watcher of that resource.
//
// Contract:
// - Events reach each watcher in revision order, with no gaps and no duplicates.
// - A watch from revision R replays every event after R that is still in the history;
//   if R is older than the history it is refused with GoneError (the client relists).
// - A watcher's filter decides what it sees: an object that stops matching arrives as
//   DELETED, one that starts matching as ADDED.
// - An event is serialized once while it fans out, shared by all watchers of that moment;
//   the history keeps the object, not the JSON (a replay serializes again).
// - The history keeps at most `historySize` events, and drops events older than
//   `freshMs` (75 s, Kubernetes' eventFreshDuration) beyond the newest `minHistory` (100,
//   Kubernetes' smallest watch-cache capacity): a watcher that resumes within 75 s (or from a
//   bookmark, sent every minute) never needs a relist, while an idle resource holds little.
import type { Storage, WatchEventRaw } from "./storage.js";
import { GoneError } from "./errors.js";
import { withVersion, type ApiObject, type KubeObject } from "./objects.js";

export type EventType = "ADDED" | "MODIFIED" | "DELETED";

export interface CacheEvent {
  type: EventType;
  key: string;
  object: KubeObject;
  prevObject?: KubeObject;
  revision: number;
  /** The JSON watch line, shared by the watchers it fans out to; dropped once sent. */
  line?: string;
}

export interface HistoryLimits {
  /** Most events kept (default 10,000). */
  historySize?: number;
  /** Events older than this (ms) are dropped beyond the newest `minHistory` (default 75 s). */
  freshMs?: number;
  /** Events always kept, however old (default 100). */
  minHistory?: number;
}

export interface Watcher {
  /** Called with events in order. Returns false when the watcher is gone. */
  send(type: EventType, object: KubeObject, event: CacheEvent): void;
  bookmark(revision: number): void;
  /** The cache cannot continue (storage trouble): the watcher must end its stream. */
  terminate(reason: string): void;
}

export interface WatchOptions {
  /** undefined: start with the current state as ADDED events. */
  fromRevision: number | undefined;
  filter: (obj: KubeObject) => boolean;
}

/**
 * What a registry serves watches and cached reads from: the watch cache, or for Events (which
 * Kubernetes does not cache) etcd itself (uncached.ts).
 */
export interface WatchSource {
  /** Whether watchers get bookmarks (the watch cache's; a watch straight from etcd has none). */
  readonly bookmarks: boolean;
  start(): Promise<void>;
  peek(key: string): KubeObject | undefined;
  reachable(rev: number, timeoutMs?: number): Promise<boolean>;
  isSynced(): boolean;
  currentRevision(): number;
  list<T extends ApiObject = KubeObject>(): Promise<{ items: T[]; revision: number }>;
  /** The objects at hand without waiting, or undefined when only `list` can tell. */
  snapshot<T extends ApiObject = KubeObject>(): T[] | undefined;
  watch(w: Watcher, opts: WatchOptions): Promise<() => void>;
  bookmarkAll(): void;
  size(): { objects: number; history: number };
  watcherCount(): number;
  stop(): Promise<void>;
}

export class WatchCache implements WatchSource {
  readonly bookmarks = true;
  private state = new Map<string, KubeObject>();
  private history: CacheEvent[] = [];
  /** When each history event arrived (Date.now()), parallel to `history`. */
  private historyAt: number[] = [];
  private readonly historySize: number;
  private readonly freshMs: number;
  private readonly minHistory: number;
  /** Events with revision > oldest are all in history. */
  private oldest = 0;
  private revision = 0;
  /** The keys already applied at `revision`. */
  private readonly keysAtRevision = new Set<string>();
  /** `after`: the watcher already has everything up to this revision (its starting point). */
  private watchers = new Set<{ w: Watcher; filter: (o: KubeObject) => boolean; after: number }>();
  private cancel: (() => Promise<void>) | undefined;
  private ready: Promise<void> | undefined;
  private stopped = false;
  /** The state reflects a complete list plus the watch since (false while relisting). */
  private synced = false;
  /** The objects sorted by key, until the next change (shared: callers must not modify it). */
  private sorted: KubeObject[] | undefined;

  constructor(
    private readonly storage: Storage,
    private readonly prefix: string,
    limits: number | HistoryLimits = {},
    private readonly log: (msg: string) => void = () => {},
    /** Applied to every object read from storage (custom resources' apiVersion). */
    private readonly decode: (obj: KubeObject) => KubeObject = (o) => o,
  ) {
    const l = typeof limits === "number" ? { historySize: limits } : limits;
    this.historySize = l.historySize ?? 10_000;
    this.freshMs = l.freshMs ?? 75_000;
    this.minHistory = Math.min(l.minHistory ?? 100, this.historySize);
  }

  /** Lists the prefix, then watches it from the list's revision. Idempotent. */
  start(): Promise<void> {
    this.ready ??= this.init().catch((err: unknown) => {
      this.ready = undefined;
      throw err;
    });
    return this.ready;
  }

  private async init(): Promise<void> {
    const { items, revision } = await listPrefix(this.storage, this.prefix, this.decode);
    this.state = new Map(items);
    this.sorted = undefined;
    this.synced = true;
    this.history = [];
    this.historyAt = [];
    this.oldest = revision;
    this.revision = revision;
    this.keysAtRevision.clear();
    this.cancel = await this.storage.watch(
      this.prefix,
      revision + 1,
      (events) => this.apply(events),
      (err) => this.restart(err),
    );
  }

  private restart(err: Error): void {
    if (this.stopped) return;
    this.log(`watch on ${this.prefix} failed, relisting: ${err.message}`);
    const cancel = this.cancel;
    this.cancel = undefined;
    this.ready = undefined;
    this.synced = false;
    void cancel?.().catch(() => {});
    for (const entry of this.watchers) entry.w.terminate("storage watch restarted");
    this.watchers.clear();
    const retry = (): void => {
      if (this.stopped) return;
      this.start().catch(() => setTimeout(retry, 1000));
    };
    retry();
  }

  private apply(raw: WatchEventRaw[]): void {
    for (const r of raw) {
      // Already seen (a resumed etcd watch). One revision may change several keys (a revoked
      // lease deletes all its Events at once), so the last revision is checked key by key.
      if (r.modRevision < this.revision) continue;
      if (r.modRevision === this.revision && this.keysAtRevision.has(r.key)) continue;
      if (r.modRevision > this.revision) this.keysAtRevision.clear();
      this.keysAtRevision.add(r.key);
      const prev = this.state.get(r.key);
      let ev: CacheEvent;
      if (r.type === "put") {
        const object = this.decode(withVersion(r.value!, r.modRevision));
        this.state.set(r.key, object);
        this.sorted = undefined;
        ev = {
          type: prev ? "MODIFIED" : "ADDED",
          key: r.key,
          object,
          prevObject: prev,
          revision: r.modRevision,
        };
      } else {
        if (!prev) continue;
        this.state.delete(r.key);
        this.sorted = undefined;
        // A deleted object is reported in its last state, at the deletion's revision.
        const object = withVersion({ ...prev }, r.modRevision);
        ev = { type: "DELETED", key: r.key, object, prevObject: prev, revision: r.modRevision };
      }
      this.revision = r.modRevision;
      this.history.push(ev);
      this.historyAt.push(Date.now());
      for (const entry of this.watchers)
        if (ev.revision > entry.after) deliver(entry.w, entry.filter, ev);
      ev.line = undefined;
    }
    if (raw.length) this.revision = Math.max(this.revision, raw[raw.length - 1]!.modRevision);
    this.prune();
  }

  /** Drops history beyond `historySize`, and events older than `freshMs` beyond `minHistory`. */
  private prune(now = Date.now()): void {
    let drop = Math.max(0, this.history.length - this.historySize);
    while (
      this.history.length - drop > this.minHistory &&
      now - this.historyAt[drop]! > this.freshMs
    )
      drop++;
    if (drop === 0) return;
    const dropped = this.history.splice(0, drop);
    this.historyAt.splice(0, drop);
    this.oldest = dropped[dropped.length - 1]!.revision;
  }

  /**
   * The cached object at `key`, possibly a little behind etcd, or undefined when the key is
   * absent or the cache is not synced. Shared with every watcher: callers must not mutate it.
   */
  peek(key: string): KubeObject | undefined {
    return this.synced ? this.state.get(key) : undefined;
  }

  /**
   * Whether a watch may start at `rev`. Any revision etcd has reached will do, even one this
   * cache has not seen: a LIST read from etcd carries etcd's global revision, which is ahead
   * of the cache when nothing under its prefix changed since; such a watcher gets the events
   * after `rev` as they come. A revision etcd has not reached gets up to `timeoutMs` to appear.
   */
  async reachable(rev: number, timeoutMs = 3000): Promise<boolean> {
    await this.start();
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (rev <= this.revision || rev <= (await this.storage.currentRevision())) return true;
      if (Date.now() >= deadline) return false;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Whether the cache holds the prefix's objects (listed, and watching). */
  isSynced(): boolean {
    return this.synced;
  }

  currentRevision(): number {
    return this.revision;
  }

  /**
   * The cached objects (for LIST with resourceVersion=0), sorted by key; not to be mutated.
   * T: the kind this cache holds, for a caller that reads its fields.
   */
  async list<T extends ApiObject = KubeObject>(): Promise<{ items: T[]; revision: number }> {
    await this.start();
    // Sorted once per change, not once per LIST or admission lookup (several per pod create).
    return { items: this.sortedItems<T>(), revision: this.revision };
  }

  /** The cached objects sorted by key, as `list`, or undefined until the cache has synced. */
  snapshot<T extends ApiObject = KubeObject>(): T[] | undefined {
    return this.synced ? this.sortedItems<T>() : undefined;
  }

  private sortedItems<T extends ApiObject>(): T[] {
    if (!this.sorted) {
      const keys = [...this.state.keys()].sort();
      this.sorted = keys.map((k) => this.state.get(k)!);
    }
    return this.sorted as T[];
  }

  /** Registers a watcher; returns a function that removes it. */
  async watch(w: Watcher, opts: WatchOptions): Promise<() => void> {
    await this.start();
    const entry = { w, filter: opts.filter, after: 0 };
    if (opts.fromRevision === undefined) {
      const keys = [...this.state.keys()].sort();
      for (const k of keys) {
        const obj = this.state.get(k)!;
        if (opts.filter(obj))
          w.send("ADDED", obj, { type: "ADDED", key: k, object: obj, revision: this.revision });
      }
    } else {
      if (opts.fromRevision < this.oldest) {
        throw new GoneError(`too old resource version: ${opts.fromRevision} (${this.oldest})`);
      }
      for (const ev of this.history) {
        if (ev.revision > opts.fromRevision) deliver(w, opts.filter, ev);
        ev.line = undefined;
      }
      // A start ahead of the cache (see reachable): events up to it are not for this watcher.
      entry.after = opts.fromRevision;
    }
    this.watchers.add(entry);
    return () => {
      this.watchers.delete(entry);
    };
  }

  /** Sends a bookmark with the current revision to every watcher that wants one. */
  bookmarkAll(): void {
    this.prune(); // a resource that stopped changing lets its old events go too
    for (const entry of this.watchers) entry.w.bookmark(Math.max(this.revision, entry.after));
  }

  /** Objects in the current state, and events in the history. */
  size(): { objects: number; history: number } {
    return { objects: this.state.size, history: this.history.length };
  }

  watcherCount(): number {
    return this.watchers.size;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const entry of this.watchers) entry.w.terminate("server shutting down");
    this.watchers.clear();
    await this.cancel?.().catch(() => {});
  }
}

/** Every object under a prefix as [key, object], sorted by key, read in pages at one revision. */
export async function listPrefix(
  storage: Storage,
  prefix: string,
  decode: (obj: KubeObject) => KubeObject,
): Promise<{ items: [string, KubeObject][]; revision: number }> {
  const items: [string, KubeObject][] = [];
  let startKey: string | undefined;
  let revision = 0;
  for (;;) {
    const page = await storage.list(prefix, {
      limit: 5000,
      startKey,
      revision: revision || undefined,
    });
    revision = page.revision;
    for (const item of page.items)
      items.push([item.key, decode(withVersion(item.value, item.modRevision))]);
    if (!page.nextKey) break;
    startKey = page.nextKey;
  }
  return { items, revision };
}

/** Sends one event to a watcher as its filter sees it: leaving the filter is a DELETED. */
export function deliver(w: Watcher, filter: (o: KubeObject) => boolean, ev: CacheEvent): void {
  const now = filter(ev.object);
  if (ev.type === "MODIFIED") {
    const before = ev.prevObject ? filter(ev.prevObject) : false;
    if (now && before) w.send("MODIFIED", ev.object, ev);
    else if (now) w.send("ADDED", ev.object, ev);
    else if (before) w.send("DELETED", withVersion({ ...ev.prevObject! }, ev.revision), ev);
    return;
  }
  if (now) w.send(ev.type, ev.object, ev);
}
