// The generic REST store: create, read, update, delete, list and watch of one resource
// on etcd, with the Kubernetes rules every kind shares (uids, generation, status vs spec,
// graceful deletion, finalizers) plus its kind's rules from strategies/ (one file per kind).
// Past ~600 lines on purpose: it is one object, Kubernetes' generic registry Store, whose
// verbs share the steps (admission, defaulting, validation, the guarded etcd write) read in
// order; the list machinery is list.ts, each kind's rules its strategy.
import type { ResourceInfo } from "@skiff/api";
import { apiVersionOf, applyDefaults, rfc3339, validate } from "@skiff/api";
import {
  ClaimTakenError,
  KeyExistsError,
  RevisionConflictError,
  type Claims,
  type Storage,
} from "./storage.js";
import { EtcdWatchSource } from "./uncached.js";
import { WatchCache, type WatchSource } from "./watchcache.js";
import {
  AlreadyExistsError,
  ConflictError,
  ForbiddenError,
  InvalidError,
  NotFoundError,
} from "./errors.js";
import {
  clone,
  get,
  isObject,
  jsonEqual,
  meta,
  now,
  randomSuffix,
  stripVersion,
  withVersion,
  type ApiObject,
  type KubeObject,
} from "./objects.js";
import { newUid, specChanged, strategyFor, type Strategy } from "./strategies/index.js";
import type { ServiceAllocator } from "./allocator.js";
import { listPages, storageError, type ListOptions, type ListPage } from "./list.js";
import type { AdmissionRequest, WebhookAdmission } from "./webhooks/dispatch.js";
import type { Operation } from "./webhooks/match.js";

/** The subresources an update writes through instead of the whole object. */
export type WrittenSubresource = "status" | "ephemeralcontainers";
export { storageError, type ListOptions, type ListPage } from "./list.js";

export interface DeleteOptions {
  gracePeriodSeconds?: number;
  propagationPolicy?: "Orphan" | "Background" | "Foreground";
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
  /** A client's request: admission webhooks see it. Server-internal writes leave it out. */
  admission?: AdmissionRequest;
}

export interface WriteOptions {
  dryRun?: boolean;
  /** A client's request: admission webhooks see it. Server-internal writes leave it out. */
  admission?: AdmissionRequest;
}

export interface RegistryDeps {
  storage: Storage;
  allocator: ServiceAllocator;
  /** Checks that a namespace exists and accepts new content (admission). */
  namespaceAdmits: (ns: string) => Promise<void>;
  log: (msg: string) => void;
  /** How long Events live (Kubernetes' --event-ttl, one hour by default). */
  eventTtlSeconds: number;
  /** Mutating admission of new objects (admission.ts), after defaults, before validation. */
  admitCreate?: (info: ResourceInfo, obj: KubeObject) => Promise<void>;
  /** Admission of every write after validation (old: the stored object on updates). */
  admitWrite?: (info: ResourceInfo, obj: KubeObject, old?: KubeObject) => Promise<void>;
  /** Admission webhooks: mutating ones after admitCreate, validating ones after validation. */
  webhooks?: WebhookAdmission;
}

/** Options of Registry.update. */
export type UpdateOptions = WriteOptions & {
  subresource?: WrittenSubresource;
  /** When the object does not exist: the object to create instead (server-side apply). */
  create?: () => KubeObject | Promise<KubeObject>;
  /** The resourceVersion the client demanded (PUT body, or one named in a patch): must match. */
  precondition?: string;
  /** For server-internal writes that change immutable fields on purpose (pods/binding, namespace finalize). */
  skipUpdateValidation?: boolean;
  /** The mutation may change status along with the rest (pods/binding). */
  withStatus?: boolean;
  /** Write nothing when the object would not change (controllers' idempotent status writes). */
  skipUnchanged?: boolean;
  /**
   * mutate changes the copy it is given and returns it (or objects of its own making): its
   * result is not copied again (pods/binding).
   */
  mutatesInPlace?: boolean;
  /**
   * mutate only sets fields on the stored object, which was defaulted when written: it is not
   * defaulted again (pods/binding, which Kubernetes writes without decoding or defaulting).
   */
  defaulted?: boolean;
};

/** Metadata the server keeps from the stored object whatever an update sends. */
const SERVER_OWNED = [
  "uid",
  "creationTimestamp",
  "deletionTimestamp",
  "deletionGracePeriodSeconds",
  "generation",
] as const;

export class Registry {
  /** The watch cache, or etcd itself for Events (which Kubernetes does not cache either). */
  readonly cache: WatchSource;
  /** The rules of this resource's kind (strategies/). */
  private readonly strategy: Strategy;
  private readonly base: string;
  /** Keys this server was asked to delete lately: getCached reads them from etcd. */
  private readonly recentlyDeleted = new Map<string, number>();

  constructor(
    readonly info: ResourceInfo,
    private readonly deps: RegistryDeps,
  ) {
    this.strategy = strategyFor(info);
    // Custom resources live under their group, as Kubernetes keeps them, whatever the version.
    const dir = info.custom
      ? `${info.group}/${info.resource}`
      : (this.strategy.storageDir ?? info.resource);
    this.base = `/registry/${dir}/`;
    const decode = (obj: KubeObject) => this.asServed(obj);
    this.cache =
      info.resource === "events" && !info.custom
        ? new EtcdWatchSource(deps.storage, this.base, decode)
        : new WatchCache(deps.storage, this.base, 10_000, deps.log, decode);
  }

  /**
   * Custom resources are stored at the CRD's storage version and served at any served
   * version: with conversion strategy None only apiVersion changes.
   */
  private asServed(obj: KubeObject): KubeObject {
    if (this.info.custom) obj.apiVersion = apiVersionOf(this.info);
    return obj;
  }

  private read(value: Record<string, unknown>, rev: number): KubeObject {
    return this.asServed(withVersion(value, rev));
  }

  /** The object as written to etcd (custom resources: at the storage version). */
  private toStorage(obj: KubeObject): KubeObject {
    const custom = this.info.custom;
    if (!custom || custom.storageVersion === this.info.version) return obj;
    return {
      ...obj,
      apiVersion: apiVersionOf({ group: this.info.group, version: custom.storageVersion }),
    };
  }

  key(namespace: string | undefined, name: string): string {
    return this.info.namespaced ? `${this.base}${namespace}/${name}` : `${this.base}${name}`;
  }

  prefix(namespace: string | undefined): string {
    return this.info.namespaced && namespace ? `${this.base}${namespace}/` : this.base;
  }

  /** Events expire; everything else lives until deleted. */
  private writeOptions(): { ttlSeconds?: number } {
    return this.strategy.expires ? { ttlSeconds: this.deps.eventTtlSeconds } : {};
  }

  /** The claims (ClusterIPs, NodePorts) an object of this kind holds. */
  private claimsOf(obj: KubeObject): string[] {
    return this.strategy.claims?.of(obj) ?? [];
  }

  private target(name: string): { kind: string; group: string; name: string } {
    return { kind: this.info.resource, group: this.info.group, name };
  }

  async get(namespace: string | undefined, name: string): Promise<KubeObject> {
    const stored = await this.deps.storage.get(this.key(namespace, name)).catch(storageError);
    if (!stored) throw new NotFoundError(this.target(name));
    return this.read(stored.value, stored.modRevision);
  }

  /**
   * The object from the watch cache when it is there (it may lag etcd by a moment), else
   * from etcd. For reads that tolerate that lag, as Kubernetes' admission reads from
   * informers. The returned object must not be mutated. T: the kind this registry serves,
   * for a caller that reads its fields.
   */
  async getCached<T extends ApiObject = KubeObject>(
    namespace: string | undefined,
    name: string,
  ): Promise<T> {
    const key = this.key(namespace, name);
    const deletedUntil = this.recentlyDeleted.get(key);
    if (deletedUntil !== undefined && deletedUntil > Date.now())
      return (await this.get(namespace, name)) as T;
    return (this.cache.peek(key) ?? (await this.get(namespace, name))) as T;
  }

  async list(namespace: string | undefined, opts: ListOptions): Promise<ListPage> {
    const filter = opts.filter ?? (() => true);
    // resourceVersion=0 means "any version": serve from the watch cache, unpaged.
    if (opts.resourceVersion === "0" && !opts.continueToken) {
      const { items, revision } = await this.cache.list().catch(storageError);
      const keyed =
        namespace && this.info.namespaced
          ? items.filter((o) => meta(o).namespace === namespace)
          : items;
      return { items: keyed.filter(filter), resourceVersion: String(revision) };
    }
    return listPages(this.deps.storage, this.prefix(namespace), filter, opts, (value, rev) =>
      this.read(value, rev),
    );
  }

  /** The webhook dispatcher's view of a client's request, or undefined for internal writes. */
  private webhookCall(
    operation: Operation,
    opts: WriteOptions,
    namespace: string | undefined,
    name: string,
    subresource?: string,
  ): { hooks: WebhookAdmission; attrs: Parameters<WebhookAdmission["validate"]>[0] } | undefined {
    const hooks = this.deps.webhooks;
    if (!hooks || !opts.admission) return undefined;
    return {
      hooks,
      attrs: {
        info: this.info,
        operation,
        subresource,
        namespace: this.info.namespaced ? namespace : undefined,
        name,
        dryRun: opts.dryRun ?? false,
        request: opts.admission,
      },
    };
  }

  /** Fills in what the server owns on a new object (in place), then admits and validates it. */
  private async prepareCreate(
    obj: KubeObject,
    namespace: string | undefined,
    opts: WriteOptions = {},
  ): Promise<void> {
    const m = meta(obj);
    if (!m.name && m.generateName) m.name = m.generateName + randomSuffix();
    if (this.info.namespaced) m.namespace = namespace;
    else delete m.namespace;
    m.uid = newUid();
    m.creationTimestamp = now();
    delete m.resourceVersion;
    delete m.deletionTimestamp;
    delete m.deletionGracePeriodSeconds;
    if (this.info.hasSpec) m.generation = 1;
    else delete m.generation;
    obj.apiVersion = apiVersionOf(this.info);
    obj.kind = this.info.kind;
    if (this.strategy.prepareForCreate) this.strategy.prepareForCreate(obj);
    else if (this.info.hasStatus) {
      // What the client sent is dropped. A custom resource with a status subresource starts
      // without status (set through /status).
      if (this.info.custom) delete obj.status;
      else obj.status = {};
    }
    applyDefaults(this.info, obj);
    this.strategy.afterDefaults?.(obj);
    await this.deps.admitCreate?.(this.info, obj);
    const webhooks = this.webhookCall("CREATE", opts, namespace, m.name ?? "");
    if (webhooks) {
      const mutated = await webhooks.hooks.mutate(webhooks.attrs, obj, undefined);
      if (mutated && mutated !== obj) {
        // The registry owns `obj`: it takes the webhooks' result in place, server fields kept.
        const keep = { uid: m.uid, creationTimestamp: m.creationTimestamp, namespace: m.namespace };
        for (const k of Object.keys(obj)) delete obj[k];
        Object.assign(obj, mutated);
        const after = meta(obj);
        Object.assign(after, keep);
        if (!this.info.namespaced) delete after.namespace;
        obj.apiVersion = apiVersionOf(this.info);
        obj.kind = this.info.kind;
        applyDefaults(this.info, obj);
      }
    }
    this.check(obj);
    await this.deps.admitWrite?.(this.info, obj);
    if (webhooks) await webhooks.hooks.validate(webhooks.attrs, obj, undefined);
  }

  private check(obj: KubeObject, old?: KubeObject, subresource?: WrittenSubresource): void {
    const errors = validate(
      this.info,
      obj,
      old,
      subresource === "ephemeralcontainers" ? subresource : undefined,
    );
    if (errors.length) {
      throw new InvalidError(
        this.info.kind,
        this.info.group,
        meta(obj).name ?? "",
        errors.map((e) => ({ type: e.type, message: e.message, field: e.field })),
      );
    }
  }

  /** Creates `obj`, which the registry then owns: it fills in server fields in place. */
  /**
   * Writes this server made to the resource, counted when each starts and when it ends:
   * what is derived from the watch cache (authorization decisions) is recomputed after one.
   */
  writes = 0;

  private async counted<T>(write: () => Promise<T>): Promise<T> {
    this.writes++;
    try {
      return await write();
    } finally {
      this.writes++;
    }
  }

  create(namespace: string | undefined, obj: KubeObject, opts: WriteOptions = {}) {
    return this.counted(() => this.createObject(namespace, obj, opts));
  }

  private async createObject(
    namespace: string | undefined,
    obj: KubeObject,
    opts: WriteOptions = {},
  ): Promise<KubeObject> {
    if (this.info.namespaced && namespace) await this.deps.namespaceAdmits(namespace);
    await this.prepareCreate(obj, namespace, opts);
    const name = meta(obj).name!;
    const rules = this.strategy.claims;
    const requested = new Set(this.claimsOf(obj));
    rules?.allocate(obj, undefined, this.deps.allocator);
    if (opts.dryRun) return obj;
    for (let attempt = 0; ; attempt++) {
      const claims: Claims = { create: this.claimsOf(obj) };
      try {
        const rev = await this.deps.storage.create(
          this.key(namespace, name),
          this.toStorage(obj),
          claims,
          this.writeOptions(),
        );
        return withVersion(obj, rev);
      } catch (err) {
        if (err instanceof KeyExistsError) throw new AlreadyExistsError(this.target(name));
        if (err instanceof ClaimTakenError && rules) {
          if (requested.has(err.claim) || attempt > 20) throw rules.taken(obj, err.claim);
          rules.reroll(obj, err.claim, this.deps.allocator);
          continue;
        }
        return storageError(err);
      }
    }
  }

  /**
   * Replaces an object. `subresource` "status" changes only status, "ephemeralcontainers"
   * only spec.ephemeralContainers; otherwise status is kept from the stored object. The caller's resourceVersion, when given, must match.
   * `mutate` (for PATCH and subresources) computes the new object from the stored one and
   * is retried on conflicts when the caller did not demand a resourceVersion.
   */
  update(
    namespace: string | undefined,
    name: string,
    mutate: (current: KubeObject) => KubeObject | Promise<KubeObject>,
    opts: UpdateOptions = {},
  ) {
    return this.counted(() => this.updateObject(namespace, name, mutate, opts));
  }

  private async updateObject(
    namespace: string | undefined,
    name: string,
    mutate: (current: KubeObject) => KubeObject | Promise<KubeObject>,
    opts: UpdateOptions = {},
  ): Promise<{ object: KubeObject; created: boolean }> {
    const key = this.key(namespace, name);
    // The first try starts from the watch cache's copy, saving an etcd read (Kubernetes'
    // GuaranteedUpdate does the same); the compare-and-swap catches a stale copy, and the
    // retries read etcd.
    let fromCache = true;
    for (let attempt = 0; attempt < 100; attempt++) {
      // Writers racing on one object back off a little so that each gets its turn.
      if (attempt >= 3) await new Promise((r) => setTimeout(r, Math.random() * 5 * attempt));
      const cached = fromCache ? this.cache.peek(key) : undefined;
      fromCache = false;
      const stored = cached
        ? { value: { ...cached }, modRevision: Number(meta(cached).resourceVersion) }
        : await this.deps.storage.get(key).catch(storageError);
      if (!stored) {
        if (!opts.create) throw new NotFoundError(this.target(name));
        const fresh = await opts.create();
        const created = await this.create(namespace, fresh, opts);
        return { object: created, created: true };
      }
      const old = this.read(stored.value, stored.modRevision);
      const mutated = await mutate(clone(old));
      const next = opts.mutatesInPlace ? mutated : clone(mutated);
      if (!isObject(next.metadata)) next.metadata = {};
      if (opts.precondition && opts.precondition !== meta(old).resourceVersion) {
        if (cached) continue; // the cache may be behind the caller: ask etcd
        throw new ConflictError(
          this.target(name),
          "the object has been modified; please apply your changes to the latest version and try again",
        );
      }
      let obj = this.prepareUpdate(
        next,
        old,
        namespace,
        opts.subresource,
        opts.withStatus,
        opts.defaulted,
      );
      const webhooks = this.webhookCall("UPDATE", opts, namespace, name, opts.subresource);
      if (webhooks) {
        const mutated = await webhooks.hooks.mutate(webhooks.attrs, obj, old);
        if (mutated && mutated !== obj)
          obj = this.prepareUpdate(
            clone(mutated),
            old,
            namespace,
            opts.subresource,
            opts.withStatus,
          );
      }
      const claims: Claims = {};
      if (this.strategy.claims) {
        this.strategy.claims.allocate(obj, old, this.deps.allocator);
        const before = new Set(this.claimsOf(old));
        const after = new Set(this.claimsOf(obj));
        claims.create = [...after].filter((c) => !before.has(c));
        claims.release = [...before].filter((c) => !after.has(c));
      }
      if (!opts.skipUpdateValidation) this.check(obj, old, opts.subresource);
      await this.deps.admitWrite?.(this.info, obj, old);
      if (webhooks) await webhooks.hooks.validate(webhooks.attrs, obj, old);
      if (opts.dryRun || (opts.skipUnchanged && jsonEqual(obj, old)))
        return { object: obj, created: false };
      // Deleting objects whose last finalizer was just removed completes their deletion.
      const m = meta(obj);
      if (
        m.deletionTimestamp &&
        !m.finalizers?.length &&
        (this.strategy.finishesOnFinalize?.(obj) ?? true)
      ) {
        try {
          const rev = await this.deps.storage.delete(key, stored.modRevision, {
            release: this.claimsOf(old),
          });
          return { object: withVersion(obj, rev), created: false };
        } catch (err) {
          if (err instanceof RevisionConflictError) continue;
          return storageError(err);
        }
      }
      try {
        const rev = await this.deps.storage.update(
          key,
          this.toStorage(stripVersion(obj)),
          stored.modRevision,
          claims,
          this.writeOptions(),
        );
        return { object: withVersion(obj, rev), created: false };
      } catch (err) {
        if (err instanceof RevisionConflictError) {
          // Without a precondition the change is recomputed on the new state, as Kubernetes does.
          if (opts.precondition) {
            throw new ConflictError(
              this.target(name),
              "the object has been modified; please apply your changes to the latest version and try again",
            );
          }
          continue;
        }
        if (err instanceof ClaimTakenError && this.strategy.claims)
          throw this.strategy.claims.taken(obj, err.claim);
        return storageError(err);
      }
    }
    throw new ConflictError(this.target(name), "too many concurrent updates; please try again");
  }

  private prepareUpdate(
    next: KubeObject,
    old: KubeObject,
    namespace: string | undefined,
    subresource?: WrittenSubresource,
    withStatus = false,
    defaulted = false,
  ): KubeObject {
    const oldMeta = meta(old);
    let obj: KubeObject;
    if (subresource === "status") {
      // Only status changes through the status subresource.
      obj = { ...clone(old), status: next.status };
    } else if (subresource === "ephemeralcontainers") {
      // Only spec.ephemeralContainers changes through pods/ephemeralcontainers.
      obj = clone(old);
      const spec = (obj.spec ?? {}) as Record<string, unknown>;
      const ephemeral = get(next, "spec", "ephemeralContainers");
      if (ephemeral === undefined || ephemeral === null) delete spec.ephemeralContainers;
      else spec.ephemeralContainers = ephemeral;
      obj.spec = spec;
      applyDefaults(this.info, obj);
    } else {
      obj = next;
      if (this.info.hasStatus && !withStatus) {
        if (old.status === undefined) delete obj.status;
        else obj.status = clone(old.status);
      }
      const m = meta(obj);
      // Fields the server owns.
      for (const field of SERVER_OWNED) {
        // Added only when the stored object has it: a property added and then deleted would
        // turn the metadata into a slow dictionary object for every later step of the write.
        if (oldMeta[field] !== undefined) (m as Record<string, unknown>)[field] = oldMeta[field];
        else if (Object.hasOwn(m, field)) delete m[field];
      }
      if (m.name === undefined) m.name = oldMeta.name;
      if (this.info.namespaced) m.namespace = namespace;
      obj.apiVersion = apiVersionOf(this.info);
      obj.kind = this.info.kind;
      if (!defaulted) applyDefaults(this.info, obj);
      if (this.info.hasSpec && specChanged(obj, old)) m.generation = (oldMeta.generation ?? 0) + 1;
      // A terminating object may lose finalizers but gain none.
      if (oldMeta.deletionTimestamp && m.finalizers) {
        const had = new Set(oldMeta.finalizers ?? []);
        const added = m.finalizers.filter((f) => !had.has(f));
        if (added.length) {
          throw new ForbiddenError(
            `no new finalizers can be added if the object is being deleted, found new finalizers ${JSON.stringify(added)}`,
          );
        }
      }
    }
    meta(obj).resourceVersion = oldMeta.resourceVersion;
    return obj;
  }

  delete(namespace: string | undefined, name: string, opts: DeleteOptions = {}) {
    return this.counted(() => this.deleteObject(namespace, name, opts));
  }

  private async deleteObject(
    namespace: string | undefined,
    name: string,
    opts: DeleteOptions = {},
  ): Promise<{ object: KubeObject; deleted: boolean }> {
    const key = this.key(namespace, name);
    // For the next 30 s a cached copy may still show the object alive (Kubernetes' namespace
    // admission keeps the same "force live lookup" window).
    const now = Date.now();
    if (this.recentlyDeleted.size > 1000) {
      for (const [k, until] of this.recentlyDeleted)
        if (until <= now) this.recentlyDeleted.delete(k);
    }
    this.recentlyDeleted.set(key, now + 30_000);
    for (let attempt = 0; attempt < 10; attempt++) {
      const stored = await this.deps.storage.get(key).catch(storageError);
      if (!stored) throw new NotFoundError(this.target(name));
      const old = this.read(stored.value, stored.modRevision);
      const m = meta(old);
      const pre = opts.preconditions;
      if (pre?.uid && pre.uid !== m.uid) {
        throw new ConflictError(
          this.target(name),
          `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${m.uid}`,
        );
      }
      if (pre?.resourceVersion && pre.resourceVersion !== m.resourceVersion) {
        throw new ConflictError(
          this.target(name),
          `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${m.resourceVersion}`,
        );
      }
      const webhooks = this.webhookCall("DELETE", opts, namespace, name);
      if (webhooks) {
        await webhooks.hooks.mutate(webhooks.attrs, undefined, old);
        await webhooks.hooks.validate(webhooks.attrs, undefined, old);
      }
      const graceful = this.gracefulDelete(old, opts);
      if (graceful) {
        if (opts.dryRun) return { object: graceful, deleted: false };
        try {
          const rev = await this.deps.storage.update(
            key,
            this.toStorage(stripVersion(graceful)),
            stored.modRevision,
          );
          return { object: withVersion(graceful, rev), deleted: false };
        } catch (err) {
          if (err instanceof RevisionConflictError) continue;
          return storageError(err);
        }
      }
      if (opts.dryRun) return { object: old, deleted: true };
      try {
        const rev = await this.deps.storage.delete(key, stored.modRevision, {
          release: this.claimsOf(old),
        });
        return { object: withVersion(old, rev), deleted: true };
      } catch (err) {
        if (err instanceof RevisionConflictError) {
          if (!err.current) throw new NotFoundError(this.target(name));
          continue;
        }
        return storageError(err);
      }
    }
    throw new ConflictError(this.target(name), "too many concurrent updates; please try again");
  }

  /**
   * Returns the object as it should be stored when deletion must wait (finalizers, a
   * pod's grace period, a namespace being emptied), or undefined to delete it now.
   */
  private gracefulDelete(old: KubeObject, opts: DeleteOptions): KubeObject | undefined {
    const obj = clone(old);
    const m = meta(obj);
    const finalizers = new Set(m.finalizers ?? []);
    if (opts.propagationPolicy === "Foreground") finalizers.add("foregroundDeletion");
    if (opts.propagationPolicy === "Orphan") finalizers.add("orphan");
    if (opts.propagationPolicy === "Background") {
      finalizers.delete("foregroundDeletion");
      finalizers.delete("orphan");
    }
    const setFinalizers = (): void => {
      if (finalizers.size) m.finalizers = [...finalizers];
      else delete m.finalizers;
    };
    // The kind's own cleanup first (a namespace being emptied by the namespace controller).
    if (this.strategy.beginDeletion?.(obj, finalizers)) {
      m.deletionTimestamp ??= now();
      m.deletionGracePeriodSeconds = 0;
      setFinalizers();
      return obj;
    }
    const grace = this.strategy.gracePeriodSeconds?.(obj, opts.gracePeriodSeconds) ?? 0;
    if (finalizers.size === 0 && grace === 0) return undefined;
    if (grace > 0) {
      // A later delete may shorten the grace period, never lengthen it.
      if (!m.deletionTimestamp || grace < (m.deletionGracePeriodSeconds ?? Infinity)) {
        m.deletionTimestamp = rfc3339(Date.now() + grace * 1000);
        m.deletionGracePeriodSeconds = grace;
      }
    } else {
      m.deletionTimestamp ??= now();
      m.deletionGracePeriodSeconds = 0;
    }
    setFinalizers();
    return obj;
  }
}
