// The scheduler: informers feed the cache and the queue; one loop pops a pod, decides, assumes
// it onto the node and binds it in the background; pods no node fits get a FailedScheduling
// event and a PodScheduled=False condition and wait for the cluster to change.
import {
  labelSelectorToRequirements,
  matchesLabels,
  resourceInfo,
  rfc3339,
  type Requirement,
} from "@skiff/api/light";
import {
  DeletedFinalStateUnknown,
  EventRecorder,
  type EventRecorderStats,
  SharedInformerFactory,
  stripManagedFields,
  defaultLogger,
  isConflict,
  isNotFound,
  type KubeObject,
  type Logger,
  type ResourceClient,
  type RestClient,
  type SharedInformer,
} from "@skiff/client";
import { SchedulerCache } from "./cache.js";
import { newPodInfo, type PodInfo } from "./framework/nodeinfo.js";
import { Algorithm } from "./framework/schedule.js";
import { FitError, NoNodesAvailableError } from "./errors.js";
import type { Budget, Preemption } from "./framework/preemption.js";
import type { SpreadGroup } from "./framework/scores.js";
import {
  SELECTED_NODE,
  planVolumes,
  type Claim,
  type Class,
  type Volume,
  type VolumePlan,
} from "./framework/volumes.js";
import { SchedulerMetrics, type AttemptResult } from "./metrics.js";
import { SchedulingQueue, type QueueOptions, type QueuedPodInfo } from "./queue.js";
import { podKey, type DisruptionBudget, type Node, type Pod, type Service } from "./types.js";

export const defaultSchedulerName = "default-scheduler";

export interface SchedulerOptions {
  client: RestClient;
  /**
   * The client Events are written through (default `client`). Give it one of its own, with
   * its own rate limit, so that events never take a binding's budget (kube-scheduler's
   * separate events clientset).
   */
  eventClient?: RestClient;
  /** Pods whose spec.schedulerName is this are ours (default "default-scheduler"). */
  schedulerName?: string;
  logger?: Logger;
  /** 0: Kubernetes' adaptive share of nodes to search in large clusters. */
  percentageOfNodesToScore?: number;
  /** Bindings in flight at once (default 64). */
  maxInFlightBindings?: number;
  queue?: QueueOptions;
  /** Who reports events (the host or replica name). */
  identity?: string;
}

/** Kubernetes truncates event and condition messages to this length. */
const maxMessageLength = 1024;
const truncate = (s: string) =>
  s.length <= maxMessageLength ? s : s.slice(0, maxMessageLength - 3) + "...";

const unwrap = <T extends KubeObject>(obj: T | DeletedFinalStateUnknown<T>): T =>
  obj instanceof DeletedFinalStateUnknown ? obj.obj : obj;
const isTerminal = (pod: Pod) =>
  pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed";
const asPodRef = (pod: Pod): KubeObject => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: pod.metadata,
});

export class Scheduler {
  readonly cache = new SchedulerCache();
  readonly queue: SchedulingQueue;
  readonly metrics: SchedulerMetrics;
  readonly schedulerName: string;
  private readonly factory: SharedInformerFactory;
  private readonly pods: SharedInformer<Pod>;
  private readonly nodes: SharedInformer<Node>;
  private readonly services: SharedInformer<Service>;
  private readonly claims: SharedInformer<Claim>;
  private readonly volumes: SharedInformer<Volume>;
  private readonly storageClasses: SharedInformer<Class>;
  private readonly claimClient: ResourceClient<Claim>;
  private readonly budgets: SharedInformer<DisruptionBudget>;
  private readonly algorithm: Algorithm;
  private readonly recorder: EventRecorder;
  private readonly log: Logger;
  private readonly podClient: ResourceClient<Pod>;
  private readonly maxInFlight: number;
  private inFlight = 0;
  private readonly bindings = new Set<Promise<void>>();
  private slotWaiters: (() => void)[] = [];
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly opts: SchedulerOptions) {
    this.schedulerName = opts.schedulerName ?? defaultSchedulerName;
    this.log = opts.logger ?? defaultLogger;
    this.queue = new SchedulingQueue(opts.queue);
    this.metrics = new SchedulerMetrics(() => this.queue.lengths());
    this.algorithm = new Algorithm({ percentageOfNodesToScore: opts.percentageOfNodesToScore });
    this.maxInFlight = opts.maxInFlightBindings ?? 64;
    this.recorder = new EventRecorder(opts.eventClient ?? opts.client, {
      component: this.schedulerName,
      host: opts.identity,
      logger: this.log,
    });
    const podsInfo = resourceInfo("", "v1", "pods");
    this.podClient = opts.client.resource<Pod>(podsInfo);
    // The scheduler never reads managedFields; kube-scheduler drops them from its caches too.
    this.factory = new SharedInformerFactory(opts.client, {
      logger: this.log,
      transform: stripManagedFields,
    });
    // Finished pods hold no resources: the scheduler never sees them.
    this.pods = this.factory.forResource<Pod>(podsInfo, {
      fieldSelector: "status.phase!=Succeeded,status.phase!=Failed",
    });
    this.nodes = this.factory.forResource<Node>(resourceInfo("", "v1", "nodes"));
    this.services = this.factory.forResource<Service>(resourceInfo("", "v1", "services"));
    const claimsInfo = resourceInfo("", "v1", "persistentvolumeclaims");
    this.claims = this.factory.forResource<Claim>(claimsInfo);
    this.claimClient = opts.client.resource<Claim>(claimsInfo);
    this.volumes = this.factory.forResource<Volume>(resourceInfo("", "v1", "persistentvolumes"));
    this.storageClasses = this.factory.forResource<Class>(
      resourceInfo("storage.k8s.io", "v1", "storageclasses"),
    );
    this.budgets = this.factory.forResource<DisruptionBudget>(
      resourceInfo("policy", "v1", "poddisruptionbudgets"),
    );
    this.addHandlers();
  }

  /** The disruption budgets preemption weighs (it avoids breaking them where it can). */
  private budgetList(): Budget[] {
    return this.budgets
      .lister()
      .list()
      .map((b) => {
        let selector: ReturnType<typeof labelSelectorToRequirements> | undefined;
        try {
          selector = b.spec?.selector ? labelSelectorToRequirements(b.spec.selector) : undefined;
        } catch {
          selector = undefined;
        }
        return {
          covers: (p: PodInfo) =>
            selector !== undefined &&
            p.pod.metadata.namespace === b.metadata.namespace &&
            matchesLabels(selector, p.pod.metadata.labels),
          disruptionsAllowed: b.status?.disruptionsAllowed ?? 0,
        };
      });
  }

  private responsible(pod: Pod): boolean {
    return (pod.spec.schedulerName || defaultSchedulerName) === this.schedulerName;
  }

  private addHandlers(): void {
    this.pods.addEventHandler({
      add: (pod) => this.onPod(undefined, pod),
      update: (old, pod) => {
        if (old.metadata.resourceVersion !== pod.metadata.resourceVersion) this.onPod(old, pod);
      },
      delete: (obj) => this.onPodDelete(unwrap(obj)),
    });
    this.nodes.addEventHandler({
      add: (node) => {
        this.cache.addNode(node);
        this.queue.moveAllToActiveOrBackoff("NodeAdd");
      },
      update: (old, node) => {
        if (old.metadata.resourceVersion === node.metadata.resourceVersion) return;
        this.cache.updateNode(node);
        if (nodeChangeMayHelp(old, node)) this.queue.moveAllToActiveOrBackoff("NodeUpdate");
      },
      delete: (obj) => this.cache.removeNode(unwrap(obj).metadata.name ?? ""),
    });
    // A claim or volume appearing or binding may unblock pods that wait for storage.
    for (const [informer, event] of [
      [this.claims, "PvcChange"],
      [this.volumes, "PvChange"],
      [this.storageClasses, "StorageClassAdd"],
    ] as const) {
      (informer as SharedInformer).addEventHandler({
        add: () => this.queue.moveAllToActiveOrBackoff(event),
        update: (old, obj) => {
          if (old.metadata.resourceVersion !== obj.metadata.resourceVersion)
            this.queue.moveAllToActiveOrBackoff(event);
        },
      });
    }
  }

  /** What the pod's claims say about where it may go (framework/volumes.ts). */
  private volumePlan(pod: Pod): VolumePlan {
    return planVolumes(pod, {
      claim: (ns, name) => this.claims.store.get(`${ns}/${name}`),
      volume: (name) => this.volumes.store.get(name),
      storageClass: (name) => this.storageClasses.store.get(name),
    });
  }

  private onPod(old: Pod | undefined, pod: Pod): void {
    if (isTerminal(pod)) return this.onPodDelete(pod);
    if (pod.spec.nodeName) {
      // Bound (by us or anyone): it leaves the queue and counts on its node.
      if (old && !old.spec.nodeName) this.queue.delete(pod);
      this.cache.addPod(pod);
      return;
    }
    if (!this.responsible(pod) || pod.metadata.deletionTimestamp) return;
    // Kubernetes' SchedulingGates pre-enqueue: a gated pod waits outside the queue until
    // whoever set the gates removes the last one.
    if (pod.spec.schedulingGates?.length) return this.queue.delete(pod);
    if (old && !old.spec.schedulingGates?.length) this.queue.update(pod, old);
    else this.queue.add(pod);
  }

  private onPodDelete(pod: Pod): void {
    if (pod.spec.nodeName || this.cache.nodeOf(podKey(pod))) {
      this.cache.removePod(pod);
      this.queue.moveAllToActiveOrBackoff("AssignedPodDelete");
    }
    this.queue.delete(pod);
  }

  /** Starts the informers; resolves once their caches are synced (false if stopped first). */
  async start(): Promise<boolean> {
    this.factory.start();
    return this.factory.waitForCacheSync();
  }

  /** Schedules pods until `signal` aborts or `stop()` is called. */
  run(signal?: AbortSignal): Promise<void> {
    this.running ??= this.loop(signal);
    return this.running;
  }

  private async loop(signal?: AbortSignal): Promise<void> {
    signal?.addEventListener("abort", () => this.queue.close(), { once: true });
    this.queue.run();
    let sinceYield = 0;
    for (;;) {
      const qp = await this.queue.pop();
      if (!qp || this.stopped || signal?.aborted) break;
      this.scheduleOne(qp);
      while (this.inFlight >= this.maxInFlight)
        await new Promise<void>((r) => this.slotWaiters.push(r));
      // Decisions are synchronous; let watch events and binding answers in now and then.
      if (++sinceYield >= 16) {
        sinceYield = 0;
        await new Promise((r) => setImmediate(r));
      }
    }
  }

  /** The event recorder's queue: waiting, dropped (queue full), filtered (spam). */
  eventStats(): EventRecorderStats {
    return this.recorder.stats();
  }

  /** Stops scheduling and the informers; waits for bindings in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.queue.close();
    for (const w of this.slotWaiters.splice(0)) w();
    await this.running;
    await Promise.allSettled([...this.bindings]);
    this.factory.stop();
    await this.recorder.stop();
  }

  /** The pods that count as one group for spreading: the pod's controller's, and its Services'. */
  private spreadGroup(pod: Pod): SpreadGroup {
    const namespace = pod.metadata.namespace ?? "";
    const controllerUID = pod.metadata.ownerReferences?.find((o) => o.controller)?.uid;
    const selectors: Requirement[][] = [];
    for (const svc of this.services.lister().namespace(namespace).list()) {
      const sel = svc.spec?.selector;
      if (!sel || Object.keys(sel).length === 0) continue;
      const reqs = labelSelectorToRequirements({ matchLabels: sel });
      if (matchesLabels(reqs, pod.metadata.labels)) selectors.push(reqs);
    }
    return { namespace, controllerUID, selectors };
  }

  /** One scheduling cycle, synchronous; the binding continues in the background. */
  scheduleOne(qp: QueuedPodInfo): void {
    const started = performance.now();
    const cycle = this.queue.schedulingCycle;
    const pod = this.pods.store.get(qp.key);
    // Gone, bound, being deleted, or already assumed: nothing to do.
    if (
      !pod ||
      pod.spec.nodeName ||
      pod.metadata.deletionTimestamp ||
      this.cache.nodeOf(qp.key) ||
      !this.responsible(pod)
    ) {
      this.queue.done(qp.key);
      return;
    }
    const info = newPodInfo(pod);
    const volumes = this.volumePlan(pod);
    if (volumes.blocked) {
      this.observe("unschedulable", started);
      const n = this.cache.nodes.length;
      this.recordUnschedulable(pod, `0/${n} nodes are available: ${volumes.blocked}.`);
      this.queue.addUnschedulable(qp, cycle);
      return;
    }
    info.volumeNodeTerms = volumes.nodeTerms;
    let nodeName: string;
    try {
      nodeName = this.algorithm.schedule(info, this.cache, this.spreadGroup(pod)).nodeName;
    } catch (e) {
      if (e instanceof FitError || e instanceof NoNodesAvailableError) {
        if (e instanceof FitError) {
          const preemption = this.algorithm.preempt(
            info,
            this.cache,
            e.failures,
            this.budgetList(),
          );
          if (preemption) this.track(this.preempt(pod, preemption));
        }
        this.observe("unschedulable", started);
        this.recordUnschedulable(pod, e.message);
        this.queue.addUnschedulable(qp, cycle);
      } else {
        this.observe("error", started);
        this.log.error({ pod: qp.key, err: e }, "scheduling failed");
        this.queue.addBackoff(qp);
      }
      return;
    }
    this.cache.assumePod(info, nodeName);
    this.inFlight++;
    const binding = this.bind(qp, info, nodeName, started, volumes.delayed).finally(() => {
      this.inFlight--;
      this.bindings.delete(binding);
      this.slotWaiters.shift()?.();
    });
    this.bindings.add(binding);
  }

  private track(work: Promise<void>): void {
    const p = work.finally(() => this.bindings.delete(p));
    this.bindings.add(p);
  }

  /**
   * Makes room for `pod`: nominates the node in its status and deletes the victims (each
   * with its own grace period). The pod is scheduled again once they are gone.
   */
  private async preempt(pod: Pod, { node, victims }: Preemption): Promise<void> {
    const { namespace = "", name = "" } = pod.metadata;
    try {
      await this.podClient
        .namespace(namespace)
        .patch(name, { status: { nominatedNodeName: node } }, "merge", { subresource: "status" });
      for (const v of victims) {
        const vm = v.pod.metadata;
        await this.podClient
          .namespace(vm.namespace ?? "")
          .delete(vm.name ?? "", vm.uid ? { preconditions: { uid: vm.uid } } : {})
          .catch((e: unknown) => {
            if (!isNotFound(e) && !isConflict(e)) throw e;
          });
        this.recorder.event(
          asPodRef(v.pod),
          "Normal",
          "Preempted",
          `Preempted by pod ${pod.metadata.uid ?? ""} on node ${node}`,
        );
      }
      this.log.info({ pod: podKey(pod), node, victims: victims.map((v) => v.key) }, "preempted");
    } catch (e) {
      this.log.warn({ pod: podKey(pod), node, err: e }, "preemption failed");
    }
  }

  private async bind(
    qp: QueuedPodInfo,
    info: PodInfo,
    nodeName: string,
    started: number,
    delayedClaims: string[] = [],
  ): Promise<void> {
    const { namespace = "", name = "", uid } = info.pod.metadata;
    try {
      // WaitForFirstConsumer: the claims learn the node, where their volumes are then made.
      for (const claim of delayedClaims) {
        await this.claimClient
          .namespace(namespace)
          .patch(claim, { metadata: { annotations: { [SELECTED_NODE]: nodeName } } }, "merge");
      }
      await this.podClient.namespace(namespace).bind(name, nodeName, uid ? { uid } : {});
    } catch (e) {
      this.cache.forgetPod(info.key);
      // The node's share is free again: pods waiting for room may fit now.
      this.queue.moveAllToActiveOrBackoff("AssumedPodForgotten");
      this.observe("error", started);
      if (
        isNotFound(e) ||
        (isConflict(e) && /already assigned|being deleted|UID/.test(e.message))
      ) {
        this.log.info(
          { pod: info.key, node: nodeName, err: e },
          "binding refused for good; dropping the pod",
        );
        this.queue.done(info.key);
      } else {
        this.log.warn({ pod: info.key, node: nodeName, err: e }, "binding failed; will retry");
        this.queue.addBackoff(qp);
      }
      return;
    }
    this.queue.done(info.key);
    this.observe("scheduled", started);
    this.metrics.podSchedulingDuration.observe(
      { attempts: String(qp.attempts) },
      (Date.now() - qp.initialTimestamp) / 1000,
    );
    this.recorder.event(
      asPodRef(info.pod),
      "Normal",
      "Scheduled",
      `Successfully assigned ${namespace}/${name} to ${nodeName}`,
    );
    this.log.debug({ pod: info.key, node: nodeName }, "bound");
  }

  private observe(result: AttemptResult, started: number): void {
    const labels = { result, profile: this.schedulerName };
    this.metrics.attempts.inc(labels);
    this.metrics.attemptDuration.observe(labels, (performance.now() - started) / 1000);
  }

  /** A FailedScheduling event, and PodScheduled=False through pods/status when it changed. */
  private recordUnschedulable(pod: Pod, message: string): void {
    const msg = truncate(message);
    this.recorder.event(asPodRef(pod), "Warning", "FailedScheduling", msg);
    const current = pod.status?.conditions?.find((c) => c.type === "PodScheduled");
    if (
      current?.status === "False" &&
      current.reason === "Unschedulable" &&
      current.message === msg
    )
      return;
    const condition = {
      type: "PodScheduled",
      status: "False",
      lastProbeTime: null,
      lastTransitionTime:
        current?.status === "False" && current.lastTransitionTime
          ? current.lastTransitionTime
          : rfc3339(),
      reason: "Unschedulable",
      message: msg,
    };
    const { namespace = "", name = "" } = pod.metadata;
    void this.podClient
      .namespace(namespace)
      .patch(name, { status: { conditions: [condition] } }, "strategic", { subresource: "status" })
      .catch((e: unknown) => {
        if (!isNotFound(e))
          this.log.warn({ pod: podKey(pod), err: e }, "cannot set the PodScheduled condition");
      });
  }
}

/** Whether a node change could let a pending pod fit (Kubernetes' node update queueing hints, roughly). */
export function nodeChangeMayHelp(old: Node, node: Node): boolean {
  const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
  return (
    !same(old.status?.allocatable, node.status?.allocatable) ||
    !same(old.metadata.labels, node.metadata.labels) ||
    !same(old.spec?.taints, node.spec?.taints) ||
    (old.spec?.unschedulable ?? false) !== (node.spec?.unschedulable ?? false) ||
    !same(old.status?.images, node.status?.images)
  );
}
