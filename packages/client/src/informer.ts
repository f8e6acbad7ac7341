// Shared informers: one reflector per resource (and selector) keeps one cache and tells
// every registered handler what changed.
//
// Contract (the guarantees client-go's SharedInformer gives):
// - The cache is updated BEFORE handlers are told, so a handler (or the worker it wakes)
//   that reads the lister sees at least the state the event describes.
// - Handlers see the events of one object in the order they happened. Handlers run
//   synchronously in the order added; one that throws is logged and does not stop others.
//   Handlers should be quick: enqueue a key and return.
// - After a relist, objects still present are delivered as updates, new ones as adds, and
//   objects that vanished while we were not watching as deletes carrying a
//   DeletedFinalStateUnknown tombstone (the last state we knew, possibly stale).
// - A handler added late first gets an add for every object already cached.
// - `hasSynced()` turns true once the first complete list is in the cache and delivered.
// - Every `resyncPeriodMs` (0: never) each cached object is re-delivered as
//   update(obj, obj) with an unchanged resourceVersion; it is not a relist. Controllers use
//   it to retry; handlers that only care about changes compare resourceVersions.
// - Cached objects are read-only (see store.ts).
// - A `transform` (client-go's SetTransform) is applied to every object before it is cached
//   or handed to a handler: `stripManagedFields` keeps the bookkeeping no controller reads
//   out of the cache, as Kubernetes' scheduler and controller-manager do.
import {
  apiVersionOf,
  matchesLabels,
  parseLabelSelector,
  type ResourceInfo,
} from "@skiff/api/light";
import { defaultLogger, type Logger } from "./log.js";
import {
  Reflector,
  type ListerWatcher,
  type ReflectorOptions,
  type ReflectorSink,
} from "./reflector.js";
import type { RestClient } from "./rest.js";
import { Store, namespaceIndex, type IndexFunc } from "./store.js";
import type { KubeObject } from "./types.js";

/** A delete whose final state we did not see (it vanished during a relist). */
export class DeletedFinalStateUnknown<T extends KubeObject = KubeObject> {
  constructor(
    readonly key: string,
    /** The last state the cache held; may be stale. */
    readonly obj: T,
  ) {}
}

export interface ResourceEventHandler<T extends KubeObject = KubeObject> {
  add?(obj: T, isInInitialList: boolean): void;
  update?(oldObj: T, newObj: T): void;
  delete?(obj: T | DeletedFinalStateUnknown<T>): void;
}

export interface InformerOptions<T extends KubeObject> {
  labelSelector?: string;
  fieldSelector?: string;
  /** Re-deliver every cached object this often (default 0: never). */
  resyncPeriodMs?: number;
  indexers?: Record<string, IndexFunc<T>>;
  logger?: Logger;
  /** Tuning passed to the reflector (page size, watch timeout, backoff). */
  reflector?: Omit<ReflectorOptions, "labelSelector" | "fieldSelector" | "logger">;
  /** Applied to each object as it arrives, before the cache and handlers see it. */
  transform?: (obj: T) => T;
}

/**
 * Drops `metadata.managedFields` from an object just decoded for this informer (its
 * metadata is replaced by a copy without them).
 * Server-side apply's bookkeeping is often the larger half of a small object, and a
 * controller's update without it keeps what the server stored.
 */
export function stripManagedFields<T extends KubeObject>(obj: T): T {
  const meta = obj.metadata;
  if (!meta || !("managedFields" in meta)) return obj;
  // Built again rather than `delete`d from: deleting any property but the last one added
  // turns an object into a dictionary in V8 (slower to read, larger), and the apiserver
  // writes uid, creationTimestamp and resourceVersion after managedFields.
  const { managedFields: _dropped, ...rest } = meta;
  obj.metadata = rest;
  return obj;
}

/** Read access to an informer's cache. Returned objects are read-only. */
export class Lister<T extends KubeObject = KubeObject> {
  constructor(
    private readonly store: Store<T>,
    private readonly ns?: string,
  ) {}

  /** Reads within one namespace. */
  namespace(ns: string): Lister<T> {
    return new Lister(this.store, ns);
  }

  /** The object by name (in this lister's namespace; cluster-scoped when it has none). */
  get(name: string): T | undefined {
    return this.store.get(this.ns ? `${this.ns}/${name}` : name);
  }

  /** Objects (in this lister's namespace) whose labels match a selector ("app=web,tier!=db"). */
  list(labelSelector = ""): T[] {
    const objs =
      this.ns === undefined ? this.store.list() : this.store.byIndex(namespaceIndex, this.ns);
    if (labelSelector === "") return objs;
    const reqs = parseLabelSelector(labelSelector);
    return objs.filter((o) => matchesLabels(reqs, o.metadata.labels));
  }

  byIndex(name: string, value: string): T[] {
    return this.store.byIndex(name, value);
  }
}

export class SharedInformer<T extends KubeObject = KubeObject> implements ReflectorSink<T> {
  readonly store: Store<T>;
  private readonly handlers = new Set<ResourceEventHandler<T>>();
  private readonly reflector: Reflector<T>;
  private readonly log: Logger;
  private readonly name: string;
  private synced = false;
  private started = false;
  private stopped = false;
  private syncWaiters: ((synced: boolean) => void)[] = [];
  private resyncTimer: NodeJS.Timeout | undefined;
  private readonly transform: (obj: T) => T;

  constructor(
    lw: ListerWatcher<T>,
    private readonly opts: InformerOptions<T> & { name?: string } = {},
  ) {
    this.store = new Store<T>(opts.indexers);
    this.transform = opts.transform ?? ((o) => o);
    this.log = opts.logger ?? defaultLogger;
    this.name = opts.name ?? opts.reflector?.name ?? "objects";
    this.reflector = new Reflector<T>(lw, this, {
      ...opts.reflector,
      name: this.name,
      labelSelector: opts.labelSelector,
      fieldSelector: opts.fieldSelector,
      logger: this.log,
    });
  }

  /** Registers a handler; returns a registration whose `remove()` unregisters it. */
  addEventHandler(handler: ResourceEventHandler<T>): { remove(): void } {
    this.handlers.add(handler);
    for (const obj of this.store.list()) this.call(handler, "add", () => handler.add?.(obj, true));
    return { remove: () => void this.handlers.delete(handler) };
  }

  addIndexers(indexers: Record<string, IndexFunc<T>>): void {
    this.store.addIndexers(indexers);
  }

  lister(): Lister<T> {
    return new Lister(this.store);
  }

  get lastSyncResourceVersion(): string {
    return this.reflector.lastSyncResourceVersion;
  }

  /** Starts listing and watching (once; later calls do nothing). */
  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    void this.reflector.run();
    const period = this.opts.resyncPeriodMs ?? 0;
    if (period > 0) {
      this.resyncTimer = setInterval(() => this.resync(), period);
      this.resyncTimer.unref();
    }
  }

  stop(): void {
    this.stopped = true;
    this.reflector.stop();
    clearInterval(this.resyncTimer);
    for (const w of this.syncWaiters.splice(0)) w(false);
  }

  hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves true once synced; false if the informer stops (or `timeoutMs` passes) first. */
  waitForSync(timeoutMs?: number): Promise<boolean> {
    if (this.synced) return Promise.resolve(true);
    if (this.stopped) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = timeoutMs === undefined ? undefined : setTimeout(() => done(false), timeoutMs);
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.syncWaiters = this.syncWaiters.filter((w) => w !== done);
        resolve(ok);
      };
      this.syncWaiters.push(done);
    });
  }

  // ---- ReflectorSink: update the cache, then tell the handlers ----

  replace(listed: T[], resourceVersion: string): void {
    const items = listed.map(this.transform);
    const before = new Map(this.store.listKeys().map((k) => [k, this.store.get(k)!]));
    this.store.replace(items, resourceVersion);
    const initial = !this.synced;
    for (const obj of items) {
      const key = this.store.keyFunc(obj);
      const old = before.get(key);
      before.delete(key);
      if (old) this.notify("update", (h) => h.update?.(old, obj));
      else this.notify("add", (h) => h.add?.(obj, initial));
    }
    for (const [key, old] of before) {
      const tombstone = new DeletedFinalStateUnknown(key, old);
      this.notify("delete", (h) => h.delete?.(tombstone));
    }
    if (!this.synced) {
      this.synced = true;
      for (const w of this.syncWaiters.splice(0)) w(true);
    }
  }

  add(obj: T): void {
    this.upsert(obj);
  }

  update(obj: T): void {
    this.upsert(obj);
  }

  private upsert(received: T): void {
    const obj = this.transform(received);
    const old = this.store.get(this.store.keyFunc(obj));
    this.store.update(obj);
    if (old) this.notify("update", (h) => h.update?.(old, obj));
    else this.notify("add", (h) => h.add?.(obj, false));
  }

  delete(received: T): void {
    const obj = this.transform(received);
    const key = this.store.keyFunc(obj);
    if (!this.store.has(key)) return; // never seen (or already gone): nothing to tell
    this.store.delete(key);
    this.notify("delete", (h) => h.delete?.(obj));
  }

  private resync(): void {
    if (!this.synced || this.stopped) return;
    for (const obj of this.store.list()) this.notify("update", (h) => h.update?.(obj, obj));
  }

  private notify(what: string, call: (h: ResourceEventHandler<T>) => void): void {
    for (const h of this.handlers) this.call(h, what, () => call(h));
  }

  private call(_h: ResourceEventHandler<T>, what: string, fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.log.error({ resource: this.name, err: e }, `${what} handler threw`);
    }
  }
}

export interface ForResourceOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

/**
 * Hands out one shared informer per (resource, namespace, selectors), so every controller
 * in a process that watches pods shares one watch and one cache.
 */
export class SharedInformerFactory {
  /** What the factory itself does with its informers; each holds the kind it was asked for. */
  private readonly informers = new Map<
    string,
    Pick<SharedInformer, "start" | "stop" | "waitForSync">
  >();
  private started = false;

  constructor(
    private readonly client: RestClient,
    private readonly opts: {
      resyncPeriodMs?: number;
      namespace?: string;
      logger?: Logger;
      /** Given to every informer this factory makes (e.g. `stripManagedFields`): any kind in, the same kind out. */
      transform?: <T extends KubeObject>(obj: T) => T;
    } = {},
  ) {}

  /** The informer for a resource; the same arguments give the same informer. */
  forResource<T extends KubeObject = KubeObject>(
    info: ResourceInfo,
    opts: ForResourceOptions = {},
  ): SharedInformer<T> {
    const namespace = info.namespaced ? (opts.namespace ?? this.opts.namespace) : undefined;
    const key = [
      apiVersionOf(info),
      info.resource,
      namespace ?? "",
      opts.labelSelector ?? "",
      opts.fieldSelector ?? "",
    ].join("|");
    const existing = this.informers.get(key);
    // The first caller named the kind this resource holds, as with client.resource<T>(info).
    if (existing) return existing as SharedInformer<T>;
    const rc = this.client.resource<T>(info);
    const informer = new SharedInformer<T>(namespace ? rc.namespace(namespace) : rc, {
      name: info.group ? `${info.resource}.${info.group}` : info.resource,
      labelSelector: opts.labelSelector,
      fieldSelector: opts.fieldSelector,
      resyncPeriodMs: this.opts.resyncPeriodMs,
      logger: this.opts.logger,
      transform: this.opts.transform,
    });
    this.informers.set(key, informer);
    if (this.started) informer.start();
    return informer;
  }

  /** Starts every informer asked for so far, and any asked for later. */
  start(): void {
    this.started = true;
    for (const i of this.informers.values()) i.start();
  }

  /** Resolves true once every informer has synced (false on stop or timeout). */
  async waitForCacheSync(timeoutMs?: number): Promise<boolean> {
    const results = await Promise.all(
      [...this.informers.values()].map((i) => i.waitForSync(timeoutMs)),
    );
    return results.every(Boolean);
  }

  stop(): void {
    for (const i of this.informers.values()) i.stop();
  }
}
