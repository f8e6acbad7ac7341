// The event recorder: writes core/v1 Events about objects ("Scheduled", "FailedMount"),
// with Kubernetes' broadcaster and correlator behaviour, so that events never slow the
// caller's own work nor grow without bound.
//
// Contract:
// - `event(obj, type, reason, message)` returns at once and never throws or waits: the
//   write happens in the background and a failure is logged and dropped (events are
//   best-effort; they must never break the caller's work).
// - Writes wait in a bounded queue (1000 by default, as Kubernetes' broadcaster). When it
//   is full, a new event is dropped (counted in `stats().dropped`), never queued.
// - Same events: the same (object, type, reason, message) seen again within 10 minutes
//   PATCHes the existing Event's count and lastTimestamp instead of creating a new Event.
//   Writes for one key are done in order, so the count only grows; repeats that arrive
//   while a write for the key is still queued join it (one write carries them all).
// - Similar events: once 10 different messages for one (object, type, reason) were seen
//   within 10 minutes, further ones are counted into one Event whose message is
//   "(combined from similar events): <latest message>" (Kubernetes' EventAggregator).
// - Spam filter: each key (after aggregation) may write 25 times at once, then once every
//   5 minutes (Kubernetes' EventSourceObjectSpamFilter); repeats in between still count.
// - Every table is bounded (4096 keys, least recently used dropped).
// - Events of cluster-scoped objects go to the "default" namespace, as in Kubernetes.
// - `flush()` resolves when every write queued so far has finished (tests); `stop()` waits a
//   little for that, then drops what is left (shutdown).
// Callers that must not share a rate budget with their events (the scheduler's bindings)
// give the recorder a RestClient of its own, as kube-scheduler gives its broadcaster a
// clientset of its own.
import { randomBytes } from "node:crypto";
import { resourceInfo, rfc3339, type Event, type ObjectReference } from "@skiff/api/light";
import { isNotFound } from "./errors.js";
import { defaultLogger, type Logger } from "./log.js";
import { TokenBucket } from "./ratelimit.js";
import type { ResourceClient, RestClient } from "./rest.js";
import type { KubeObject } from "./types.js";

export type EventType = "Normal" | "Warning";

/** A v1 Event: @skiff/api's kind with the client's metadata. */
export type CoreEvent = KubeObject & Omit<Event, "metadata">;

export interface EventRecorderOptions {
  /** Who reports: "default-scheduler", "kubelet", "replicaset-controller". */
  component: string;
  /** The node or host the reporter runs on. */
  host?: string;
  logger?: Logger;
  /** Repeats and similar events within this window are aggregated (default 10 minutes). */
  aggregationWindowMs?: number;
  /** Most keys each table remembers (default 4096). */
  maxEntries?: number;
  /** Most writes waiting at once; more are dropped (default 1000). */
  maxQueued?: number;
  /** Writes in flight at once (default 4); the client's own rate limit paces them. */
  concurrency?: number;
  /** Different messages for one (object, type, reason) before they are combined (default 10). */
  maxSimilar?: number;
  /** Spam filter per key: writes at once (default 25) and refill per second (default 1/300). */
  spamBurst?: number;
  spamQps?: number;
  now?: () => number;
}

export interface EventRecorderStats {
  /** Writes waiting in the queue. */
  queued: number;
  /** Events dropped because the queue was full. */
  dropped: number;
  /** Events counted but not written because their key exceeded the spam filter. */
  filtered: number;
}

interface Entry {
  name?: string; // the Event written for this key, once created
  namespace: string;
  ref: ObjectReference;
  type: EventType;
  reason: string;
  message: string;
  count: number;
  firstTimestamp: string;
  lastSeen: number;
  dirty: boolean; // a write is wanted (queued, or waiting for the one in flight)
  busy: boolean; // a write is in flight
}

interface Similar {
  messages: Set<string>;
  lastSeen: number;
}

const combinedPrefix = "(combined from similar events): ";

/** A Map that forgets its least recently used key beyond `max`. */
class Lru<V> {
  private readonly map = new Map<string, V>();
  constructor(private readonly max: number) {}
  get size(): number {
    return this.map.size;
  }
  get(key: string): V | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key); // re-insert: the Map's order is least recently used first
      this.map.set(key, v);
    }
    return v;
  }
  set(key: string, v: V): void {
    this.map.delete(key);
    this.map.set(key, v);
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value!);
  }
}

export class EventRecorder {
  private readonly events: ResourceClient<CoreEvent>;
  private readonly entries: Lru<Entry>;
  private readonly similar: Lru<Similar>;
  private readonly spam: Lru<TokenBucket>;
  private readonly queue: Entry[] = [];
  private queued = 0; // dirty entries: in the queue or waiting behind their own write
  private active = 0;
  private dropped = 0;
  private stopped = false;
  private filtered = 0;
  private idle: (() => void)[] = [];
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly windowMs: number;
  private readonly maxQueued: number;
  private readonly concurrency: number;
  private readonly maxSimilar: number;
  private readonly spamBurst: number;
  private readonly spamQps: number;

  constructor(
    client: RestClient,
    private readonly opts: EventRecorderOptions,
  ) {
    this.events = client.resource<CoreEvent>(resourceInfo("", "v1", "events"));
    this.log = opts.logger ?? defaultLogger;
    this.now = opts.now ?? Date.now;
    this.windowMs = opts.aggregationWindowMs ?? 10 * 60_000;
    const maxEntries = opts.maxEntries ?? 4096;
    this.entries = new Lru(maxEntries);
    this.similar = new Lru(maxEntries);
    this.spam = new Lru(maxEntries);
    this.maxQueued = opts.maxQueued ?? 1000;
    this.concurrency = opts.concurrency ?? 4;
    this.maxSimilar = opts.maxSimilar ?? 10;
    this.spamBurst = opts.spamBurst ?? 25;
    this.spamQps = opts.spamQps ?? 1 / 300;
  }

  /** Records an event about `obj`. Never throws nor waits; the write happens in the background. */
  event(obj: KubeObject, type: EventType, reason: string, message: string): void {
    try {
      this.record(obj, type, reason, message);
    } catch (e) {
      this.log.error({ err: e, reason }, "cannot record event");
    }
  }

  /** Resolves once every event queued so far has been written (or dropped). */
  flush(): Promise<void> {
    if (this.queued === 0 && this.active === 0) return Promise.resolve();
    return new Promise((r) => this.idle.push(r));
  }

  /**
   * Waits up to `graceMs` for the queue to drain, then drops what is still queued (counted
   * as dropped) and waits for the writes in flight. Later events are dropped too.
   */
  async stop(graceMs = 2_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.flush(), new Promise<void>((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
    this.stopped = true;
    const left = this.queue.splice(0);
    for (const e of left) e.dirty = false;
    this.queued -= left.length;
    this.dropped += left.length;
    await this.flush();
  }

  stats(): EventRecorderStats {
    return { queued: this.queued, dropped: this.dropped, filtered: this.filtered };
  }

  private record(obj: KubeObject, type: EventType, reason: string, message: string): void {
    const m = obj.metadata;
    const ref: ObjectReference = {
      apiVersion: obj.apiVersion,
      kind: obj.kind,
      namespace: m.namespace,
      name: m.name,
      uid: m.uid,
      resourceVersion: m.resourceVersion,
    };
    const now = this.now();
    const similarKey = JSON.stringify([
      ref.apiVersion,
      ref.kind,
      ref.namespace,
      ref.name,
      ref.uid,
      type,
      reason,
    ]);
    // Similar events (same object, type and reason): many messages become one Event.
    let similar = this.similar.get(similarKey);
    if (!similar || now - similar.lastSeen > this.windowMs) {
      similar = { messages: new Set(), lastSeen: now };
      this.similar.set(similarKey, similar);
    }
    similar.lastSeen = now;
    if (similar.messages.size < this.maxSimilar) similar.messages.add(message);
    const combined = similar.messages.size >= this.maxSimilar;
    const key = combined ? similarKey : `${similarKey}${message}`;
    if (combined) message = combinedPrefix + message;

    // Same events: one Event, counted.
    let entry = this.entries.get(key);
    if (!entry || (now - entry.lastSeen > this.windowMs && !entry.dirty && !entry.busy)) {
      entry = {
        namespace: m.namespace || "default",
        ref,
        type,
        reason,
        message,
        count: 0,
        firstTimestamp: rfc3339(now),
        lastSeen: now,
        dirty: false,
        busy: false,
      };
      this.entries.set(key, entry);
    }
    entry.count++;
    entry.lastSeen = now;
    entry.ref = ref;
    entry.message = message;
    if (entry.dirty) return; // the queued write will carry this one too
    if (this.stopped) {
      this.dropped++;
      return;
    }

    // Spam filter: a key that writes too often is only counted.
    let bucket = this.spam.get(key);
    if (!bucket) {
      bucket = new TokenBucket(this.spamQps, this.spamBurst, this.now);
      this.spam.set(key, bucket);
    }
    if (!bucket.tryAccept()) {
      this.filtered++;
      return;
    }
    if (this.queued >= this.maxQueued) {
      this.dropped++;
      if (this.dropped === 1 || this.dropped % 1000 === 0)
        this.log.warn(
          { dropped: this.dropped, queued: this.queued, reason },
          "event queue full; dropping events",
        );
      return;
    }
    entry.dirty = true;
    this.queued++;
    if (!entry.busy) this.queue.push(entry);
    this.pump();
  }

  private pump(): void {
    while (this.active < this.concurrency && this.queue.length > 0) {
      const e = this.queue.shift()!;
      e.dirty = false;
      e.busy = true;
      this.queued--;
      this.active++;
      const last = rfc3339(e.lastSeen);
      void this.write(e, e.count, e.message, last)
        .catch((err: unknown) =>
          this.log.warn(
            { err, reason: e.reason, object: `${e.ref.namespace ?? ""}/${e.ref.name ?? ""}` },
            "dropped event",
          ),
        )
        .finally(() => {
          e.busy = false;
          this.active--;
          if (e.dirty && this.stopped) {
            e.dirty = false;
            this.queued--;
            this.dropped++;
          } else if (e.dirty) this.queue.push(e); // repeats that came while it was written
          this.pump();
          if (this.queued === 0 && this.active === 0) for (const r of this.idle.splice(0)) r();
        });
    }
  }

  private async write(e: Entry, count: number, message: string, last: string): Promise<void> {
    const events = this.events.namespace(e.namespace);
    if (e.name) {
      try {
        await events.patch(e.name, { count, lastTimestamp: last, message }, "merge");
        return;
      } catch (err) {
        if (!isNotFound(err)) throw err;
        e.name = undefined; // someone deleted it: start a new one
      }
    }
    const { component, host } = this.opts;
    const { ref } = e;
    const created = await events.create({
      apiVersion: "v1",
      kind: "Event",
      metadata: { name: `${ref.name ?? "unknown"}.${uniqueSuffix()}`, namespace: e.namespace },
      involvedObject: Object.fromEntries(Object.entries(ref).filter(([, v]) => v !== undefined)),
      reason: e.reason,
      message,
      type: e.type,
      source: host ? { component, host } : { component },
      firstTimestamp: e.firstTimestamp,
      lastTimestamp: last,
      count,
      reportingComponent: component,
      reportingInstance: host ?? "",
    });
    e.name = created.metadata.name;
  }
}

/** Hex of the time in nanoseconds plus randomness: unique, and sorts by time like Kubernetes' names. */
function uniqueSuffix(): string {
  const nanos = BigInt(Date.now()) * 1_000_000n + BigInt(randomBytes(2).readUInt16BE(0));
  return nanos.toString(16);
}
