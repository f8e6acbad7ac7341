// The Deployment controller: one ReplicaSet per pod template (named by its hash), rolled
// from old to new by the RollingUpdate or Recreate strategy, with revisions, history
// clean-up, pause, proportional scaling and the Progressing/Available conditions.
// A little past ~600 lines on purpose: sync, ReplicaSet ownership, scaling and the two strategies
// share the controller's clients and caches; the pure parts live in util.ts and status.ts.
import { resourceInfo } from "@skiff/api/light";
import {
  isAlreadyExists,
  isNotFound,
  metaNamespaceKey,
  splitMetaNamespaceKey,
  type Lister,
  type OwnerReference,
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
import {
  computeHash,
  desiredReplicasAnnotation,
  equalIgnoreHash,
  getCondition,
  maxReplicasAnnotation,
  newCondition,
  podTemplateHashLabel,
  replicaSetFraction,
  resolveFenceposts,
  revisionAnnotation,
  revisionHistoryAnnotation,
  revisionOf,
  setCondition,
  specReplicas,
  stableJson,
} from "./util.js";
import { HashCollisionError } from "../../errors.js";
import { deploymentStatus } from "./status.js";

const deploymentsInfo = resourceInfo("apps", "v1", "deployments");
const rsInfo = resourceInfo("apps", "v1", "replicasets");
const podsInfo = resourceInfo("", "v1", "pods");

type Status = NonNullable<Deployment["status"]>;

const byCreation = (a: ReplicaSet, b: ReplicaSet): number =>
  (a.metadata.creationTimestamp ?? "").localeCompare(b.metadata.creationTimestamp ?? "") ||
  (a.metadata.name ?? "").localeCompare(b.metadata.name ?? "");

export class DeploymentController extends QueueController {
  readonly name = "deployment";
  protected readonly queue: WorkQueue<string>;
  private readonly dInformer: SharedInformer<Deployment>;
  private readonly rsInformer: SharedInformer<ReplicaSet>;
  private readonly podInformer: SharedInformer<Pod>;
  private readonly dLister: Lister<Deployment>;
  private readonly rsLister: Lister<ReplicaSet>;
  private readonly podLister: Lister<Pod>;
  private readonly deployments: ResourceClient<Deployment>;
  private readonly replicaSets: ResourceClient<ReplicaSet>;

  constructor(ctx: ControllerContext) {
    super(ctx);
    this.queue = newQueue(ctx, this.name);
    this.dInformer = ctx.informers.forResource<Deployment>(deploymentsInfo);
    this.rsInformer = ctx.informers.forResource<ReplicaSet>(rsInfo);
    this.podInformer = ctx.informers.forResource<Pod>(podsInfo);
    this.dLister = this.dInformer.lister();
    this.rsLister = this.rsInformer.lister();
    this.podLister = this.podInformer.lister();
    this.deployments = ctx.client.resource<Deployment>(deploymentsInfo);
    this.replicaSets = ctx.client.resource<ReplicaSet>(rsInfo);

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
    if (d.metadata.deletionTimestamp) return this.syncStatusOnly(d, rsList);

    await this.checkPausedConditions(d);
    if (d.spec?.paused) return this.syncScaleOnly(d, rsList);
    if (this.isScalingEvent(d, rsList)) return this.syncScaleOnly(d, rsList);
    if (d.spec?.strategy?.type === "Recreate") return this.rolloutRecreate(d, rsList);
    return this.rolloutRolling(d, rsList);
  }

  // ---- owning ReplicaSets ----------------------------------------------------------------

  private async claimReplicaSets(d: Deployment): Promise<ReplicaSet[]> {
    const selector = selectorOf(d.spec?.selector);
    const rsClient = this.replicaSets.namespace(d.metadata.namespace ?? "");
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
        const refs = [...(rs.metadata.ownerReferences ?? []), this.ownerRef(d)];
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

  private ownerRef(d: Deployment): OwnerReference {
    return newControllerRef(d, "apps/v1", "Deployment");
  }

  /** Splits into the RS whose template matches the deployment's (if any) and the rest. */
  private split(d: Deployment, rsList: ReplicaSet[]): { newRS?: ReplicaSet; oldRSs: ReplicaSet[] } {
    // The oldest match wins when several exist (as Kubernetes' FindNewReplicaSet).
    const newRS = [...rsList]
      .sort(byCreation)
      .find((rs) => equalIgnoreHash(rs.spec?.template, d.spec?.template));
    return { newRS, oldRSs: rsList.filter((rs) => rs !== newRS) };
  }

  /**
   * Finds the new RS (bumping its revision when an older template came back, as after
   * `kubectl rollout undo`) or, if `create`, creates it. Also stamps the deployment's own
   * revision annotation.
   */
  private async getNewReplicaSet(
    d: Deployment,
    rsList: ReplicaSet[],
    create: boolean,
  ): Promise<{ newRS?: ReplicaSet; oldRSs: ReplicaSet[] }> {
    const { newRS: existing, oldRSs } = this.split(d, rsList);
    const maxOld = Math.max(0, ...oldRSs.map(revisionOf));
    const revision = maxOld + 1;
    const ns = d.metadata.namespace ?? "";
    let newRS = existing;
    if (existing) {
      const current = revisionOf(existing);
      const rsNeedsUpdate =
        current < revision ||
        (existing.spec?.minReadySeconds ?? 0) !== (d.spec?.minReadySeconds ?? 0);
      if (rsNeedsUpdate) {
        const next = structuredClone(existing);
        const ann = (next.metadata.annotations ??= {});
        if (current < revision) {
          ann[revisionAnnotation] = String(revision);
          if (current > 0) {
            const history = ann[revisionHistoryAnnotation];
            ann[revisionHistoryAnnotation] = history ? `${history},${current}` : String(current);
          }
        }
        next.spec = { ...next.spec!, minReadySeconds: d.spec?.minReadySeconds };
        newRS = await this.replicaSets.namespace(ns).update(next);
        rsList.splice(rsList.indexOf(existing), 1, newRS);
      }
      if (!getCondition(d, "Progressing") && d.spec?.progressDeadlineSeconds !== undefined) {
        await this.stampProgressing(
          d,
          "FoundNewReplicaSet",
          `Found new replica set "${existing.metadata.name ?? ""}"`,
        );
      }
    } else if (create) {
      newRS = await this.createNewReplicaSet(d, rsList, revision);
      if (!newRS) return { oldRSs };
      rsList.push(newRS);
    }
    if (newRS) await this.setDeploymentRevision(d, String(revisionOf(newRS)));
    return { newRS, oldRSs };
  }

  private async createNewReplicaSet(
    d: Deployment,
    rsList: ReplicaSet[],
    revision: number,
  ): Promise<ReplicaSet | undefined> {
    const ns = d.metadata.namespace ?? "";
    const template = structuredClone(d.spec!.template);
    const hash = computeHash(template, d.status?.collisionCount);
    template.metadata = {
      ...template.metadata,
      labels: { ...(template.metadata?.labels ?? {}), [podTemplateHashLabel]: hash },
    };
    const selector = structuredClone(d.spec!.selector);
    selector.matchLabels = { ...(selector.matchLabels ?? {}), [podTemplateHashLabel]: hash };
    const { maxSurge } = resolveFenceposts(d);
    const desired = d.spec?.replicas ?? 1;
    const annotations: Record<string, string> = {};
    for (const [k, v] of Object.entries(d.metadata.annotations ?? {})) {
      if (
        !k.startsWith("deployment.kubernetes.io/") &&
        k !== "kubectl.kubernetes.io/last-applied-configuration"
      ) {
        annotations[k] = v;
      }
    }
    annotations[revisionAnnotation] = String(revision);
    annotations[desiredReplicasAnnotation] = String(desired);
    annotations[maxReplicasAnnotation] = String(desired + maxSurge);
    const rs: ReplicaSet = {
      apiVersion: "apps/v1",
      kind: "ReplicaSet",
      metadata: {
        name: `${d.metadata.name ?? ""}-${hash}`,
        namespace: ns,
        labels: template.metadata.labels,
        annotations,
        ownerReferences: [this.ownerRef(d)],
      },
      spec: {
        replicas: this.newReplicasCount(d, rsList, undefined),
        minReadySeconds: d.spec?.minReadySeconds,
        selector,
        template,
      },
    };
    try {
      const created = await this.replicaSets.namespace(ns).create(rs);
      this.ctx
        .recorder("deployment-controller")
        .event(
          d,
          "Normal",
          "ScalingReplicaSet",
          `Scaled up replica set ${created.metadata.name ?? ""} from 0 to ${specReplicas(created)}`,
        );
      await this.stampProgressing(
        d,
        "NewReplicaSetCreated",
        `Created new replica set "${created.metadata.name ?? ""}"`,
      );
      return created;
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
      // Ours already (a stale cache)? Then the next sync finds it. Otherwise a hash
      // collision: count it, so the next hash differs.
      const other = await this.replicaSets.namespace(ns).get(rs.metadata.name ?? "");
      if (
        controllerRef(other)?.uid === d.metadata.uid &&
        equalIgnoreHash(other.spec?.template, d.spec?.template)
      ) {
        return other;
      }
      const next = structuredClone(d);
      next.status = { ...next.status, collisionCount: (d.status?.collisionCount ?? 0) + 1 };
      await this.deployments.namespace(ns).updateStatus(next);
      throw new HashCollisionError(
        `hash collision for ReplicaSet ${rs.metadata.name ?? ""}; retrying`,
        {
          cause: e,
        },
      );
    }
  }

  private async setDeploymentRevision(d: Deployment, revision: string): Promise<void> {
    if (d.metadata.annotations?.[revisionAnnotation] === revision) return;
    const updated = await this.deployments.namespace(d.metadata.namespace ?? "").patch(
      d.metadata.name ?? "",
      {
        metadata: {
          resourceVersion: d.metadata.resourceVersion,
          annotations: { [revisionAnnotation]: revision },
        },
      },
      "merge",
    );
    d.metadata = updated.metadata;
  }

  private async stampProgressing(d: Deployment, reason: string, message: string): Promise<void> {
    const status: Status = structuredClone(d.status ?? {});
    const before = JSON.stringify(status.conditions ?? []);
    setCondition(status, newCondition("Progressing", "True", reason, message));
    if (JSON.stringify(status.conditions ?? []) === before) return;
    await this.writeStatus(d, status);
  }

  private async writeStatus(d: Deployment, status: Status): Promise<void> {
    const next = structuredClone(d);
    next.status = status;
    const updated = await this.deployments.namespace(d.metadata.namespace ?? "").updateStatus(next);
    d.metadata = updated.metadata;
    d.status = updated.status;
  }

  private async checkPausedConditions(d: Deployment): Promise<void> {
    const cond = getCondition(d, "Progressing");
    if (cond?.reason === "ProgressDeadlineExceeded") return;
    const paused = d.spec?.paused === true;
    const status: Status = structuredClone(d.status ?? {});
    if (paused && cond?.reason !== "DeploymentPaused") {
      setCondition(
        status,
        newCondition("Progressing", "Unknown", "DeploymentPaused", "Deployment is paused"),
      );
    } else if (!paused && cond?.reason === "DeploymentPaused") {
      setCondition(
        status,
        newCondition("Progressing", "Unknown", "DeploymentResumed", "Deployment is resumed"),
      );
    } else return;
    await this.writeStatus(d, status);
  }

  // ---- scaling --------------------------------------------------------------------------

  /** Whether spec.replicas changed since the active ReplicaSets were last scaled. */
  private isScalingEvent(d: Deployment, rsList: ReplicaSet[]): boolean {
    const desired = String(d.spec?.replicas ?? 1);
    return rsList.some(
      (rs) =>
        specReplicas(rs) > 0 &&
        rs.metadata.annotations?.[desiredReplicasAnnotation] !== undefined &&
        rs.metadata.annotations[desiredReplicasAnnotation] !== desired,
    );
  }

  private async syncScaleOnly(d: Deployment, rsList: ReplicaSet[]): Promise<void> {
    const { newRS, oldRSs } = await this.getNewReplicaSet(d, rsList, false);
    await this.scale(d, newRS, oldRSs);
    if (d.spec?.paused) await this.cleanup(d, oldRSs);
    await this.syncStatus(d, rsList, newRS);
  }

  private async syncStatusOnly(d: Deployment, rsList: ReplicaSet[]): Promise<void> {
    const { newRS } = this.split(d, rsList);
    await this.syncStatus(d, rsList, newRS);
  }

  /** Scales for a change of spec.replicas; mid-rollout, proportionally across ReplicaSets. */
  private async scale(
    d: Deployment,
    newRS: ReplicaSet | undefined,
    oldRSs: ReplicaSet[],
  ): Promise<void> {
    const desired = d.spec?.replicas ?? 1;
    const all = [...(newRS ? [newRS] : []), ...oldRSs];
    const active = all.filter((rs) => specReplicas(rs) > 0);
    // One active (or none: the newest) takes everything.
    if (active.length <= 1) {
      const target = active[0] ?? newRS ?? [...oldRSs].sort(byCreation).at(-1);
      if (target) await this.scaleReplicaSet(d, target, desired);
      return;
    }
    // A saturated new RS: the old ones go to zero.
    if (
      newRS &&
      specReplicas(newRS) === desired &&
      newRS.metadata.annotations?.[desiredReplicasAnnotation] === String(desired)
    ) {
      for (const rs of oldRSs) await this.scaleReplicaSet(d, rs, 0);
      return;
    }
    if (d.spec?.strategy?.type === "Recreate") return;
    const { maxSurge } = resolveFenceposts(d);
    const allowed = desired > 0 ? desired + maxSurge : 0;
    const current = all.reduce((n, rs) => n + specReplicas(rs), 0);
    const toAdd = allowed - current;
    if (toAdd === 0) {
      for (const rs of all) await this.scaleReplicaSet(d, rs, specReplicas(rs)); // annotations
      return;
    }
    // Larger first (newer on ties) when growing; also when shrinking, so rounding leftovers
    // land on the biggest.
    const sorted = [...all].sort((a, b) => specReplicas(b) - specReplicas(a) || byCreation(b, a));
    let added = 0;
    const sizes = new Map<ReplicaSet, number>();
    for (const rs of sorted) {
      let share = 0;
      if (specReplicas(rs) > 0 && added !== toAdd) {
        const fraction = replicaSetFraction(rs, d, maxSurge);
        const left = toAdd - added;
        share = toAdd > 0 ? Math.min(fraction, left) : Math.max(fraction, left);
      }
      added += share;
      sizes.set(rs, specReplicas(rs) + share);
    }
    const first = sorted[0]!;
    if (added !== toAdd) sizes.set(first, Math.max(0, sizes.get(first)! + toAdd - added));
    for (const rs of sorted) await this.scaleReplicaSet(d, rs, Math.max(0, sizes.get(rs)!));
  }

  /** Sets an RS's replicas and its desired/max-replicas annotations (no write if unchanged). */
  private async scaleReplicaSet(d: Deployment, rs: ReplicaSet, size: number): Promise<void> {
    const desired = String(d.spec?.replicas ?? 1);
    const max = String((d.spec?.replicas ?? 1) + resolveFenceposts(d).maxSurge);
    const ann = rs.metadata.annotations ?? {};
    if (
      specReplicas(rs) === size &&
      ann[desiredReplicasAnnotation] === desired &&
      ann[maxReplicasAnnotation] === max
    ) {
      return;
    }
    const from = specReplicas(rs);
    const next = structuredClone(rs);
    next.spec = { ...next.spec!, replicas: size };
    next.metadata.annotations = {
      ...ann,
      [desiredReplicasAnnotation]: desired,
      [maxReplicasAnnotation]: max,
    };
    const updated = await this.replicaSets.namespace(rs.metadata.namespace ?? "").update(next);
    // Keep the working copy current for the rest of this sync.
    Object.assign(rs, { metadata: updated.metadata, spec: updated.spec, status: updated.status });
    if (from !== size) {
      this.ctx
        .recorder("deployment-controller")
        .event(
          d,
          "Normal",
          "ScalingReplicaSet",
          `Scaled ${size > from ? "up" : "down"} replica set ${rs.metadata.name ?? ""} from ${from} to ${size}`,
        );
    }
  }

  /** The replicas the new RS may have now: up to desired, within maxSurge. */
  private newReplicasCount(
    d: Deployment,
    all: ReplicaSet[],
    newRS: ReplicaSet | undefined,
  ): number {
    const desired = d.spec?.replicas ?? 1;
    if (d.spec?.strategy?.type === "Recreate") return desired;
    const { maxSurge } = resolveFenceposts(d);
    const current = all.reduce((n, rs) => n + specReplicas(rs), 0);
    const have = newRS ? specReplicas(newRS) : 0;
    const room = desired + maxSurge - current;
    if (room <= 0) return have;
    return have + Math.min(room, Math.max(0, desired - have));
  }

  // ---- strategies -----------------------------------------------------------------------

  private async rolloutRolling(d: Deployment, rsList: ReplicaSet[]): Promise<void> {
    const { newRS, oldRSs } = await this.getNewReplicaSet(d, rsList, true);
    if (!newRS) return;
    const all = [newRS, ...oldRSs];
    const desired = d.spec?.replicas ?? 1;

    // Scale the new RS up (within maxSurge) or down to desired.
    if (specReplicas(newRS) > desired) await this.scaleReplicaSet(d, newRS, desired);
    else if (specReplicas(newRS) < desired) {
      await this.scaleReplicaSet(d, newRS, this.newReplicasCount(d, all, newRS));
    }
    await this.reconcileOldReplicaSets(d, newRS, oldRSs);

    if (this.isComplete(d, newRS, oldRSs)) await this.cleanup(d, oldRSs);
    await this.syncStatus(d, rsList, newRS);
  }

  /** Scales old ReplicaSets down as far as maxUnavailable allows. */
  private async reconcileOldReplicaSets(
    d: Deployment,
    newRS: ReplicaSet,
    oldRSs: ReplicaSet[],
  ): Promise<void> {
    const oldCount = oldRSs.reduce((n, rs) => n + specReplicas(rs), 0);
    if (oldCount === 0) return;
    const desired = d.spec?.replicas ?? 1;
    const { maxUnavailable } = resolveFenceposts(d);
    const minAvailable = desired - maxUnavailable;
    const all = [newRS, ...oldRSs];
    const allCount = all.reduce((n, rs) => n + specReplicas(rs), 0);
    const newUnavailable = specReplicas(newRS) - (newRS.status?.availableReplicas ?? 0);
    let maxScaledDown = allCount - minAvailable - newUnavailable;
    if (maxScaledDown <= 0) return;

    // First, unhealthy old replicas: removing them costs no availability.
    const oldest = [...oldRSs].sort(byCreation);
    for (const rs of oldest) {
      if (maxScaledDown <= 0) break;
      const unhealthy = specReplicas(rs) - (rs.status?.availableReplicas ?? 0);
      if (unhealthy <= 0) continue;
      const down = Math.min(unhealthy, maxScaledDown);
      await this.scaleReplicaSet(d, rs, specReplicas(rs) - down);
      maxScaledDown -= down;
    }
    // Then available ones, keeping minAvailable.
    const available = all.reduce(
      (n, rs) => n + Math.min(specReplicas(rs), rs.status?.availableReplicas ?? 0),
      0,
    );
    let total = Math.min(available - minAvailable, maxScaledDown);
    for (const rs of oldest) {
      if (total <= 0) break;
      if (specReplicas(rs) === 0) continue;
      const down = Math.min(specReplicas(rs), total);
      await this.scaleReplicaSet(d, rs, specReplicas(rs) - down);
      total -= down;
    }
  }

  private async rolloutRecreate(d: Deployment, rsList: ReplicaSet[]): Promise<void> {
    const { newRS, oldRSs } = await this.getNewReplicaSet(d, rsList, false);
    const activeOld = oldRSs.filter((rs) => specReplicas(rs) > 0);
    if (activeOld.length > 0) {
      for (const rs of activeOld) await this.scaleReplicaSet(d, rs, 0);
      return this.syncStatus(d, rsList, newRS);
    }
    // Wait until no pod of an old ReplicaSet is left running.
    const oldUids = new Set(oldRSs.map((rs) => rs.metadata.uid));
    const oldPodsLeft = this.podLister
      .namespace(d.metadata.namespace ?? "")
      .list()
      .some((p) => {
        const phase = p.status?.phase;
        return oldUids.has(controllerRef(p)?.uid) && phase !== "Succeeded" && phase !== "Failed";
      });
    if (oldPodsLeft) return this.syncStatus(d, rsList, newRS);

    const created = newRS ?? (await this.getNewReplicaSet(d, rsList, true)).newRS;
    if (!created) return;
    await this.scaleReplicaSet(d, created, d.spec?.replicas ?? 1);
    if (this.isComplete(d, created, oldRSs)) await this.cleanup(d, oldRSs);
    await this.syncStatus(d, rsList, created);
  }

  private isComplete(d: Deployment, newRS: ReplicaSet, oldRSs: ReplicaSet[]): boolean {
    const desired = d.spec?.replicas ?? 1;
    return (
      specReplicas(newRS) === desired &&
      (newRS.status?.availableReplicas ?? 0) >= desired &&
      oldRSs.every((rs) => specReplicas(rs) === 0 && (rs.status?.replicas ?? 0) === 0)
    );
  }

  /** Deletes the oldest scaled-down ReplicaSets beyond revisionHistoryLimit. */
  private async cleanup(d: Deployment, oldRSs: ReplicaSet[]): Promise<void> {
    const limit = d.spec?.revisionHistoryLimit ?? 10;
    const idle = oldRSs
      .filter(
        (rs) =>
          specReplicas(rs) === 0 &&
          (rs.status?.replicas ?? 0) === 0 &&
          !rs.metadata.deletionTimestamp,
      )
      .sort((a, b) => revisionOf(a) - revisionOf(b) || byCreation(a, b));
    const rsClient = this.replicaSets.namespace(d.metadata.namespace ?? "");
    for (const rs of idle.slice(0, Math.max(0, idle.length - limit))) {
      try {
        await rsClient.delete(rs.metadata.name ?? "", {
          preconditions: { uid: rs.metadata.uid ?? "" },
        });
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
  }

  // ---- status ---------------------------------------------------------------------------

  private async syncStatus(
    d: Deployment,
    rsList: ReplicaSet[],
    newRS: ReplicaSet | undefined,
  ): Promise<void> {
    const { status, requeueMs } = deploymentStatus(d, rsList, newRS, Date.now());
    if (stableJson(status) !== stableJson(d.status ?? {})) await this.writeStatus(d, status);
    if (requeueMs !== undefined) this.queue.addAfter(metaNamespaceKey(d), requeueMs);
  }
}

export const newDeploymentController = (ctx: ControllerContext): Controller =>
  new DeploymentController(ctx);
