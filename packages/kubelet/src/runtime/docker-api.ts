// A minimal client for the Docker Engine API over its unix socket: JSON calls, streamed
// answers, and the hijacked connection that exec uses. Only what docker.ts needs.
//
// Why not dockerode: it was meant to be used here but is not installed in this tree (see the
// package README); every call below is one documented Engine API endpoint, so swapping this
// file for dockerode later changes nothing above it.
import http from "node:http";
import type { Duplex, PassThrough, Readable } from "node:stream";

/** The Engine API version spoken: Docker 20.10 (API 1.41) and newer answer it. */
export const API_VERSION = "v1.41";

/** A non-2xx answer from the engine; `message` is Docker's own. */
export class DockerApiError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
    this.name = "DockerApiError";
  }
}

export type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  /** Milliseconds without progress before the call is abandoned (default 60 s). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export class DockerApi {
  constructor(readonly socketPath = "/var/run/docker.sock") {}

  /** One call whose answer is JSON (or empty); non-2xx answers throw DockerApiError. */
  async call(method: string, path: string, opts: RequestOptions = {}): Promise<unknown> {
    const res = await this.open(method, path, opts);
    const text = await readAll(res);
    if (text === "") return undefined;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }

  /** A call whose answer is a stream (logs, events, pull progress); non-2xx answers throw. */
  async stream(method: string, path: string, opts: RequestOptions = {}): Promise<Readable> {
    return this.open(method, path, { ...opts, timeoutMs: opts.timeoutMs ?? 0 });
  }

  /** A call the engine answers by hijacking the connection (exec start): a raw duplex. */
  upgrade(path: string, body: unknown): Promise<Duplex> {
    return new Promise((resolve, reject) => {
      const payload = JSON.stringify(body);
      const req = http.request({
        socketPath: this.socketPath,
        method: "POST",
        path: `/${API_VERSION}${path}`,
        headers: {
          "content-type": "application/json",
          "content-length": Buffer.byteLength(payload),
          connection: "Upgrade",
          upgrade: "tcp",
        },
      });
      req.on("upgrade", (_res, socket, head) => {
        if (head.length > 0) socket.unshift(head);
        resolve(socket);
      });
      req.on("response", (res) => {
        // The engine answers without upgrading only to refuse.
        void readAll(res).then((text) => reject(apiError(res.statusCode ?? 500, text)), reject);
      });
      req.on("error", reject);
      req.end(payload);
    });
  }

  private open(method: string, path: string, opts: RequestOptions): Promise<http.IncomingMessage> {
    return new Promise((resolve, reject) => {
      const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
      const req = http.request({
        socketPath: this.socketPath,
        method,
        path: `/${API_VERSION}${path}${queryString(opts.query)}`,
        headers: payload
          ? { "content-type": "application/json", "content-length": Buffer.byteLength(payload) }
          : {},
        signal: opts.signal,
      });
      const timeoutMs = opts.timeoutMs ?? 60_000;
      if (timeoutMs > 0) {
        req.setTimeout(timeoutMs, () =>
          req.destroy(new Error(`docker ${method} ${path}: no answer within ${timeoutMs} ms`)),
        );
      }
      req.on("error", reject);
      req.on("response", (res) => {
        const status = res.statusCode ?? 500;
        if (status >= 200 && status < 300) {
          resolve(res);
          return;
        }
        void readAll(res).then((text) => reject(apiError(status, text)), reject);
      });
      req.end(payload);
    });
  }
}

function apiError(status: number, text: string): DockerApiError {
  let message = text.trim();
  try {
    const parsed = JSON.parse(text) as unknown;
    if (isRecord(parsed) && typeof parsed.message === "string") message = parsed.message;
  } catch {
    // not JSON: keep the text
  }
  return new DockerApiError(status, message || `HTTP ${status}`);
}

function queryString(query: Query | undefined): string {
  if (!query) return "";
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
  const s = params.toString();
  return s ? `?${s}` : "";
}

export async function readAll(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString("utf8");
}

/** Splits a stream of newline-delimited JSON (events, pull progress) into parsed values. */
export async function* jsonLines(stream: Readable): AsyncGenerator<unknown> {
  let buffered = "";
  for await (const chunk of stream) {
    buffered += Buffer.from(chunk as Buffer).toString("utf8");
    let nl: number;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, nl).trim();
      buffered = buffered.slice(nl + 1);
      if (line) yield JSON.parse(line) as unknown;
    }
  }
  if (buffered.trim()) yield JSON.parse(buffered) as unknown;
}

/**
 * Splits the engine's multiplexed stream (8-byte frame headers: stream 1 = stdout,
 * 2 = stderr, then a big-endian length) into the two given streams, which may be one and the
 * same (logs show both merged). Used for logs and exec without a TTY; with a TTY the engine
 * sends raw bytes instead.
 */
export function demultiplex(source: Readable, stdout: PassThrough, stderr: PassThrough): void {
  let pending: Buffer = Buffer.alloc(0);
  source.on("data", (chunk: Buffer) => {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    while (pending.length >= 8) {
      const size = pending.readUInt32BE(4);
      if (pending.length < 8 + size) break;
      const frame = pending.subarray(8, 8 + size);
      (pending[0] === 2 ? stderr : stdout).write(frame);
      pending = pending.subarray(8 + size);
    }
  });
  let finished = false;
  const finish = (err?: Error) => {
    if (finished) return;
    finished = true;
    for (const s of new Set([stdout, stderr])) {
      if (err) s.destroy(err);
      else s.end();
    }
  };
  source.on("end", () => finish());
  source.on("close", () => finish());
  source.on("error", (err) => finish(err));
  // A reader that goes away stops the source (a followed log, an abandoned exec).
  stdout.on("close", () => {
    if (!finished && stdout === stderr) source.destroy();
  });
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
