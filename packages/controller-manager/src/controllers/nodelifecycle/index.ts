// The node lifecycle controller: notices nodes whose kubelet went silent (no Lease renewal
// for the grace period) and marks their conditions Unknown, keeps the not-ready and
// unreachable taints in step with the Ready condition, and evicts pods from nodes with
// NoExecute taints once their tolerations run out, so their owners recreate them elsewhere.
import {
  resourceInfo,
  rfc3339,
  type NodeCondition,
  type Taint,
  type Toleration,
} from "@skiff/api/light";
import { isNotFound, splitMetaNamespaceKey } from "@skiff/client";
import type {
  EventRecorder,
  Lister,
  ResourceClient,
  SharedInformer,
  WorkQueue,
} from "@skiff/client";
import {
  enqueueHandler,
  newQueue,
  QueueController,
  type ControllerContext,
} from "../../controller.js";
import type { Lease, Node, Pod } from "../../objects.js";

export const nodeLeaseNamespace = "kube-node-lease";
export const unreachableTaintKey = "node.kubernetes.io/unreachable";
export const notReadyTaintKey = "node.kubernetes.io/not-ready";
/** The conditions the kubelet posts; all turn Unknown when it goes silent. */
const kubeletConditions = ["Ready", "MemoryPressure", "DiskPressure", "PIDPressure"];

export interface NodeLifecycleOptions {
  /** --node-monitor-grace-period: silence after which a node is Unknown (default 40 s). */
  nodeMonitorGracePeriodMs?: number;
  /** --node-eviction-rate: nodes per second that may get a NoExecute taint (default 0.1). */
  nodeEvictionRate?: number;
}

/** The NoSchedule + NoExecute taints the Ready condition calls for (none when Ready). */
export function taintsForReady(status: string | undefined, now: string): Taint[] {
  const key =
    status === "True" ? undefined : status === "False" ? notReadyTaintKey : unreachableTaintKey;
  if (!key) return [];
  return [
    { key, effect: "NoSchedule" },
    { key, effect: "NoExecute", timeAdded: now },
  ];
}

function tolerates(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.operator === "Exists") return !t.key || t.key === taint.key;
  return t.key === taint.key && (t.value ?? "") === (taint.value ?? "");
}

/**
 * When a pod on a node with these NoExecute taints must go (ms since epoch): now when a
 * taint is not tolerated, never (undefined) when all are tolerated forever, otherwise
 * the earliest taint time plus its shortest tolerationSeconds.
 */
export function evictionTime(pod: Pod, noExecute: Taint[], now: number): number | undefined {
  let at: number | undefined;
  for (const taint of noExecute) {
    const matching = (pod.spec?.tolerations ?? []).filter((t) => tolerates(t, taint));
    if (matching.length === 0) return now;
    const seconds = matching
      .map((t) => t.tolerationSeconds)
      .filter((s): s is number => typeof s === "number");
    if (seconds.length === 0) continue; // tolerated forever
    const added = taint.timeAdded ? Date.parse(taint.timeAdded) : now;
    const t = (Number.isNaN(added) ? now : added) + Math.max(0, Math.min(...seconds)) * 1000;
    at = at === undefined ? t : Math.min(at, t);
  }
  return at;
}

export class NodeLifecycleController extends QueueController {
  readonly name = "nodelifecycle";
  readonly queue: WorkQueue<string>;
  private readonly nodes: Lister<Node>;
  private readonly leases: Lister<Lease>;
  private readonly pods: SharedInformer<Pod>;
  private readonly informers: SharedInformer[];
  private readonly nodeClient: ResourceClient<Node>;
  private readonly podClient: ResourceClient<Pod>;
  private readonly recorder: EventRecorder;
  private readonly graceMs: number;
  private readonly evictionIntervalMs: number;
  /** Per node: what the kubelet last wrote (lease renewTime, Ready heartbeat) and when we saw it change. */
  private readonly health = new Map<string, { signature: string; probeAt: number }>();
  private lastNoExecuteAt = -Infinity;

  constructor(ctx: ControllerContext, opts: NodeLifecycleOptions = {}) {
    super(ctx);
    this.graceMs = opts.nodeMonitorGracePeriodMs ?? 40_000;
    const rate = opts.nodeEvictionRate ?? 0.1;
    this.evictionIntervalMs = rate > 0 ? 1000 / rate : 0;
    this.queue = newQueue(ctx, this.name);
    this.recorder = ctx.recorder("node-controller");
    const nodesInfo = resourceInfo("", "v1", "nodes");
    const podsInfo = resourceInfo("", "v1", "pods");
    const nodes = ctx.informers.forResource<Node>(nodesInfo);
    const leases = ctx.informers.forResource<Lease>(
      resourceInfo("coordination.k8s.io", "v1", "leases"),
      { namespace: nodeLeaseNamespace },
    );
    this.pods = ctx.informers.forResource<Pod>(podsInfo);
    this.pods.addIndexers({ nodeName: (p) => [p.spec?.nodeName] });
    this.nodes = nodes.lister();
    this.leases = leases.lister();
    this.informers = [nodes, leases, this.pods] as SharedInformer[];
    this.nodeClient = ctx.client.resource<Node>(nodesInfo);
    this.podClient = ctx.client.resource<Pod>(podsInfo);

    nodes.addEventHandler(enqueueHandler<Node>(this.queue));
    leases.addEventHandler(enqueueHandler<Lease>(this.queue, (l) => [l.metadata.name]));
    this.pods.addEventHandler(enqueueHandler<Pod>(this.queue, (p) => [p.spec?.nodeName]));
  }

  protected cachesToSync() {
    return this.informers;
  }

  async sync(key: string): Promise<void> {
    const { name } = splitMetaNamespaceKey(key);
    const node = this.nodes.get(name);
    if (!node) {
      this.health.delete(name);
      return;
    }
    const now = Date.now();
    if (await this.checkSilence(node, now)) return; // the status write brings us back
    if (await this.reconcileTaints(node, now)) return; // so does the taint write
    await this.markPodsNotReady(node, now);
    await this.evictPods(node, now);
  }

  /**
   * No kubelet speaks for the pods of a node in state Unknown: mark them not Ready, so
   * Services stop sending them traffic before they are evicted.
   */
  private async markPodsNotReady(node: Node, now: number): Promise<void> {
    const ready = node.status?.conditions?.find((c) => c.type === "Ready");
    if (ready?.status !== "Unknown") return;
    for (const pod of this.pods.lister().byIndex("nodeName", node.metadata.name ?? "")) {
      const conditions = pod.status?.conditions ?? [];
      if (!conditions.some((c) => c.type === "Ready" && c.status === "True")) continue;
      const next = structuredClone(pod);
      next.status = {
        ...(next.status ?? {}),
        conditions: conditions.map((c) =>
          c.type === "Ready"
            ? { ...c, status: "False", reason: "NodeNotReady", lastTransitionTime: rfc3339(now) }
            : c,
        ),
      };
      try {
        await this.podClient.namespace(pod.metadata.namespace ?? "").updateStatus(next);
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
  }

  /** Marks the kubelet's conditions Unknown once it has been silent too long; true if it wrote. */
  private async checkSilence(node: Node, now: number): Promise<boolean> {
    const name = node.metadata.name ?? "";
    const conditions = node.status?.conditions ?? [];
    const ready = conditions.find((c) => c.type === "Ready");
    const renew = this.leases.namespace(nodeLeaseNamespace).get(name)?.spec?.renewTime ?? "";
    // We time silence on our own clock, from when we saw the kubelet write last.
    const signature = `${renew}|${ready?.lastHeartbeatTime ?? ""}`;
    const seen = this.health.get(name);
    if (!seen || seen.signature !== signature) {
      this.health.set(name, { signature, probeAt: now });
    }
    const probeAt = this.health.get(name)!.probeAt;
    if (now - probeAt < this.graceMs) {
      this.queue.addAfter(name, probeAt + this.graceMs - now + 100);
      return false;
    }
    if (ready?.status === "Unknown") return false;
    const stamp = rfc3339(now);
    const next = structuredClone(node);
    const updated: NodeCondition[] = [];
    for (const type of kubeletConditions) {
      const c = conditions.find((x) => x.type === type);
      if (!c && type !== "Ready") continue;
      updated.push({
        ...(c ?? {}),
        type,
        status: "Unknown",
        reason: c ? "NodeStatusUnknown" : "NodeStatusNeverUpdated",
        message: c ? "Kubelet stopped posting node status." : "Kubelet never posted node status.",
        lastTransitionTime: stamp,
        ...(c?.lastHeartbeatTime ? {} : { lastHeartbeatTime: stamp }),
      });
    }
    next.status = {
      ...(next.status ?? {}),
      conditions: [
        ...conditions.filter((c) => !updated.some((u) => u.type === c.type)),
        ...updated,
      ],
    };
    try {
      await this.nodeClient.updateStatus(next);
    } catch (e) {
      if (isNotFound(e)) return true;
      throw e;
    }
    this.ctx.log.info({ node: name }, "node stopped posting status; marked Unknown");
    this.recorder.event(node, "Normal", "NodeNotReady", `Node ${name} status is now: NodeNotReady`);
    return true;
  }

  /** Makes the not-ready/unreachable taints match the Ready condition; true if it wrote. */
  private async reconcileTaints(node: Node, now: number): Promise<boolean> {
    const ready = node.status?.conditions?.find((c) => c.type === "Ready");
    if (!ready) return false; // not yet reported: checkSilence marks it Unknown in time
    const current = node.spec?.taints ?? [];
    const ours = (t: Taint) => t.key === unreachableTaintKey || t.key === notReadyTaintKey;
    let want = taintsForReady(ready.status, rfc3339(now));
    // Keep what is already there as it is (its timeAdded starts the toleration clocks).
    want = want.map((w) => current.find((c) => c.key === w.key && c.effect === w.effect) ?? w);
    const addsNoExecute = want.some(
      (w) =>
        w.effect === "NoExecute" && !current.some((c) => c.key === w.key && c.effect === w.effect),
    );
    if (addsNoExecute) {
      // Tainting NoExecute evicts a whole node's pods: pace it (--node-eviction-rate).
      const wait = this.lastNoExecuteAt + this.evictionIntervalMs - now;
      if (wait > 0) {
        this.queue.addAfter(node.metadata.name ?? "", wait);
        want = want.filter(
          (w) =>
            w.effect !== "NoExecute" ||
            current.some((c) => c.key === w.key && c.effect === w.effect),
        );
      }
    }
    const next = [...current.filter((t) => !ours(t)), ...want];
    const same =
      next.length === current.length &&
      next.every((t) => current.some((c) => c.key === t.key && c.effect === t.effect));
    if (same) return false;
    const update = structuredClone(node);
    update.spec = { ...(update.spec ?? {}), taints: next };
    if (next.length === 0) delete update.spec.taints;
    try {
      await this.nodeClient.update(update);
    } catch (e) {
      if (isNotFound(e)) return true;
      throw e;
    }
    if (want.some((w) => w.effect === "NoExecute") && addsNoExecute) this.lastNoExecuteAt = now;
    this.ctx.log.info(
      { node: node.metadata.name, taints: next.map((t) => `${t.key}:${t.effect}`) },
      "updated node taints",
    );
    return true;
  }

  /** Deletes the pods whose tolerations of the node's NoExecute taints have run out. */
  private async evictPods(node: Node, now: number): Promise<void> {
    const name = node.metadata.name ?? "";
    const noExecute = (node.spec?.taints ?? []).filter((t) => t.effect === "NoExecute");
    if (noExecute.length === 0) return;
    let nextCheck: number | undefined;
    for (const pod of this.pods.lister().byIndex("nodeName", name)) {
      if (pod.metadata.deletionTimestamp) continue;
      const at = evictionTime(pod, noExecute, now);
      if (at === undefined) continue;
      if (at > now) {
        nextCheck = nextCheck === undefined ? at : Math.min(nextCheck, at);
        continue;
      }
      const ns = pod.metadata.namespace ?? "";
      try {
        await this.podClient
          .namespace(ns)
          .delete(pod.metadata.name ?? "", { preconditions: { uid: pod.metadata.uid ?? "" } });
      } catch (e) {
        if (!isNotFound(e)) throw e;
        continue;
      }
      this.ctx.log.info({ node: name, pod: `${ns}/${pod.metadata.name ?? ""}` }, "evicted pod");
      this.recorder.event(
        pod,
        "Normal",
        "TaintManagerEviction",
        `Marking for deletion Pod ${ns}/${pod.metadata.name ?? ""}`,
      );
    }
    if (nextCheck !== undefined) this.queue.addAfter(name, nextCheck - now + 50);
  }
}

/** Fits the registry as is, or with options: `(ctx) => newNodeLifecycleController(ctx, opts)`. */
export const newNodeLifecycleController = (
  ctx: ControllerContext,
  opts: NodeLifecycleOptions = {},
): NodeLifecycleController => new NodeLifecycleController(ctx, opts);
