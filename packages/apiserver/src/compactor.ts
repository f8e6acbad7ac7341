// etcd keeps every revision of every key until it is compacted; without compaction its
// database grows with each write until it reaches its quota and refuses all writes. Like
// kube-apiserver (--etcd-compaction-interval, default 5m), every apiserver runs this loop:
// each interval it compacts the history up to the revision etcd had one interval before, so
// about one interval of history stays for watches to resume from (older ones get 410 Gone
// and relist). Apiservers take turns through a compare-and-swap on one key's version
// (storage.compactStep), so that with several apiservers one compaction runs per interval.
import type { Logger } from "pino";
import type { Storage } from "./storage.js";

export class Compactor {
  private timer: NodeJS.Timeout | undefined;
  private version = 0;
  private revision = 0;
  private running = false;

  constructor(
    private readonly storage: Storage,
    private readonly intervalMs: number,
    private readonly log: Logger,
  ) {}

  /** Takes the first step now (it only records the revision), then one every interval. */
  start(): void {
    if (this.intervalMs <= 0) return;
    void this.step();
    this.timer = setInterval(() => void this.step(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async step(): Promise<void> {
    if (this.running) return;
    this.running = true;
    const target = this.revision;
    try {
      const next = await this.storage.compactStep(this.version, target);
      if (next.compacted) this.log.info({ revision: target }, "compacted etcd history");
      this.version = next.version;
      this.revision = next.revision;
    } catch (err) {
      // etcd refuses a revision it has already compacted past (another compactor, or etcd's
      // own auto-compaction): that is the state wanted. Anything else is retried next time.
      const message = (err as Error).message;
      if (!/compacted/i.test(message))
        this.log.warn({ err: message, revision: target }, "etcd compaction failed");
    } finally {
      this.running = false;
    }
  }
}
