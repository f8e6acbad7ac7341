// SPDY/3.1 framing (the draft-3 wire format kubectl's port-forward speaks): frames to and from
// bytes, and the zlib-compressed name/value header blocks, one zlib context per direction.
import zlib from "node:zlib";

export const SYN_STREAM = 1;
export const SYN_REPLY = 2;
export const RST_STREAM = 3;
export const SETTINGS = 4;
export const PING = 6;
export const GOAWAY = 7;
export const HEADERS = 8;
export const WINDOW_UPDATE = 9;

/** FLAG_FIN on DATA, SYN_STREAM, SYN_REPLY and HEADERS: the sender's half is closed. */
export const FLAG_FIN = 0x01;
/** SETTINGS id of the initial per-stream window. */
export const SETTINGS_INITIAL_WINDOW_SIZE = 7;
/** The per-stream flow-control window every stream starts with (draft 3, 2.6.8). */
export const INITIAL_WINDOW = 64 * 1024;
/** RST_STREAM status codes used here. */
export const RST_PROTOCOL_ERROR = 1;
export const RST_CANCEL = 5;

const VERSION = 3;
const MAX_LENGTH = 0xffffff;

export type Frame =
  | { control: false; streamId: number; flags: number; data: Buffer }
  | { control: true; type: number; flags: number; payload: Buffer };

/** Splits a byte stream into frames; a frame may arrive in several chunks. */
export class FrameReader {
  private buffered: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Frame[] {
    this.buffered = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk;
    const frames: Frame[] = [];
    while (this.buffered.length >= 8) {
      const length = this.buffered.readUInt32BE(4) & MAX_LENGTH;
      if (this.buffered.length < 8 + length) break;
      const flags = this.buffered[4]!;
      const body = this.buffered.subarray(8, 8 + length);
      const first = this.buffered.readUInt32BE(0);
      if (first & 0x80000000) {
        const version = (first >>> 16) & 0x7fff;
        if (version !== VERSION) throw new Error(`unsupported SPDY version ${version}`);
        frames.push({ control: true, type: first & 0xffff, flags, payload: body });
      } else {
        frames.push({ control: false, streamId: first, flags, data: body });
      }
      this.buffered = this.buffered.subarray(8 + length);
    }
    return frames;
  }
}

function header(first: number, flags: number, length: number): Buffer {
  if (length > MAX_LENGTH) throw new Error(`SPDY frame too large (${length} bytes)`);
  const b = Buffer.alloc(8);
  b.writeUInt32BE(first >>> 0, 0);
  b.writeUInt32BE(length, 4);
  b[4] = flags;
  return b;
}

export function controlFrame(type: number, flags: number, payload: Buffer): Buffer {
  return Buffer.concat([
    header(0x80000000 | (VERSION << 16) | type, flags, payload.length),
    payload,
  ]);
}

export function dataFrame(streamId: number, flags: number, data: Buffer): Buffer {
  return Buffer.concat([header(streamId & 0x7fffffff, flags, data.length), data]);
}

function words(...values: number[]): Buffer {
  const b = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => b.writeUInt32BE(v >>> 0, i * 4));
  return b;
}

export interface SynStream {
  streamId: number;
  associatedTo: number;
  priority: number;
  /** The compressed header block: decode it with a HeaderDecompressor, in frame order. */
  block: Buffer;
}

export function synStream(flags: number, s: SynStream): Buffer {
  const head = Buffer.concat([
    words(s.streamId, s.associatedTo),
    Buffer.from([s.priority << 5, 0]),
  ]);
  return controlFrame(SYN_STREAM, flags, Buffer.concat([head, s.block]));
}

export function parseSynStream(payload: Buffer): SynStream {
  if (payload.length < 10) throw new Error("short SYN_STREAM");
  return {
    streamId: payload.readUInt32BE(0) & 0x7fffffff,
    associatedTo: payload.readUInt32BE(4) & 0x7fffffff,
    priority: payload[8]! >> 5,
    block: payload.subarray(10),
  };
}

/** SYN_REPLY and HEADERS share a layout: stream id, then a header block. */
export function synReply(flags: number, streamId: number, block: Buffer): Buffer {
  return controlFrame(SYN_REPLY, flags, Buffer.concat([words(streamId), block]));
}

export function parseStreamHeaders(payload: Buffer): { streamId: number; block: Buffer } {
  if (payload.length < 4) throw new Error("short SYN_REPLY/HEADERS");
  return { streamId: payload.readUInt32BE(0) & 0x7fffffff, block: payload.subarray(4) };
}

export function rstStream(streamId: number, status: number): Buffer {
  return controlFrame(RST_STREAM, 0, words(streamId, status));
}

/** RST_STREAM, WINDOW_UPDATE and GOAWAY: two 32-bit words (a 31-bit id first). */
export function parsePair(payload: Buffer): [number, number] {
  if (payload.length < 8) throw new Error("short control frame");
  return [payload.readUInt32BE(0) & 0x7fffffff, payload.readUInt32BE(4)];
}

export function windowUpdate(streamId: number, delta: number): Buffer {
  return controlFrame(WINDOW_UPDATE, 0, words(streamId, delta & 0x7fffffff));
}

export function goAway(lastGoodStreamId: number, status: number): Buffer {
  return controlFrame(GOAWAY, 0, words(lastGoodStreamId, status));
}

export function ping(id: number): Buffer {
  return controlFrame(PING, 0, words(id));
}

export function parsePing(payload: Buffer): number {
  if (payload.length < 4) throw new Error("short PING");
  return payload.readUInt32BE(0);
}

export interface Setting {
  flags: number;
  id: number;
  value: number;
}

export function settings(entries: Setting[]): Buffer {
  const body = Buffer.alloc(4 + entries.length * 8);
  body.writeUInt32BE(entries.length, 0);
  entries.forEach((e, i) => {
    body.writeUInt32BE(((e.flags << 24) | e.id) >>> 0, 4 + i * 8);
    body.writeUInt32BE(e.value >>> 0, 8 + i * 8);
  });
  return controlFrame(SETTINGS, 0, body);
}

export function parseSettings(payload: Buffer): Setting[] {
  const n = payload.length >= 4 ? payload.readUInt32BE(0) : 0;
  const out: Setting[] = [];
  for (let i = 0; i < n && 12 + i * 8 <= payload.length; i++) {
    const head = payload.readUInt32BE(4 + i * 8);
    out.push({ flags: head >>> 24, id: head & 0xffffff, value: payload.readUInt32BE(8 + i * 8) });
  }
  return out;
}

/** Header names are lower case; several values of one name travel NUL-separated. */
export type Headers = Record<string, string[]>;

export function encodeHeaderBlock(headers: Headers): Buffer {
  const parts: Buffer[] = [words(Object.keys(headers).length)];
  for (const [name, values] of Object.entries(headers)) {
    const n = Buffer.from(name.toLowerCase());
    const v = Buffer.from(values.join("\0"));
    parts.push(words(n.length), n, words(v.length), v);
  }
  return Buffer.concat(parts);
}

export function decodeHeaderBlock(block: Buffer): Headers {
  const out: Headers = {};
  let at = 4;
  const take = (): Buffer => {
    if (at + 4 > block.length) throw new Error("truncated SPDY header block");
    const n = block.readUInt32BE(at);
    if (at + 4 + n > block.length) throw new Error("truncated SPDY header block");
    const b = block.subarray(at + 4, at + 4 + n);
    at += 4 + n;
    return b;
  };
  if (block.length < 4) throw new Error("truncated SPDY header block");
  const count = block.readUInt32BE(0);
  for (let i = 0; i < count; i++) {
    const name = take().toString();
    out[name] = take().toString().split("\0");
  }
  return out;
}

// The draft-3 dictionary (2.6.10.1) that primes both zlib contexts: HTTP header names and
// common values, each length-prefixed, then a run of status codes, dates and media types.
const DICTIONARY_WORDS = (
  "options head post put delete trace accept accept-charset accept-encoding accept-language " +
  "accept-ranges age allow authorization cache-control connection content-base " +
  "content-encoding content-language content-length content-location content-md5 " +
  "content-range content-type date etag expect expires from host if-match " +
  "if-modified-since if-none-match if-range if-unmodified-since last-modified location " +
  "max-forwards pragma proxy-authenticate proxy-authorization range referer retry-after " +
  "server te trailer transfer-encoding upgrade user-agent vary via warning www-authenticate " +
  "method get status"
).split(" ");
const DICTIONARY_WORDS_AFTER_STATUS = ["200 OK", "version", "HTTP/1.1", "url", "public"];
const DICTIONARY_WORDS_LAST = ["set-cookie", "keep-alive", "origin"];
const DICTIONARY_TAIL =
  "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505" +
  "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request" +
  "401 Unauthorized403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented" +
  "503 Service UnavailableJan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 " +
  "Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMTchunked,text/html,image/png,image/jpg,image/gif," +
  "application/xml,application/xhtml+xml,text/plain,text/javascript,publicprivatemax-age=" +
  "gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.";

export const DICTIONARY: Buffer = Buffer.concat([
  ...[...DICTIONARY_WORDS, ...DICTIONARY_WORDS_AFTER_STATUS, ...DICTIONARY_WORDS_LAST].map((w) =>
    Buffer.concat([words(w.length), Buffer.from(w)]),
  ),
  Buffer.from(DICTIONARY_TAIL),
]);

/**
 * One direction's zlib context: every header block of a session goes through the same
 * stream, each ended with a sync flush, so blocks must be handled in frame order.
 */
class HeaderZlib {
  private out: Buffer[] = [];
  private queue: Promise<unknown> = Promise.resolve();
  private failure: Error | undefined;

  constructor(private readonly z: zlib.Inflate | zlib.Deflate) {
    z.on("data", (c: Buffer) => this.out.push(c));
    z.on("error", (err: Error) => (this.failure = err));
  }

  protected run(input: Buffer): Promise<Buffer> {
    const next = this.queue.then(
      () =>
        new Promise<Buffer>((resolve, reject) => {
          if (this.failure) return reject(this.failure);
          this.z.write(input);
          this.z.flush(zlib.constants.Z_SYNC_FLUSH, () =>
            this.failure ? reject(this.failure) : resolve(Buffer.concat(this.out.splice(0))),
          );
        }),
    );
    this.queue = next.catch(() => undefined);
    return next;
  }

  close(): void {
    this.z.destroy();
  }
}

export class HeaderCompressor extends HeaderZlib {
  constructor() {
    super(zlib.createDeflate({ dictionary: DICTIONARY }));
  }
  compress(headers: Headers): Promise<Buffer> {
    return this.run(encodeHeaderBlock(headers));
  }
}

export class HeaderDecompressor extends HeaderZlib {
  constructor() {
    super(zlib.createInflate({ dictionary: DICTIONARY }));
  }
  async decompress(block: Buffer): Promise<Headers> {
    return decodeHeaderBlock(await this.run(block));
  }
}
