// A watch stream: decodes the apiserver's newline-delimited JSON events from a chunked
// response and hands them out as an async iterable.
//
// Contract: events come out in the order the server sent them, each exactly once, however
// the bytes were split into chunks. ERROR events are delivered as events (their object is
// a Status; code 410 means the resourceVersion is too old and the caller must relist).
// The iteration ends when the server closes the stream (e.g. after timeoutSeconds) or
// after `stop()`; it throws if the connection fails or a line is not a valid event.
import type { Readable } from "node:stream";
import { StringDecoder } from "node:string_decoder";
import { isStatus, type Status } from "./errors.js";
import { isObject } from "@skiff/api/light";
import { isKubeObject, type KubeObject } from "./types.js";

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";

export type WatchEvent<T extends KubeObject = KubeObject> =
  | { type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK"; object: T }
  | { type: "ERROR"; object: Status };

/** Splits a byte stream into JSON values, one per line; a line may span chunks. */
export class NdjsonDecoder {
  private readonly text = new StringDecoder("utf8"); // keeps a multi-byte character split across chunks whole
  private buffered = "";

  /** Feeds a chunk; returns the values of every line it completed. */
  push(chunk: Buffer | string): unknown[] {
    this.buffered += typeof chunk === "string" ? chunk : this.text.write(chunk);
    const lines = this.buffered.split("\n");
    this.buffered = lines.pop() ?? "";
    return lines.filter((l) => l.trim() !== "").map(parseLine);
  }

  /** The value of a last line that had no newline, if any. */
  end(): unknown[] {
    const rest = this.buffered + this.text.end();
    this.buffered = "";
    return rest.trim() === "" ? [] : [parseLine(rest)];
  }
}

function parseLine(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    throw new Error(`watch stream sent a line that is not JSON: ${line.slice(0, 120)}`);
  }
}

const types = new Set<string>(["ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"]);

/** Checks a decoded line is a watch event and types it. */
export function toWatchEvent<T extends KubeObject>(v: unknown): WatchEvent<T> {
  if (!isObject(v) || typeof v.type !== "string" || !types.has(v.type)) {
    throw new Error(
      `watch stream sent something that is not a watch event: ${JSON.stringify(v).slice(0, 120)}`,
    );
  }
  if (v.type === "ERROR") {
    const object: Status = isStatus(v.object)
      ? v.object
      : {
          kind: "Status",
          apiVersion: "v1",
          status: "Failure",
          code: 500,
          reason: "InternalError",
          message: "watch ERROR event without a Status",
        };
    return { type: "ERROR", object };
  }
  if (!isKubeObject(v.object))
    throw new Error(`watch ${v.type} event carries no object with metadata`);
  return { type: v.type as "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK", object: v.object as T };
}

/** One watch request. Iterate it with `for await`; `stop()` ends it from outside. */
export class Watch<T extends KubeObject = KubeObject> implements AsyncIterable<WatchEvent<T>> {
  private readonly abort = new AbortController();
  private readonly queue: WatchEvent<T>[] = [];
  private wake: (() => void) | undefined;
  private finished = false;
  private failure: unknown;

  /** `open` sends the request and resolves to the response body once the status is 2xx. */
  constructor(open: (signal: AbortSignal) => Promise<Readable>) {
    void this.pump(open);
  }

  private async pump(open: (signal: AbortSignal) => Promise<Readable>): Promise<void> {
    try {
      const body = await open(this.abort.signal);
      const decoder = new NdjsonDecoder();
      this.abort.signal.addEventListener("abort", () => body.destroy(), { once: true });
      for await (const chunk of body) {
        for (const v of decoder.push(chunk as Buffer)) this.deliver(toWatchEvent<T>(v));
      }
      for (const v of decoder.end()) this.deliver(toWatchEvent<T>(v));
      this.finish(undefined);
    } catch (e) {
      this.finish(this.abort.signal.aborted ? undefined : e);
    }
  }

  private deliver(e: WatchEvent<T>): void {
    if (this.finished) return;
    this.queue.push(e);
    this.wake?.();
  }

  private finish(error: unknown): void {
    if (this.finished) return;
    this.finished = true;
    this.failure = error;
    this.wake?.();
  }

  /** Ends the watch: closes the connection; iteration ends without error. */
  stop(): void {
    this.abort.abort();
    this.queue.length = 0;
    this.finish(undefined);
  }

  get stopped(): boolean {
    return this.finished;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<WatchEvent<T>> {
    try {
      for (;;) {
        const next = this.queue.shift();
        if (next) {
          yield next;
          continue;
        }
        if (this.finished) {
          if (this.failure !== undefined) throw this.failure;
          return;
        }
        await new Promise<void>((r) => (this.wake = r));
        this.wake = undefined;
      }
    } finally {
      // Leaving the loop early (break, throw in the body) closes the connection.
      if (!this.finished) this.stop();
    }
  }
}
