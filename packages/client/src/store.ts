// The informer cache: objects keyed by `namespace/name` (or `name` when cluster-scoped),
// with named indexes.
//
// Contract:
// - Every read (get, list, byIndex) sees all writes made before it: JavaScript runs one
//   thing at a time, so the store is consistent by construction without locks.
// - Objects handed out are the cached objects themselves and are READ-ONLY: mutating
//   one corrupts the cache for every reader. Clone (`structuredClone`) before changing.
// - Indexes are kept up to date on every write; `byIndex("namespace", "default")` is
//   built in. An index function returns the values an object is indexed under (none,
//   one or many).
import { metaNamespaceKey, type KubeObject } from "./types.js";

export type IndexFunc<T> = (obj: T) => (string | undefined | null)[];

export const namespaceIndex = "namespace";

export class Store<T extends KubeObject = KubeObject> {
  private readonly items = new Map<string, T>();
  private readonly indexers = new Map<string, IndexFunc<T>>();
  /** index name → indexed value → keys */
  private readonly indices = new Map<string, Map<string, Set<string>>>();
  /** The resourceVersion of the last list (or watch event) applied. */
  resourceVersion = "";

  constructor(
    indexers: Record<string, IndexFunc<T>> = {},
    readonly keyFunc: (obj: T) => string = metaNamespaceKey,
  ) {
    this.addIndexers({ [namespaceIndex]: (obj) => [obj.metadata.namespace ?? ""], ...indexers });
  }

  /** Adds indexes (e.g. `{byNode: pod => [pod.spec.nodeName]}`); existing objects are indexed at once. */
  addIndexers(indexers: Record<string, IndexFunc<T>>): void {
    for (const [name, fn] of Object.entries(indexers)) {
      if (this.indexers.has(name)) throw new Error(`indexer "${name}" already exists`);
      this.indexers.set(name, fn);
      this.indices.set(name, new Map());
      for (const [key, obj] of this.items) this.indexOne(name, fn, key, obj);
    }
  }

  private indexOne(name: string, fn: IndexFunc<T>, key: string, obj: T): void {
    const index = this.indices.get(name)!;
    for (const value of new Set(fn(obj))) {
      if (value === undefined || value === null) continue;
      let keys = index.get(value);
      if (!keys) index.set(value, (keys = new Set()));
      keys.add(key);
    }
  }

  private unindex(key: string, obj: T): void {
    for (const [name, fn] of this.indexers) {
      const index = this.indices.get(name)!;
      for (const value of new Set(fn(obj))) {
        if (value === undefined || value === null) continue;
        const keys = index.get(value);
        keys?.delete(key);
        if (keys?.size === 0) index.delete(value);
      }
    }
  }

  private put(obj: T): void {
    const key = this.keyFunc(obj);
    const old = this.items.get(key);
    if (old) this.unindex(key, old);
    this.items.set(key, obj);
    for (const [name, fn] of this.indexers) this.indexOne(name, fn, key, obj);
  }

  add(obj: T): void {
    this.put(obj);
  }

  update(obj: T): void {
    this.put(obj);
  }

  /** Removes an object (or the object under a key). */
  delete(objOrKey: T | string): void {
    const key = typeof objOrKey === "string" ? objOrKey : this.keyFunc(objOrKey);
    const old = this.items.get(key);
    if (!old) return;
    this.unindex(key, old);
    this.items.delete(key);
  }

  /** Replaces the whole content with a fresh list read at `resourceVersion`. */
  replace(items: T[], resourceVersion: string): void {
    this.items.clear();
    for (const index of this.indices.values()) index.clear();
    for (const obj of items) this.put(obj);
    this.resourceVersion = resourceVersion;
  }

  get(key: string): T | undefined {
    return this.items.get(key);
  }

  has(key: string): boolean {
    return this.items.has(key);
  }

  list(): T[] {
    return [...this.items.values()];
  }

  listKeys(): string[] {
    return [...this.items.keys()];
  }

  get size(): number {
    return this.items.size;
  }

  /** Keys of the objects indexed under `value` by index `name`. */
  indexKeys(name: string, value: string): string[] {
    const index = this.indices.get(name);
    if (!index) throw new Error(`index "${name}" does not exist`);
    return [...(index.get(value) ?? [])];
  }

  /** Objects indexed under `value` by index `name`: `byIndex("namespace", "default")`. */
  byIndex(name: string, value: string): T[] {
    return this.indexKeys(name, value).map((k) => this.items.get(k)!);
  }

  /** The values index `name` currently holds. */
  indexValues(name: string): string[] {
    const index = this.indices.get(name);
    if (!index) throw new Error(`index "${name}" does not exist`);
    return [...index.keys()];
  }
}
