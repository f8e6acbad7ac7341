// WATCH: a stream of events from the resource's watch cache, as JSON lines, protobuf frames
// or Table rows, with bookmarks and a timeout; errors after the start arrive as ERROR events.
import { apiVersionOf, encodeWatchFrame } from "@skiff/api";
import {
  ApiError,
  BadRequestError,
  InternalError,
  ResourceVersionTooLargeError,
} from "../errors.js";
import { storageError } from "../registry.js";
import type { CacheEvent, EventType, Watcher } from "../watchcache.js";
import type { KubeObject } from "../objects.js";
import { boolParam, intParam } from "../query.js";
import { negotiate, parseResourceVersion, PROTOBUF, servesProtobuf } from "../request.js";
import { toTable } from "../tables.js";
import type { RequestContext } from "./context.js";
import { filterFor, includeObject, selectors } from "./params.js";

/** WATCH: streams events until the timeout, the client leaving, or the cache giving up. */
export async function watch(r: RequestContext): Promise<void> {
  const { info, namespace } = r.route;
  const q = r.query;
  const sel = selectors(info, q);
  const rvText = q.get("resourceVersion") ?? "";
  let fromRevision: number | undefined;
  if (rvText !== "" && rvText !== "0") {
    fromRevision = parseResourceVersion(rvText);
  }
  const timeoutSeconds = intParam(q, "timeoutSeconds");
  if (timeoutSeconds !== undefined && timeoutSeconds < 0) {
    throw new BadRequestError(
      `timeoutSeconds: Invalid value: ${timeoutSeconds}: must be greater than or equal to 0`,
    );
  }
  const bookmarks = boolParam(q, "allowWatchBookmarks");
  const { table, protobuf } = negotiate(r.req, servesProtobuf(info));
  // One event: a JSON line, or a length-prefixed protobuf frame when asked for protobuf.
  const encode = (type: string, object: Record<string, unknown>): string | Buffer =>
    protobuf ? encodeWatchFrame(type, object) : JSON.stringify({ type, object }) + "\n";
  const incl = includeObject(q);
  const reg = r.ctx.registry(info);
  const res = r.res;
  let lastSent = fromRevision ?? 0;
  let ended = false;

  // Events are written together once per turn of the event loop, as Kubernetes' watch server
  // flushes only when no further event is waiting: under a burst (a scheduler's bindings) one
  // TLS record and one syscall carry many events instead of one each.
  let pending: (string | Buffer)[] = [];
  let flushing = false;
  const flush = (): void => {
    flushing = false;
    if (pending.length === 0 || res.destroyed) return;
    const chunks = pending;
    pending = [];
    if (chunks.length === 1) res.write(chunks[0]!);
    else if (typeof chunks[0] === "string") res.write(chunks.join(""));
    else res.write(Buffer.concat(chunks as Buffer[]));
  };
  const write = (line: string | Buffer): void => {
    if (ended) return;
    // A watcher that does not read its stream is cut off rather than buffered forever.
    if (res.writableLength > 16 * 1024 * 1024) {
      end();
      return;
    }
    pending.push(line);
    if (!flushing) {
      flushing = true;
      setImmediate(flush);
    }
  };
  const watcher: Watcher = {
    send(type: EventType, object: KubeObject, ev: CacheEvent) {
      lastSent = ev.revision;
      if (table) {
        write(
          JSON.stringify({ type, object: toTable(info, [object], { includeObject: incl }) }) + "\n",
        );
      } else if (protobuf) {
        write(encode(type, object));
      } else if (type === ev.type && object === ev.object) {
        const shared = ev as CacheEvent & { line?: string };
        shared.line ??= JSON.stringify({ type, object }) + "\n";
        write(shared.line);
      } else {
        write(JSON.stringify({ type, object }) + "\n");
      }
    },
    bookmark(revision: number) {
      if (!bookmarks || revision <= lastSent) return;
      lastSent = revision;
      write(
        encode("BOOKMARK", {
          kind: info.kind,
          apiVersion: apiVersionOf(info),
          metadata: { resourceVersion: String(revision) },
        }),
      );
    },
    terminate() {
      end();
    },
  };
  let unregister: (() => void) | undefined;
  const timers: { end?: NodeJS.Timeout; bookmarks?: NodeJS.Timeout } = {};
  const end = (): void => {
    if (ended) return;
    ended = true;
    unregister?.();
    clearTimeout(timers.end);
    clearInterval(timers.bookmarks);
    r.ctx.onWatch(info, -1);
    flush();
    res.end();
  };
  res.writeHead(200, {
    "Content-Type": protobuf ? `${PROTOBUF};stream=watch` : "application/json",
    "Transfer-Encoding": "chunked",
    "Cache-Control": "no-cache, private",
  });
  res.flushHeaders();
  r.ctx.onWatch(info, +1);
  res.on("close", end);
  try {
    if (fromRevision !== undefined && !(await reg.cache.reachable(fromRevision))) {
      // A version etcd itself has not reached (after a moment's grace, as Kubernetes gives).
      const current = reg.cache.currentRevision();
      throw new ResourceVersionTooLargeError(
        `Too large resource version: ${fromRevision}, current: ${current}`,
      );
    }
    unregister = await reg.cache.watch(watcher, {
      fromRevision,
      filter: filterFor(info, sel, namespace),
    });
  } catch (err) {
    // Errors once the stream has started are sent as an ERROR event, as Kubernetes does.
    const status = err instanceof ApiError ? err : undefined;
    if (!status) {
      try {
        storageError(err);
      } catch (e) {
        if (e instanceof ApiError) writeError(e);
        else writeError(new InternalError());
      }
    } else writeError(status);
    end();
    return;
  }
  if (ended) {
    unregister();
    return;
  }
  // Timers cannot run longer than about 24 days; no watch needs to.
  const seconds = Math.min(timeoutSeconds ?? r.ctx.watchTimeoutSeconds(), 2_000_000);
  timers.end = setTimeout(() => {
    if (reg.cache.bookmarks) watcher.bookmark(reg.cache.currentRevision());
    end();
  }, seconds * 1000);
  if (bookmarks && reg.cache.bookmarks)
    timers.bookmarks = setInterval(
      () => watcher.bookmark(reg.cache.currentRevision()),
      r.ctx.bookmarkIntervalMs,
    );

  function writeError(e: ApiError): void {
    write(
      encode("ERROR", {
        kind: "Status",
        apiVersion: "v1",
        metadata: {},
        status: "Failure",
        message: e.message,
        reason: e.reason,
        code: e.code,
      }),
    );
  }
}
