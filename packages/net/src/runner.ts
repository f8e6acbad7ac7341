// A run-one-at-a-time loop: kick() starts `work` now, or once more after the run in progress
// (kicks during a run coalesce into one). Errors are logged, never thrown: the next kick retries.
import type { Logger } from "@skiff/client";

export class SerialRunner {
  private running?: Promise<void>;
  private again = false;
  private stopped = false;

  constructor(
    private readonly work: () => Promise<void>,
    private readonly log: Logger,
    private readonly failure: string,
  ) {}

  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = (async () => {
      do {
        this.again = false;
        try {
          await this.work();
        } catch (err) {
          this.log.error({ err: err instanceof Error ? err.message : String(err) }, this.failure);
        }
      } while (this.again && !this.stopped);
    })().finally(() => (this.running = undefined));
  }

  /** No new runs; resolves when the one in progress (if any) is done. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }
}
