// The subresources served by a kubelet: pods/log, exec, attach and portforward relayed to the
// kubelet of the pod's node, and nodes/{name}/proxy/{path}, with the apiserver-kubelet-client
// certificate of the request context. Logs and node proxy are plain HTTPS stream relays; exec
// and attach (v5.channel.k8s.io) and portforward (SPDY/3.1 frames in WebSocket messages,
// SPDY/3.1+portforward.k8s.io) are WebSocket relays; a SPDY/3.1 upgrade (kubectl up to 1.29)
// is relayed byte for byte once the kubelet has switched protocols.
import type { IncomingMessage } from "node:http";
import https from "node:https";
import tls from "node:tls";
import { WebSocket, WebSocketServer, type RawData } from "ws";
import { resourceInfo } from "@skiff/api";
import {
  BadRequestError,
  KubeletAnswerError,
  NotConfiguredError,
  UnavailableError,
} from "../errors.js";
import type { KubeObject } from "../objects.js";
import { boolParam } from "../query.js";
import { kubeletEndpoint, type KubeletClient } from "../kubelet-client.js";
import type { RequestContext } from "./context.js";
import { admitRequest } from "./admission.js";

const EXEC_PROTOCOLS = ["v5.channel.k8s.io", "v4.channel.k8s.io"];
const PORTFORWARD_PROTOCOLS = ["SPDY/3.1+portforward.k8s.io"];

/** The kubelet API a pod subresource is relayed to. */
type Kind = "containerLogs" | "exec" | "attach" | "portForward";

interface Target {
  host: string;
  port: number;
  path: string;
  tls: KubeletClient;
}

const BOOLEAN_PARAMS = new Set([
  "follow",
  "previous",
  "timestamps",
  "stdin",
  "stdout",
  "stderr",
  "tty",
]);

/** The kubelet client certificate, which every relay to a kubelet needs. */
function kubeletClient(r: RequestContext): KubeletClient {
  const client = r.ctx.kubeletClient;
  if (!client) throw new NotConfiguredError("no kubelet client certificate is configured");
  return client;
}

async function target(
  r: RequestContext,
  pod: KubeObject,
  kind: Kind,
  pass: string[],
): Promise<Target> {
  const tls = kubeletClient(r);
  const q = r.query;
  const m = pod.metadata as { name: string; namespace: string };
  const spec = pod.spec as
    | {
        nodeName?: string;
        containers?: { name: string }[];
        ephemeralContainers?: { name: string }[];
      }
    | undefined;
  if (!spec?.nodeName) {
    throw new BadRequestError(`pod ${m.name} does not have a host assigned`);
  }
  const names = (spec.containers ?? []).map((c) => c.name);
  let container = q.get("container") ?? "";
  if (!container && kind !== "portForward") {
    if (names.length !== 1) {
      throw new BadRequestError(
        `a container name must be specified for pod ${m.name}, choose one of: [${names.join(" ")}]`,
      );
    }
    container = names[0]!;
  }
  const nodes = r.ctx.registry(resourceInfo("", "v1", "nodes"));
  const { host, port } = kubeletEndpoint(await nodes.get(undefined, spec.nodeName));
  const query = new URLSearchParams();
  for (const [k, v] of q) {
    if (!pass.includes(k)) continue;
    // Booleans reach the kubelet spelled one way, whichever way the client spelled them.
    query.append(k, BOOLEAN_PARAMS.has(k) ? String(boolParam(q, k)) : v);
  }
  let path = `/${kind}/${encodeURIComponent(m.namespace)}/${encodeURIComponent(m.name)}`;
  if (kind !== "portForward") path += `/${encodeURIComponent(container)}`;
  return { host, port, path: `${path}?${query.toString()}`, tls };
}

/**
 * GET nodes/{name}/proxy/{path}: the kubelet's own API (/stats/summary, /pods, /healthz),
 * relayed with its status code and content type.
 */
export async function serveNodeProxy(r: RequestContext): Promise<void> {
  const node = await r.ctx.registry(r.route.info).get(undefined, r.route.name!);
  const path = r.route.proxyPath ?? "";
  const tls = kubeletClient(r);
  const { host, port } = kubeletEndpoint(node);
  const query = r.query.toString();
  const kubeletPath =
    "/" + path.split("/").map(encodeURIComponent).join("/") + (query ? `?${query}` : "");
  const res = await kubeletGet(r, { host, port, path: kubeletPath, tls });
  const type = res.headers["content-type"];
  r.res.writeHead(res.statusCode ?? 502, type ? { "Content-Type": type } : {});
  await relay(res, r);
}

/** GETs a path of a kubelet's API; a kubelet that cannot be reached is a 503. */
function kubeletGet(r: RequestContext, t: Target): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = https.get(
      {
        host: t.host,
        port: t.port,
        path: t.path,
        cert: t.tls.cert,
        key: t.tls.key,
        // The kubelet's serving cert is self-signed, as without --kubelet-certificate-authority.
        rejectUnauthorized: false,
      },
      resolve,
    );
    r.res.on("close", () => req.destroy());
    req.on("error", (err) =>
      reject(
        new UnavailableError(
          `error trying to reach the kubelet at ${t.host}:${t.port}: ${err.message}`,
        ),
      ),
    );
  });
}

/** Streams a kubelet's answer to the client until either side ends. */
function relay(res: IncomingMessage, r: RequestContext): Promise<void> {
  return new Promise((resolve) => {
    res.pipe(r.res);
    res.on("end", resolve);
    res.on("error", () => resolve());
    r.res.on("close", () => resolve());
  });
}

/**
 * Serves pods/log, and pods/exec, attach and portforward (GET, or POST as kubectl up to 1.29
 * sends) after their CONNECT admission.
 */
export async function serveConnect(r: RequestContext): Promise<void> {
  const { info, namespace, name, subresource } = r.route;
  if (subresource !== "log" && !isConnect(subresource))
    throw new BadRequestError(`pods/${String(subresource)} is no streaming subresource`);
  const pod = await r.ctx.registry(info).get(namespace, name!);
  if (subresource === "log") return proxyLog(r, pod);
  await admitConnect(r, subresource);
  if (subresource === "portforward") {
    if (isSpdy(r.req)) return proxySpdy(r, pod, "portForward", []);
    return proxyWebSocket(r, pod, "portForward", PORTFORWARD_PROTOCOLS, ["port"]);
  }
  const pass = ["stdin", "stdout", "stderr", "tty"];
  if (subresource === "exec") pass.push("command");
  if (isSpdy(r.req)) return proxySpdy(r, pod, subresource, pass);
  return proxyWebSocket(r, pod, subresource, EXEC_PROTOCOLS, pass);
}

function isSpdy(req: IncomingMessage): boolean {
  return (req.headers.upgrade ?? "").toLowerCase() === "spdy/3.1";
}

/**
 * A SPDY/3.1 upgrade relayed to the kubelet as Kubernetes' upgrade-aware proxy does: the same
 * request (method, stream protocols) on a TLS connection of its own; once the kubelet answers
 * 101, its answer goes to the client and the two connections are joined. Any other answer is
 * an error before the switch.
 */
async function proxySpdy(
  r: RequestContext,
  pod: KubeObject,
  kind: Exclude<Kind, "containerLogs">,
  pass: string[],
): Promise<void> {
  const t = await target(r, pod, kind, pass);
  const client = r.req.socket;
  const upstream = tls.connect({
    host: t.host,
    port: t.port,
    cert: t.tls.cert,
    key: t.tls.key,
    rejectUnauthorized: false,
  });
  const protocols: string[] = [];
  for (let i = 0; i < r.req.rawHeaders.length; i += 2) {
    if (r.req.rawHeaders[i]!.toLowerCase() === "x-stream-protocol-version")
      protocols.push(r.req.rawHeaders[i + 1]!);
  }
  upstream.write(
    `${r.req.method ?? "POST"} ${t.path} HTTP/1.1\r\nHost: ${t.host}:${t.port}\r\n` +
      "Connection: Upgrade\r\nUpgrade: SPDY/3.1\r\n" +
      protocols.map((p) => `X-Stream-Protocol-Version: ${p}\r\n`).join("") +
      "Content-Length: 0\r\n\r\n",
  );
  // The kubelet's answer head, read up to its blank line.
  const { head, rest } = await new Promise<{ head: string; rest: Buffer }>((resolve, reject) => {
    let got = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      got = Buffer.concat([got, chunk]);
      const end = got.indexOf("\r\n\r\n");
      if (end < 0) return;
      upstream.off("data", onData);
      upstream.off("error", onError);
      resolve({ head: got.subarray(0, end).toString(), rest: got.subarray(end + 4) });
    };
    const onError = (err: Error) =>
      reject(
        new UnavailableError(
          `error trying to reach the kubelet at ${t.host}:${t.port}: ${err.message}`,
        ),
      );
    upstream.on("data", onData);
    upstream.once("error", onError);
    upstream.once("end", () => onError(new Error("the kubelet closed the connection")));
  });
  const code = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 502);
  if (code !== 101) {
    upstream.destroy();
    const message = rest.toString().trim() || `the kubelet answered ${code}`;
    throw new KubeletAnswerError(code, message);
  }
  client.write(head + "\r\n\r\n");
  if (rest.length) client.write(rest);
  upstream.pipe(client);
  client.pipe(upstream);
  await new Promise<void>((resolve) => {
    const done = () => {
      upstream.destroy();
      client.destroy();
      resolve();
    };
    upstream.once("close", done);
    client.once("close", done);
    upstream.on("error", done);
    client.on("error", done);
  });
}

async function proxyLog(r: RequestContext, pod: KubeObject): Promise<void> {
  const pass = [
    "follow",
    "tailLines",
    "previous",
    "timestamps",
    "sinceSeconds",
    "sinceTime",
    "limitBytes",
  ];
  const t = await target(r, pod, "containerLogs", pass);
  const res = await kubeletGet(r, t);
  const code = res.statusCode ?? 502;
  if (code !== 200) {
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    // The kubelet's logs API answers 404 or 500 (400 only for a malformed request of ours).
    throw new KubeletAnswerError(code === 404 ? 404 : 500, Buffer.concat(chunks).toString().trim());
  }
  r.res.writeHead(200, { "Content-Type": "text/plain", "Transfer-Encoding": "chunked" });
  await relay(res, r);
}

async function proxyWebSocket(
  r: RequestContext,
  pod: KubeObject,
  kind: Exclude<Kind, "containerLogs">,
  speaks: string[],
  pass: string[],
): Promise<void> {
  const req: IncomingMessage = r.req;
  const name = `pods/${kind.toLowerCase()}`;
  if ((req.headers.upgrade ?? "").toLowerCase() !== "websocket") {
    throw new BadRequestError(`${name} needs a WebSocket upgrade (${speaks.join(", ")})`);
  }
  const offered = (req.headers["sec-websocket-protocol"] ?? "").split(",").map((p) => p.trim());
  const protocols = speaks.filter((p) => offered.includes(p));
  if (protocols.length === 0) {
    throw new BadRequestError(`${name} speaks ${speaks.join(", ")}`);
  }
  // "SPDY/3.1+portforward.k8s.io" is no RFC 7230 token, which `ws` insists on: the kubelet's
  // /portForward needs no subprotocol, and the client's is echoed by hand below.
  const tunnel = kind === "portForward";
  const t = await target(r, pod, kind, pass);
  const upstream = new WebSocket(`wss://${t.host}:${t.port}${t.path}`, tunnel ? [] : protocols, {
    cert: t.tls.cert,
    key: t.tls.key,
    rejectUnauthorized: false,
  });
  await new Promise<void>((resolve, reject) => {
    upstream.once("open", () => resolve());
    upstream.once("error", (err) => reject(new UnavailableError(`kubelet: ${err.message}`)));
    upstream.once("unexpected-response", (_req, res) => {
      reject(new KubeletAnswerError(res.statusCode ?? 502, `kubelet answered ${res.statusCode}`));
    });
  });
  // The client gets the protocol the kubelet chose.
  const wss = new WebSocketServer({ noServer: true, handleProtocols: () => upstream.protocol });
  if (tunnel) {
    delete req.headers["sec-websocket-protocol"];
    wss.on("headers", (headers: string[]) =>
      headers.push(`Sec-WebSocket-Protocol: ${protocols[0]}`),
    );
  }
  const client = await new Promise<WebSocket>((resolve) =>
    wss.handleUpgrade(req, req.socket, Buffer.alloc(0), resolve),
  );
  const relay = (from: WebSocket, to: WebSocket) => {
    from.on("message", (data: RawData, isBinary: boolean) => {
      if (to.readyState === WebSocket.OPEN) to.send(data, { binary: isBinary });
    });
    from.on("close", (code: number) => {
      if (to.readyState === WebSocket.OPEN || to.readyState === WebSocket.CONNECTING) {
        to.close(code >= 1000 && code < 5000 && code !== 1005 && code !== 1006 ? code : 1000);
      }
    });
    from.on("error", () => to.terminate());
  };
  relay(client, upstream);
  relay(upstream, client);
  await new Promise<void>((resolve) => client.once("close", () => resolve()));
  wss.close();
}

/** The streaming subresources of pods, relayed to the kubelet after CONNECT admission. */
export function isConnect(
  subresource: string | undefined,
): subresource is "exec" | "attach" | "portforward" {
  return subresource === "exec" || subresource === "attach" || subresource === "portforward";
}

/** CONNECT admission of pods/exec, attach and portforward, with the options Kubernetes sends. */
async function admitConnect(
  r: RequestContext,
  subresource: "exec" | "attach" | "portforward",
): Promise<void> {
  const q = r.query;
  const flag = (k: string) => ["true", "1"].includes(q.get(k) ?? "");
  const object =
    subresource !== "portforward"
      ? {
          kind: subresource === "exec" ? "PodExecOptions" : "PodAttachOptions",
          apiVersion: "v1",
          stdin: flag("stdin"),
          stdout: flag("stdout"),
          stderr: flag("stderr"),
          tty: flag("tty"),
          ...(q.get("container") ? { container: q.get("container") } : {}),
          ...(subresource === "exec" ? { command: q.getAll("command") } : {}),
        }
      : {
          kind: "PodPortForwardOptions",
          apiVersion: "v1",
          ports: q.getAll("ports").map(Number),
        };
  await admitRequest(
    r,
    "CONNECT",
    object,
    { group: "", version: "v1", kind: object.kind },
    { user: r.user, warnings: [] },
  );
}
