// Image pulls for a container about to start: imagePullPolicy (Always, IfNotPresent, Never),
// and a per-image back-off after a failed pull (10 s doubling to 5 min, as Kubernetes'
// image manager), so a missing image costs one pull attempt per delay, not one per sync.
import type { Container } from "@skiff/api";
import type { Waiting } from "./pod-status.js";
import type { ContainerRuntime } from "./runtime/runtime.js";

export const IMAGE_BACKOFF_INITIAL_MS = 10_000;
export const IMAGE_BACKOFF_MAX_MS = 300_000;

/** The back-off of one image after failed pulls. */
export interface ImageBackoff {
  /** No pull before this time (ms since the epoch). */
  until: number;
  delayMs: number;
}

export interface EnsureImageContext {
  runtime: ContainerRuntime;
  /** Back-off by image, kept by the caller between syncs. */
  backoff: Map<string, ImageBackoff>;
  /** Records an event on the pod. */
  event(type: "Normal" | "Warning", reason: string, message: string): void;
}

/** Either the image is there, or the container waits (why, and when to try again). */
export type ImageResult = { ok: true } | { ok: false; waiting: Waiting; retryAt: number };

/** Kubernetes: Always for `:latest` or no tag, else IfNotPresent. */
export function defaultPullPolicy(image: string): "Always" | "IfNotPresent" {
  if (image.includes("@")) return "IfNotPresent";
  const last = image.slice(image.lastIndexOf("/") + 1);
  const colon = last.indexOf(":");
  return colon < 0 || last.slice(colon + 1) === "latest" ? "Always" : "IfNotPresent";
}

/** Applies the container's imagePullPolicy: pulls when it must and the back-off allows. */
export async function ensureImage(ctx: EnsureImageContext, c: Container): Promise<ImageResult> {
  const image = c.image ?? "";
  const policy = c.imagePullPolicy ?? defaultPullPolicy(image);
  const present = await ctx.runtime.imageStatus(image);
  if (present && policy !== "Always") {
    ctx.event("Normal", "Pulled", `Container image "${image}" already present on machine`);
    return { ok: true };
  }
  if (policy === "Never") {
    const message = `Container image "${image}" is not present with pull policy of Never`;
    ctx.event("Warning", "ErrImageNeverPull", message);
    return {
      ok: false,
      waiting: { reason: "ErrImageNeverPull", message },
      retryAt: Date.now() + 10_000,
    };
  }
  const b = ctx.backoff.get(image);
  if (b && Date.now() < b.until) {
    const message = `Back-off pulling image "${image}"`;
    ctx.event("Normal", "BackOff", message);
    return { ok: false, waiting: { reason: "ImagePullBackOff", message }, retryAt: b.until };
  }
  ctx.event("Normal", "Pulling", `Pulling image "${image}"`);
  const started = Date.now();
  try {
    await ctx.runtime.pullImage(image);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const delayMs = b ? Math.min(b.delayMs * 2, IMAGE_BACKOFF_MAX_MS) : IMAGE_BACKOFF_INITIAL_MS;
    ctx.backoff.set(image, { until: Date.now() + delayMs, delayMs });
    ctx.event("Warning", "Failed", `Failed to pull image "${image}": ${message}`);
    ctx.event("Warning", "Failed", "Error: ErrImagePull");
    return {
      ok: false,
      waiting: { reason: "ErrImagePull", message },
      retryAt: Date.now() + delayMs,
    };
  }
  ctx.backoff.delete(image);
  ctx.event(
    "Normal",
    "Pulled",
    `Successfully pulled image "${image}" in ${Date.now() - started}ms`,
  );
  return { ok: true };
}
