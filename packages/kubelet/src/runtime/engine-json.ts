// Reading the Docker engine's answers: small typed readers for its JSON (unknown until
// checked), the label conventions of runtime.ts read back, and the engine's errors mapped
// onto the kubelet's (errors.ts).
import { isObject } from "@skiff/api";
import { KubeletError, RuntimeError, RuntimeNotFoundError } from "../errors.js";

/** Docker's zero time: "never happened". */
const NEVER = "0001-01-01T00:00:00Z";

export function rec(v: unknown, key: string): Record<string, unknown> {
  const x = isObject(v) ? v[key] : undefined;
  return isObject(x) ? x : {};
}
export function str(v: unknown, key: string): string {
  const x = isObject(v) ? v[key] : undefined;
  return typeof x === "string" ? x : "";
}
export function num(v: unknown, key: string): number {
  const x = isObject(v) ? v[key] : undefined;
  return typeof x === "number" ? x : 0;
}
export function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}
/** A time of the engine, or undefined for its zero time. */
export function time(s: string): string | undefined {
  return s && s !== NEVER ? s : undefined;
}

/** A container's labels from its inspect answer. */
export function labelsOf(detail: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(rec(rec(detail, "Config"), "Labels"))) {
    if (typeof v === "string") out[k] = v;
  }
  return out;
}

/** dockerode's errors carry the engine's HTTP status and its JSON answer. */
export function statusOf(err: unknown): number | undefined {
  return isObject(err) && typeof err.statusCode === "number" ? err.statusCode : undefined;
}

export function engineMessage(err: unknown): string {
  const json = isObject(err) ? err.json : undefined;
  if (isObject(json) && typeof json.message === "string") return json.message;
  return err instanceof Error ? err.message : String(err);
}

/** An engine error as the kubelet's: 404 is RuntimeNotFoundError, other statuses RuntimeError. */
export function wrap(err: unknown): Error {
  if (err instanceof KubeletError) return err;
  const status = statusOf(err);
  if (status !== undefined) {
    if (status === 404) return new RuntimeNotFoundError(engineMessage(err));
    return new RuntimeError(engineMessage(err), status);
  }
  if (err instanceof Error && err.name !== "AbortError") {
    return new RuntimeError(`docker: ${err.message}`);
  }
  return err instanceof Error ? err : new RuntimeError(String(err));
}

/** Runs an engine call, its errors mapped by wrap. */
export async function call<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw wrap(err);
  }
}
