// The controller work queue: keys in, workers out, with delays and per-key rate limits.
//
// Contract (client-go's workqueue):
// - Fair: keys come out in the order they were added (FIFO); waiting workers are served in
//   the order they called `get()`.
// - Stingy: a key added again while it waits is queued once. A key being processed (got
//   but not yet `done`) is never handed to a second worker; if it is added meanwhile it is
//   queued again when `done(key)` is called.
// - `addAfter(key, ms)` adds the key once the delay passes (the earliest of several
//   pending delays wins). `addRateLimited(key)` delays by the rate limiter: by default the
//   larger of a per-key exponential backoff (5 ms doubling to 1000 s) and an overall
//   token bucket (10/s, burst 100). `forget(key)` resets the key's backoff.
// - `shutDown()`: adds are ignored, waiting and later `get()`s resolve `{shutdown: true}`
//   at once. `shutDownWithDrain()`: adds are ignored, workers still get what is queued,
//   and it resolves when nothing is queued or processing; then getters get shutdown.
import { TokenBucket } from "./ratelimit.js";

export interface RateLimiter<K> {
  /** How long to wait before `key` may be processed again; counts a failure. */
  when(key: K): number;
  /** Clears the key's failure history. */
  forget(key: K): void;
  numRequeues(key: K): number;
}

/** base · 2^failures, capped. */
export class ItemExponentialFailureRateLimiter<K> implements RateLimiter<K> {
  private readonly failures = new Map<K, number>();
  constructor(
    readonly baseMs = 5,
    readonly maxMs = 1000_000,
  ) {}

  when(key: K): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    return Math.min(this.baseMs * 2 ** n, this.maxMs);
  }

  forget(key: K): void {
    this.failures.delete(key);
  }

  numRequeues(key: K): number {
    return this.failures.get(key) ?? 0;
  }
}

/** An overall limit shared by all keys. */
export class BucketRateLimiter<K> implements RateLimiter<K> {
  constructor(readonly bucket = new TokenBucket(10, 100)) {}
  when(_key: K): number {
    return this.bucket.reserve();
  }
  forget(): void {}
  numRequeues(): number {
    return 0;
  }
}

/** The longest delay any of several limiters asks for. */
export class MaxOfRateLimiter<K> implements RateLimiter<K> {
  private readonly limiters: RateLimiter<K>[];
  constructor(...limiters: RateLimiter<K>[]) {
    this.limiters = limiters;
  }
  when(key: K): number {
    return Math.max(0, ...this.limiters.map((l) => l.when(key)));
  }
  forget(key: K): void {
    for (const l of this.limiters) l.forget(key);
  }
  numRequeues(key: K): number {
    return Math.max(0, ...this.limiters.map((l) => l.numRequeues(key)));
  }
}

export function defaultControllerRateLimiter<K>(): RateLimiter<K> {
  return new MaxOfRateLimiter<K>(
    new ItemExponentialFailureRateLimiter<K>(5, 1000_000),
    new BucketRateLimiter<K>(),
  );
}

/** Optional hooks for metrics (all times in seconds). */
export interface WorkQueueMetrics {
  depth?(depth: number): void;
  adds?(): void;
  /** Time a key waited in the queue before a worker got it. */
  latency?(seconds: number): void;
  /** Time a worker held a key (get → done). */
  workDuration?(seconds: number): void;
  retries?(): void;
}

export type GetResult<K> = { key: K; shutdown: false } | { key: undefined; shutdown: true };

export class WorkQueue<K = string> {
  private readonly queue: K[] = [];
  private readonly dirty = new Set<K>();
  private readonly processing = new Set<K>();
  private readonly getters: ((r: GetResult<K>) => void)[] = [];
  private readonly delayed = new Map<K, { at: number; timer: NodeJS.Timeout }>();
  private readonly addedAt = new Map<K, number>();
  private readonly startedAt = new Map<K, number>();
  private shuttingDown = false;
  private draining: (() => void) | undefined;
  readonly rateLimiter: RateLimiter<K>;
  private readonly metrics: WorkQueueMetrics;

  constructor(opts: { rateLimiter?: RateLimiter<K>; metrics?: WorkQueueMetrics } = {}) {
    this.rateLimiter = opts.rateLimiter ?? defaultControllerRateLimiter<K>();
    this.metrics = opts.metrics ?? {};
  }

  add(key: K): void {
    if (this.shuttingDown) return;
    if (this.dirty.has(key)) return;
    this.metrics.adds?.();
    this.dirty.add(key);
    this.addedAt.set(key, performance.now());
    if (this.processing.has(key)) return; // queued again by done()
    this.enqueue(key);
  }

  private enqueue(key: K): void {
    const getter = this.getters.shift();
    if (getter) getter(this.hand(key));
    else {
      this.queue.push(key);
      this.metrics.depth?.(this.queue.length);
    }
  }

  /** Moves a key from waiting to processing. */
  private hand(key: K): GetResult<K> {
    this.dirty.delete(key);
    this.processing.add(key);
    const now = performance.now();
    const added = this.addedAt.get(key);
    if (added !== undefined) this.metrics.latency?.((now - added) / 1000);
    this.addedAt.delete(key);
    this.startedAt.set(key, now);
    return { key, shutdown: false };
  }

  /** Resolves with the next key, waiting if none is queued, or `{shutdown: true}`. */
  get(): Promise<GetResult<K>> {
    const key = this.queue.shift();
    if (key !== undefined) {
      this.metrics.depth?.(this.queue.length);
      const r = this.hand(key);
      this.checkDrained();
      return Promise.resolve(r);
    }
    if (this.shuttingDown) return Promise.resolve({ key: undefined, shutdown: true });
    return new Promise((resolve) => this.getters.push(resolve));
  }

  /** Marks a key finished; if it was added while processing, it is queued again. */
  done(key: K): void {
    if (!this.processing.delete(key)) return;
    const started = this.startedAt.get(key);
    if (started !== undefined) this.metrics.workDuration?.((performance.now() - started) / 1000);
    this.startedAt.delete(key);
    if (this.dirty.has(key)) this.enqueue(key);
    this.checkDrained();
  }

  /** Stops rate-limit tracking of a key (call after it was processed successfully). */
  forget(key: K): void {
    this.rateLimiter.forget(key);
  }

  numRequeues(key: K): number {
    return this.rateLimiter.numRequeues(key);
  }

  /** Adds the key after `ms`; the earliest pending time for a key wins. */
  addAfter(key: K, ms: number): void {
    if (this.shuttingDown) return;
    if (ms <= 0) return this.add(key);
    const at = performance.now() + ms;
    const pending = this.delayed.get(key);
    if (pending && pending.at <= at) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, ms);
    timer.unref(); // a queue nobody shuts down must not keep the process alive
    this.delayed.set(key, { at, timer });
  }

  /** Adds the key after the rate limiter's delay (use after a failed sync). */
  addRateLimited(key: K): void {
    this.metrics.retries?.();
    this.addAfter(key, this.rateLimiter.when(key));
  }

  /** Keys waiting (not processing, not delayed). */
  len(): number {
    return this.queue.length;
  }

  isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /** Stops at once: workers waiting or calling `get()` later are told to shut down. */
  shutDown(): void {
    this.stopAdds();
    this.queue.length = 0;
    this.dirty.clear();
    for (const g of this.getters.splice(0)) g({ key: undefined, shutdown: true });
    this.draining?.();
  }

  /** Stops adds, lets workers finish everything queued and in progress, then shuts down. */
  shutDownWithDrain(): Promise<void> {
    this.stopAdds();
    return new Promise((resolve) => {
      this.draining = () => {
        this.draining = undefined;
        for (const g of this.getters.splice(0)) g({ key: undefined, shutdown: true });
        resolve();
      };
      this.checkDrained();
    });
  }

  private stopAdds(): void {
    this.shuttingDown = true;
    for (const { timer } of this.delayed.values()) clearTimeout(timer);
    this.delayed.clear();
  }

  private checkDrained(): void {
    if (this.draining && this.queue.length === 0 && this.processing.size === 0) this.draining();
  }
}
