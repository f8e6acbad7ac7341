// A bounded-frequency runner (kube-proxy's async.BoundedFrequencyRunner, minus bursts).
//
// Contract: fn never runs twice at once; two runs start at least minIntervalMs apart, so a
// storm of run() calls costs one sync per interval; a run happens at least every
// maxIntervalMs even if nobody asks (the periodic resync); retryAfter(ms) asks for a run
// no later than ms from now (after a failure).
export interface RunnerOptions {
  minIntervalMs: number;
  maxIntervalMs: number;
}

export class BoundedFrequencyRunner {
  private running: Promise<void> | undefined;
  private pending = false;
  private retryAt: number | undefined;
  private lastRun = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;

  constructor(
    private readonly fn: () => Promise<void>,
    private readonly options: RunnerOptions,
  ) {}

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
    if (this.pending) due = Math.min(due, Math.max(now, this.lastRun + this.options.minIntervalMs));
    if (this.retryAt !== undefined) due = Math.min(due, this.retryAt);
    this.timer = setTimeout(() => this.tick(), Math.max(0, due - now));
    this.timer.unref();
  }

  private tick(): void {
    if (this.stopped || this.running) return;
    this.pending = false;
    this.retryAt = undefined;
    this.lastRun = Date.now();
    this.running = this.fn()
      .catch(() => {}) // fn reports and handles its own failures (retryAfter)
      .finally(() => {
        this.running = undefined;
        this.reschedule();
      });
  }
}
