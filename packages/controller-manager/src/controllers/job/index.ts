// The Job controller: runs a Job's pods to `completions` successes, `parallelism` at a
// time, retrying failures (with exponential backoff) up to `backoffLimit`, and ends the
// Job Complete or Failed (BackoffLimitExceeded, DeadlineExceeded); finished Jobs with
// `ttlSecondsAfterFinished` are deleted once it passes.
import { isDeepStrictEqual } from "node:util";
import {
  isPodReady,
  resourceInfo,
  rfc3339,
  type JobCondition,
  type JobStatus,
} from "@skiff/api/light";
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
  type ControllerContext,
} from "../../controller.js";
import { Expectations, ownedPodHandler } from "../../expectations.js";
import { isPodActive, type BatchJob as Job, type Pod } from "../../objects.js";

export interface JobControllerOptions {
  /** First delay before recreating a failed pod; doubles per failure up to 6 min (default 10 s). */
  podFailureBackoffMs?: number;
}

/** A pod for a Job, from its template, owned by the Job. */
export function newPodForJob(job: Job): Pod {
  const template = job.spec?.template;
  const name = job.metadata.name ?? "";
  return podFromTemplate(template, job, newControllerRef(job, "batch/v1", "Job"), {
    labels: { "batch.kubernetes.io/job-name": name, "job-name": name },
  });
}

function finishedCondition(job: Job): JobCondition | undefined {
  return job.status?.conditions?.find(
    (c) => (c.type === "Complete" || c.type === "Failed") && c.status === "True",
  );
}

/** Failures that count toward backoffLimit: failed pods, plus container restarts under OnFailure. */
export function countFailures(job: Job, pods: Pod[]): { failedPods: number; failures: number } {
  const failedPods = pods.filter((p) => p.status?.phase === "Failed").length;
  let restarts = 0;
  if (job.spec?.template.spec?.restartPolicy === "OnFailure") {
    for (const p of pods) {
      for (const c of p.status?.containerStatuses ?? []) restarts += c.restartCount;
    }
  }
  return { failedPods, failures: failedPods + restarts };
}

export class JobController extends QueueController {
  readonly name = "job";
  readonly queue: WorkQueue<string>;
  private readonly jobs: Lister<Job>;
  private readonly pods: SharedInformer<Pod>;
  private readonly informers: SharedInformer[];
  private readonly jobClient: ResourceClient<Job>;
  private readonly podClient: ResourceClient<Pod>;
  private readonly recorder: EventRecorder;
  private readonly expectations = new Expectations();
  private readonly backoffMs: number;
  /** Per Job: the failure count last seen and when it last grew (the backoff clock). */
  private readonly lastFailure = new Map<string, { failures: number; at: number }>();

  constructor(ctx: ControllerContext, opts: JobControllerOptions = {}) {
    super(ctx);
    this.backoffMs = opts.podFailureBackoffMs ?? 10_000;
    this.queue = newQueue(ctx, this.name);
    this.recorder = ctx.recorder("job-controller");
    const jobsInfo = resourceInfo("batch", "v1", "jobs");
    const podsInfo = resourceInfo("", "v1", "pods");
    const jobs = ctx.informers.forResource<Job>(jobsInfo);
    this.pods = ctx.informers.forResource<Pod>(podsInfo);
    this.pods.addIndexers({ jobUid: (p) => [controllerRefTo(p, "batch", "Job")?.uid] });
    this.jobs = jobs.lister();
    this.informers = [jobs, this.pods] as SharedInformer[];
    this.jobClient = ctx.client.resource<Job>(jobsInfo);
    this.podClient = ctx.client.resource<Pod>(podsInfo);

    const enqueueJob = (j: Job) => this.queue.add(metaNamespaceKey(j));
    jobs.addEventHandler({
      add: enqueueJob,
      update: (o, n) => o.metadata.resourceVersion !== n.metadata.resourceVersion && enqueueJob(n),
      delete: (j) => {
        const job = unwrapTombstone(j);
        this.expectations.delete(metaNamespaceKey(job));
        this.lastFailure.delete(metaNamespaceKey(job));
      },
    });
    // Pods enqueue their Job, and settle the creations and deletions we expect.
    this.pods.addEventHandler(
      ownedPodHandler(this.queue, this.expectations, (p: Pod) => controllerKey(p, "batch", "Job")),
    );
  }

  protected cachesToSync() {
    return this.informers;
  }

  async sync(key: string): Promise<void> {
    const { namespace, name } = splitMetaNamespaceKey(key);
    const job = this.jobs.namespace(namespace).get(name);
    if (!job || job.metadata.deletionTimestamp) return;
    if (!this.expectations.satisfied(key)) return; // our own writes are still on their way
    const now = Date.now();
    const finished = finishedCondition(job);
    if (finished) return this.cleanUpFinished(job, finished, now);

    const pods = this.pods.lister().byIndex("jobUid", job.metadata.uid ?? "");
    const active = pods.filter(isPodActive);
    const succeeded = pods.filter((p) => p.status?.phase === "Succeeded").length;
    const { failedPods, failures } = countFailures(job, pods);
    const spec = job.spec!;
    const status: JobStatus = structuredClone(job.status ?? {});
    status.startTime ??= rfc3339(now);
    const started = Date.parse(status.startTime);

    let finish: { type: "Complete" | "Failed"; reason: string; message: string } | undefined;
    const deadline = spec.activeDeadlineSeconds;
    if (deadline !== undefined && now - started >= deadline * 1000) {
      finish = {
        type: "Failed",
        reason: "DeadlineExceeded",
        message: "Job was active longer than specified deadline",
      };
    } else if (failures > (spec.backoffLimit ?? 6)) {
      finish = {
        type: "Failed",
        reason: "BackoffLimitExceeded",
        message: "Job has reached the specified backoff limit",
      };
    } else if (
      spec.completions !== undefined && spec.completions !== null
        ? succeeded >= spec.completions
        : succeeded > 0 && active.length === 0
    ) {
      finish = { type: "Complete", reason: "Completed", message: "Job completed" };
    }

    let activeCount = active.length;
    if (finish || spec.suspend) {
      // A finished or suspended Job runs nothing.
      activeCount -= await this.deletePods(key, active);
    } else {
      const parallelism = spec.parallelism ?? 1;
      const want =
        spec.completions !== undefined && spec.completions !== null
          ? Math.min(parallelism, spec.completions - succeeded)
          : succeeded > 0
            ? 0
            : parallelism;
      if (want > active.length) {
        const wait = this.backoffRemaining(key, failures, now);
        if (wait > 0) this.queue.addAfter(key, wait);
        else activeCount += await this.createPods(key, job, want - active.length);
      } else if (want < active.length) {
        // Newest first: they have done the least work.
        const extra = [...active]
          .sort((a, b) =>
            (b.metadata.creationTimestamp ?? "").localeCompare(a.metadata.creationTimestamp ?? ""),
          )
          .slice(0, active.length - want);
        activeCount -= await this.deletePods(key, extra);
      }
      if (deadline !== undefined) this.queue.addAfter(key, started + deadline * 1000 - now + 50);
    }

    status.active = activeCount;
    status.ready = finish ? 0 : active.filter(isPodReady).length;
    status.succeeded = succeeded;
    status.failed = failedPods;
    if (finish) {
      const stamp = rfc3339(now);
      status.conditions = [
        ...(status.conditions ?? []).filter((c) => c.type !== finish.type),
        {
          type: finish.type,
          status: "True",
          reason: finish.reason,
          message: finish.message,
          lastProbeTime: stamp,
          lastTransitionTime: stamp,
        },
      ];
      if (finish.type === "Complete") status.completionTime = stamp;
      this.recorder.event(
        job,
        finish.type === "Complete" ? "Normal" : "Warning",
        finish.reason,
        finish.message,
      );
    }
    if (isDeepStrictEqual(status, job.status ?? {})) return;
    const next = structuredClone(job);
    next.status = status;
    await this.jobClient.namespace(namespace).updateStatus(next);
  }

  /** How long to wait before replacing failed pods (0: now). */
  private backoffRemaining(key: string, failures: number, now: number): number {
    if (failures === 0) return 0;
    let seen = this.lastFailure.get(key);
    if (!seen || seen.failures !== failures) {
      seen = { failures, at: now };
      this.lastFailure.set(key, seen);
    }
    const delay = Math.min(this.backoffMs * 2 ** (failures - 1), 360_000);
    return seen.at + delay - now;
  }

  private async createPods(key: string, job: Job, n: number): Promise<number> {
    this.expectations.expectCreations(key, n);
    const pods = this.podClient.namespace(job.metadata.namespace ?? "");
    let created = 0;
    for (let i = 0; i < n; i++) {
      try {
        const pod = await pods.create(newPodForJob(job));
        created++;
        this.recorder.event(
          job,
          "Normal",
          "SuccessfulCreate",
          `Created pod: ${pod.metadata.name ?? ""}`,
        );
      } catch (e) {
        // Creations that failed will never be observed.
        this.expectations.creationObserved(key, n - created);
        throw e;
      }
    }
    return created;
  }

  private async deletePods(key: string, pods: Pod[]): Promise<number> {
    if (pods.length === 0) return 0;
    this.expectations.expectDeletions(
      key,
      pods.map((p) => p.metadata.uid ?? ""),
    );
    let deleted = 0;
    for (const p of pods) {
      try {
        await this.podClient.namespace(p.metadata.namespace ?? "").delete(p.metadata.name ?? "");
        deleted++;
      } catch (e) {
        this.expectations.deletionObserved(key, p.metadata.uid ?? "");
        if (!isNotFound(e)) throw e;
      }
    }
    return deleted;
  }

  /** ttlSecondsAfterFinished: delete the Job (its pods follow through the GC) once it passes. */
  private async cleanUpFinished(job: Job, finished: JobCondition, now: number): Promise<void> {
    const ttl = job.spec?.ttlSecondsAfterFinished;
    if (ttl === undefined || ttl === null) return;
    const at = Date.parse(job.status?.completionTime ?? finished.lastTransitionTime ?? "");
    const expires = (Number.isNaN(at) ? now : at) + ttl * 1000;
    const key = metaNamespaceKey(job);
    if (expires > now) {
      this.queue.addAfter(key, expires - now + 50);
      return;
    }
    try {
      await this.jobClient.namespace(job.metadata.namespace ?? "").delete(job.metadata.name ?? "", {
        propagationPolicy: "Background",
        preconditions: { uid: job.metadata.uid ?? "" },
      });
      this.ctx.log.info({ job: key }, "deleted finished job after its TTL");
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
}

/** Fits the registry as is, or with options: `(ctx) => newJobController(ctx, opts)`. */
export const newJobController = (
  ctx: ControllerContext,
  opts: JobControllerOptions = {},
): JobController => new JobController(ctx, opts);
