// /exec over a raw SPDY/3.1 connection (X-Stream-Protocol-Version v4.channel.k8s.io), as
// kubectl up to 1.29 runs `kubectl exec` (1.30 on asks for WebSocket first). The client opens
// one stream per purpose, named by its `streamtype` header: error, stdin, stdout, stderr,
// resize. Once those the request asked for exist, the command runs; its output goes out as
// DATA frames on stdout/stderr, and the final metav1.Status as JSON on the error stream.
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { Logger } from "@skiff/client";
import { applyResize, execTarget, runExec, type ExecTarget } from "./exec.js";
import type { Kubelet } from "./kubelet.js";
import type { ExecSession } from "./runtime/runtime.js";
import * as spdy from "./spdy.js";
import { SpdySession, socketChannel } from "./spdy-session.js";

/** The only exec protocol spoken over SPDY: v4 (JSON Status on the error stream). */
export const SPDY_EXEC_PROTOCOL = "v4.channel.k8s.io";
const MAX_DATA = 16 * 1024;
/** How long a client has to open the streams it asked for (Kubernetes: 30 s). */
const STREAM_CREATION_TIMEOUT_MS = 30_000;

/** Whether the request asks to switch to SPDY/3.1. */
export function isSpdyUpgrade(req: IncomingMessage): boolean {
  return (req.headers.upgrade ?? "").toLowerCase() === "spdy/3.1";
}

/** The stream protocols a client offers (X-Stream-Protocol-Version, repeated or comma-joined). */
export function offeredStreamProtocols(req: IncomingMessage): string[] {
  const out: string[] = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    if (req.rawHeaders[i]!.toLowerCase() !== "x-stream-protocol-version") continue;
    out.push(...req.rawHeaders[i + 1]!.split(",").map((p) => p.trim()));
  }
  return out;
}

/** Answers the upgrade: 101 with the protocol chosen. */
export function acceptSpdy(socket: Duplex, protocol: string): void {
  socket.write(
    "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n" +
      `X-Stream-Protocol-Version: ${protocol}\r\n\r\n`,
  );
}

export function refuse(socket: Duplex, code: number, reason: string, message: string): void {
  socket.end(
    `HTTP/1.1 ${code} ${reason}\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(message)}\r\n` +
      `Connection: close\r\n\r\n${message}`,
  );
}

/** Takes over an authorized SPDY upgrade of /exec/ or /attach/{ns}/{pod}/{container}. */
export async function spdyExec(
  kubelet: Kubelet,
  logger: Logger,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
): Promise<void> {
  if (!offeredStreamProtocols(req).includes(SPDY_EXEC_PROTOCOL)) {
    return refuse(socket, 400, "Bad Request", `exec over SPDY speaks ${SPDY_EXEC_PROTOCOL} only`);
  }
  let target: ExecTarget;
  try {
    target = await execTarget(kubelet, req.url ?? "/");
  } catch (err) {
    const code = (err as { code?: number }).code === 404 ? 404 : 400;
    return refuse(
      socket,
      code,
      code === 404 ? "Not Found" : "Bad Request",
      String((err as Error).message),
    );
  }
  acceptSpdy(socket, SPDY_EXEC_PROTOCOL);
  new SpdyExecSession(kubelet, logger, target, socket, head);
}

type StreamType = "error" | "stdin" | "stdout" | "stderr" | "resize";

class SpdyExecSession extends SpdySession {
  private readonly streams = new Map<StreamType, number>();
  private readonly types = new Map<number, StreamType>();
  private readonly wanted: StreamType[];
  private session: ExecSession | undefined;
  private readonly earlyStdin: { data: Buffer; fin: boolean }[] = [];
  private resizeBuffer = "";
  private started = false;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly kubelet: Kubelet,
    logger: Logger,
    private readonly target: ExecTarget,
    private readonly socket: Duplex,
    head: Buffer,
  ) {
    super(socketChannel(socket, head), logger, "exec (SPDY)");
    this.wanted = ["error"];
    if (target.stdin) this.wanted.push("stdin");
    if (target.stdout) this.wanted.push("stdout");
    if (target.stderr && !target.tty) this.wanted.push("stderr");
    if (target.tty) this.wanted.push("resize");
    this.timer = setTimeout(
      () => this.fail(new Error("timed out waiting for the client's streams")),
      STREAM_CREATION_TIMEOUT_MS,
    );
  }

  protected onSynStream(id: number, flags: number, headers: spdy.Headers): void {
    const type = headers.streamtype?.[0] as StreamType | undefined;
    if (!type || !["error", "stdin", "stdout", "stderr", "resize"].includes(type)) {
      this.send(spdy.rstStream(id, spdy.RST_PROTOCOL_ERROR));
      return;
    }
    this.streams.set(type, id);
    this.types.set(id, type);
    this.send(this.deflate.compress({}).then((b) => spdy.synReply(0, id, b)));
    if (type === "stdin" && flags & spdy.FLAG_FIN) this.stdin(Buffer.alloc(0), true);
    if (!this.started && this.wanted.every((t) => this.streams.has(t))) this.start();
  }

  protected onData(streamId: number, flags: number, data: Buffer): void {
    const type = this.types.get(streamId);
    const fin = (flags & spdy.FLAG_FIN) !== 0;
    if (type === "stdin") this.stdin(data, fin);
    else if (type === "resize") {
      this.resizeBuffer += data.toString();
      const lines = this.resizeBuffer.split("\n");
      this.resizeBuffer = lines.pop() ?? "";
      for (const line of lines) if (this.session && line.trim()) applyResize(this.session, line);
    }
  }

  private stdin(data: Buffer, fin: boolean): void {
    if (!this.session) {
      this.earlyStdin.push({ data, fin });
      return;
    }
    if (data.length) this.session.stdin?.write(data);
    if (fin) this.session.stdin?.end();
  }

  private start(): void {
    this.started = true;
    clearTimeout(this.timer);
    runExec(
      this.kubelet,
      this.target,
      (session) => {
        this.session = session;
        for (const { data, fin } of this.earlyStdin.splice(0)) this.stdin(data, fin);
        if (this.closed) session.close();
      },
      (channel, data) => {
        const id = this.streams.get(channel === 1 ? "stdout" : "stderr");
        if (id === undefined) return;
        for (let at = 0; at < data.length; at += MAX_DATA) {
          this.send(spdy.dataFrame(id, 0, data.subarray(at, at + MAX_DATA)));
        }
      },
    )
      .then((status) => this.finish(status))
      .catch((err: unknown) =>
        this.finish({
          metadata: {},
          status: "Failure",
          message: err instanceof Error ? err.message : String(err),
          reason: "InternalError",
        }),
      );
  }

  /** The Status on the error stream, then every stream of ours half-closed. */
  private finish(status: Record<string, unknown>): void {
    const error = this.streams.get("error");
    if (error !== undefined)
      this.send(spdy.dataFrame(error, 0, Buffer.from(JSON.stringify(status))));
    for (const type of ["stdout", "stderr", "error"] as const) {
      const id = this.streams.get(type);
      if (id !== undefined) this.send(spdy.dataFrame(id, spdy.FLAG_FIN, Buffer.alloc(0)));
    }
    // The client closes once it has read everything; a client that does not is cut off.
    this.afterSent(() => setTimeout(() => this.socket.destroy(), 5000).unref());
  }

  protected override close(): void {
    if (this.closed) return;
    super.close();
    clearTimeout(this.timer);
    this.session?.close();
  }
}
