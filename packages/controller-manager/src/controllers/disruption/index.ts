// The disruption controller: keeps each PodDisruptionBudget's status (currentHealthy,
// desiredHealthy, expectedPods, disruptionsAllowed, disruptedPods) from the pods its
// selector picks and the scale of their controllers. The apiserver's eviction subresource
// reads that status. Decisions are in budget.ts.
import { isDeepStrictEqual } from "node:util";
import { splitMetaNamespaceKey } from "@skiff/client";
import type { Lister, ResourceClient, SharedInformer, WorkQueue } from "@skiff/client";
import {
  controllerRefTo,
  enqueueHandler,
  newQueue,
  QueueController,
  unwrapTombstone,
  type ControllerContext,
} from "../../controller.js";
import {
  selectorOf,
  selects,
  type Deployment,
  type Pod,
  type PodDisruptionBudget,
  type ReplicaSet,
  type StatefulSet,
} from "../../objects.js";
import { resourceInfo } from "@skiff/api/light";
import { DISRUPTED_POD_TIMEOUT_MS, budgetStatus, type ScaleOf } from "./budget.js";

export class DisruptionController extends QueueController {
  readonly name = "disruption";
  readonly queue: WorkQueue<string>;
  private readonly budgets: Lister<PodDisruptionBudget>;
  private readonly pods: Lister<Pod>;
  private readonly replicaSets: Lister<ReplicaSet>;
  private readonly deployments: Lister<Deployment>;
  private readonly statefulSets: Lister<StatefulSet>;
  private readonly informers: SharedInformer[];
  private readonly client: ResourceClient<PodDisruptionBudget>;

  constructor(
    ctx: ControllerContext,
    private readonly now: () => number = Date.now,
  ) {
    super(ctx);
    this.queue = newQueue(ctx, this.name);
    const pdbInfo = resourceInfo("policy", "v1", "poddisruptionbudgets");
    const budgets = ctx.informers.forResource<PodDisruptionBudget>(pdbInfo);
    const pods = ctx.informers.forResource<Pod>(resourceInfo("", "v1", "pods"));
    const rs = ctx.informers.forResource<ReplicaSet>(resourceInfo("apps", "v1", "replicasets"));
    const deploy = ctx.informers.forResource<Deployment>(resourceInfo("apps", "v1", "deployments"));
    const sts = ctx.informers.forResource<StatefulSet>(resourceInfo("apps", "v1", "statefulsets"));
    this.budgets = budgets.lister();
    this.pods = pods.lister();
    this.replicaSets = rs.lister();
    this.deployments = deploy.lister();
    this.statefulSets = sts.lister();
    this.informers = [budgets, pods, rs, deploy, sts] as SharedInformer[];
    this.client = ctx.client.resource<PodDisruptionBudget>(pdbInfo);
    budgets.addEventHandler(enqueueHandler(this.queue));
    // A pod change concerns every budget whose selector picks the pod.
    const forPod = (p: Pod) =>
      this.budgetsFor(p).map((b) => `${b.metadata.namespace ?? ""}/${b.metadata.name ?? ""}`);
    pods.addEventHandler({
      add: (p) => forPod(p).forEach((k) => this.queue.add(k)),
      update: (o, n) => {
        if (o.metadata.resourceVersion !== n.metadata.resourceVersion)
          forPod(n).forEach((k) => this.queue.add(k));
      },
      delete: (p) => forPod(unwrapTombstone(p)).forEach((k) => this.queue.add(k)),
    });
    // Scale changes change expectedPods: every budget of the namespace takes a look.
    const all = (o: { metadata: { namespace?: string } }) =>
      this.budgets
        .namespace(o.metadata.namespace ?? "")
        .list()
        .forEach((b) => this.queue.add(`${b.metadata.namespace ?? ""}/${b.metadata.name ?? ""}`));
    for (const informer of [rs, deploy, sts] as SharedInformer[]) {
      informer.addEventHandler({
        update: (o, n) => o.metadata.resourceVersion !== n.metadata.resourceVersion && all(n),
      });
    }
  }

  protected cachesToSync() {
    return this.informers;
  }

  private budgetsFor(pod: Pod): PodDisruptionBudget[] {
    return this.budgets
      .namespace(pod.metadata.namespace ?? "")
      .list()
      .filter((b) => selects(selectorOf(b.spec?.selector), pod));
  }

  /** The replicas of a pod's top controller: a Deployment over its ReplicaSet, a StatefulSet. */
  private readonly scaleOf: ScaleOf = (pod) => {
    const ns = pod.metadata.namespace ?? "";
    const rsRef = controllerRefTo(pod, "apps", "ReplicaSet");
    if (rsRef) {
      const rs = this.replicaSets.namespace(ns).get(rsRef.name);
      const dRef = rs ? controllerRefTo(rs, "apps", "Deployment") : undefined;
      const d = dRef ? this.deployments.namespace(ns).get(dRef.name) : undefined;
      if (d) return { uid: d.metadata.uid ?? "", replicas: d.spec?.replicas ?? 1 };
      if (rs) return { uid: rs.metadata.uid ?? "", replicas: rs.spec?.replicas ?? 1 };
      return undefined;
    }
    const stsRef = controllerRefTo(pod, "apps", "StatefulSet");
    const sts = stsRef ? this.statefulSets.namespace(ns).get(stsRef.name) : undefined;
    return sts ? { uid: sts.metadata.uid ?? "", replicas: sts.spec?.replicas ?? 1 } : undefined;
  };

  async sync(key: string): Promise<void> {
    const { namespace, name } = splitMetaNamespaceKey(key);
    const pdb = this.budgets.namespace(namespace).get(name);
    if (!pdb || pdb.metadata.deletionTimestamp) return;
    const selector = selectorOf(pdb.spec?.selector);
    const pods = this.pods
      .namespace(namespace)
      .list()
      .filter((p) => selects(selector, p));
    const status = budgetStatus(pdb, pods, this.scaleOf, this.now());
    if (status.disruptedPods) this.queue.addAfter(key, DISRUPTED_POD_TIMEOUT_MS);
    if (isDeepStrictEqual(status, pdb.status ?? {})) return;
    const next = structuredClone(pdb);
    next.status = status;
    await this.client.namespace(namespace).updateStatus(next);
  }
}

export const newDisruptionController = (ctx: ControllerContext) => new DisruptionController(ctx);
