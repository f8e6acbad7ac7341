// The StatefulSet controller: pods `<set>-<ordinal>` with stable hostnames and one claim
// per ordinal and claim template, created and removed in order (OrderedReady) or all at
// once (Parallel), updated from the highest ordinal down to the partition (RollingUpdate)
// or when the user deletes them (OnDelete). Each template is a ControllerRevision; the
// pod's controller-revision-hash label says which one it runs. Decisions are in plan.ts.
import { isDeepStrictEqual } from "node:util";
import { isAlreadyExists, isNotFound, splitMetaNamespaceKey } from "@skiff/client";
import type {
  EventRecorder,
  Lister,
  ResourceClient,
  SharedInformer,
  WorkQueue,
} from "@skiff/client";
import {
  controllerKey,
  controllerRef,
  controllerRefTo,
  enqueueHandler,
  newControllerRef,
  newQueue,
  QueueController,
  type ControllerConstructor,
  type ControllerContext,
} from "../../controller.js";
import { ensureRevision, historyToDelete, templateOfRevision } from "../../history.js";
import {
  selectorOf,
  selects,
  type ControllerRevision,
  type PersistentVolumeClaim,
  type Pod,
  type StatefulSet,
} from "../../objects.js";
import { resourceInfo } from "@skiff/api/light";
import { newClaims, newStatefulPod, ordinalOf, planStatefulSet, revisionLabel } from "./plan.js";
import { HashCollisionError } from "../../errors.js";

export class StatefulSetController extends QueueController {
  readonly name = "statefulset";
  readonly queue: WorkQueue<string>;
  private readonly sets: Lister<StatefulSet>;
  private readonly pods: SharedInformer<Pod>;
  private readonly revisions: SharedInformer<ControllerRevision>;
  private readonly claims: Lister<PersistentVolumeClaim>;
  private readonly informers: SharedInformer[];
  private readonly setClient: ResourceClient<StatefulSet>;
  private readonly podClient: ResourceClient<Pod>;
  private readonly claimClient: ResourceClient<PersistentVolumeClaim>;
  private readonly revisionClient: ResourceClient<ControllerRevision>;
  private readonly recorder: EventRecorder;

  constructor(ctx: ControllerContext) {
    super(ctx);
    this.queue = newQueue(ctx, this.name);
    this.recorder = ctx.recorder("statefulset-controller");
    const setInfo = resourceInfo("apps", "v1", "statefulsets");
    const podInfo = resourceInfo("", "v1", "pods");
    const claimInfo = resourceInfo("", "v1", "persistentvolumeclaims");
    const revisionInfo = resourceInfo("apps", "v1", "controllerrevisions");
    const sets = ctx.informers.forResource<StatefulSet>(setInfo);
    const claims = ctx.informers.forResource<PersistentVolumeClaim>(claimInfo);
    this.pods = ctx.informers.forResource<Pod>(podInfo);
    this.revisions = ctx.informers.forResource<ControllerRevision>(revisionInfo);
    const ownerUid = (o: Pod | ControllerRevision) => [
      controllerRefTo(o, "apps", "StatefulSet")?.uid,
    ];
    this.pods.addIndexers({ statefulSetUid: ownerUid });
    this.revisions.addIndexers({ statefulSetUid: ownerUid });
    this.sets = sets.lister();
    this.claims = claims.lister();
    this.informers = [sets, this.pods, this.revisions, claims] as SharedInformer[];
    this.setClient = ctx.client.resource<StatefulSet>(setInfo);
    this.podClient = ctx.client.resource<Pod>(podInfo);
    this.claimClient = ctx.client.resource<PersistentVolumeClaim>(claimInfo);
    this.revisionClient = ctx.client.resource<ControllerRevision>(revisionInfo);

    sets.addEventHandler(enqueueHandler(this.queue));
    const owner = (o: Pod | ControllerRevision) => [controllerKey(o, "apps", "StatefulSet")];
    this.pods.addEventHandler(enqueueHandler(this.queue, owner));
    this.revisions.addEventHandler(enqueueHandler(this.queue, owner));
  }

  protected cachesToSync() {
    return this.informers;
  }

  async sync(key: string): Promise<void> {
    const { namespace, name } = splitMetaNamespaceKey(key);
    const sts = this.sets.namespace(namespace).get(name);
    // A set being deleted leaves its pods to the garbage collector.
    if (!sts || sts.metadata.deletionTimestamp || !sts.spec?.template) return;
    const uid = sts.metadata.uid ?? "";
    const pods = [
      ...this.pods.lister().byIndex("statefulSetUid", uid),
      ...(await this.adoptOrphans(sts)),
    ];
    const revisions = this.revisions.lister().byIndex("statefulSetUid", uid);

    let update: ControllerRevision;
    try {
      update = await ensureRevision(
        this.revisionClient,
        { apiVersion: "apps/v1", kind: "StatefulSet", metadata: sts.metadata },
        sts.spec.template,
        revisions,
        sts.status?.collisionCount ?? 0,
      );
    } catch (e) {
      if (!(e instanceof HashCollisionError)) throw e;
      const next = structuredClone(sts);
      next.status = { ...(next.status ?? { replicas: 0 }) };
      next.status.collisionCount = (next.status.collisionCount ?? 0) + 1;
      await this.setClient.namespace(namespace).updateStatus(next);
      return;
    }
    const updateName = update.metadata.name ?? "";
    const current =
      revisions.find((r) => r.metadata.name === sts.status?.currentRevision) ?? update;
    const currentName = current.metadata.name ?? "";

    const plan = planStatefulSet({
      sts,
      pods,
      currentRevision: currentName,
      updateRevision: updateName,
      now: Date.now(),
    });

    for (const { ordinal, revision } of plan.create) {
      await this.createClaims(sts, ordinal);
      const r = revision === "current" ? current : update;
      const pod = newStatefulPod(sts, templateOfRevision(r), r.metadata.name ?? "", ordinal);
      try {
        await this.podClient.namespace(namespace).create(pod);
        this.event(
          sts,
          "SuccessfulCreate",
          `create Pod ${pod.metadata.name ?? ""} in StatefulSet ${name} successful`,
        );
      } catch (e) {
        if (!isAlreadyExists(e)) throw e; // our cache is behind: the next sync sees it
      }
    }
    if (sts.spec.persistentVolumeClaimRetentionPolicy?.whenScaled === "Delete") {
      for (const pod of plan.condemned) await this.claimsGoWithPod(sts, pod);
    }
    for (const pod of plan.delete) {
      try {
        await this.podClient.namespace(namespace).delete(pod.metadata.name ?? "");
        this.event(
          sts,
          "SuccessfulDelete",
          `delete Pod ${pod.metadata.name ?? ""} in StatefulSet ${name} successful`,
        );
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }

    // History: keep revisionHistoryLimit revisions besides the ones in use.
    const live = new Set([currentName, updateName, plan.status.currentRevision ?? ""]);
    for (const p of pods) live.add(p.metadata.labels?.[revisionLabel] ?? "");
    const limit = sts.spec.revisionHistoryLimit ?? 10;
    for (const old of historyToDelete(revisions, live, limit)) {
      await this.revisionClient
        .namespace(namespace)
        .delete(old.metadata.name ?? "")
        .catch((e: unknown) => {
          if (!isNotFound(e)) throw e;
        });
    }

    const minReady = sts.spec.minReadySeconds ?? 0;
    if (minReady > 0 && (plan.status.readyReplicas ?? 0) > (plan.status.availableReplicas ?? 0)) {
      this.queue.addAfter(key, minReady * 1000); // pods become available later: look again
    }
    if (isDeepStrictEqual(plan.status, sts.status ?? {})) return;
    const next = structuredClone(sts);
    next.status = plan.status;
    await this.setClient.namespace(namespace).updateStatus(next);
  }

  /**
   * Pods with no controller that the set's selector picks and that are named like its
   * pods (left behind by a delete --cascade=orphan) become the set's again.
   */
  private async adoptOrphans(sts: StatefulSet): Promise<Pod[]> {
    const ns = sts.metadata.namespace ?? "";
    const selector = selectorOf(sts.spec?.selector);
    const orphans = this.pods
      .lister()
      .namespace(ns)
      .list()
      .filter(
        (p) =>
          !controllerRef(p) &&
          !p.metadata.deletionTimestamp &&
          selects(selector, p) &&
          ordinalOf(sts.metadata.name ?? "", p) !== undefined,
      );
    const adopted: Pod[] = [];
    for (const orphan of orphans) {
      const next = structuredClone(orphan);
      next.metadata.ownerReferences = [
        ...(next.metadata.ownerReferences ?? []),
        newControllerRef(sts, "apps/v1", "StatefulSet"),
      ];
      try {
        adopted.push(await this.podClient.namespace(ns).update(next));
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
    return adopted;
  }

  /** The ordinal's claims, created when missing; existing ones are kept as they are. */
  private async createClaims(sts: StatefulSet, ordinal: number): Promise<void> {
    const ns = sts.metadata.namespace ?? "";
    for (const claim of newClaims(sts, ordinal)) {
      if (this.claims.namespace(ns).get(claim.metadata.name ?? "")) continue;
      try {
        await this.claimClient.namespace(ns).create(claim);
        this.event(
          sts,
          "SuccessfulCreate",
          `create Claim ${claim.metadata.name ?? ""} Pod ${sts.metadata.name ?? ""}-${ordinal} in StatefulSet ${sts.metadata.name ?? ""} success`,
        );
      } catch (e) {
        if (!isAlreadyExists(e)) throw e;
      }
    }
  }

  /** whenScaled: Delete — the condemned pod becomes its claims' owner, so they go with it. */
  private async claimsGoWithPod(sts: StatefulSet, pod: Pod): Promise<void> {
    const ordinal = Number(pod.metadata.labels?.["apps.kubernetes.io/pod-index"] ?? NaN);
    const ns = sts.metadata.namespace ?? "";
    const ref = {
      apiVersion: "v1",
      kind: "Pod",
      name: pod.metadata.name ?? "",
      uid: pod.metadata.uid ?? "",
    };
    for (const claim of newClaims(sts, Number.isNaN(ordinal) ? -1 : ordinal)) {
      const have = this.claims.namespace(ns).get(claim.metadata.name ?? "");
      if (!have || have.metadata.ownerReferences?.some((r) => r.uid === ref.uid)) continue;
      const next = structuredClone(have);
      next.metadata.ownerReferences = [...(next.metadata.ownerReferences ?? []), ref];
      await this.claimClient.namespace(ns).update(next);
    }
  }

  private event(sts: StatefulSet, reason: string, message: string): void {
    this.recorder.event(sts, "Normal", reason, message);
  }
}

export const newStatefulSetController: ControllerConstructor = (ctx) =>
  new StatefulSetController(ctx);
