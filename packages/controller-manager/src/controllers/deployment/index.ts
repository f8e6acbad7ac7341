// The Deployment controller: one ReplicaSet per pod template (named by its hash), rolled
// from old to new by the RollingUpdate or Recreate strategy, with revisions, history
// clean-up, pause, proportional scaling and the Progressing/Available conditions.
//
// This file: the caches, the event handlers, ReplicaSet ownership (adopt and release) and
// sync(key), which picks one path. The paths, as in Kubernetes' pkg/controller/deployment:
//   sync.ts      scale-only (paused, or spec.replicas changed) and status-only syncs,
//                proportional scaling, scaling one ReplicaSet, history clean-up
//   rolling.ts   the RollingUpdate strategy       recreate.ts  the Recreate strategy
//   revision.ts  the new ReplicaSet and revisions (the controller's half of a rollback)
//   progress.ts  writing status and the Progressing condition
//   status.ts    the status as a pure function    util.ts      pure helpers (hash, surge)
//   context.ts   DeploymentSync: what every step takes
import { resourceInfo } from "@skiff/api/light";
import {
  isNotFound,
  metaNamespaceKey,
  splitMetaNamespaceKey,
  type Lister,
  type ResourceClient,
  type SharedInformer,
  type WorkQueue,
} from "@skiff/client";
import {
  controllerRef,
  newControllerRef,
  newQueue,
  QueueController,
  unwrapTombstone,
  type Controller,
  type ControllerContext,
} from "../../controller.js";
import { selectorOf, selects, type Deployment, type Pod, type ReplicaSet } from "../../objects.js";
import type { DeploymentSync } from "./context.js";
import { checkPausedConditions } from "./progress.js";
import { rolloutRecreate } from "./recreate.js";
import { rolloutRolling } from "./rolling.js";
import { isScalingEvent, syncScaleOnly, syncStatusOnly } from "./sync.js";

const deploymentsInfo = resourceInfo("apps", "v1", "deployments");
const rsInfo = resourceInfo("apps", "v1", "replicasets");
const podsInfo = resourceInfo("", "v1", "pods");

export class DeploymentController extends QueueController {
  readonly name = "deployment";
  protected readonly queue: WorkQueue<string>;
  private readonly dInformer: SharedInformer<Deployment>;
  private readonly rsInformer: SharedInformer<ReplicaSet>;
  private readonly podInformer: SharedInformer<Pod>;
  private readonly dLister: Lister<Deployment>;
  private readonly rsLister: Lister<ReplicaSet>;
  /** The clients, pod cache and recorder the sync steps (sync.ts, rolling.ts, ...) use. */
  private readonly steps: DeploymentSync;

  constructor(ctx: ControllerContext) {
    super(ctx);
    this.queue = newQueue(ctx, this.name);
    this.dInformer = ctx.informers.forResource<Deployment>(deploymentsInfo);
    this.rsInformer = ctx.informers.forResource<ReplicaSet>(rsInfo);
    this.podInformer = ctx.informers.forResource<Pod>(podsInfo);
    this.dLister = this.dInformer.lister();
    this.rsLister = this.rsInformer.lister();
    this.steps = {
      deployments: ctx.client.resource<Deployment>(deploymentsInfo),
      replicaSets: ctx.client.resource<ReplicaSet>(rsInfo),
      pods: this.podInformer.lister(),
      recorder: ctx.recorder("deployment-controller"),
      requeueAfter: (d, ms) => this.queue.addAfter(metaNamespaceKey(d), ms),
    };

    const enqueue = (d: Deployment) => this.queue.add(metaNamespaceKey(d));
    this.dInformer.addEventHandler({
      add: enqueue,
      update: (o, n) => o.metadata.resourceVersion !== n.metadata.resourceVersion && enqueue(n),
      delete: (obj) => enqueue(unwrapTombstone(obj)),
    });
    this.rsInformer.addEventHandler({
      add: (rs) => this.enqueueForReplicaSet(rs),
      update: (o, n) => {
        if (o.metadata.resourceVersion === n.metadata.resourceVersion) return;
        this.enqueueForReplicaSet(o);
        this.enqueueForReplicaSet(n);
      },
      delete: (obj) => this.enqueueForReplicaSet(unwrapTombstone(obj)),
    });
    // Recreate waits for old pods to be gone: their deletion wakes the deployment.
    this.podInformer.addEventHandler({
      delete: (obj) => {
        const pod = unwrapTombstone(obj);
        const ref = controllerRef(pod);
        if (ref?.kind !== "ReplicaSet") return;
        const rs = this.rsLister.namespace(pod.metadata.namespace ?? "").get(ref.name);
        if (rs) this.enqueueForReplicaSet(rs);
      },
    });
  }

  /** An owned RS wakes its Deployment; an orphan wakes every Deployment that selects it. */
  private enqueueForReplicaSet(rs: ReplicaSet): void {
    const ns = rs.metadata.namespace ?? "";
    const ref = controllerRef(rs);
    if (ref) {
      if (ref.kind !== "Deployment") return;
      const d = this.dLister.namespace(ns).get(ref.name);
      if (d && d.metadata.uid === ref.uid) this.queue.add(metaNamespaceKey(d));
      return;
    }
    for (const d of this.dLister.namespace(ns).list()) {
      if (selects(selectorOf(d.spec?.selector), rs)) this.queue.add(metaNamespaceKey(d));
    }
  }

  protected cachesToSync() {
    return [this.dInformer, this.rsInformer, this.podInformer];
  }

  async sync(key: string): Promise<void> {
    const { namespace, name } = splitMetaNamespaceKey(key);
    const cached = this.dLister.namespace(namespace).get(name);
    if (!cached) return;
    const d = structuredClone(cached);
    const selector = selectorOf(d.spec?.selector);
    if (!selector || selector.length === 0) {
      this.ctx.log.warn({ deployment: key }, "empty or invalid selector; not syncing");
      return;
    }
    // Working copies: writes below replace them with what the server returned.
    const rsList = (await this.claimReplicaSets(d)).map((rs) => structuredClone(rs));
    const s = this.steps;
    if (d.metadata.deletionTimestamp) return syncStatusOnly(s, d, rsList);

    await checkPausedConditions(s, d);
    if (d.spec?.paused) return syncScaleOnly(s, d, rsList);
    if (isScalingEvent(d, rsList)) return syncScaleOnly(s, d, rsList);
    if (d.spec?.strategy?.type === "Recreate") return rolloutRecreate(s, d, rsList);
    return rolloutRolling(s, d, rsList);
  }

  /** The ReplicaSets `d` owns: adopts orphans it selects, releases owned ones it no longer selects. */
  private async claimReplicaSets(d: Deployment): Promise<ReplicaSet[]> {
    const selector = selectorOf(d.spec?.selector);
    const rsClient = this.steps.replicaSets.namespace(d.metadata.namespace ?? "");
    const mine: ReplicaSet[] = [];
    for (const rs of this.rsLister.namespace(d.metadata.namespace ?? "").list()) {
      const ref = controllerRef(rs);
      const matches = selects(selector, rs);
      if (ref) {
        if (ref.uid !== d.metadata.uid) continue;
        if (matches || d.metadata.deletionTimestamp) mine.push(rs);
        else {
          const refs = (rs.metadata.ownerReferences ?? []).filter((r) => r.uid !== d.metadata.uid);
          await this.patchOwners(rsClient, rs, refs);
        }
      } else if (matches && !d.metadata.deletionTimestamp && !rs.metadata.deletionTimestamp) {
        const refs = [
          ...(rs.metadata.ownerReferences ?? []),
          newControllerRef(d, "apps/v1", "Deployment"),
        ];
        const adopted = await this.patchOwners(rsClient, rs, refs);
        if (adopted) mine.push(adopted);
      }
    }
    return mine;
  }

  private async patchOwners(
    rsClient: ResourceClient<ReplicaSet>,
    rs: ReplicaSet,
    refs: unknown[],
  ): Promise<ReplicaSet | undefined> {
    try {
      return await rsClient.patch(
        rs.metadata.name ?? "",
        { metadata: { resourceVersion: rs.metadata.resourceVersion, ownerReferences: refs } },
        "merge",
      );
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }
}

export const newDeploymentController = (ctx: ControllerContext): Controller =>
  new DeploymentController(ctx);
