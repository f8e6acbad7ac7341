import { readFileSync } from "node:fs";
// Storage: the apiserver's only path to etcd. Objects are JSON values under
// /registry/...; an object's resourceVersion is the etcd mod revision of its key.
//
// Contract:
// - create() succeeds only when the key does not exist; update() and delete() only when
//   the key's mod revision still equals the one the caller read (compare-and-swap).
// - "claims" are extra keys created (update: created or removed) in the same
//   transaction as the object; they make unique allocations (ClusterIPs, NodePorts)
//   atomic with the object that holds them.
// - Revisions are numbers here; etcd3 hands them out as strings, converted at this boundary.
import { Etcd3, isRecoverableError, type IKeyValue, type IRangeResponse } from "etcd3";
import { retry, handleWhen, circuitBreaker, ConsecutiveBreaker } from "cockatiel";
import type { Transformer } from "./encryption.js";

export interface StoredObject {
  key: string;
  value: Record<string, unknown>;
  modRevision: number;
}

export interface ListResult {
  items: StoredObject[];
  /** The etcd revision the list was read at. */
  revision: number;
  /** The key after which the next page starts, when there are more items. */
  nextKey?: string;
  remaining?: number;
}

export interface WatchEventRaw {
  type: "put" | "delete";
  key: string;
  value?: Record<string, unknown>;
  /** The value before this event: only on watches that ask `withPrevious`. */
  prev?: Record<string, unknown>;
  modRevision: number;
}

/** Thrown by create() when the key exists. */
export class KeyExistsError extends Error {
  constructor(readonly key: string) {
    super(`key exists: ${key}`);
  }
}
/** Thrown by update()/delete() when the key's revision moved on, or by claims that collide. */
export class RevisionConflictError extends Error {
  constructor(
    readonly key: string,
    readonly current: StoredObject | undefined,
  ) {
    super(`revision conflict on ${key}`);
  }
}
/** Thrown when a claim key is already held by another object. */
export class ClaimTakenError extends Error {
  constructor(readonly claim: string) {
    super(`claim taken: ${claim}`);
  }
}
/** Thrown when a read asks for a revision etcd has compacted away. */
export class CompactedError extends Error {}
/** Thrown when a read asks for a revision etcd has not reached yet. */
export class FutureRevisionError extends Error {}
/** Thrown when etcd cannot be reached or does not answer in time. */
export class StorageUnavailableError extends Error {
  constructor(
    message: string,
    readonly timeout: boolean,
  ) {
    super(message);
  }
}

export interface Claims {
  create?: string[];
  release?: string[];
}

/** Options of one write. */
export interface WriteOptions {
  /** The object expires (etcd deletes it) this many seconds after the write: Events. */
  ttlSeconds?: number;
}

export interface Storage {
  get(key: string): Promise<StoredObject | undefined>;
  list(
    prefix: string,
    opts?: { limit?: number; startKey?: string; revision?: number },
  ): Promise<ListResult>;
  listKeys(prefix: string): Promise<string[]>;
  create(key: string, value: object, claims?: Claims, opts?: WriteOptions): Promise<number>;
  update(
    key: string,
    value: object,
    expectedModRevision: number,
    claims?: Claims,
    opts?: WriteOptions,
  ): Promise<number>;
  delete(key: string, expectedModRevision: number, claims?: Claims): Promise<number>;
  /**
   * Watches the keys under `prefix` from `fromRevision`. `withPrevious`: each event also
   * carries the key's previous value (etcd reads, sends and this server decodes it, so only
   * a watcher that needs it asks: the watch cache has the previous state itself).
   */
  watch(
    prefix: string,
    fromRevision: number,
    onEvents: (events: WatchEventRaw[]) => void,
    onError: (err: Error) => void,
    opts?: { withPrevious?: boolean },
  ): Promise<() => Promise<void>>;
  currentRevision(): Promise<number>;
  /**
   * One step of the compactor (compactor.ts): when the compaction key's version is still
   * `lastVersion`, claims this step by writing the key and compacts etcd's history up to
   * `revision` (0: nothing yet); when another apiserver claimed it first, compacts nothing.
   */
  compactStep(lastVersion: number, revision: number): Promise<CompactStep>;
  close(): Promise<void>;
}

export interface CompactStep {
  /** The compaction key's version now: the `lastVersion` of the next step. */
  version: number;
  /** etcd's revision at this step: what the next step compacts to. */
  revision: number;
  /** Whether this apiserver compacted (it won the step and had a revision to compact). */
  compacted: boolean;
}

/** The key apiservers take turns on, so that one compaction runs per interval (Kubernetes'). */
export const COMPACT_REV_KEY = "compact_rev_key";

function prefixEnd(prefix: string): Buffer {
  const b = Buffer.from(prefix);
  for (let i = b.length - 1; i >= 0; i--) {
    if (b[i]! < 0xff) {
      const out = b.subarray(0, i + 1);
      out[i] = out[i]! + 1;
      return out;
    }
  }
  return Buffer.from([0]);
}

/** Reads stored bytes as the object's JSON; encryption at rest plugs in here. */
type Decode = (key: string, raw: Buffer) => string;
const plain: Decode = (_key, raw) => raw.toString();

function parse(kv: IKeyValue, decode: Decode = plain): StoredObject {
  const key = kv.key.toString();
  return {
    key,
    value: JSON.parse(decode(key, kv.value)) as Record<string, unknown>,
    modRevision: Number(kv.mod_revision),
  };
}

/** PEM files for TLS to etcd: the CA that signs the members' certificates, and a client pair. */
export interface EtcdTlsFiles {
  caFile?: string;
  certFile?: string;
  keyFile?: string;
}

export interface EtcdStorageOptions {
  endpoints: string[];
  tls?: EtcdTlsFiles;
  /** Deadline for one etcd call, in ms. */
  requestTimeoutMs?: number;
  onRequest?: (op: string, seconds: number) => void;
  /** Encryption at rest (encryption.ts); without it, values are stored as plain JSON. */
  transformer?: Transformer;
}

/**
 * Shares etcd leases between objects that expire at about the same time, as Kubernetes'
 * apiserver does for Events: a lease is reused while it outlives the requested TTL, granted
 * with 10 % of the TTL (at most 60 s) to spare, and carries at most 1,000 objects. One
 * lease grant per minute instead of one per Event. Objects with another TTL (the apiservers'
 * master leases) have a manager of their own.
 */
class LeaseManager {
  private current: { id: string; expiresAt: number; objects: number } | undefined;
  private granting: Promise<string> | undefined;

  constructor(private readonly grant: (ttlSeconds: number) => Promise<string>) {}

  async get(ttlSeconds: number): Promise<string> {
    const c = this.current;
    if (c && c.expiresAt - Date.now() > ttlSeconds * 1000 && c.objects < 1000) {
      c.objects++;
      return c.id;
    }
    // Writes that arrive while a lease is being granted wait for it instead of granting more.
    this.granting ??= this.renew(ttlSeconds).finally(() => (this.granting = undefined));
    return this.granting;
  }

  private async renew(ttlSeconds: number): Promise<string> {
    const spare = Math.min(60, Math.ceil(ttlSeconds * 0.1));
    const started = Date.now();
    const id = await this.grant(ttlSeconds + spare);
    this.current = { id, expiresAt: started + (ttlSeconds + spare) * 1000, objects: 1 };
    return id;
  }
}

/**
 * etcd3's credentials for https:// endpoints. A client certificate needs its key (and the
 * reverse); http:// endpoints with TLS files are refused rather than silently sent in clear.
 */
function etcdCredentials(
  endpoints: string[],
  tls: EtcdTlsFiles | undefined,
): { rootCertificate: Buffer; privateKey?: Buffer; certChain?: Buffer } | undefined {
  const secure = endpoints.filter((e) => e.startsWith("https://"));
  if (!tls?.caFile && !tls?.certFile && !tls?.keyFile) {
    if (secure.length)
      throw new Error(
        `--etcd-servers ${secure[0]} is https: give --etcd-cafile (and a client pair)`,
      );
    return undefined;
  }
  if (!tls.caFile) throw new Error("--etcd-certfile/--etcd-keyfile need --etcd-cafile");
  if (!tls.certFile !== !tls.keyFile)
    throw new Error("--etcd-certfile and --etcd-keyfile go together: give both or neither");
  const plain = endpoints.find((e) => !e.startsWith("https://"));
  if (plain) throw new Error(`--etcd-servers ${plain} is not https, but etcd TLS files were given`);
  const read = (flag: string, file: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new Error(`${flag} ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, {
        cause: err,
      });
    }
  };
  return {
    rootCertificate: read("--etcd-cafile", tls.caFile),
    ...(tls.certFile && tls.keyFile
      ? {
          certChain: read("--etcd-certfile", tls.certFile),
          privateKey: read("--etcd-keyfile", tls.keyFile),
        }
      : {}),
  };
}

export class EtcdStorage implements Storage {
  private readonly client: Etcd3;
  private readonly timeoutMs: number;
  private readonly onRequest: (op: string, seconds: number) => void;
  /** One lease manager per TTL: an object must never ride on a lease granted for a longer one. */
  private readonly leases = new Map<number, LeaseManager>();
  private readonly decode: Decode;
  private readonly encode: (key: string, data: string) => Buffer | string;

  constructor(opts: EtcdStorageOptions) {
    const t = opts.transformer;
    this.decode = t ? (key, raw) => t.fromStorage(key, raw) : plain;
    this.encode = t ? (key, data) => t.toStorage(key, data) : (_key, data) => data;
    this.timeoutMs = opts.requestTimeoutMs ?? 10_000;
    this.onRequest = opts.onRequest ?? (() => {});

    this.client = new Etcd3({
      hosts: opts.endpoints,
      credentials: etcdCredentials(opts.endpoints, opts.tls),
      grpcOptions: {
        "grpc.max_receive_message_length": 512 * 1024 * 1024,
        "grpc.max_send_message_length": 16 * 1024 * 1024,
        "grpc.initial_reconnect_backoff_ms": 200,
        "grpc.max_reconnect_backoff_ms": 2000,
      },
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + this.timeoutMs }),
      faultHandling: {
        // Give up on a dead member quickly so another member (or a restarted one) is tried.
        host: () =>
          circuitBreaker(handleWhen(isRecoverableError), {
            halfOpenAfter: 500,
            breaker: new ConsecutiveBreaker(3),
          }),
        global: retry(handleWhen(isRecoverableError), { maxAttempts: opts.endpoints.length + 1 }),
      },
    });
  }

  private async call<T>(op: string, fn: () => Promise<T>): Promise<T> {
    const start = process.hrtime.bigint();
    try {
      return await fn();
    } catch (err) {
      throw translate(err);
    } finally {
      this.onRequest(op, Number(process.hrtime.bigint() - start) / 1e9);
    }
  }

  /** The lease an expiring object is attached to. */
  private async leaseFor(opts: WriteOptions): Promise<string | undefined> {
    const ttl = opts.ttlSeconds;
    if (ttl === undefined) return undefined;
    let manager = this.leases.get(ttl);
    if (!manager) {
      manager = new LeaseManager(async (seconds) => {
        const res = await this.call("grant", () =>
          this.client.leaseClient.leaseGrant({ TTL: seconds }),
        );
        return res.ID;
      });
      this.leases.set(ttl, manager);
    }
    return manager.get(ttl);
  }

  /** The put of one write (not awaited here: etcd3's builders run when awaited). */
  private put(key: string, data: string, lease: string | undefined) {
    const put = this.client.put(key).value(this.encode(key, data));
    return lease === undefined ? put : put.lease(lease);
  }

  async get(key: string): Promise<StoredObject | undefined> {
    const res = await this.call("get", () => this.client.get(key).exec());
    const kv = res.kvs[0];
    return kv ? parse(kv, this.decode) : undefined;
  }

  async currentRevision(): Promise<number> {
    const res = await this.call("get", () => this.client.get("/registry/health").exec());
    return Number(res.header.revision);
  }

  async list(
    prefix: string,
    opts: { limit?: number; startKey?: string; revision?: number } = {},
  ): Promise<ListResult> {
    const start =
      opts.startKey !== undefined
        ? Buffer.concat([Buffer.from(opts.startKey), Buffer.from([0])])
        : Buffer.from(prefix);
    const res: IRangeResponse = await this.call("list", () => {
      let q = this.client.getAll().inRange({ start, end: prefixEnd(prefix) });
      if (opts.limit) q = q.limit(opts.limit);
      if (opts.revision) q = q.revision(opts.revision);
      return q.exec();
    });
    const items = res.kvs.map((kv) => parse(kv, this.decode));
    const revision = Number(res.header.revision);
    const out: ListResult = { items, revision: opts.revision ?? revision };
    if (res.more && items.length > 0) {
      out.nextKey = items[items.length - 1]!.key;
      out.remaining = Number(res.count) - items.length;
    }
    return out;
  }

  async listKeys(prefix: string): Promise<string[]> {
    return this.call("list", () => this.client.getAll().prefix(prefix).keys());
  }

  async create(
    key: string,
    value: object,
    claims: Claims = {},
    opts: WriteOptions = {},
  ): Promise<number> {
    const data = JSON.stringify(value);
    const creates = claims.create ?? [];
    const lease = await this.leaseFor(opts);
    let txn = this.client.if(key, "Create", "==", 0);
    for (const c of creates) txn = txn.and(c, "Create", "==", 0);
    const res = await this.call("create", () =>
      txn
        .then(this.put(key, data, lease), ...creates.map((c) => this.client.put(c).value(key)))
        .else(this.client.get(key), ...creates.map((c) => this.client.get(c)))
        .commit(),
    );
    if (!res.succeeded) {
      if (res.responses[0]?.response_range?.kvs.length) throw new KeyExistsError(key);
      const taken = creates.find((_, i) => res.responses[i + 1]?.response_range?.kvs.length);
      throw new ClaimTakenError(taken ?? key);
    }
    return Number(res.header.revision);
  }

  async update(
    key: string,
    value: object,
    expected: number,
    claims: Claims = {},
    opts: WriteOptions = {},
  ): Promise<number> {
    const data = JSON.stringify(value);
    const creates = claims.create ?? [];
    const releases = claims.release ?? [];
    const lease = await this.leaseFor(opts);
    let txn = this.client.if(key, "Mod", "==", expected);
    for (const c of creates) txn = txn.and(c, "Create", "==", 0);
    const res = await this.call("update", () =>
      txn
        .then(
          this.put(key, data, lease),
          ...creates.map((c) => this.client.put(c).value(key)),
          ...releases.map((c) => this.client.delete().key(c)),
        )
        .else(this.client.get(key), ...creates.map((c) => this.client.get(c)))
        .commit(),
    );
    if (!res.succeeded) {
      const kv = res.responses[0]?.response_range?.kvs[0];
      const current = kv ? parse(kv, this.decode) : undefined;
      if (!current || current.modRevision !== expected)
        throw new RevisionConflictError(key, current);
      const taken = creates.find((_, i) => res.responses[i + 1]?.response_range?.kvs.length);
      throw new ClaimTakenError(taken ?? key);
    }
    return Number(res.header.revision);
  }

  async delete(key: string, expected: number, claims: Claims = {}): Promise<number> {
    const releases = claims.release ?? [];
    const res = await this.call("delete", () =>
      this.client
        .if(key, "Mod", "==", expected)
        .then(this.client.delete().key(key), ...releases.map((c) => this.client.delete().key(c)))
        .else(this.client.get(key))
        .commit(),
    );
    if (!res.succeeded) {
      const kv = res.responses[0]?.response_range?.kvs[0];
      throw new RevisionConflictError(key, kv ? parse(kv, this.decode) : undefined);
    }
    return Number(res.header.revision);
  }

  async watch(
    prefix: string,
    fromRevision: number,
    onEvents: (events: WatchEventRaw[]) => void,
    onError: (err: Error) => void,
    opts: { withPrevious?: boolean } = {},
  ): Promise<() => Promise<void>> {
    const builder = this.client.watch().prefix(prefix).startRevision(String(fromRevision));
    const watcher = await (opts.withPrevious ? builder.withPreviousKV() : builder).create();
    // Values are decoded here; the previous value is only decoded when it can be (a key
    // rotated away since it was written must not break the watch of the new value).
    const object = (kv: IKeyValue, strict: boolean): Record<string, unknown> | undefined => {
      try {
        return JSON.parse(this.decode(kv.key.toString(), kv.value)) as Record<string, unknown>;
      } catch (err) {
        if (strict) throw err;
        return undefined;
      }
    };
    watcher.on("data", (res) => {
      const events: WatchEventRaw[] = [];
      try {
        for (const ev of res.events) {
          const kv = ev.kv;
          events.push({
            type: ev.type === "Delete" ? "delete" : "put",
            key: kv.key.toString(),
            value: ev.type === "Delete" ? undefined : object(kv, true),
            prev: ev.prev_kv ? object(ev.prev_kv, false) : undefined,
            modRevision: Number(kv.mod_revision),
          });
        }
      } catch (err) {
        onError(err as Error);
        return;
      }
      if (events.length) onEvents(events);
    });
    watcher.on("error", (err) => onError(err));
    return () => watcher.cancel();
  }

  async compactStep(lastVersion: number, revision: number): Promise<CompactStep> {
    const res = await this.call("compact", () =>
      this.client
        .if(COMPACT_REV_KEY, "Version", "==", lastVersion)
        .then(this.client.put(COMPACT_REV_KEY).value(String(revision)))
        .else(this.client.get(COMPACT_REV_KEY))
        .commit(),
    );
    const current = Number(res.header.revision);
    if (!res.succeeded) {
      const kv = res.responses[0]?.response_range?.kvs[0];
      return { version: Number(kv?.version ?? 0), revision: current, compacted: false };
    }
    if (revision > 0)
      await this.call("compact", () => this.client.kv.compact({ revision: String(revision) }));
    return { version: lastVersion + 1, revision: current, compacted: revision > 0 };
  }

  async close(): Promise<void> {
    this.client.close();
  }
}

// Everything an etcd call throws is about storage: compaction and future revisions have
// their own meaning; anything else (no connection, circuit open, deadline) is unavailability.
function translate(err: unknown): Error {
  const msg = err instanceof Error ? err.message : String(err);
  if (/compacted/i.test(msg)) return new CompactedError(msg);
  if (/future revision/i.test(msg)) return new FutureRevisionError(msg);
  if (/deadline/i.test(msg))
    return new StorageUnavailableError(`etcd did not answer in time: ${msg}`, true);
  return new StorageUnavailableError(`etcd is unavailable: ${msg}`, false);
}
