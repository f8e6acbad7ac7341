// The scheduling queue: pending pods wait in one of three sub-queues.
//
// Contract (Kubernetes' PriorityQueue, simplified):
// - activeQ: pods ready to be tried, highest spec.priority first, then oldest first. `pop()`
//   waits for one.
// - backoffQ: pods that failed recently wait out a backoff (1 s doubling to 10 s per attempt)
//   and then move to activeQ (checked every second).
// - unschedulable: pods no node fits. They stay until a cluster event that could help
//   (`moveAllToActiveOrBackoff`: a node added or changed, a pod deleted), or 5 minutes pass.
//   A pod that failed while such an event happened during its attempt goes to backoffQ
//   instead, so the event is not missed.
// - A pod is in at most one sub-queue, or "in flight" between `pop()` and `done()`; updates
//   to an in-flight pod are kept and used if it is queued again.
import { Heap } from "./heap.js";
import { podKey, type Pod } from "./types.js";

export interface QueuedPodInfo {
  pod: Pod;
  key: string;
  /** When it entered the queue (ordering). */
  timestamp: number;
  /** When the scheduler first saw it (end-to-end latency). */
  initialTimestamp: number;
  attempts: number;
  /** Reason of the last failure, if any. */
  unschedulableReason?: string;
}

export interface QueueOptions {
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  maxInUnschedulableMs?: number;
  flushIntervalMs?: number;
  now?: () => number;
}

const priorityOf = (p: QueuedPodInfo) => p.pod.spec.priority ?? 0;

export class SchedulingQueue {
  private readonly activeQ = new Heap<QueuedPodInfo>(
    (p) => p.key,
    (a, b) =>
      priorityOf(a) > priorityOf(b) ||
      (priorityOf(a) === priorityOf(b) && a.timestamp < b.timestamp),
  );
  private readonly backoffQ = new Heap<QueuedPodInfo>(
    (p) => p.key,
    (a, b) => this.backoffExpiry(a) < this.backoffExpiry(b),
  );
  private readonly unschedulable = new Map<string, QueuedPodInfo>();
  private readonly inFlight = new Map<string, QueuedPodInfo>();
  private readonly waiters: ((p: QueuedPodInfo | undefined) => void)[] = [];
  private closed = false;
  private timer: NodeJS.Timeout | undefined;
  /** Incremented on every pop; compared with the cycle of the last move request. */
  schedulingCycle = 0;
  private moveRequestCycle = -1;
  private readonly now: () => number;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly maxInUnschedulableMs: number;

  constructor(private readonly opts: QueueOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.initialBackoffMs = opts.initialBackoffMs ?? 1000;
    this.maxBackoffMs = opts.maxBackoffMs ?? 10_000;
    this.maxInUnschedulableMs = opts.maxInUnschedulableMs ?? 5 * 60_000;
  }

  /** Starts the periodic flushes (backoffQ → activeQ, old unschedulable pods → activeQ). */
  run(): void {
    if (this.timer || this.closed) return;
    this.timer = setInterval(() => this.flush(), this.opts.flushIntervalMs ?? 1000);
    this.timer.unref();
  }

  close(): void {
    this.closed = true;
    clearInterval(this.timer);
    for (const w of this.waiters.splice(0)) w(undefined);
  }

  lengths(): { active: number; backoff: number; unschedulable: number } {
    return {
      active: this.activeQ.length,
      backoff: this.backoffQ.length,
      unschedulable: this.unschedulable.size,
    };
  }

  has(key: string): boolean {
    return (
      this.activeQ.has(key) ||
      this.backoffQ.has(key) ||
      this.unschedulable.has(key) ||
      this.inFlight.has(key)
    );
  }

  /** A new pending pod. */
  add(pod: Pod): void {
    const key = podKey(pod);
    if (this.has(key)) return this.update(pod);
    const now = this.now();
    this.toActive({ pod, key, timestamp: now, initialTimestamp: now, attempts: 0 });
  }

  /**
   * A pending pod changed: keep the latest object. An unschedulable pod gets another try
   * only if more than its status changed (our own PodScheduled condition must not loop).
   */
  update(pod: Pod, old?: Pod): void {
    const key = podKey(pod);
    const flying = this.inFlight.get(key);
    if (flying) {
      flying.pod = pod;
      return;
    }
    for (const q of [this.activeQ, this.backoffQ]) {
      const p = q.get(key);
      if (p) {
        q.push({ ...p, pod });
        return;
      }
    }
    const u = this.unschedulable.get(key);
    if (u && old && !isPodUpdated(old, pod)) {
      u.pod = pod;
      return;
    }
    if (u) {
      this.unschedulable.delete(key);
      const p = { ...u, pod };
      if (this.isBackingOff(p)) this.backoffQ.push(p);
      else this.toActive(p);
      return;
    }
    this.add(pod);
  }

  delete(pod: Pod): void {
    const key = podKey(pod);
    this.activeQ.delete(key);
    this.backoffQ.delete(key);
    this.unschedulable.delete(key);
    this.inFlight.delete(key);
  }

  /** The next pod to schedule (undefined once closed). The pod is in flight until `done`. */
  pop(): Promise<QueuedPodInfo | undefined> {
    if (this.closed) return Promise.resolve(undefined);
    const p = this.activeQ.pop();
    if (p) return Promise.resolve(this.takeOff(p));
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private takeOff(p: QueuedPodInfo): QueuedPodInfo {
    this.schedulingCycle++;
    p.attempts++;
    this.inFlight.set(p.key, p);
    return p;
  }

  private toActive(p: QueuedPodInfo): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter(this.takeOff(p));
    else this.activeQ.push(p);
  }

  /** The attempt ended (bound, or queued again by one of the methods below). */
  done(key: string): void {
    this.inFlight.delete(key);
  }

  /**
   * No node fits the pod. `podSchedulingCycle` is the cycle it was popped in: if a move
   * request came since, the pod goes to backoffQ, else it waits in unschedulable.
   */
  addUnschedulable(p: QueuedPodInfo, podSchedulingCycle: number): void {
    const current = this.inFlight.get(p.key);
    this.inFlight.delete(p.key);
    if (!current || this.closed) return; // deleted meanwhile
    current.timestamp = this.now();
    if (this.moveRequestCycle >= podSchedulingCycle) this.backoffQ.push(current);
    else this.unschedulable.set(current.key, current);
  }

  /** The attempt failed for a reason that may pass (an API error): retry after a backoff. */
  addBackoff(p: QueuedPodInfo): void {
    const current = this.inFlight.get(p.key);
    this.inFlight.delete(p.key);
    if (!current || this.closed) return;
    current.timestamp = this.now();
    this.backoffQ.push(current);
  }

  /** A cluster event that could make unschedulable pods fit: try them again. */
  moveAllToActiveOrBackoff(_event: string): void {
    for (const p of this.unschedulable.values()) {
      if (this.isBackingOff(p)) this.backoffQ.push(p);
      else this.toActive(p);
    }
    this.unschedulable.clear();
    this.moveRequestCycle = this.schedulingCycle;
  }

  private backoffDuration(p: QueuedPodInfo): number {
    const n = Math.max(0, p.attempts - 1);
    return Math.min(this.initialBackoffMs * 2 ** Math.min(n, 30), this.maxBackoffMs);
  }

  private backoffExpiry(p: QueuedPodInfo): number {
    return p.timestamp + this.backoffDuration(p);
  }

  private isBackingOff(p: QueuedPodInfo): boolean {
    return this.backoffExpiry(p) > this.now();
  }

  /** Moves pods whose backoff is over to activeQ, and pods unschedulable for too long too. */
  flush(): void {
    const now = this.now();
    for (
      let p = this.backoffQ.peek();
      p && this.backoffExpiry(p) <= now;
      p = this.backoffQ.peek()
    ) {
      this.backoffQ.pop();
      this.toActive(p);
    }
    for (const [key, p] of this.unschedulable) {
      if (now - p.timestamp > this.maxInUnschedulableMs) {
        this.unschedulable.delete(key);
        if (this.isBackingOff(p)) this.backoffQ.push(p);
        else this.toActive(p);
      }
    }
  }
}

/** Whether a pod changed in more than status and bookkeeping (Kubernetes' isPodUpdated). */
export function isPodUpdated(old: Pod, pod: Pod): boolean {
  const strip = (p: Pod) => {
    const {
      resourceVersion: _rv,
      generation: _g,
      managedFields: _mf,
      ...metadata
    } = p.metadata as Pod["metadata"] & { managedFields?: unknown };
    return JSON.stringify({ metadata, spec: p.spec });
  };
  return strip(old) !== strip(pod);
}
