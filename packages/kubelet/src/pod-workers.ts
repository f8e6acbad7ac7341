// PodWorkers: one worker per pod UID, as Kubernetes' podWorkers. Syncs of one pod never
// overlap; syncs of different pods run concurrently. Contract callers may rely on:
// - enqueue while the pod's sync runs marks it "again": one more sync follows, however many
//   enqueues came (only the latest desired state matters).
// - A sync that throws is logged and retried 2 s later.
// - requeue(uid, at) syncs the pod again at `at` (a later requeue replaces an earlier one).
// - Nothing is enqueued before open() or after the signal aborts.
import type { Logger } from "@skiff/client";

const RETRY_AFTER_ERROR_MS = 2000;

export class PodWorkers {
  private readonly workers = new Map<string, { again: boolean }>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private opened = false;

  constructor(
    private readonly sync: (uid: string) => Promise<void>,
    private readonly signal: AbortSignal,
    private readonly log: Logger,
  ) {}

  /** Starts accepting pods (once the caches are synced). */
  open(): void {
    this.opened = true;
  }

  /** Whether the pod's sync is running (or about to run again). */
  busy(uid: string): boolean {
    return this.workers.has(uid);
  }

  enqueue(uid: string): void {
    if (!this.opened || this.signal.aborted) return;
    const w = this.workers.get(uid);
    if (w) {
      w.again = true;
      return;
    }
    const worker = { again: true };
    this.workers.set(uid, worker);
    void (async () => {
      while (worker.again && !this.signal.aborted) {
        worker.again = false;
        try {
          await this.sync(uid);
        } catch (err) {
          this.log.warn({ err, uid }, "pod sync failed; retrying");
          this.requeue(uid, Date.now() + RETRY_AFTER_ERROR_MS);
        }
      }
      this.workers.delete(uid);
    })();
  }

  requeue(uid: string, at: number): void {
    if (this.signal.aborted) return;
    this.cancel(uid);
    this.timers.set(
      uid,
      setTimeout(
        () => {
          this.timers.delete(uid);
          this.enqueue(uid);
        },
        Math.max(0, at - Date.now()) + 50,
      ),
    );
  }

  /** Drops the pod's pending requeue. */
  cancel(uid: string): void {
    const t = this.timers.get(uid);
    if (t) clearTimeout(t);
    this.timers.delete(uid);
  }

  /** After the signal aborted: waits for running syncs, so nothing is left half-done. */
  async drain(): Promise<void> {
    while (this.workers.size > 0) await new Promise((r) => setTimeout(r, 50));
    for (const uid of [...this.timers.keys()]) this.cancel(uid);
  }
}
