// Probes and lifecycle hooks: exec, httpGet and tcpSocket handlers, and a ProbeWorker that
// runs one probe on its period and reports a result once its threshold is crossed.
import http from "node:http";
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
  return Promise.race([runOnce(h, t), timeout]).catch((err: unknown) =>
    err instanceof Error ? err.message : String(err),
  );
}

async function runOnce(h: Handler, t: HandlerTarget): Promise<string | undefined> {
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
      const req = http.get(options, (res) => {
        res.resume();
        const code = res.statusCode ?? 0;
        resolve(
          code >= 200 && code < 400 ? undefined : `HTTP probe failed with statuscode: ${code}`,
        );
      });
      req.on("error", (err) =>
        resolve(`Get "http://${host}:${port}${g.path ?? "/"}": ${err.message}`),
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
  if (h.sleep) {
    await new Promise((r) => setTimeout(r, h.sleep!.seconds * 1000));
    return undefined;
  }
  return "no handler";
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
