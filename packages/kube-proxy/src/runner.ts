// A bounded-frequency runner (kube-proxy's async.BoundedFrequencyRunner).
//
// Contract: fn never runs twice at once; runs are rate-limited by a token bucket of `burst`
// tokens refilled one per minIntervalMs, so a storm of run() calls costs one sync per
// interval once the burst is spent (burst 1: two runs start at least minIntervalMs apart);
// a run happens at least every maxIntervalMs even if nobody asks (the periodic sync);
// retryAfter(ms) asks for a run no later than ms from now (after a failure).
export interface RunnerOptions {
  minIntervalMs: number;
  maxIntervalMs: number;
  /**
   * Runs allowed back to back before minIntervalMs applies (kube-proxy uses 2: a change that
   * lands while the periodic sync runs is synced right after it, not an interval later).
   */
  burst?: number;
}

export class BoundedFrequencyRunner {
  private running: Promise<void> | undefined;
  private pending = false;
  private retryAt: number | undefined;
  private lastRun = 0;
  private tokens: number;
  private tokensAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;

  constructor(
    private readonly fn: () => Promise<void>,
    private readonly options: RunnerOptions,
  ) {
    this.tokens = options.burst ?? 1;
  }

  /** Starts the periodic runs; the first one happens at once. */
  start(): void {
    this.stopped = false;
    this.pending = true;
    this.reschedule();
  }

  /** Asks for a run as soon as the minimum interval allows. */
  run(): void {
    this.pending = true;
    this.reschedule();
  }

  retryAfter(ms: number): void {
    const at = Date.now() + ms;
    this.retryAt = this.retryAt === undefined ? at : Math.min(this.retryAt, at);
    this.reschedule();
  }

  /** Stops scheduling and waits for a run in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private reschedule(): void {
    if (this.stopped || this.running) return;
    clearTimeout(this.timer);
    const now = Date.now();
    let due = this.lastRun + this.options.maxIntervalMs;
    if (this.pending) due = Math.min(due, now + this.msUntilToken(now));
    if (this.retryAt !== undefined) due = Math.min(due, this.retryAt);
    this.timer = setTimeout(() => this.tick(), Math.max(0, due - now));
    this.timer.unref();
  }

  private refill(now: number): void {
    const { minIntervalMs, burst = 1 } = this.options;
    const earned = minIntervalMs > 0 ? (now - this.tokensAt) / minIntervalMs : burst;
    this.tokens = Math.min(burst, this.tokens + earned);
    this.tokensAt = now;
  }

  private msUntilToken(now: number): number {
    this.refill(now);
    return this.tokens >= 1 ? 0 : Math.ceil((1 - this.tokens) * this.options.minIntervalMs);
  }

  private tick(): void {
    if (this.stopped || this.running) return;
    this.pending = false;
    this.retryAt = undefined;
    this.lastRun = Date.now();
    this.refill(this.lastRun);
    // A periodic or retry run may find the bucket empty: it runs anyway.
    this.tokens = Math.max(0, this.tokens - 1);
    this.running = this.fn()
      .catch(() => {}) // fn reports and handles its own failures (retryAfter)
      .finally(() => {
        this.running = undefined;
        this.reschedule();
      });
  }
}
