// The kubelet's HTTPS API on :10250: /healthz, /pods, /containerLogs, /exec and /attach
// (WebSocket, v5.channel.k8s.io, or SPDY/3.1: spdy-exec.ts), /portForward (SPDY/3.1, in WebSocket or raw:
// portforward.ts) and /stats/summary. Callers are authenticated and authorized as auth.ts
// says (the apiserver calls with its kube-apiserver-kubelet-client certificate, in
// system:masters).
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import https from "node:https";
import { join } from "node:path";
import type { Duplex } from "node:stream";
import type { Logger } from "@skiff/client";
import { WebSocketServer, type RawData, type WebSocket } from "ws";
import { nodeRequestAttributes, type KubeletAuth } from "./auth.js";
import type { Kubelet } from "./kubelet.js";
import type { Pod } from "./objects.js";
import { applyResize, execTarget, runExec } from "./exec.js";
import { portForwardServer } from "./portforward.js";
import { isSpdyUpgrade, spdyExec } from "./spdy-exec.js";
import { SummaryProvider } from "./stats.js";

const EXEC_PROTOCOLS = ["v5.channel.k8s.io", "v4.channel.k8s.io"];

export interface KubeletServerOptions {
  kubelet: Kubelet;
  port: number;
  bindAddress: string;
  rootDir: string;
  nodeName: string;
  clientCAFile?: string;
  tlsCertFile?: string;
  tlsPrivateKeyFile?: string;
  /** Authenticates bearer tokens (TokenReview) and authorizes (SubjectAccessReview). */
  auth: KubeletAuth;
  logger: Logger;
}

export interface KubeletServer {
  port: number;
  close(): Promise<void>;
}

export async function startKubeletServer(opts: KubeletServerOptions): Promise<KubeletServer> {
  if (!opts.clientCAFile)
    throw new Error("--client-ca-file is required for the kubelet's HTTPS API");
  const { cert, key } = servingCert(opts);
  const server = https.createServer({
    cert,
    key,
    ca: readFileSync(opts.clientCAFile),
    // A certificate is asked for, not required: bearer tokens are the other way in.
    requestCert: true,
    rejectUnauthorized: false,
  });
  const wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (protocols) => EXEC_PROTOCOLS.find((p) => protocols.has(p)) ?? false,
  });
  const portForwards = portForwardServer(opts.kubelet, opts.logger);
  const stats = new SummaryProvider({
    nodeName: opts.nodeName,
    runtime: opts.kubelet.runtime,
    rootDir: opts.rootDir,
    pods: () => opts.kubelet.listPods(),
  });
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    void admit(opts.auth, req)
      .then((refusal) => {
        if (refusal) return sendText(res, refusal.code, refusal.text);
        return handle(opts, stats, req, res);
      })
      .catch((err: unknown) => {
        opts.logger.warn({ err, url: req.url }, "kubelet API request failed");
        if (!res.headersSent) sendText(res, 500, err instanceof Error ? err.message : String(err));
        else res.destroy();
      });
  });
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    void admit(opts.auth, req)
      .then((refusal) => {
        if (refusal) {
          const status = refusal.code === 401 ? "Unauthorized" : "Forbidden";
          socket.end(`HTTP/1.1 ${refusal.code} ${status}\r\n\r\n${refusal.text}`);
          return;
        }
        upgrade(req, socket, head);
      })
      .catch((err: unknown) => {
        opts.logger.warn({ err, url: req.url }, "kubelet API upgrade failed");
        socket.end("HTTP/1.1 500 Internal Server Error\r\n\r\n");
      });
  });
  const upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    // kubectl up to 1.29 (through the apiserver) speaks SPDY/3.1 itself rather than WebSocket.
    const streams = req.url?.startsWith("/exec/") || req.url?.startsWith("/attach/");
    if (isSpdyUpgrade(req)) {
      if (streams) {
        void spdyExec(opts.kubelet, opts.logger, req, socket, head).catch(() => socket.destroy());
        return;
      }
      if (req.url?.startsWith("/portForward/")) return portForwards.upgradeSpdy(req, socket, head);
    }
    if (req.url?.startsWith("/portForward/")) return portForwards.upgrade(req, socket, head);
    if (!streams) {
      socket.end("HTTP/1.1 404 Not Found\r\n\r\n");
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      void exec(opts, req, ws).catch((err: unknown) => {
        const message = err instanceof Error ? err.message : String(err);
        sendStatus(ws, { status: "Failure", message, reason: "InternalError" });
        ws.close(1000);
      });
    });
  };
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.bindAddress, () => resolve());
  });
  const address = server.address();
  return {
    port: typeof address === "object" && address ? address.port : opts.port,
    close: () =>
      new Promise((resolve) => {
        for (const c of wss.clients) c.terminate();
        portForwards.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A self-signed serving certificate, made once under the root dir (or the given files). */
function servingCert(opts: KubeletServerOptions): { cert: Buffer; key: Buffer } {
  if (opts.tlsCertFile && opts.tlsPrivateKeyFile) {
    return { cert: readFileSync(opts.tlsCertFile), key: readFileSync(opts.tlsPrivateKeyFile) };
  }
  const dir = join(opts.rootDir, "pki");
  const certFile = join(dir, "kubelet.crt");
  const keyFile = join(dir, "kubelet.key");
  if (!existsSync(certFile) || !existsSync(keyFile)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const sans = [`DNS:${opts.nodeName}`, "DNS:localhost", "IP:127.0.0.1"];
    execFileSync(
      "openssl",
      ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "365"]
        .concat([
          "-keyout",
          keyFile,
          "-out",
          certFile,
          "-subj",
          `/CN=${opts.nodeName}@skiff-kubelet`,
        ])
        .concat(["-addext", `subjectAltName=${sans.join(",")}`]),
      { stdio: "ignore" },
    );
  }
  return { cert: readFileSync(certFile), key: readFileSync(keyFile) };
}

/** Why a request may not proceed (401 anonymous, 403 not allowed), or undefined. */
async function admit(
  auth: KubeletAuth,
  req: IncomingMessage,
): Promise<{ code: number; text: string } | undefined> {
  const user = await auth.authenticate(req);
  if (!user) return { code: 401, text: "Unauthorized" };
  const path = new URL(req.url ?? "/", "https://kubelet").pathname;
  const attrs = nodeRequestAttributes(req.method ?? "GET", path);
  if (await auth.authorize(user, attrs)) return undefined;
  return {
    code: 403,
    text: `Forbidden (user=${user.name}, verb=${attrs.verb}, resource=nodes, subresource=${attrs.subresource})`,
  };
}

function sendText(res: ServerResponse, code: number, text: string): void {
  res.writeHead(code, { "content-type": "text/plain" });
  res.end(text);
}

function sendJSON(res: ServerResponse, value: unknown): void {
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify(value));
}

function findPod(kubelet: Kubelet, ns: string, name: string): Pod | undefined {
  return kubelet
    .listPods()
    .find((p) => p.metadata.namespace === ns && p.metadata.name === name && !!p.metadata.uid);
}

async function handle(
  opts: KubeletServerOptions,
  stats: SummaryProvider,
  req: IncomingMessage,
  res: ServerResponse,
) {
  const url = new URL(req.url ?? "/", "https://kubelet");
  const parts = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
  const q = url.searchParams;
  const { kubelet } = opts;
  if (url.pathname === "/healthz") return sendText(res, 200, "ok");
  if (url.pathname === "/pods") {
    return sendJSON(res, {
      kind: "PodList",
      apiVersion: "v1",
      metadata: {},
      items: kubelet.listPods(),
    });
  }
  if (url.pathname === "/stats/summary") return sendJSON(res, await stats.summary());
  if (parts[0] === "containerLogs" && parts.length === 4) {
    const [, ns, name, container] = parts as [string, string, string, string];
    const pod = findPod(kubelet, ns, name);
    if (!pod) return sendText(res, 404, `pod ${ns}/${name} not found`);
    const abort = new AbortController();
    res.on("close", () => abort.abort());
    const int = (k: string) => (q.has(k) ? Number(q.get(k)) : undefined);
    const flag = (k: string) => q.get(k) === "true" || q.get(k) === "1";
    let stream;
    try {
      stream = await kubelet.runtime.containerLogs(
        { uid: pod.metadata.uid!, namespace: ns, name },
        container,
        {
          follow: flag("follow"),
          previous: flag("previous"),
          timestamps: flag("timestamps"),
          tailLines: int("tailLines"),
          sinceSeconds: int("sinceSeconds"),
          sinceTime: q.get("sinceTime") ?? undefined,
          signal: abort.signal,
        },
      );
    } catch (err) {
      return sendText(res, 404, err instanceof Error ? err.message : String(err));
    }
    res.writeHead(200, { "content-type": "text/plain" });
    stream.on("error", () => res.end());
    stream.pipe(res);
    return;
  }
  sendText(res, 404, "404 page not found");
}

/** /exec/… and /attach/{ns}/{pod}/{container}: the channel protocol over one WebSocket. */
async function exec(
  opts: KubeletServerOptions,
  req: IncomingMessage,
  ws: WebSocket,
): Promise<void> {
  // Clients send stdin at once: hold frames until the session exists.
  const early: Buffer[] = [];
  const handler: { frame?: (data: Buffer) => void } = {};
  ws.on("message", (raw: RawData) => {
    const data = Buffer.isBuffer(raw) ? raw : Buffer.concat(raw as Buffer[]);
    if (handler.frame) handler.frame(data);
    else early.push(data);
  });
  const target = await execTarget(opts.kubelet, req.url ?? "/");
  const v5 = ws.protocol === "v5.channel.k8s.io";
  const frame = (channel: number, data: Buffer) => {
    if (ws.readyState === ws.OPEN) ws.send(Buffer.concat([Buffer.from([channel]), data]));
  };
  const status = await runExec(
    opts.kubelet,
    target,
    (session) => {
      handler.frame = (data: Buffer) => {
        const channel = data[0];
        const rest = data.subarray(1);
        if (channel === 0) session.stdin?.write(rest);
        else if (channel === 4) applyResize(session, rest.toString());
        else if (channel === 255 && v5 && rest[0] === 0) session.stdin?.end();
      };
      for (const data of early.splice(0)) handler.frame(data);
      ws.on("close", () => session.close());
    },
    frame,
  );
  sendStatus(ws, status);
  ws.close(1000);
}

function sendStatus(ws: WebSocket, status: Record<string, unknown>): void {
  if (ws.readyState !== ws.OPEN) return;
  ws.send(
    Buffer.concat([Buffer.from([3]), Buffer.from(JSON.stringify({ metadata: {}, ...status }))]),
  );
}
