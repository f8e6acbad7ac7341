// The DaemonSet controller: one pod per eligible node (nodeSelector, required node affinity,
// taints the pod tolerates), replaced node by node on a template change (RollingUpdate,
// maxUnavailable). Its pods are pinned to their node by node affinity on metadata.name,
// as in Kubernetes, and the scheduler binds them.
import { isDeepStrictEqual } from "node:util";
import * as api from "@skiff/api/light";
import { isNotFound, metaNamespaceKey, splitMetaNamespaceKey } from "@skiff/client";
import type {
  EventRecorder,
  Lister,
  ResourceClient,
  SharedInformer,
  WorkQueue,
} from "@skiff/client";
import {
  controllerKey,
  controllerRefTo,
  newControllerRef,
  newQueue,
  podFromTemplate,
  QueueController,
  unwrapTombstone,
  type ControllerConstructor,
  type ControllerContext,
} from "../../controller.js";
import { Expectations, ownedPodHandler } from "../../expectations.js";
import { ensureRevision, historyToDelete, revisionHashLabel } from "../../history.js";
import {
  isPodAvailable,
  type ControllerRevision,
  type DaemonSet,
  type Node,
  type Pod,
} from "../../objects.js";
import { HashCollisionError } from "../../errors.js";

type Toleration = api.Toleration;
type Taint = api.Taint;

/** The label that tells which template generation a pod was made from. */
export const templateGenerationLabel = "pod-template-generation";
/** The label naming the hash of the ControllerRevision a pod was made from. */
export const revisionHashPodLabel = "controller-revision-hash";

/** Tolerations every daemon pod gets, so node trouble does not evict or block it. */
export function daemonTolerations(hostNetwork: boolean): Toleration[] {
  const t: Toleration[] = [
    { key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoExecute" },
    { key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute" },
    { key: "node.kubernetes.io/disk-pressure", operator: "Exists", effect: "NoSchedule" },
    { key: "node.kubernetes.io/memory-pressure", operator: "Exists", effect: "NoSchedule" },
    { key: "node.kubernetes.io/pid-pressure", operator: "Exists", effect: "NoSchedule" },
    { key: "node.kubernetes.io/unschedulable", operator: "Exists", effect: "NoSchedule" },
  ];
  if (hostNetwork) {
    t.push({
      key: "node.kubernetes.io/network-unavailable",
      operator: "Exists",
      effect: "NoSchedule",
    });
  }
  return t;
}

function withDaemonTolerations(spec: api.PodSpec | undefined): Toleration[] {
  const own = spec?.tolerations ?? [];
  const extra = daemonTolerations(spec?.hostNetwork === true).filter(
    (d) => !own.some((o) => o.key === d.key && (o.effect ?? "") === d.effect),
  );
  return [...own, ...extra];
}

function tolerates(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.operator === "Exists") return !t.key || t.key === taint.key;
  return t.key === taint.key && (t.value ?? "") === (taint.value ?? "");
}

/** Whether a daemon pod of this DaemonSet should run on the node. */
export function shouldRunOn(ds: DaemonSet, node: Node): boolean {
  const spec = ds.spec?.template.spec;
  const labels = node.metadata.labels ?? {};
  for (const [k, v] of Object.entries(spec?.nodeSelector ?? {})) if (labels[k] !== v) return false;
  const terms =
    spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  if (terms && terms.length > 0) {
    const fields = { "metadata.name": node.metadata.name ?? "" };
    const ok = terms.some(
      (term) =>
        (term.matchExpressions?.length || term.matchFields?.length) &&
        (term.matchExpressions ?? []).every((r) => api.nodeSelectorRequirementMatches(r, labels)) &&
        (term.matchFields ?? []).every((r) => api.nodeSelectorRequirementMatches(r, fields)),
    );
    if (!ok) return false;
  }
  const tolerations = withDaemonTolerations(spec);
  return (node.spec?.taints ?? [])
    .filter((t) => t.effect === "NoSchedule" || t.effect === "NoExecute")
    .every((taint) => tolerations.some((t) => tolerates(t, taint)));
}

/** A daemon pod for one node: the template, owned by the DaemonSet, pinned by node affinity. */
export function newDaemonPod(ds: DaemonSet, nodeName: string, revisionHash = ""): Pod {
  const template = ds.spec!.template;
  const spec = structuredClone(template.spec!);
  spec.tolerations = withDaemonTolerations(spec);
  spec.affinity = {
    ...(spec.affinity ?? {}),
    nodeAffinity: {
      ...(spec.affinity?.nodeAffinity ?? {}),
      requiredDuringSchedulingIgnoredDuringExecution: {
        nodeSelectorTerms: [
          { matchFields: [{ key: "metadata.name", operator: "In", values: [nodeName] }] },
        ],
      },
    },
  };
  return podFromTemplate(template, ds, newControllerRef(ds, "apps/v1", "DaemonSet"), {
    labels: {
      [templateGenerationLabel]: String(ds.metadata.generation ?? 1),
      ...(revisionHash ? { [revisionHashPodLabel]: revisionHash } : {}),
    },
    spec,
  });
}

/** The node a daemon pod is for: where it is bound, else where its affinity pins it. */
export function daemonPodNode(pod: Pod): string | undefined {
  if (pod.spec?.nodeName) return pod.spec.nodeName;
  const terms =
    pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution
      ?.nodeSelectorTerms ?? [];
  for (const term of terms) {
    for (const f of term.matchFields ?? []) {
      if (f.key === "metadata.name" && f.operator === "In" && f.values?.length === 1)
        return f.values[0];
    }
  }
  return undefined;
}

/** maxUnavailable as a number of nodes (percentages round up; never below 1). */
export function maxUnavailable(ds: DaemonSet, desired: number): number {
  const v = ds.spec?.updateStrategy?.rollingUpdate?.maxUnavailable ?? 1;
  const n =
    typeof v === "number"
      ? v
      : v.endsWith("%")
        ? Math.ceil((Number(v.slice(0, -1)) * desired) / 100)
        : Number(v);
  return Number.isFinite(n) && n >= 1 ? n : 1;
}

export class DaemonSetController extends QueueController {
  readonly name = "daemonset";
  readonly queue: WorkQueue<string>;
  private readonly daemonSets: Lister<DaemonSet>;
  private readonly nodes: Lister<Node>;
  private readonly pods: SharedInformer<Pod>;
  private readonly informers: SharedInformer[];
  private readonly dsClient: ResourceClient<DaemonSet>;
  private readonly podClient: ResourceClient<Pod>;
  private readonly revisions: SharedInformer<ControllerRevision>;
  private readonly revisionClient: ResourceClient<ControllerRevision>;
  private readonly recorder: EventRecorder;
  private readonly expectations = new Expectations();

  constructor(ctx: ControllerContext) {
    super(ctx);
    this.queue = newQueue(ctx, this.name);
    this.recorder = ctx.recorder("daemonset-controller");
    const dsInfo = api.resourceInfo("apps", "v1", "daemonsets");
    const podsInfo = api.resourceInfo("", "v1", "pods");
    const daemonSets = ctx.informers.forResource<DaemonSet>(dsInfo);
    const nodes = ctx.informers.forResource<Node>(api.resourceInfo("", "v1", "nodes"));
    this.pods = ctx.informers.forResource<Pod>(podsInfo);
    this.pods.addIndexers({ daemonSetUid: (p) => [controllerRefTo(p, "apps", "DaemonSet")?.uid] });
    this.daemonSets = daemonSets.lister();
    this.nodes = nodes.lister();
    const revisionInfo = api.resourceInfo("apps", "v1", "controllerrevisions");
    this.revisions = ctx.informers.forResource<ControllerRevision>(revisionInfo);
    this.revisions.addIndexers({
      daemonSetUid: (r) => [controllerRefTo(r, "apps", "DaemonSet")?.uid],
    });
    this.revisionClient = ctx.client.resource<ControllerRevision>(revisionInfo);
    this.informers = [daemonSets, nodes, this.pods, this.revisions] as SharedInformer[];
    this.dsClient = ctx.client.resource<DaemonSet>(dsInfo);
    this.podClient = ctx.client.resource<Pod>(podsInfo);

    const enqueue = (ds: DaemonSet) => this.queue.add(metaNamespaceKey(ds));
    daemonSets.addEventHandler({
      add: enqueue,
      update: (o, n) => o.metadata.resourceVersion !== n.metadata.resourceVersion && enqueue(n),
      delete: (d) => this.expectations.delete(metaNamespaceKey(unwrapTombstone(d))),
    });
    // Any node change may change where daemons belong: every DaemonSet takes a look.
    const all = () => this.daemonSets.list().forEach(enqueue);
    nodes.addEventHandler({
      add: all,
      update: (o, n) => o.metadata.resourceVersion !== n.metadata.resourceVersion && all(),
      delete: all,
    });
    this.pods.addEventHandler(
      ownedPodHandler(this.queue, this.expectations, (p: Pod) =>
        controllerKey(p, "apps", "DaemonSet"),
      ),
    );
  }

  protected cachesToSync() {
    return this.informers;
  }

  async sync(key: string): Promise<void> {
    const { namespace, name } = splitMetaNamespaceKey(key);
    const ds = this.daemonSets.namespace(namespace).get(name);
    if (!ds || ds.metadata.deletionTimestamp || !ds.spec?.template.spec) return;
    if (!this.expectations.satisfied(key)) return;
    const revisionHash = await this.syncHistory(ds);
    if (revisionHash === undefined) return;
    const generation = String(ds.metadata.generation ?? 1);
    const now = Date.now();

    const byNode = new Map<string, Pod[]>();
    const toDelete: Pod[] = [];
    for (const pod of this.pods.lister().byIndex("daemonSetUid", ds.metadata.uid ?? "")) {
      if (pod.metadata.deletionTimestamp) continue;
      const node = daemonPodNode(pod);
      if (pod.status?.phase === "Failed" || !node) {
        toDelete.push(pod); // a failed daemon is replaced
        continue;
      }
      byNode.set(node, [...(byNode.get(node) ?? []), pod]);
    }

    const toCreate: string[] = [];
    const placed: Pod[] = []; // the one pod kept on each eligible node
    let misscheduled = 0;
    const nodeNames = new Set<string>();
    for (const node of this.nodes.list()) {
      const nodeName = node.metadata.name ?? "";
      nodeNames.add(nodeName);
      const here = (byNode.get(nodeName) ?? []).sort((a, b) =>
        (a.metadata.creationTimestamp ?? "").localeCompare(b.metadata.creationTimestamp ?? ""),
      );
      if (!shouldRunOn(ds, node)) {
        if (here.length > 0) misscheduled++;
        toDelete.push(...here);
      } else if (here.length === 0) {
        toCreate.push(nodeName);
      } else {
        placed.push(here[0]!);
        toDelete.push(...here.slice(1)); // one daemon per node: keep the oldest
      }
    }
    for (const [nodeName, pods] of byNode) if (!nodeNames.has(nodeName)) toDelete.push(...pods);

    // RollingUpdate: replace old pods, never leaving more than maxUnavailable nodes without
    // an available daemon. Old pods that are not available anyway go first, for free.
    const desired = placed.length + toCreate.length;
    const minReady = ds.spec.minReadySeconds ?? 0;
    if ((ds.spec.updateStrategy?.type ?? "RollingUpdate") === "RollingUpdate") {
      const old = placed.filter((p) => p.metadata.labels?.[templateGenerationLabel] !== generation);
      const unavailable =
        toCreate.length + placed.filter((p) => !isPodAvailable(p, minReady, now)).length;
      let budget = maxUnavailable(ds, desired) - unavailable;
      for (const p of old) {
        if (!isPodAvailable(p, minReady, now)) toDelete.push(p);
        else if (budget > 0) {
          toDelete.push(p);
          budget--;
        }
      }
    }

    await this.deletePods(key, toDelete);
    await this.createPods(key, ds, toCreate, revisionHash);

    const kept = placed.filter((p) => !toDelete.includes(p));
    const available = kept.filter((p) => isPodAvailable(p, minReady, now)).length;
    const status: api.DaemonSetStatus = {
      ...structuredClone(ds.status ?? {}),
      desiredNumberScheduled: desired,
      currentNumberScheduled: placed.length,
      numberMisscheduled: misscheduled,
      numberReady: kept.filter(api.isPodReady).length,
      updatedNumberScheduled: kept.filter(
        (p) => p.metadata.labels?.[templateGenerationLabel] === generation,
      ).length,
      numberAvailable: available,
      numberUnavailable: desired - available,
      observedGeneration: ds.metadata.generation ?? 1,
    };
    if (minReady > 0 && kept.some((p) => api.isPodReady(p) && !isPodAvailable(p, minReady, now))) {
      this.queue.addAfter(key, minReady * 1000); // becomes available later: look again
    }
    if (isDeepStrictEqual(status, ds.status ?? {})) return;
    const next = structuredClone(ds);
    next.status = status;
    await this.dsClient.namespace(namespace).updateStatus(next);
  }

  /**
   * Records the template as a ControllerRevision (for kubectl rollout history|undo) and
   * trims old ones; returns the revision's hash, or undefined after a hash collision
   * (collisionCount grew: the next sync uses a new name).
   */
  private async syncHistory(ds: DaemonSet): Promise<string | undefined> {
    const revisions = this.revisions.lister().byIndex("daemonSetUid", ds.metadata.uid ?? "");
    let update: ControllerRevision;
    try {
      update = await ensureRevision(
        this.revisionClient,
        { apiVersion: "apps/v1", kind: "DaemonSet", metadata: ds.metadata },
        ds.spec!.template,
        revisions,
        ds.status?.collisionCount ?? 0,
      );
    } catch (e) {
      if (!(e instanceof HashCollisionError)) throw e;
      const next = structuredClone(ds);
      next.status = { ...next.status!, collisionCount: (ds.status?.collisionCount ?? 0) + 1 };
      await this.dsClient.namespace(ds.metadata.namespace ?? "").updateStatus(next);
      return undefined;
    }
    const live = new Set([update.metadata.name ?? ""]);
    const hashes = new Set(
      this.pods
        .lister()
        .byIndex("daemonSetUid", ds.metadata.uid ?? "")
        .map((p) => p.metadata.labels?.[revisionHashPodLabel]),
    );
    for (const r of revisions)
      if (hashes.has(r.metadata.labels?.[revisionHashLabel])) live.add(r.metadata.name ?? "");
    const limit = ds.spec?.revisionHistoryLimit ?? 10;
    for (const old of historyToDelete(revisions, live, limit)) {
      await this.revisionClient
        .namespace(ds.metadata.namespace ?? "")
        .delete(old.metadata.name ?? "")
        .catch((e: unknown) => {
          if (!isNotFound(e)) throw e;
        });
    }
    return update.metadata.labels?.[revisionHashLabel] ?? "";
  }

  private async createPods(
    key: string,
    ds: DaemonSet,
    nodes: string[],
    revisionHash: string,
  ): Promise<void> {
    if (nodes.length === 0) return;
    this.expectations.expectCreations(key, nodes.length);
    const client = this.podClient.namespace(ds.metadata.namespace ?? "");
    for (const [i, nodeName] of nodes.entries()) {
      try {
        const pod = await client.create(newDaemonPod(ds, nodeName, revisionHash));
        this.recorder.event(
          ds,
          "Normal",
          "SuccessfulCreate",
          `Created pod: ${pod.metadata.name ?? ""}`,
        );
      } catch (e) {
        this.expectations.creationObserved(key, nodes.length - i);
        throw e;
      }
    }
  }

  private async deletePods(key: string, pods: Pod[]): Promise<void> {
    if (pods.length === 0) return;
    this.expectations.expectDeletions(
      key,
      pods.map((p) => p.metadata.uid ?? ""),
    );
    for (const p of pods) {
      try {
        await this.podClient.namespace(p.metadata.namespace ?? "").delete(p.metadata.name ?? "");
        this.recorder.event(
          p,
          "Normal",
          "SuccessfulDelete",
          `Deleted pod: ${p.metadata.name ?? ""}`,
        );
      } catch (e) {
        this.expectations.deletionObserved(key, p.metadata.uid ?? "");
        if (!isNotFound(e)) throw e;
      }
    }
  }
}

export const newDaemonSetController: ControllerConstructor = (ctx) => new DaemonSetController(ctx);
