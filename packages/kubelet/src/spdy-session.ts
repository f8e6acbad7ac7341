// What the kubelet's SPDY/3.1 sessions (port-forward, exec) share: the channel frames travel
// on (WebSocket messages or the upgraded socket itself), frames handled one at a time in
// arrival order, and frames sent in the order queued (header compression is a shared zlib
// context per direction, so order matters both ways).
import type { Duplex } from "node:stream";
import type { Logger } from "@skiff/client";
import type { RawData, WebSocket } from "ws";
import * as spdy from "./spdy.js";

/** What a session reads frames from and writes them to: a WebSocket or the socket itself. */
export interface FrameChannel {
  onChunk(cb: (chunk: Buffer) => void): void;
  onClose(cb: () => void): void;
  send(b: Buffer): void;
  close(): void;
}

export function webSocketChannel(ws: WebSocket): FrameChannel {
  return {
    onChunk: (cb) =>
      ws.on("message", (raw: RawData) =>
        cb(
          Buffer.isBuffer(raw) ? raw : Buffer.concat(Array.isArray(raw) ? raw : [Buffer.from(raw)]),
        ),
      ),
    onClose: (cb) => {
      ws.on("close", cb);
      ws.on("error", cb);
    },
    send: (b) => {
      if (ws.readyState === ws.OPEN) ws.send(b);
    },
    close: () => ws.close(1000),
  };
}

export function socketChannel(socket: Duplex, head: Buffer): FrameChannel {
  return {
    onChunk: (cb) => {
      if (head.length) cb(head);
      socket.on("data", cb);
    },
    onClose: (cb) => {
      socket.on("close", cb);
      socket.on("error", cb);
    },
    send: (b) => {
      if (socket.writable) socket.write(b);
    },
    close: () => socket.end(),
  };
}

export abstract class SpdySession {
  protected readonly inflate = new spdy.HeaderDecompressor();
  protected readonly deflate = new spdy.HeaderCompressor();
  private readonly reader = new spdy.FrameReader();
  private inbound: Promise<void> = Promise.resolve();
  private outbound: Promise<void> = Promise.resolve();
  protected closed = false;

  constructor(
    protected readonly channel: FrameChannel,
    protected readonly logger: Logger,
    private readonly what: string,
  ) {
    channel.onChunk((chunk) => {
      let frames: spdy.Frame[];
      try {
        frames = this.reader.push(chunk);
      } catch (err) {
        return this.fail(err);
      }
      for (const f of frames) {
        this.inbound = this.inbound.then(() => this.handle(f)).catch((err) => this.fail(err));
      }
    });
    channel.onClose(() => this.close());
  }

  protected abstract onData(streamId: number, flags: number, data: Buffer): void;
  protected abstract onSynStream(streamId: number, flags: number, headers: spdy.Headers): void;
  /** RST_STREAM, SETTINGS, WINDOW_UPDATE: what a session keeps track of (default: nothing). */
  protected onControl(_f: spdy.Frame & { control: true }): void {}

  private async handle(f: spdy.Frame): Promise<void> {
    if (this.closed) return;
    if (!f.control) return this.onData(f.streamId, f.flags, f.data);
    switch (f.type) {
      case spdy.SYN_STREAM: {
        const s = spdy.parseSynStream(f.payload);
        return this.onSynStream(s.streamId, f.flags, await this.inflate.decompress(s.block));
      }
      case spdy.SYN_REPLY:
      case spdy.HEADERS:
        // Nothing to act on, but the block must pass through the shared zlib context.
        await this.inflate.decompress(spdy.parseStreamHeaders(f.payload).block);
        return;
      case spdy.PING:
        this.send(spdy.ping(spdy.parsePing(f.payload)));
        return;
      case spdy.GOAWAY:
        this.channel.close();
        return this.close();
      default:
        return this.onControl(f);
    }
  }

  /** A protocol error: GOAWAY, and the session ends. */
  protected fail(err: unknown): void {
    if (this.closed) return;
    this.logger.warn({ err }, `${this.what} session failed`);
    this.send(spdy.goAway(0, 1));
    this.channel.close();
    this.close();
  }

  protected close(): void {
    if (this.closed) return;
    this.closed = true;
    this.inflate.close();
    this.deflate.close();
  }

  /** Frames leave in the order they were queued, header compression included. */
  protected send(frame: Buffer | Promise<Buffer>): void {
    this.outbound = this.outbound
      .then(async () => {
        const b = await frame;
        if (!this.closed) this.channel.send(b);
      })
      .catch((err) => this.fail(err));
  }

  /** Runs `fn` once every frame queued so far has been handed to the channel. */
  protected afterSent(fn: () => void): void {
    this.outbound = this.outbound.then(fn);
  }
}
