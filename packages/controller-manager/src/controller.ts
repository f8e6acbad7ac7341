// The contract every controller in skiff-controller-manager keeps, plus the few helpers
// they all share (event handlers that enqueue keys, the worker loop, owner references and
// pods made from templates).
//
//   class FooController extends QueueController { ... }   // name, queue, cachesToSync, sync
//   export const newFooController: ControllerConstructor = (ctx) => new FooController(ctx);
//
// A controller is level-triggered (kubernetes/sample-controller): informers from the shared
// factory feed event handlers that only enqueue `namespace/name` keys; `run(workers, signal)`
// waits for its informers to sync, then runs workers that call an idempotent `sync(key)`
// until the signal aborts. Cached objects are read-only: structuredClone before changing.
import type {
  DeletedFinalStateUnknown,
  EventRecorder,
  KubeObject,
  Logger,
  OwnerReference,
  ResourceEventHandler,
  RestClient,
  SharedInformer,
  SharedInformerFactory,
  WorkQueueMetrics,
} from "@skiff/client";
import { WorkQueue, isConflict, metaNamespaceKey } from "@skiff/client";
import type { PodTemplateSpec } from "@skiff/api/light";
import type { Pod } from "./objects.js";

/** Per-controller metrics the manager exports on /metrics. */
export interface ControllerMetrics {
  /** Hooks to pass to a controller's WorkQueue (queue depth, adds, latency, retries). */
  queue(controller: string): WorkQueueMetrics;
  /** Records one sync: how long it took and whether it failed. */
  sync(controller: string, seconds: number, failed: boolean): void;
}

/** What the manager hands every controller it builds. */
export interface ControllerContext {
  client: RestClient;
  /** Shared by all controllers: one watch and one cache per resource. */
  informers: SharedInformerFactory;
  /** An event recorder reporting as `component` (e.g. "replicaset-controller"). */
  recorder(component: string): EventRecorder;
  log: Logger;
  metrics: ControllerMetrics;
}

export interface Controller {
  /** The name used by --controllers ("replicaset", "deployment", ...). */
  readonly name: string;
  /** Waits for the informers to sync, then runs `workers` workers until `signal` aborts. */
  run(workers: number, signal: AbortSignal): Promise<void>;
}

/** Builds a controller; called once the process leads, before the informers start. */
export type ControllerConstructor = (ctx: ControllerContext) => Controller;

// ---- helpers ------------------------------------------------------------------------------

/** The object itself, or the last known state a tombstone carries. */
export function unwrapTombstone<T extends KubeObject>(obj: T | DeletedFinalStateUnknown<T>): T {
  return "metadata" in obj ? obj : obj.obj;
}

/** The ownerReference with controller: true, if any. */
export function controllerRef(obj: KubeObject): OwnerReference | undefined {
  return obj.metadata.ownerReferences?.find((r) => r.controller === true);
}

/** The controller ownerReference, if it points at a `kind` of API group `group`. */
export function controllerRefTo(
  obj: KubeObject,
  group: string,
  kind: string,
): OwnerReference | undefined {
  const ref = controllerRef(obj);
  return ref?.kind === kind && ref.apiVersion.startsWith(`${group}/`) ? ref : undefined;
}

/** `namespace/name` of the object's controller when that is a `kind` of `group`. */
export function controllerKey(obj: KubeObject, group: string, kind: string): string | undefined {
  const ref = controllerRefTo(obj, group, kind);
  return ref ? `${obj.metadata.namespace ?? ""}/${ref.name}` : undefined;
}

/**
 * The ownerReference a controller puts on what it makes (Kubernetes' NewControllerRef):
 * `controller: true` marks the one owner that manages the object, `blockOwnerDeletion: true`
 * keeps a foreground deletion of the owner waiting for it.
 */
export function newControllerRef(
  owner: KubeObject,
  apiVersion: string,
  kind: string,
): OwnerReference {
  return {
    apiVersion,
    kind,
    name: owner.metadata.name ?? "",
    uid: owner.metadata.uid ?? "",
    controller: true,
    blockOwnerDeletion: true,
  };
}

/**
 * A pod from a controller's template (Kubernetes' GetPodFromTemplate): in the owner's
 * namespace, named by the apiserver from `generateName` `<owner>-` (so "web-7xk2p"), with the
 * template's labels (plus `labels`), annotations and finalizers, owned through `ref`.
 * `spec` replaces the template's spec when the controller adjusts it (a daemon pod's node).
 */
export function podFromTemplate(
  template: PodTemplateSpec | undefined,
  owner: KubeObject,
  ref: OwnerReference,
  extra: { labels?: Record<string, string>; spec?: Pod["spec"] } = {},
): Pod {
  const meta = template?.metadata;
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      generateName: `${owner.metadata.name ?? ""}-`,
      namespace: owner.metadata.namespace,
      labels: { ...(meta?.labels ?? {}), ...(extra.labels ?? {}) },
      ...(meta?.annotations ? { annotations: { ...meta.annotations } } : {}),
      ...(meta?.finalizers ? { finalizers: [...meta.finalizers] } : {}),
      ownerReferences: [ref],
    },
    spec: extra.spec ?? structuredClone(template?.spec),
  };
}

/**
 * An event handler that maps every add, change and delete to keys and enqueues them.
 * Resyncs (same resourceVersion) are ignored; tombstones are unwrapped.
 * `keys` defaults to the object's own `namespace/name`.
 */
export function enqueueHandler<T extends KubeObject>(
  queue: WorkQueue<string>,
  keys: (obj: T) => (string | undefined)[] = (obj) => [metaNamespaceKey(obj)],
): ResourceEventHandler<T> {
  const enqueue = (obj: T): void => {
    for (const k of keys(obj)) if (k !== undefined) queue.add(k);
  };
  return {
    add: (obj) => enqueue(obj),
    update: (oldObj, newObj) => {
      if (oldObj.metadata.resourceVersion === newObj.metadata.resourceVersion) return;
      enqueue(oldObj);
      enqueue(newObj);
    },
    delete: (obj) => enqueue(unwrapTombstone(obj)),
  };
}

/** A work queue whose depth, adds and retries feed the manager's metrics. */
export function newQueue(ctx: ControllerContext, name: string): WorkQueue<string> {
  return new WorkQueue<string>({ metrics: ctx.metrics.queue(name) });
}

/**
 * The base of every controller: the sample-controller loop. `run` waits for the informers
 * `sync` reads from, then `workers` workers take a key, sync it, forget it on success or
 * re-add it rate-limited on error, and always mark it done; it resolves once `signal`
 * aborts and the workers have stopped.
 */
export abstract class QueueController implements Controller {
  abstract readonly name: string;
  protected abstract readonly queue: WorkQueue<string>;

  constructor(protected readonly ctx: ControllerContext) {}

  /** Every informer `sync` reads from: the workers start once all have synced. */
  protected abstract cachesToSync(): Pick<SharedInformer, "waitForSync">[];

  /** Brings what `key` names to its desired state; idempotent. */
  abstract sync(key: string): Promise<void>;

  async run(workers: number, signal: AbortSignal): Promise<void> {
    const { name, ctx, queue } = this;
    if (signal.aborted) return;
    signal.addEventListener("abort", () => queue.shutDown(), { once: true });
    const synced = await new Promise<boolean>((resolve) => {
      signal.addEventListener("abort", () => resolve(false), { once: true });
      void Promise.all(this.cachesToSync().map((i) => i.waitForSync())).then((r) =>
        resolve(r.every(Boolean)),
      );
    });
    if (!synced) return;
    ctx.log.info({ controller: name, workers }, "caches synced; starting workers");
    const worker = async (): Promise<void> => {
      for (;;) {
        const got = await queue.get();
        if (got.shutdown) return;
        const key = got.key;
        const started = performance.now();
        try {
          await this.sync(key);
          queue.forget(key);
          ctx.metrics.sync(name, (performance.now() - started) / 1000, false);
        } catch (err) {
          ctx.metrics.sync(name, (performance.now() - started) / 1000, true);
          // A conflict only means our cache was behind: retry quietly.
          const log = isConflict(err) ? ctx.log.debug : ctx.log.warn;
          log.call(ctx.log, { controller: name, key, err }, "sync failed; will retry");
          queue.addRateLimited(key);
        } finally {
          queue.done(key);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, workers) }, worker));
  }
}
