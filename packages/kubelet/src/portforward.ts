// /portForward/{namespace}/{pod}: kubectl port-forward's SPDY/3.1 session, carried in WebSocket
// binary messages (subprotocol SPDY/3.1+portforward.k8s.io, kubectl 1.30 on) or on the upgraded
// connection itself (X-Stream-Protocol-Version portforward.k8s.io, up to 1.29). Each forwarded connection is a
// pair of streams sharing a requestID: an error stream and a data stream, the latter piped to
// a TCP connection to the pod's IP (127.0.0.1 for hostNetwork pods) and port.
import type { IncomingMessage } from "node:http";
import net from "node:net";
import type { Duplex } from "node:stream";
import type { Logger } from "@skiff/client";
import { WebSocketServer } from "ws";
import type { Kubelet } from "./kubelet.js";
import * as spdy from "./spdy.js";
import { SpdySession, socketChannel, webSocketChannel, type FrameChannel } from "./spdy-session.js";
import { acceptSpdy, offeredStreamProtocols, refuse } from "./spdy-exec.js";

export const PORTFORWARD_PROTOCOL = "SPDY/3.1+portforward.k8s.io";
/** The stream protocol of a raw SPDY port-forward (X-Stream-Protocol-Version). */
const RAW_PROTOCOL = "portforward.k8s.io";
/** A DATA frame's payload is kept well below the 64 KiB initial window. */
const MAX_DATA = 16 * 1024;

interface Stream {
  id: number;
  type: "error" | "data";
  sendWindow: number;
  queued: Buffer[];
  finQueued: boolean;
  finSent: boolean;
  /** The peer's FIN came: with ours sent too, the stream is done. */
  peerFin: boolean;
}

interface Pair {
  requestID: string;
  port: number;
  error?: Stream;
  data?: Stream;
  socket?: net.Socket;
  /** An error found before the error stream arrived. */
  message?: string;
}

export interface PortForwardServer {
  /** Takes over an authorized upgrade request for /portForward/{namespace}/{pod}. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** The same over a raw SPDY/3.1 upgrade. */
  upgradeSpdy(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Ends every session (the kubelet's API is stopping). */
  close(): void;
}

export function portForwardServer(kubelet: Kubelet, logger: Logger): PortForwardServer {
  // "SPDY/3.1+portforward.k8s.io" is no RFC 7230 token, so `ws` would refuse the handshake:
  // the header is taken off the request and the protocol echoed by hand. Skiff's apiserver
  // offers none (its client side of `ws` has the same rule); the path says what is spoken.
  const echo = new WeakSet<IncomingMessage>();
  const raw = new Set<Duplex>();
  const wss = new WebSocketServer({ noServer: true });
  wss.on("headers", (headers: string[], req: IncomingMessage) => {
    if (echo.has(req)) headers.push(`Sec-WebSocket-Protocol: ${PORTFORWARD_PROTOCOL}`);
  });
  return {
    upgrade: (req, socket, head) => upgrade(kubelet, logger, wss, echo, req, socket, head),
    upgradeSpdy: (req, socket, head) => {
      if (!offeredStreamProtocols(req).includes(RAW_PROTOCOL)) {
        return refuse(socket, 400, "Bad Request", `port-forward over SPDY speaks ${RAW_PROTOCOL}`);
      }
      const pod = podResolver(kubelet, req);
      if (typeof pod === "string") return refuse(socket, 404, "Not Found", pod);
      acceptSpdy(socket, RAW_PROTOCOL);
      raw.add(socket);
      socket.on("close", () => raw.delete(socket));
      new PortForwardSession(socketChannel(socket, head), pod.uid, pod.resolve, logger);
    },
    close: () => {
      for (const c of wss.clients) c.terminate();
      for (const s of raw) s.destroy();
    },
  };
}

function upgrade(
  kubelet: Kubelet,
  logger: Logger,
  wss: WebSocketServer,
  echo: WeakSet<IncomingMessage>,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
): void {
  const pod = podResolver(kubelet, req);
  if (typeof pod === "string") {
    socket.end(`HTTP/1.1 404 Not Found\r\n\r\n${pod}`);
    return;
  }
  const offered = (req.headers["sec-websocket-protocol"] ?? "").split(",").map((p) => p.trim());
  if (offered.includes(PORTFORWARD_PROTOCOL)) echo.add(req);
  delete req.headers["sec-websocket-protocol"];
  wss.handleUpgrade(req, socket, head, (ws) => {
    new PortForwardSession(webSocketChannel(ws), pod.uid, pod.resolve, logger);
  });
}

/**
 * For /portForward/{namespace}/{pod}: a function giving the pod's address for each new
 * connection (its IP may appear or change meanwhile), or why there is none.
 */
function podResolver(
  kubelet: Kubelet,
  req: IncomingMessage,
): { uid: string; resolve: () => string } | string {
  const url = new URL(req.url ?? "/", "https://kubelet");
  const [, ns = "", name = ""] = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
  const pod = kubelet
    .listPods()
    .find((p) => p.metadata.namespace === ns && p.metadata.name === name && !!p.metadata.uid);
  if (!pod) return `pod ${ns}/${name} not found`;
  const uid = pod.metadata.uid!;
  const resolve = (): string => {
    const p = kubelet.listPods().find((q) => q.metadata.uid === uid);
    if (!p) throw new Error(`pod ${ns}/${name} is gone`);
    if (p.spec?.hostNetwork) return "127.0.0.1";
    if (p.status?.phase !== "Running" || !p.status.podIP) {
      throw new Error(`pod ${ns}/${name} is not running (phase ${p.status?.phase ?? "Unknown"})`);
    }
    return p.status.podIP;
  };
  return { uid, resolve };
}

/** The server side of one port-forward session. */
export class PortForwardSession extends SpdySession {
  private readonly streams = new Map<number, { stream: Stream; pair: Pair }>();
  private readonly pairs = new Map<string, Pair>();
  private initialWindow = spdy.INITIAL_WINDOW;
  // kubectl's SPDY library (moby/spdystream) keeps no windows and sends no WINDOW_UPDATE:
  // the peer's window is honoured once the peer shows it keeps one (WINDOW_UPDATE, SETTINGS).
  private peerFlowControl = false;

  constructor(
    channel: FrameChannel,
    private readonly uid: string,
    private readonly resolveHost: () => string,
    logger: Logger,
  ) {
    super(channel, logger, "port-forward");
  }

  protected override close(): void {
    if (this.closed) return;
    super.close();
    for (const p of this.pairs.values()) p.socket?.destroy();
    this.pairs.clear();
    this.streams.clear();
  }

  protected override onControl(f: spdy.Frame & { control: true }): void {
    switch (f.type) {
      case spdy.RST_STREAM:
        return this.reset(spdy.parsePair(f.payload)[0]);
      case spdy.SETTINGS:
        for (const s of spdy.parseSettings(f.payload)) {
          if (s.id !== spdy.SETTINGS_INITIAL_WINDOW_SIZE) continue;
          for (const { stream } of this.streams.values())
            stream.sendWindow += s.value - this.initialWindow;
          this.initialWindow = s.value;
          this.peerFlowControl = true;
        }
        return;
      case spdy.WINDOW_UPDATE: {
        const [id, delta] = spdy.parsePair(f.payload);
        this.peerFlowControl = true;
        const entry = this.streams.get(id);
        if (entry) {
          entry.stream.sendWindow += delta & 0x7fffffff;
          this.flush(entry.stream, entry.pair);
        }
        return;
      }
    }
  }

  protected onSynStream(id: number, flags: number, headers: spdy.Headers): void {
    const type = headers.streamtype?.[0];
    const port = Number(headers.port?.[0]);
    const requestID = headers.requestid?.[0] ?? `stream-${id}`;
    if ((type !== "error" && type !== "data") || this.streams.has(id)) {
      this.send(spdy.rstStream(id, spdy.RST_PROTOCOL_ERROR));
      return;
    }
    this.send(this.deflate.compress({}).then((block) => spdy.synReply(0, id, block)));
    let pair = this.pairs.get(requestID);
    if (!pair) {
      pair = { requestID, port };
      this.pairs.set(requestID, pair);
    }
    const stream: Stream = {
      id,
      type,
      sendWindow: this.initialWindow,
      queued: [],
      finQueued: false,
      finSent: false,
      peerFin: (flags & spdy.FLAG_FIN) !== 0,
    };
    pair[type] = stream;
    this.streams.set(id, { stream, pair });
    if (type === "error") {
      if (pair.message !== undefined) this.reportError(pair, pair.message);
      return;
    }
    if (!Number.isInteger(port) || port <= 0 || port > 65535) {
      this.reportError(pair, `invalid port "${headers.port?.[0] ?? ""}"`);
      return;
    }
    this.connect(pair, stream);
    if (flags & spdy.FLAG_FIN) pair.socket?.end();
  }

  private connect(pair: Pair, data: Stream): void {
    let host: string;
    try {
      host = this.resolveHost();
    } catch (err) {
      this.reportError(pair, err instanceof Error ? err.message : String(err));
      return;
    }
    const socket = net.connect({ host, port: pair.port });
    pair.socket = socket;
    socket.on("data", (chunk: Buffer) => this.write(data, pair, chunk));
    socket.on("end", () => this.finish(data, pair));
    socket.on("error", (err) => {
      const reason =
        "code" in err && err.code === "ECONNREFUSED" ? "connection refused" : err.message;
      this.reportError(pair, `dial tcp4 ${host}:${pair.port}: connect: ${reason}`);
    });
    socket.on("close", () => {
      this.finish(data, pair);
      if (pair.error) this.finish(pair.error, pair);
    });
  }

  /** The text kubectl prints as "an error occurred forwarding L -> R: <text>". */
  private reportError(pair: Pair, text: string): void {
    const message = `error forwarding port ${pair.port} to pod ${this.uid}, uid : ${text}`;
    if (!pair.error) {
      pair.message ??= text;
      return;
    }
    if (pair.error.finSent || pair.error.finQueued) return;
    this.write(pair.error, pair, Buffer.from(message));
    this.finish(pair.error, pair);
    if (pair.data) this.finish(pair.data, pair);
  }

  protected onData(id: number, flags: number, data: Buffer): void {
    const entry = this.streams.get(id);
    if (!entry) return;
    const { stream, pair } = entry;
    if (stream.type === "data" && pair.socket && data.length > 0) {
      // The window reopens once the pod's socket has taken the bytes.
      pair.socket.write(data, () => {
        if (this.streams.has(id)) this.send(spdy.windowUpdate(id, data.length));
      });
    } else if (data.length > 0) {
      this.send(spdy.windowUpdate(id, data.length));
    }
    if (flags & spdy.FLAG_FIN) {
      stream.peerFin = true;
      if (stream.type === "data") pair.socket?.end();
      this.forgetIfDone(stream, pair);
    }
  }

  private write(stream: Stream, pair: Pair, chunk: Buffer): void {
    if (stream.finQueued) return;
    for (let at = 0; at < chunk.length; at += MAX_DATA) {
      stream.queued.push(chunk.subarray(at, at + MAX_DATA));
    }
    this.flush(stream, pair);
  }

  private finish(stream: Stream, pair: Pair): void {
    if (!this.streams.has(stream.id)) return; // reset by the peer
    stream.finQueued = true;
    this.flush(stream, pair);
  }

  /** Sends what the peer's window allows; the pod's socket waits while bytes are held. */
  private flush(stream: Stream, pair: Pair): void {
    while (stream.queued.length > 0) {
      const next = stream.queued[0]!;
      const room = this.peerFlowControl ? stream.sendWindow : next.length;
      if (room <= 0) break;
      const n = Math.min(room, next.length);
      this.send(spdy.dataFrame(stream.id, 0, next.subarray(0, n)));
      stream.sendWindow -= n;
      if (n === next.length) stream.queued.shift();
      else stream.queued[0] = next.subarray(n);
    }
    if (stream.type === "data" && pair.socket) {
      if (stream.queued.length > 0) pair.socket.pause();
      else pair.socket.resume();
    }
    if (stream.finQueued && !stream.finSent && stream.queued.length === 0) {
      stream.finSent = true;
      this.send(spdy.dataFrame(stream.id, spdy.FLAG_FIN, Buffer.alloc(0)));
      this.forgetIfDone(stream, pair);
    }
  }

  private forgetIfDone(stream: Stream, pair: Pair): void {
    if (stream.finSent && stream.peerFin) this.forget(stream, pair);
  }

  private forget(stream: Stream, pair: Pair): void {
    this.streams.delete(stream.id);
    const open = [pair.error, pair.data].some((s) => s && this.streams.has(s.id));
    if (!open) this.pairs.delete(pair.requestID);
  }

  /** kubectl resets the data stream once done, then waits for the error stream's end. */
  private reset(id: number): void {
    const entry = this.streams.get(id);
    if (!entry) return;
    const { stream, pair } = entry;
    this.forget(stream, pair);
    if (stream.type === "data") {
      pair.socket?.destroy();
      if (pair.error) this.finish(pair.error, pair);
    }
  }
}
