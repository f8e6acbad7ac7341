// Stream helpers for the Docker engine's answers: whole bodies, newline-delimited JSON (events,
// pull progress) and the multiplexed stdout/stderr framing of logs and exec without a TTY.
import type { PassThrough, Readable } from "node:stream";

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
