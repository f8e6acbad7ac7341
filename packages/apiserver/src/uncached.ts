// Watches and lists straight from etcd, for the resources Kubernetes keeps out of the watch
// cache: Events (kube-apiserver's default watch-cache size for events is 0). They are the
// most numerous objects of a busy cluster (~3.4 per pod while 3,000 pods start), written once
// or twice and rarely watched, so caching them cost the apiserver memory and a decode of every
// write for nothing.
//
// Contract (the watch cache's, where it can hold without a cache):
// - A watch is one etcd watch of the prefix (with previous values, so that an object leaving a
//   watcher's filter arrives as DELETED), from the watcher's revision; events come in revision
//   order with no gaps.
// - A watch from a compacted revision is refused with GoneError (410: the client relists).
// - No bookmarks, as kube-apiserver sends none for an uncached resource.
// - LIST (resourceVersion=0 too) and reads go to etcd.
import { GoneError } from "./errors.js";
import { withVersion, type ApiObject, type KubeObject } from "./objects.js";
import { CompactedError, type Storage, type WatchEventRaw } from "./storage.js";
import {
  deliver,
  listPrefix,
  type CacheEvent,
  type WatchOptions,
  type WatchSource,
  type Watcher,
} from "./watchcache.js";

export class EtcdWatchSource implements WatchSource {
  readonly bookmarks = false;
  /** The newest etcd revision seen (lists, watches, revision reads). */
  private revision = 0;
  private readonly watchers = new Map<Watcher, () => Promise<void>>();

  constructor(
    private readonly storage: Storage,
    private readonly prefix: string,
    /** Applied to every object read from storage, as the watch cache's `decode`. */
    private readonly decode: (obj: KubeObject) => KubeObject = (o) => o,
  ) {}

  async start(): Promise<void> {}

  /** Nothing is cached: readers go to etcd. */
  peek(): KubeObject | undefined {
    return undefined;
  }

  /** Nothing is at hand: only a read of etcd (`list`) knows the objects. */
  snapshot(): undefined {
    return undefined;
  }

  isSynced(): boolean {
    return true;
  }

  currentRevision(): number {
    return this.revision;
  }

  async reachable(rev: number, timeoutMs = 3000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      this.seen(await this.storage.currentRevision());
      if (rev <= this.revision) return true;
      if (Date.now() >= deadline) return false;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Every object under the prefix, sorted by key, read from etcd at one revision. */
  async list<T extends ApiObject = KubeObject>(): Promise<{ items: T[]; revision: number }> {
    const { items, revision } = await listPrefix(this.storage, this.prefix, this.decode);
    this.seen(revision);
    return { items: items.map(([, obj]) => obj as T), revision };
  }

  async watch(w: Watcher, opts: WatchOptions): Promise<() => void> {
    let after: number;
    if (opts.fromRevision === undefined) {
      const { items, revision } = await this.list();
      for (const object of items)
        if (opts.filter(object))
          w.send("ADDED", object, { type: "ADDED", key: "", object, revision });
      after = revision;
    } else {
      after = opts.fromRevision;
      // etcd ends a watch from a compacted revision; a read there says so before it starts.
      await this.storage
        .list(this.prefix, { limit: 1, revision: after || undefined })
        .catch((err: unknown) => {
          if (err instanceof CompactedError)
            throw new GoneError(`too old resource version: ${after}`);
          throw err;
        });
    }
    const cancel = await this.storage.watch(
      this.prefix,
      after + 1,
      (events) => {
        for (const raw of events) {
          const ev = this.event(raw);
          if (ev) deliver(w, opts.filter, ev);
        }
      },
      (err) => {
        this.forget(w);
        w.terminate(`storage watch ended: ${err.message}`);
      },
      { withPrevious: true },
    );
    this.watchers.set(w, cancel);
    return () => this.forget(w);
  }

  bookmarkAll(): void {}

  size(): { objects: number; history: number } {
    return { objects: 0, history: 0 };
  }

  watcherCount(): number {
    return this.watchers.size;
  }

  async stop(): Promise<void> {
    for (const w of [...this.watchers.keys()]) {
      this.forget(w);
      w.terminate("server shutting down");
    }
  }

  private event(raw: WatchEventRaw): CacheEvent | undefined {
    this.seen(raw.modRevision);
    const prev = raw.prev ? this.decode(withVersion(raw.prev, raw.modRevision)) : undefined;
    if (raw.type === "put") {
      const object = this.decode(withVersion(raw.value!, raw.modRevision));
      const type = prev ? "MODIFIED" : "ADDED";
      return { type, key: raw.key, object, prevObject: prev, revision: raw.modRevision };
    }
    // A deleted object is reported in its last state, at the deletion's revision.
    if (!prev) return undefined;
    return {
      type: "DELETED",
      key: raw.key,
      object: prev,
      prevObject: prev,
      revision: raw.modRevision,
    };
  }

  private forget(w: Watcher): void {
    const cancel = this.watchers.get(w);
    if (!cancel) return;
    this.watchers.delete(w);
    void cancel().catch(() => {});
  }

  private seen(revision: number): void {
    if (revision > this.revision) this.revision = revision;
  }
}
