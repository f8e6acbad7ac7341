// The reflector keeps a store in step with the apiserver: LIST, then WATCH from the list's
// resourceVersion, forever.
//
// Contract:
// - The sink first gets `replace(items, rv)` with a complete, consistent list (read in
//   pages of `pageSize`), then add/update/delete for each watch event, in order, with no
//   gaps: when a watch ends (the server's timeoutSeconds, a dropped connection) the next
//   one resumes from the last resourceVersion seen (bookmarks included).
// - When the server says that resourceVersion is too old (410 Gone, as a response or as
//   an ERROR event) the reflector relists and calls `replace` again; the sink must work
//   out what disappeared (the informer does).
// - Other errors back off exponentially (about 0.8 s doubling to 30 s, with jitter) and
//   retry; the backoff resets after a list succeeds or a watch delivers an event.
import { ApiError, isGone } from "./errors.js";
import { defaultLogger, type Logger } from "./log.js";
import type { ListOptions, WatchOptions } from "./rest.js";
import type { KubeList, KubeObject } from "./types.js";
import type { WatchEvent } from "./watch.js";

/** Where the reflector puts what it learns; a Store or an informer. */
export interface ReflectorSink<T extends KubeObject> {
  replace(items: T[], resourceVersion: string): void;
  add(obj: T): void;
  update(obj: T): void;
  delete(obj: T): void;
}

/** What the reflector reads from: a ResourceClient satisfies it. */
export interface ListerWatcher<T extends KubeObject> {
  list(opts: ListOptions): Promise<KubeList<T>>;
  watch(opts: WatchOptions): AsyncIterable<WatchEvent<T>> & { stop(): void };
}

export interface ReflectorOptions {
  /** For logs: the resource, e.g. "pods". */
  name?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Items per LIST page (default 500). */
  pageSize?: number;
  /** Each watch asks the server to end it after between this and twice this (default 300 s). */
  minWatchTimeoutSeconds?: number;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  logger?: Logger;
}

/** Exponential backoff with jitter: initial, doubling, capped. */
export class Backoff {
  private next = 0;
  constructor(
    readonly initialMs = 800,
    readonly maxMs = 30_000,
    private readonly random: () => number = Math.random,
  ) {}

  /** The delay to wait now; each call doubles the next one. */
  delay(): number {
    const base = this.next || this.initialMs;
    this.next = Math.min(base * 2, this.maxMs);
    return Math.min(base * (1 + 0.1 * this.random()), this.maxMs * 1.1);
  }

  reset(): void {
    this.next = 0;
  }
}

export class Reflector<T extends KubeObject> {
  private stopped = false;
  private needList = true;
  private lastRV = "";
  private current: { stop(): void } | undefined;
  private wakeSleep: (() => void) | undefined;
  private readonly backoff: Backoff;
  private readonly log: Logger;
  private readonly name: string;

  constructor(
    private readonly lw: ListerWatcher<T>,
    private readonly sink: ReflectorSink<T>,
    private readonly opts: ReflectorOptions = {},
  ) {
    this.backoff = new Backoff(opts.initialBackoffMs, opts.maxBackoffMs);
    this.log = opts.logger ?? defaultLogger;
    this.name = opts.name ?? "objects";
  }

  /** The resourceVersion of the last list or event applied ("" before the first list). */
  get lastSyncResourceVersion(): string {
    return this.lastRV;
  }

  /** Lists and watches until `stop()`; resolves then. Never rejects. */
  async run(): Promise<void> {
    while (!this.stopped) {
      try {
        if (this.needList) {
          await this.list();
          if (this.stopped) break;
          this.needList = false;
          this.backoff.reset();
        }
        const started = Date.now();
        const events = await this.watchOnce();
        if (events > 0) this.backoff.reset();
        // A watch the server ends at once with nothing to say must not become a hot loop.
        else if (Date.now() - started < 1000 && !this.stopped)
          await this.sleep(this.backoff.delay());
      } catch (e) {
        if (this.stopped) break;
        if (isGone(e)) {
          this.log.info(
            { resource: this.name, resourceVersion: this.lastRV },
            "resourceVersion too old; relisting",
          );
          this.needList = true;
          continue;
        }
        const delay = this.backoff.delay();
        this.log.warn(
          { resource: this.name, err: e, retryInMs: Math.round(delay) },
          this.needList ? "list failed" : "watch failed",
        );
        await this.sleep(delay);
      }
    }
  }

  stop(): void {
    this.stopped = true;
    this.current?.stop();
    this.wakeSleep?.();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeSleep = done;
    });
  }

  private async list(): Promise<void> {
    const { labelSelector, fieldSelector } = this.opts;
    const limit = this.opts.pageSize ?? 500;
    let items: T[] = [];
    let resourceVersion = "";
    let cont: string | undefined;
    do {
      let page: KubeList<T>;
      try {
        page = await this.lw.list({ labelSelector, fieldSelector, limit, continue: cont });
      } catch (e) {
        if (!cont || !isGone(e)) throw e;
        // The continue token expired between pages (compaction): read everything at once.
        page = await this.lw.list({ labelSelector, fieldSelector });
        items = [];
        resourceVersion = "";
      }
      items.push(...page.items);
      resourceVersion ||= page.metadata.resourceVersion ?? "";
      cont = page.metadata.continue || undefined;
    } while (cont && !this.stopped);
    if (this.stopped) return;
    this.sink.replace(items, resourceVersion);
    this.lastRV = resourceVersion;
    this.log.debug({ resource: this.name, count: items.length, resourceVersion }, "listed");
  }

  /** One watch from the last resourceVersion; returns how many events it delivered. */
  private async watchOnce(): Promise<number> {
    const min = this.opts.minWatchTimeoutSeconds ?? 300;
    const watch = this.lw.watch({
      resourceVersion: this.lastRV,
      allowWatchBookmarks: true,
      timeoutSeconds: Math.floor(min * (1 + Math.random())),
      labelSelector: this.opts.labelSelector,
      fieldSelector: this.opts.fieldSelector,
    });
    this.current = watch;
    let count = 0;
    try {
      for await (const event of watch) {
        if (this.stopped) break;
        if (event.type === "ERROR") throw new ApiError(event.object);
        const obj = event.object;
        if (event.type === "ADDED") this.sink.add(obj);
        else if (event.type === "MODIFIED") this.sink.update(obj);
        else if (event.type === "DELETED") this.sink.delete(obj);
        const rv = obj.metadata.resourceVersion;
        if (rv) this.lastRV = rv;
        count++;
      }
    } finally {
      watch.stop();
      this.current = undefined;
    }
    return count;
  }
}
