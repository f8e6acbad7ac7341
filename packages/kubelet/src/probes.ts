// Probes and lifecycle hooks: exec, httpGet, tcpSocket and gRPC handlers, and a ProbeWorker
// that runs one probe on its period and reports a result once its threshold is crossed.
import http from "node:http";
import https from "node:https";
import { Client, credentials, type ServiceError } from "@grpc/grpc-js";
import net from "node:net";
import type { Container, Probe } from "@skiff/api";
import type { ContainerRuntime } from "./runtime/runtime.js";
import { readAll } from "./runtime/streams.js";

export interface Handler {
  exec?: { command?: string[] };
  httpGet?: {
    path?: string;
    port: number | string;
    host?: string;
    scheme?: string;
    httpHeaders?: { name: string; value: string }[];
  };
  tcpSocket?: { port: number | string; host?: string };
  grpc?: { port: number; service?: string };
  sleep?: { seconds: number };
}

export interface HandlerTarget {
  runtime: ContainerRuntime;
  containerId: string;
  container: Container;
  podIP: string;
}

/** Runs a handler once; resolves to undefined on success, else the reason it failed. */
export async function runHandler(
  h: Handler,
  t: HandlerTarget,
  timeoutMs: number,
): Promise<string | undefined> {
  const timeout = new Promise<string>((r) =>
    setTimeout(() => r(`timeout after ${timeoutMs / 1000}s`), timeoutMs).unref(),
  );
  return Promise.race([runOnce(h, t, timeoutMs), timeout]).catch((err: unknown) =>
    err instanceof Error ? err.message : String(err),
  );
}

async function runOnce(
  h: Handler,
  t: HandlerTarget,
  timeoutMs: number,
): Promise<string | undefined> {
  if (h.exec) {
    const session = await t.runtime.exec(t.containerId, { command: h.exec.command ?? [] });
    const [out, code] = await Promise.all([readAll(session.stdout), session.exitCode]);
    if (session.stderr) session.stderr.resume();
    return code === 0 ? undefined : `command exited with ${code}: ${out.trim()}`;
  }
  if (h.httpGet) {
    const g = h.httpGet;
    const port = portOf(g.port, t.container);
    const host = g.host ?? t.podIP;
    return new Promise((resolve) => {
      const headers = Object.fromEntries((g.httpHeaders ?? []).map((x) => [x.name, x.value]));
      // Go's HTTP client (Kubernetes' kubelet) accepts header lines that end in a bare LF, as
      // busybox httpd's CGI answers do; Node's strict parser would fail such a probe.
      const options = { host, port, path: g.path ?? "/", headers, insecureHTTPParser: true };
      // scheme HTTPS: TLS without verifying the certificate, as the kubelet does.
      const secure = g.scheme === "HTTPS";
      const onResponse = (res: http.IncomingMessage) => {
        res.resume();
        const code = res.statusCode ?? 0;
        resolve(
          code >= 200 && code < 400 ? undefined : `HTTP probe failed with statuscode: ${code}`,
        );
      };
      const req = secure
        ? https.get({ ...options, rejectUnauthorized: false }, onResponse)
        : http.get(options, onResponse);
      req.on("error", (err) =>
        resolve(
          `Get "${secure ? "https" : "http"}://${host}:${port}${g.path ?? "/"}": ${err.message}`,
        ),
      );
    });
  }
  if (h.tcpSocket) {
    const port = portOf(h.tcpSocket.port, t.container);
    const host = h.tcpSocket.host ?? t.podIP;
    return new Promise((resolve) => {
      const s = net.connect({ host, port }, () => {
        s.destroy();
        resolve(undefined);
      });
      s.on("error", (err) => resolve(`dial tcp ${host}:${port}: ${err.message}`));
    });
  }
  if (h.grpc) return grpcHealthCheck(`${t.podIP}:${h.grpc.port}`, h.grpc.service ?? "", timeoutMs);
  if (h.sleep) {
    await new Promise((r) => setTimeout(r, h.sleep!.seconds * 1000));
    return undefined;
  }
  return "no handler";
}

// grpc.health.v1.HealthCheckResponse.ServingStatus, by number.
const SERVING_STATUS = ["UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"];

/**
 * A gRPC probe: grpc.health.v1.Health/Check over plaintext, healthy only when the answer is
 * SERVING (Kubernetes' messages). The two messages are encoded by hand: the request is
 * `string service = 1`, the response `ServingStatus status = 1` (an enum, so a varint).
 */
export function grpcHealthCheck(
  address: string,
  service: string,
  timeoutMs: number,
): Promise<string | undefined> {
  const client = new Client(address, credentials.createInsecure());
  const encode = (svc: string) => {
    const name = Buffer.from(svc, "utf8");
    return name.length === 0 ? Buffer.alloc(0) : Buffer.concat([varintField(1, name.length), name]);
  };
  const decode = (b: Buffer) => (b[0] === 0x08 ? readVarint(b, 1) : 0);
  return new Promise<string | undefined>((resolve) => {
    client.makeUnaryRequest(
      "/grpc.health.v1.Health/Check",
      encode,
      decode,
      service,
      { deadline: Date.now() + timeoutMs },
      (err: ServiceError | null, status?: number) => {
        client.close();
        if (err) resolve(`failed to connect service "${address}": ${err.details || err.message}`);
        else if (status === 1) resolve(undefined);
        else
          resolve(
            `service unhealthy (responded with "${SERVING_STATUS[status ?? 0] ?? String(status)}")`,
          );
      },
    );
  });
}

/** A length-delimited field's key and length (wire type 2). */
function varintField(field: number, length: number): Buffer {
  return Buffer.from([(field << 3) | 2, ...varint(length)]);
}

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return out;
}

function readVarint(b: Buffer, at: number): number {
  let n = 0;
  for (let shift = 0; at < b.length; shift += 7) {
    const byte = b[at++]!;
    n |= (byte & 0x7f) << shift;
    if (byte < 0x80) break;
  }
  return n;
}

function portOf(port: number | string, c: Container): number {
  if (typeof port === "number") return port;
  const named = c.ports?.find((p) => p.name === port);
  return named ? named.containerPort : Number(port);
}

export type ProbeKind = "liveness" | "readiness" | "startup";

/** Runs one probe of one container instance until stopped. */
export class ProbeWorker {
  private timer: NodeJS.Timeout | undefined;
  private successes = 0;
  private failures = 0;
  private stopped = false;
  /** undefined until the threshold is first crossed. */
  result: boolean | undefined;

  constructor(
    readonly kind: ProbeKind,
    private readonly probe: Probe,
    private readonly target: HandlerTarget,
    /** Called when the result changes; `message` says why a probe failed. */
    private readonly onChange: (worker: ProbeWorker, message: string) => void,
    /** Called after every failed run (for Unhealthy events). */
    private readonly onFailure: (worker: ProbeWorker, message: string) => void,
    /**
     * While this returns false the probe is not run (a period passes without a result), as
     * Kubernetes holds liveness and readiness probes until the startup probe has succeeded.
     */
    private readonly enabled: () => boolean = () => true,
  ) {
    const delay = (probe.initialDelaySeconds ?? 0) * 1000;
    this.timer = setTimeout(() => void this.tick(), delay);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    if (!this.enabled()) {
      this.timer = setTimeout(() => void this.tick(), (this.probe.periodSeconds ?? 10) * 1000);
      return;
    }
    const timeoutMs = (this.probe.timeoutSeconds ?? 1) * 1000;
    const failure = await runHandler(this.probe, this.target, timeoutMs);
    if (this.stopped) return;
    if (failure === undefined) {
      this.failures = 0;
      this.successes++;
      if (this.successes >= (this.probe.successThreshold ?? 1) && this.result !== true) {
        this.result = true;
        this.onChange(this, "");
      }
    } else {
      this.successes = 0;
      this.failures++;
      this.onFailure(this, failure);
      if (this.failures >= (this.probe.failureThreshold ?? 3) && this.result !== false) {
        this.result = false;
        this.onChange(this, failure);
      }
    }
    // A passed startup probe is done; the others run for the container's life.
    if (this.kind === "startup" && this.result === true) return;
    this.timer = setTimeout(() => void this.tick(), (this.probe.periodSeconds ?? 10) * 1000);
  }
}
