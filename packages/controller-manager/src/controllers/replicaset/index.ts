// The ReplicaSet controller: keeps spec.replicas pods running for each ReplicaSet, adopts
// matching orphans, releases pods that stop matching, and reports status. The same code
// runs the ReplicationController controller (Kubernetes shares it too): a ReplicatedKind
// says which resource it manages and how to read its selector.
import {
  apiVersionOf,
  isPodReady,
  resourceInfo,
  rfc3339,
  type Requirement,
  type ResourceInfo,
} from "@skiff/api/light";
import {
  isNotFound,
  metaNamespaceKey,
  splitMetaNamespaceKey,
  type EventRecorder,
  type OwnerReference,
  type Lister,
  type ResourceClient,
  type SharedInformer,
  type WorkQueue,
} from "@skiff/client";
import {
  controllerRef,
  newControllerRef,
  podFromTemplate,
  enqueueHandler,
  newQueue,
  QueueController,
  unwrapTombstone,
  type Controller,
  type ControllerContext,
} from "../../controller.js";
import { Expectations } from "../../expectations.js";
import {
  isPodActive,
  isPodAvailable,
  podReadyCondition,
  selectorOf,
  selects,
  type Pod,
  type ReplicaSet,
  type ReplicationController,
} from "../../objects.js";

/** Most pods created or deleted in one sync (Kubernetes' burstReplicas). */
const burstReplicas = 500;

const podsInfo = resourceInfo("", "v1", "pods");

/** An object that keeps a number of pods from a template: a ReplicaSet or a ReplicationController. */
export type Replicated = ReplicaSet | ReplicationController;

/** What differs between the ReplicaSet and the ReplicationController controllers. */
export interface ReplicatedKind<T extends Replicated> {
  /** The controller's name (--controllers) and the log field that names an object. */
  name: string;
  info: ResourceInfo;
  /** The component its events come from. */
  component: string;
  /** Its selector as requirements; undefined when invalid or absent (matches nothing). */
  selector(obj: T): Requirement[] | undefined;
}

export const replicaSetKind: ReplicatedKind<ReplicaSet> = {
  name: "replicaset",
  info: resourceInfo("apps", "v1", "replicasets"),
  component: "replicaset-controller",
  selector: (rs) => selectorOf(rs.spec?.selector),
};

/** Equality selectors: the label map is a LabelSelector's matchLabels. */
export const replicationControllerKind: ReplicatedKind<ReplicationController> = {
  name: "replicationcontroller",
  info: resourceInfo("", "v1", "replicationcontrollers"),
  component: "replication-controller",
  selector: (rc) =>
    rc.spec?.selector && Object.keys(rc.spec.selector).length > 0
      ? selectorOf({ matchLabels: rc.spec.selector })
      : undefined,
};

/** The pod a ReplicaSet creates: its template, generateName `<rs>-`, owned by the RS. */
export function newPodForReplicaSet(rs: ReplicaSet): Pod {
  return newPodFor(rs, replicaSetKind.info);
}

/** The pod a ReplicaSet or ReplicationController creates from its template, owned by it. */
export function newPodFor(rs: Replicated, info: ResourceInfo): Pod {
  return podFromTemplate(rs.spec?.template, rs, ownerReferenceTo(rs, info));
}

function ownerReferenceTo(rs: Replicated, info: ResourceInfo): OwnerReference {
  return newControllerRef(rs, apiVersionOf(info), info.kind);
}

/**
 * Orders pods so the ones to delete first come first: unscheduled before scheduled,
 * Pending before Unknown before Running, not ready before ready, ready for less time
 * before longer, more restarts before fewer, newer before older.
 */
export function deletionOrder(a: Pod, b: Pod): number {
  const scheduled = (p: Pod) => (p.spec?.nodeName ? 1 : 0);
  const phase = (p: Pod) =>
    ({ Pending: 0, Unknown: 1, Running: 2 })[p.status?.phase ?? "Pending"] ?? 0;
  const ready = (p: Pod) => (isPodReady(p) ? 1 : 0);
  const readySince = (p: Pod) => Date.parse(podReadyCondition(p)?.lastTransitionTime ?? "") || 0;
  const restarts = (p: Pod) =>
    (p.status?.containerStatuses ?? []).reduce((n, c) => n + (c.restartCount ?? 0), 0);
  const created = (p: Pod) => Date.parse(p.metadata.creationTimestamp ?? "") || 0;
  return (
    scheduled(a) - scheduled(b) ||
    phase(a) - phase(b) ||
    ready(a) - ready(b) ||
    (ready(a) && ready(b) ? readySince(b) - readySince(a) : 0) ||
    restarts(b) - restarts(a) ||
    created(b) - created(a)
  );
}

/** Runs `fn` `count` times in batches of 1, 2, 4, ...; stops after a batch with an error. */
export async function slowStartBatch(
  count: number,
  fn: () => Promise<void>,
): Promise<{ successes: number; skipped: number; error?: unknown }> {
  let successes = 0;
  let remaining = count;
  for (let batch = Math.min(1, remaining); batch > 0; batch = Math.min(2 * batch, remaining)) {
    const results = await Promise.allSettled(Array.from({ length: batch }, fn));
    const failed = results.find((r) => r.status === "rejected");
    successes += results.filter((r) => r.status === "fulfilled").length;
    remaining -= batch;
    if (failed) return { successes, skipped: remaining, error: failed.reason };
  }
  return { successes, skipped: 0 };
}

/** Keeps the pods of one replicated kind: the body of both controllers below. */
export class ReplicaManager<T extends Replicated> extends QueueController {
  readonly name: string;
  readonly expectations = new Expectations();
  protected readonly queue: WorkQueue<string>;
  private readonly kind: ReplicatedKind<T>;
  private readonly rsInformer: SharedInformer<T>;
  private readonly podInformer: SharedInformer<Pod>;
  private readonly rsLister: Lister<T>;
  private readonly podLister: Lister<Pod>;
  private readonly pods: ResourceClient<Pod>;
  private readonly replicaSets: ResourceClient<T>;
  private readonly recorder: EventRecorder;

  constructor(ctx: ControllerContext, kind: ReplicatedKind<T>) {
    super(ctx);
    this.kind = kind;
    this.name = kind.name;
    this.queue = newQueue(ctx, this.name);
    this.rsInformer = ctx.informers.forResource<T>(kind.info);
    this.podInformer = ctx.informers.forResource<Pod>(podsInfo);
    this.rsLister = this.rsInformer.lister();
    this.podLister = this.podInformer.lister();
    this.pods = ctx.client.resource<Pod>(podsInfo);
    this.replicaSets = ctx.client.resource<T>(kind.info);
    this.recorder = ctx.recorder(kind.component);

    this.rsInformer.addEventHandler(enqueueHandler<T>(this.queue));
    this.podInformer.addEventHandler({
      add: (pod) => {
        const key = this.ownerKey(pod);
        if (pod.metadata.deletionTimestamp) {
          if (key) this.expectations.deletionObserved(key, pod.metadata.uid ?? "");
        } else if (key) this.expectations.creationObserved(key);
        this.enqueuePod(pod);
      },
      update: (oldPod, pod) => {
        if (oldPod.metadata.resourceVersion === pod.metadata.resourceVersion) return;
        const key = this.ownerKey(pod);
        if (pod.metadata.deletionTimestamp && !oldPod.metadata.deletionTimestamp && key) {
          this.expectations.deletionObserved(key, pod.metadata.uid ?? "");
        }
        // A label change may move the pod between ReplicaSets: tell both.
        const oldKey = this.ownerKey(oldPod);
        if (oldKey && oldKey !== key) this.queue.add(oldKey);
        this.enqueuePod(oldPod);
        this.enqueuePod(pod);
      },
      delete: (obj) => {
        const pod = unwrapTombstone(obj);
        const key = this.ownerKey(pod);
        if (key) this.expectations.deletionObserved(key, pod.metadata.uid ?? "");
        this.enqueuePod(pod);
      },
    });
  }

  /** The key of the ReplicaSet that controls a pod, if it is one we know. */
  private ownerKey(pod: Pod): string | undefined {
    const ref = controllerRef(pod);
    if (ref?.kind !== this.kind.info.kind) return undefined;
    const rs = this.rsLister.namespace(pod.metadata.namespace ?? "").get(ref.name);
    return rs && rs.metadata.uid === ref.uid ? metaNamespaceKey(rs) : undefined;
  }

  /** Owned pods wake their owner; orphans wake every ReplicaSet that could adopt them. */
  private enqueuePod(pod: Pod): void {
    const key = this.ownerKey(pod);
    if (key) return this.queue.add(key);
    if (controllerRef(pod)) return; // owned by something else
    for (const rs of this.rsLister.namespace(pod.metadata.namespace ?? "").list()) {
      if (selects(this.kind.selector(rs), pod)) this.queue.add(metaNamespaceKey(rs));
    }
  }

  protected cachesToSync() {
    return [this.rsInformer, this.podInformer];
  }

  async sync(key: string): Promise<void> {
    const { namespace, name } = splitMetaNamespaceKey(key);
    const rs = this.rsLister.namespace(namespace).get(name);
    if (!rs) {
      this.expectations.delete(key);
      return;
    }
    const selector = this.kind.selector(rs);
    if (!selector) {
      this.ctx.log.warn({ [this.name]: key }, "invalid selector; not syncing");
      return;
    }
    const needsSync = this.expectations.satisfied(key);
    const claimed = await this.claimPods(rs, this.podLister.namespace(namespace).list());
    const active = claimed.filter(isPodActive);

    let manageError: { reason: string; error: unknown } | undefined;
    if (needsSync && !rs.metadata.deletionTimestamp) {
      manageError = await this.manageReplicas(active, rs, key);
    }
    await this.updateStatus(rs, active, manageError);
    if (manageError) throw manageError.error;
  }

  /** Adopts orphans that match, releases owned pods that no longer match; returns ours. */
  private async claimPods(rs: T, pods: Pod[]): Promise<Pod[]> {
    const selector = this.kind.selector(rs);
    const uid = rs.metadata.uid;
    const mine: Pod[] = [];
    let fresh: boolean | undefined; // whether a live read shows this RS may adopt
    for (const pod of pods) {
      const ref = controllerRef(pod);
      const matches = selects(selector, pod);
      if (ref) {
        if (ref.uid !== uid) continue;
        if (matches) mine.push(pod);
        else if (!rs.metadata.deletionTimestamp) await this.release(rs, pod);
        continue;
      }
      if (!matches || pod.metadata.deletionTimestamp || rs.metadata.deletionTimestamp) continue;
      // Adopt only if the RS still exists as we know it and is not being deleted.
      fresh ??= await this.replicaSets
        .namespace(rs.metadata.namespace ?? "")
        .get(rs.metadata.name ?? "")
        .then(
          (live) => live.metadata.uid === uid && !live.metadata.deletionTimestamp,
          () => false,
        );
      if (!fresh) continue;
      if (await this.adopt(rs, pod)) mine.push(pod);
    }
    return mine;
  }

  private async adopt(rs: T, pod: Pod): Promise<boolean> {
    const refs = [...(pod.metadata.ownerReferences ?? []), ownerReferenceTo(rs, this.kind.info)];
    return this.patchOwners(pod, refs);
  }

  private async release(rs: T, pod: Pod): Promise<void> {
    const refs = (pod.metadata.ownerReferences ?? []).filter((r) => r.uid !== rs.metadata.uid);
    await this.patchOwners(pod, refs);
  }

  /** Sets a pod's ownerReferences, guarded by its resourceVersion (409 if it changed). */
  private async patchOwners(pod: Pod, refs: unknown[]): Promise<boolean> {
    try {
      await this.pods
        .namespace(pod.metadata.namespace ?? "")
        .patch(
          pod.metadata.name ?? "",
          { metadata: { resourceVersion: pod.metadata.resourceVersion, ownerReferences: refs } },
          "merge",
        );
      return true;
    } catch (e) {
      if (isNotFound(e)) return false;
      throw e;
    }
  }

  private async manageReplicas(
    active: Pod[],
    rs: T,
    key: string,
  ): Promise<{ reason: string; error: unknown } | undefined> {
    const want = rs.spec?.replicas ?? 1;
    const diff = active.length - want;
    const pods = this.pods.namespace(rs.metadata.namespace ?? "");
    if (diff < 0) {
      const n = Math.min(-diff, burstReplicas);
      this.expectations.expectCreations(key, n);
      const { successes, skipped, error } = await slowStartBatch(n, async () => {
        try {
          await pods.create(newPodFor(rs, this.kind.info));
        } catch (e) {
          this.expectations.creationObserved(key); // this one will never be seen
          throw e;
        }
      });
      // Pods never attempted after a failed batch will not be seen either.
      if (skipped > 0) this.expectations.creationObserved(key, skipped);
      if (successes > 0)
        this.ctx.log.debug({ [this.name]: key, created: successes }, "created pods");
      if (error !== undefined) {
        const message = error instanceof Error ? error.message : String(error);
        this.recorder.event(rs, "Warning", "FailedCreate", `Error creating: ${message}`);
        return { reason: "FailedCreate", error };
      }
      return undefined;
    }
    if (diff > 0) {
      const victims = [...active].sort(deletionOrder).slice(0, Math.min(diff, burstReplicas));
      this.expectations.expectDeletions(
        key,
        victims.map((p) => p.metadata.uid ?? ""),
      );
      const results = await Promise.allSettled(
        victims.map(async (p) => {
          try {
            await pods.delete(p.metadata.name ?? "", {
              preconditions: { uid: p.metadata.uid ?? "" },
            });
          } catch (e) {
            this.expectations.deletionObserved(key, p.metadata.uid ?? "");
            if (!isNotFound(e)) throw e;
          }
        }),
      );
      const failed = results.find((r) => r.status === "rejected");
      if (failed) {
        const message = String((failed.reason as Error).message ?? failed.reason);
        this.recorder.event(rs, "Warning", "FailedDelete", `Error deleting: ${message}`);
        return { reason: "FailedDelete", error: failed.reason };
      }
    }
    return undefined;
  }

  private async updateStatus(
    rs: T,
    active: Pod[],
    manageError: { reason: string; error: unknown } | undefined,
  ): Promise<void> {
    const now = Date.now();
    const minReady = rs.spec?.minReadySeconds ?? 0;
    const templateLabels = Object.entries(rs.spec?.template?.metadata?.labels ?? {});
    const status: NonNullable<Replicated["status"]> = {
      replicas: active.length,
      fullyLabeledReplicas: active.filter((p) =>
        templateLabels.every(([k, v]) => p.metadata.labels?.[k] === v),
      ).length,
      readyReplicas: active.filter(isPodReady).length,
      availableReplicas: active.filter((p) => isPodAvailable(p, minReady, now)).length,
      observedGeneration: rs.metadata.generation,
    };
    const others = (rs.status?.conditions ?? []).filter((c) => c.type !== "ReplicaFailure");
    const failure = rs.status?.conditions?.find((c) => c.type === "ReplicaFailure");
    if (manageError) {
      const message =
        manageError.error instanceof Error ? manageError.error.message : String(manageError.error);
      others.push(
        failure?.reason === manageError.reason
          ? failure
          : ({
              type: "ReplicaFailure",
              status: "True",
              lastTransitionTime: rfc3339(now),
              reason: manageError.reason,
              message,
            } as (typeof others)[number]),
      );
    }
    if (others.length) status.conditions = others;

    const old = rs.status ?? { replicas: 0 };
    const same =
      old.replicas === status.replicas &&
      (old.fullyLabeledReplicas ?? 0) === status.fullyLabeledReplicas &&
      (old.readyReplicas ?? 0) === status.readyReplicas &&
      (old.availableReplicas ?? 0) === status.availableReplicas &&
      old.observedGeneration === status.observedGeneration &&
      JSON.stringify(old.conditions ?? []) === JSON.stringify(status.conditions ?? []);
    if (!same) {
      const next = structuredClone(rs);
      next.status = status as T["status"];
      await this.replicaSets.namespace(rs.metadata.namespace ?? "").updateStatus(next);
    }
    // Pods ready but not yet available: look again when they will be.
    if (minReady > 0 && status.readyReplicas !== status.availableReplicas) {
      this.queue.addAfter(metaNamespaceKey(rs), minReady * 1000 + 100);
    }
  }
}

export class ReplicaSetController extends ReplicaManager<ReplicaSet> {
  constructor(ctx: ControllerContext) {
    super(ctx, replicaSetKind);
  }
}

/** Kubernetes' ReplicationManager: the ReplicaSet controller's logic with equality selectors. */
export class ReplicationControllerController extends ReplicaManager<ReplicationController> {
  constructor(ctx: ControllerContext) {
    super(ctx, replicationControllerKind);
  }
}

export const newReplicaSetController = (ctx: ControllerContext): Controller =>
  new ReplicaSetController(ctx);

export const newReplicationControllerController = (ctx: ControllerContext): Controller =>
  new ReplicationControllerController(ctx);
