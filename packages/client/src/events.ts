// The event recorder: writes core/v1 Events about objects ("Scheduled", "FailedMount"),
// folding repeats into one Event with a count.
//
// Contract:
// - `event(obj, type, reason, message)` returns at once and never throws: the write
//   happens in the background and a failure is logged and dropped (events are
//   best-effort; they must never break the caller's work).
// - The same (object, type, reason, message) seen again within 10 minutes PATCHes the
//   existing Event's count and lastTimestamp instead of creating a new Event. Writes for
//   one such key are done in order, so the count only grows.
// - Events of cluster-scoped objects go to the "default" namespace, as in Kubernetes.
// - `flush()` resolves when every write asked for so far has finished (tests, shutdown).
import { randomBytes } from "node:crypto";
import { findResource } from "@skiff/api";
import { isNotFound } from "./errors.js";
import { defaultLogger, type Logger } from "./log.js";
import type { ResourceClient, RestClient } from "./rest.js";
import type { KubeObject } from "./types.js";

export type EventType = "Normal" | "Warning";

export interface ObjectReference {
  apiVersion?: string;
  kind?: string;
  namespace?: string;
  name?: string;
  uid?: string;
  resourceVersion?: string;
  fieldPath?: string;
}

export interface CoreEvent extends KubeObject {
  involvedObject: ObjectReference;
  reason: string;
  message: string;
  type: EventType;
  source: { component: string; host?: string };
  firstTimestamp: string;
  lastTimestamp: string;
  count: number;
  reportingComponent: string;
  reportingInstance: string;
}

export interface EventRecorderOptions {
  /** Who reports: "default-scheduler", "kubelet", "replicaset-controller". */
  component: string;
  /** The node or host the reporter runs on. */
  host?: string;
  logger?: Logger;
  /** Repeats within this window are aggregated (default 10 minutes). */
  aggregationWindowMs?: number;
  /** Most (object, type, reason, message) keys remembered (default 4096). */
  maxEntries?: number;
  now?: () => number;
}

interface Entry {
  name?: string; // the Event written for this key, once created
  namespace: string;
  count: number;
  firstTimestamp: string;
  lastSeen: number;
  chain: Promise<void>;
}

/** RFC 3339 to the second, as metav1.Time. */
export function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

export class EventRecorder {
  private readonly events: ResourceClient<CoreEvent>;
  private readonly cache = new Map<string, Entry>();
  private readonly pending = new Set<Promise<void>>();
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly windowMs: number;
  private readonly maxEntries: number;

  constructor(
    client: RestClient,
    private readonly opts: EventRecorderOptions,
  ) {
    const info = findResource("", "v1", "events");
    if (!info) throw new Error("@skiff/api does not know v1 events");
    this.events = client.resource<CoreEvent>(info);
    this.log = opts.logger ?? defaultLogger;
    this.now = opts.now ?? Date.now;
    this.windowMs = opts.aggregationWindowMs ?? 10 * 60_000;
    this.maxEntries = opts.maxEntries ?? 4096;
  }

  /** Records an event about `obj`. Never throws; the write happens in the background. */
  event(obj: KubeObject, type: EventType, reason: string, message: string): void {
    try {
      this.record(obj, type, reason, message);
    } catch (e) {
      this.log.error({ err: e, reason }, "cannot record event");
    }
  }

  /** Resolves once every event recorded so far has been written (or dropped). */
  async flush(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
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
    const key = JSON.stringify([
      ref.apiVersion,
      ref.kind,
      ref.namespace,
      ref.name,
      ref.uid,
      type,
      reason,
      message,
    ]);
    const now = this.now();
    let entry = this.cache.get(key);
    if (entry && now - entry.lastSeen > this.windowMs) entry = undefined;
    if (!entry) {
      entry = {
        namespace: m.namespace || "default",
        count: 0,
        firstTimestamp: rfc3339(now),
        lastSeen: now,
        chain: Promise.resolve(),
      };
    }
    this.cache.delete(key); // re-insert: the Map's order is least recently used first
    this.cache.set(key, entry);
    if (this.cache.size > this.maxEntries) this.cache.delete(this.cache.keys().next().value!);
    entry.count++;
    entry.lastSeen = now;

    const e = entry;
    const count = entry.count;
    const write = e.chain
      .then(() => this.write(e, ref, type, reason, message, count, rfc3339(now)))
      .catch((err: unknown) =>
        this.log.warn(
          { err, reason, object: `${ref.namespace ?? ""}/${ref.name ?? ""}` },
          "dropped event",
        ),
      );
    e.chain = write;
    this.pending.add(write);
    void write.finally(() => this.pending.delete(write));
  }

  private async write(
    e: Entry,
    ref: ObjectReference,
    type: EventType,
    reason: string,
    message: string,
    count: number,
    last: string,
  ): Promise<void> {
    const events = this.events.namespace(e.namespace);
    if (e.name) {
      try {
        await events.patch(e.name, { count, lastTimestamp: last }, "merge");
        return;
      } catch (err) {
        if (!isNotFound(err)) throw err;
        e.name = undefined; // someone deleted it: start a new one
      }
    }
    const { component, host } = this.opts;
    const created = await events.create({
      apiVersion: "v1",
      kind: "Event",
      metadata: { name: `${ref.name ?? "unknown"}.${uniqueSuffix()}`, namespace: e.namespace },
      involvedObject: Object.fromEntries(Object.entries(ref).filter(([, v]) => v !== undefined)),
      reason,
      message,
      type,
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
