// The HorizontalPodAutoscaler controller (autoscaling/v2): every 15 s per HPA, read the
// target's scale subresource, the pods its selector picks and their metrics.k8s.io usage,
// compute the replica count each resource metric asks for (replicas.ts), keep the highest,
// stabilize and rate-limit it (behavior.ts), write the scale, and report status, the
// AbleToScale / ScalingActive / ScalingLimited conditions and events as Kubernetes does.
import {
  findResourceByKind,
  formatQuantity,
  matchesLabels,
  parseLabelSelector,
  parseQuantity,
  resourceInfo,
  rfc3339,
  type HorizontalPodAutoscalerCondition,
  type MetricSpec,
  type MetricStatus,
  type PodMetrics,
} from "@skiff/api/light";
import {
  isNotFound,
  splitMetaNamespaceKey,
  type EventRecorder,
  type Lister,
  type ResourceClient,
  type Scale,
  type SharedInformer,
  type WorkQueue,
} from "@skiff/client";
import {
  enqueueHandler,
  newQueue,
  QueueController,
  type Controller,
  type ControllerContext,
} from "../../controller.js";
import type { HorizontalPodAutoscaler, Pod } from "../../objects.js";
import { emptyHistory, normalizeReplicas, recordScale, type History } from "./behavior.js";
import {
  resourceReplicas,
  toUnits,
  type PodMetric,
  type ResourceName,
  type Target,
} from "./replicas.js";
import { MetricError, ReplicaCalcError } from "../../errors.js";

/** --horizontal-pod-autoscaler-sync-period */
export const SYNC_PERIOD_MS = 15_000;

const hpaInfo = resourceInfo("autoscaling", "v2", "horizontalpodautoscalers");
const podsInfo = resourceInfo("", "v1", "pods");

/** What one metric asked for, or why it could not. */
interface Proposal {
  replicas: number;
  status: MetricStatus;
  /** "cpu resource utilization (percentage of request)" */
  description: string;
}

type Condition = { status: "True" | "False"; reason: string; message: string };

export interface HPAControllerOptions {
  syncPeriodMs?: number;
  now?: () => number;
  /**
   * Where PodMetrics come from; by default metrics.k8s.io through the apiserver. Tests of
   * the controller alone (no kubelets) pass a stand-in.
   */
  podMetrics?: (namespace: string, selector: string) => Promise<PodMetrics[]>;
}

export class HorizontalPodAutoscalerController extends QueueController {
  readonly name = "horizontalpodautoscaling";
  protected readonly queue: WorkQueue<string>;
  private readonly hpaInformer: SharedInformer<HorizontalPodAutoscaler>;
  private readonly podInformer: SharedInformer<Pod>;
  readonly hpaLister: Lister<HorizontalPodAutoscaler>;
  readonly podLister: Lister<Pod>;
  private readonly hpas: ResourceClient<HorizontalPodAutoscaler>;
  private readonly recorder: EventRecorder;
  /** Recent recommendations and scale events per HPA key (Kubernetes keeps them in memory). */
  private readonly histories = new Map<string, History>();
  private readonly syncPeriodMs: number;
  private readonly now: () => number;
  private readonly fetchPodMetrics: (ns: string, selector: string) => Promise<PodMetrics[]>;

  constructor(ctx: ControllerContext, opts: HPAControllerOptions = {}) {
    super(ctx);
    this.syncPeriodMs = opts.syncPeriodMs ?? SYNC_PERIOD_MS;
    this.now = opts.now ?? Date.now;
    this.fetchPodMetrics = opts.podMetrics ?? ((ns, selector) => this.metricsApi(ns, selector));
    this.queue = newQueue(ctx, this.name);
    this.hpaInformer = ctx.informers.forResource<HorizontalPodAutoscaler>(hpaInfo);
    this.podInformer = ctx.informers.forResource<Pod>(podsInfo);
    this.hpaLister = this.hpaInformer.lister();
    this.podLister = this.podInformer.lister();
    this.hpas = ctx.client.resource<HorizontalPodAutoscaler>(hpaInfo);
    this.recorder = ctx.recorder("horizontal-pod-autoscaler");
    // A new HPA or a changed spec is synced at once; a status-only change (our own writes)
    // waits for the periodic sync, as Kubernetes' fixed-interval HPA queue does.
    const changes = enqueueHandler<HorizontalPodAutoscaler>(this.queue);
    this.hpaInformer.addEventHandler({
      ...changes,
      update: (oldHpa, hpa) => {
        if (oldHpa.metadata.generation === hpa.metadata.generation) return;
        changes.update?.(oldHpa, hpa);
      },
    });
  }

  protected cachesToSync() {
    return [this.hpaInformer, this.podInformer];
  }

  async sync(key: string): Promise<void> {
    const { namespace, name } = splitMetaNamespaceKey(key);
    const cached = this.hpaLister.namespace(namespace).get(name);
    if (!cached) {
      this.histories.delete(key);
      return;
    }
    try {
      await this.reconcile(key, structuredClone(cached));
    } finally {
      // Level-triggered on a clock: metrics change without any object changing.
      this.queue.addAfter(key, this.syncPeriodMs);
    }
  }

  private async reconcile(key: string, hpa: HorizontalPodAutoscaler): Promise<void> {
    const ns = hpa.metadata.namespace ?? "default";
    const spec = hpa.spec!;
    const ref = spec.scaleTargetRef;
    const conditions = new Map<string, Condition>();
    const status = {
      ...(hpa.status ?? { desiredReplicas: 0 }),
      observedGeneration: hpa.metadata.generation,
    };
    const fail = async (type: string, reason: string, message: string): Promise<void> => {
      conditions.set(type, { status: "False", reason, message });
      this.recorder.event(hpa, "Warning", reason, message);
      await this.writeStatus(hpa, status, conditions);
    };

    const target = findResourceByKind(ref.apiVersion ?? "", ref.kind);
    if (!target?.subresources.includes("scale")) {
      const gv = ref.apiVersion ?? "";
      return fail(
        "AbleToScale",
        "FailedGetScale",
        `the HPA controller was unable to get the target's current scale: no matches for kind "${ref.kind}" in group "${gv.includes("/") ? gv.split("/")[0] : ""}"`,
      );
    }
    const targets = this.ctx.client.resource(target).namespace(ns);
    let scale: Scale;
    try {
      scale = await targets.getScale(ref.name);
    } catch (err) {
      return fail(
        "AbleToScale",
        "FailedGetScale",
        `the HPA controller was unable to get the target's current scale: ${message(err)}`,
      );
    }
    conditions.set("AbleToScale", {
      status: "True",
      reason: "SucceededGetScale",
      message: "the HPA controller was able to get the target's current scale",
    });
    const current = scale.spec.replicas ?? 0;
    const min = spec.minReplicas ?? 1;
    const max = spec.maxReplicas;
    status.currentReplicas = current;
    let desired: number;
    let rescaleReason = "";
    const now = this.now();

    if (current === 0 && min !== 0) {
      desired = 0;
      conditions.set("ScalingActive", {
        status: "False",
        reason: "ScalingDisabled",
        message: "scaling is disabled since the replica count of the target is zero",
      });
    } else if (current > max) {
      desired = max;
      rescaleReason = "Current number of replicas above Spec.MaxReplicas";
    } else if (current < min) {
      desired = min;
      rescaleReason = "Current number of replicas below Spec.MinReplicas";
    } else {
      const selectorText = scale.status?.selector;
      if (!selectorText) {
        return fail(
          "ScalingActive",
          "InvalidSelector",
          "the HPA target's scale is missing a selector",
        );
      }
      const proposals: Proposal[] = [];
      let lastError: { reason: string; message: string } | undefined;
      const statuses: MetricStatus[] = [];
      for (const metric of spec.metrics ?? []) {
        try {
          const p = await this.proposal(ns, selectorText, metric, current, now);
          proposals.push(p);
          statuses.push(p.status);
        } catch (err) {
          const reason =
            metric.type === "Resource" || metric.type === "ContainerResource"
              ? `FailedGet${metric.type}Metric`
              : "FailedGetExternalMetric";
          lastError = { reason, message: message(err) };
          this.recorder.event(hpa, "Warning", reason, message(err));
          statuses.push({ type: "" });
        }
      }
      if (proposals.length === 0) {
        return fail(
          "ScalingActive",
          lastError?.reason ?? "FailedGetResourceMetric",
          `the HPA was unable to compute the replica count: ${lastError?.message ?? "no metrics"}`,
        );
      }
      status.currentMetrics = statuses.filter((s) => s.type !== "");
      const best = proposals.reduce((a, b) => (b.replicas > a.replicas ? b : a));
      let proposed = best.replicas;
      // With a metric that cannot be read, only scaling up is allowed (as Kubernetes does).
      if (lastError && proposed < current) proposed = current;
      conditions.set("ScalingActive", {
        status: "True",
        reason: "ValidMetricFound",
        message: `the HPA was able to successfully calculate a replica count from ${best.description}`,
      });
      const result = normalizeReplicas({
        currentReplicas: current,
        desiredReplicas: proposed,
        minReplicas: min,
        maxReplicas: max,
        behavior: spec.behavior,
        history: this.histories.get(key) ?? emptyHistory(),
        now,
      });
      this.histories.set(key, result.history);
      conditions.set("AbleToScale", result.ableToScale);
      conditions.set("ScalingLimited", result.scalingLimited);
      desired = result.replicas;
      rescaleReason =
        desired > current ? `${best.description} above target` : "All metrics below target";
    }

    if (desired !== current && !(current === 0 && min !== 0)) {
      try {
        await targets.updateScale(ref.name, {
          ...scale,
          spec: { ...scale.spec, replicas: desired },
        });
      } catch (err) {
        conditions.set("AbleToScale", {
          status: "False",
          reason: "FailedUpdateScale",
          message: `the HPA controller was unable to update the target scale: ${message(err)}`,
        });
        this.recorder.event(
          hpa,
          "Warning",
          "FailedRescale",
          `New size: ${desired}; reason: ${rescaleReason}; error: ${message(err)}`,
        );
        status.desiredReplicas = current;
        await this.writeStatus(hpa, status, conditions);
        throw err;
      }
      conditions.set("AbleToScale", {
        status: "True",
        reason: "SucceededRescale",
        message: `the HPA controller was able to update the target scale to ${desired}`,
      });
      this.recorder.event(
        hpa,
        "Normal",
        "SuccessfulRescale",
        `New size: ${desired}; reason: ${rescaleReason}`,
      );
      this.histories.set(
        key,
        recordScale(
          this.histories.get(key) ?? emptyHistory(),
          current,
          desired,
          spec.behavior,
          now,
        ),
      );
      status.lastScaleTime = rfc3339(now);
    }
    status.desiredReplicas = desired;
    await this.writeStatus(hpa, status, conditions);
  }

  /** The replica count one metric asks for, with its status entry. */
  private async proposal(
    ns: string,
    selectorText: string,
    metric: MetricSpec,
    current: number,
    now: number,
  ): Promise<Proposal> {
    const source =
      metric.type === "Resource"
        ? metric.resource
        : metric.type === "ContainerResource"
          ? metric.containerResource
          : undefined;
    if (!source) {
      throw new MetricError(
        `unable to get metric of type ${metric.type}: only resource metrics are served`,
      );
    }
    const resource = source.name as ResourceName;
    if (resource !== "cpu" && resource !== "memory") {
      throw new MetricError(
        `unable to get metrics for resource ${source.name}: no metrics returned`,
      );
    }
    const container =
      metric.type === "ContainerResource" ? metric.containerResource!.container : undefined;
    const selector = parseLabelSelector(selectorText);
    const pods = this.podLister
      .namespace(ns)
      .list()
      .filter((p) => matchesLabels(selector, p.metadata.labels));
    const metrics = await this.podMetrics(ns, selectorText, resource, container);
    let t: Target;
    if (source.target.averageValue !== undefined) {
      t = {
        type: "AverageValue",
        averageValue: toUnits(resource, parseQuantity(source.target.averageValue)),
      };
    } else {
      t = { type: "Utilization", averageUtilization: source.target.averageUtilization ?? 80 };
    }
    let r;
    try {
      r = resourceReplicas({
        currentReplicas: current,
        resource,
        target: t,
        pods,
        metrics,
        now,
        container,
      });
    } catch (err) {
      if (err instanceof ReplicaCalcError) {
        throw new MetricError(`failed to get ${resource} utilization: ${err.message}`, {
          cause: err,
        });
      }
      throw err;
    }
    const value =
      resource === "cpu"
        ? formatQuantity(Math.round(r.averageValue) / 1000, "cpu")
        : formatQuantity(r.averageValue, "memory");
    const currentStatus =
      t.type === "Utilization"
        ? { averageValue: value, averageUtilization: r.utilization }
        : { averageValue: value };
    const status: MetricStatus =
      metric.type === "Resource"
        ? { type: "Resource", resource: { name: resource, current: currentStatus } }
        : {
            type: "ContainerResource",
            containerResource: { name: resource, container: container!, current: currentStatus },
          };
    const description =
      t.type === "Utilization"
        ? `${resource} resource utilization (percentage of request)`
        : `${resource} resource`;
    return { replicas: r.replicas, status, description };
  }

  /** metrics.k8s.io PodMetrics for the selector, as usage per pod in calculator units. */
  private async podMetrics(
    ns: string,
    selector: string,
    resource: ResourceName,
    container: string | undefined,
  ): Promise<Map<string, PodMetric>> {
    let items: PodMetrics[];
    try {
      items = await this.fetchPodMetrics(ns, selector);
    } catch (err) {
      throw new MetricError(
        `unable to get metrics for resource ${resource}: unable to fetch metrics from resource metrics API: ${message(err)}`,
        { cause: err },
      );
    }
    const out = new Map<string, PodMetric>();
    for (const item of items) {
      let value = 0;
      let found = false;
      for (const c of item.containers ?? []) {
        if (container && c.name !== container) continue;
        const q = c.usage?.[resource];
        if (q === undefined) continue;
        value += toUnits(resource, parseQuantity(q));
        found = true;
      }
      if (!found) continue;
      out.set(item.metadata.name ?? "", {
        value,
        timestamp: Date.parse(item.timestamp) || this.now(),
        windowMs: (Number.parseFloat(item.window) || 15) * 1000,
      });
    }
    return out;
  }

  /** GET metrics.k8s.io/v1beta1 PodMetrics in a namespace by label selector. */
  private async metricsApi(ns: string, selector: string): Promise<PodMetrics[]> {
    const path = `/apis/metrics.k8s.io/v1beta1/namespaces/${encodeURIComponent(ns)}/pods`;
    const list = (await this.ctx.client.request("GET", path, {
      query: { labelSelector: selector },
    })) as { items?: PodMetrics[] } | undefined;
    return list?.items ?? [];
  }

  /** Writes status with the conditions merged into the old ones (transition times kept). */
  private async writeStatus(
    hpa: HorizontalPodAutoscaler,
    status: NonNullable<HorizontalPodAutoscaler["status"]>,
    conditions: Map<string, Condition>,
  ): Promise<void> {
    const nowText = rfc3339(this.now());
    const old = hpa.status?.conditions ?? [];
    const merged: HorizontalPodAutoscalerCondition[] = [];
    for (const type of ["AbleToScale", "ScalingActive", "ScalingLimited"]) {
      const c = conditions.get(type);
      const prev = old.find((o) => o.type === type);
      if (!c) {
        if (prev) merged.push(prev);
        continue;
      }
      merged.push({
        type,
        status: c.status,
        lastTransitionTime:
          prev && prev.status === c.status ? (prev.lastTransitionTime ?? nowText) : nowText,
        reason: c.reason,
        message: c.message,
      });
    }
    const next = { ...status, conditions: merged };
    if (JSON.stringify(next) === JSON.stringify(hpa.status ?? {})) return;
    try {
      await this.hpas.namespace(hpa.metadata.namespace ?? "default").updateStatus({
        ...hpa,
        status: next,
      });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export const newHorizontalPodAutoscalerController = (ctx: ControllerContext): Controller =>
  new HorizontalPodAutoscalerController(ctx);
