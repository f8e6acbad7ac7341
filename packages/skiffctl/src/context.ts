// What every command receives: its streams, the parsed flags, and (lazily) a REST client,
// discovery and the namespace, plus flag readers.
import type { Readable } from "node:stream";
import { RestClient, loadClientConfig } from "@skiff/client";
import type { ClientConfig } from "@skiff/client";
import { Discovery } from "./discovery.js";
import { CommandError } from "./errors.js";

/** The streams and environment a run uses; a test passes its own. */
export interface IO {
  stdout: { write(s: string | Uint8Array): unknown };
  stderr: { write(s: string | Uint8Array): unknown };
  stdin?: Readable;
  env?: Record<string, string | undefined>;
  /** Ends long-running commands (get -w, logs -f) from outside. */
  signal?: AbortSignal;
}

/** The flags after yargs: a loose record, read through the helpers below. */
export type Args = Record<string, unknown>;

export class Ctx {
  private client?: RestClient;
  private disco?: Discovery;
  private cfg?: ClientConfig;

  constructor(
    readonly io: IO,
    readonly args: Args,
  ) {}

  get env(): Record<string, string | undefined> {
    return this.io.env ?? process.env;
  }

  out(s: string | Uint8Array): void {
    this.io.stdout.write(s);
  }

  err(s: string | Uint8Array): void {
    this.io.stderr.write(s);
  }

  get config(): ClientConfig {
    this.cfg ??= loadClientConfig({
      ...(str(this.args.kubeconfig) ? { kubeconfig: str(this.args.kubeconfig) } : {}),
      ...(str(this.args.context) ? { context: str(this.args.context) } : {}),
      ...(str(this.args.namespace) ? { namespace: str(this.args.namespace) } : {}),
      env: this.env,
    });
    return this.cfg;
  }

  get rest(): RestClient {
    this.client ??= new RestClient(
      { ...this.config, qps: -1 },
      { userAgent: "skiffctl/0.1.0", timeoutMs: 60_000 },
    );
    return this.client;
  }

  get discovery(): Discovery {
    this.disco ??= new Discovery(this.rest);
    return this.disco;
  }

  /** The namespace from -n, else the context's. */
  get namespace(): string {
    return this.config.namespace;
  }

  get allNamespaces(): boolean {
    return this.args.allNamespaces === true;
  }

  close(): void {
    this.client?.close();
  }
}

export function str(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (typeof v === "number") return String(v);
  return undefined;
}

export function strings(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  const list = Array.isArray(v) ? v : [v];
  return list.map((x) => String(x));
}

/** A "30s", "2m", "1h" or plain-seconds duration in milliseconds. */
export function durationMs(v: unknown, fallback: number): number {
  const s = str(v);
  if (s === undefined || s === "") return fallback;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(s);
  if (!m) throw new CommandError(`error: invalid duration "${s}"`);
  const n = Number(m[1]);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] ?? "s"] ?? 1000;
  return n * unit;
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(t);
      resolve();
    });
  });
}
