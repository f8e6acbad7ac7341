// The CronJob controller: at each scheduled time (a cron schedule in the CronJob's time
// zone) it creates one Job `<cronjob>-<minutes>`, honouring concurrencyPolicy (Allow,
// Forbid, Replace), startingDeadlineSeconds and suspend; it keeps status.active,
// lastScheduleTime and lastSuccessfulTime, and deletes finished Jobs beyond the history
// limits. Decisions are in plan.ts; the sync re-queues the key for the next scheduled time.
import { isDeepStrictEqual } from "node:util";
import {
  parseSchedule,
  resourceInfo,
  rfc3339,
  type CronJobStatus,
  type Schedule,
} from "@skiff/api/light";
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
  controllerRefTo,
  enqueueHandler,
  newQueue,
  QueueController,
  type ControllerConstructor,
  type ControllerContext,
} from "../../controller.js";
import { type BatchJob, type CronJob } from "../../objects.js";
import { dueTime, finishedAs, jobName, jobsToClean, newJobFromCronJob } from "./plan.js";

export interface CronJobControllerOptions {
  /** The clock, in ms (tests move it). */
  now?: () => number;
}

type ActiveRef = NonNullable<CronJobStatus["active"]>[number];

function refTo(job: BatchJob): ActiveRef {
  return {
    kind: "Job",
    apiVersion: "batch/v1",
    namespace: job.metadata.namespace,
    name: job.metadata.name,
    uid: job.metadata.uid,
    resourceVersion: job.metadata.resourceVersion,
  };
}

export class CronJobController extends QueueController {
  readonly name = "cronjob";
  readonly queue: WorkQueue<string>;
  private readonly cronJobs: Lister<CronJob>;
  private readonly jobs: SharedInformer<BatchJob>;
  private readonly informers: SharedInformer[];
  private readonly cronJobClient: ResourceClient<CronJob>;
  private readonly jobClient: ResourceClient<BatchJob>;
  private readonly recorder: EventRecorder;
  private readonly now: () => number;

  constructor(ctx: ControllerContext, opts: CronJobControllerOptions = {}) {
    super(ctx);
    this.now = opts.now ?? Date.now;
    this.queue = newQueue(ctx, this.name);
    this.recorder = ctx.recorder("cronjob-controller");
    const cjInfo = resourceInfo("batch", "v1", "cronjobs");
    const jobInfo = resourceInfo("batch", "v1", "jobs");
    const cronJobs = ctx.informers.forResource<CronJob>(cjInfo);
    this.jobs = ctx.informers.forResource<BatchJob>(jobInfo);
    this.jobs.addIndexers({ cronJobUid: (j) => [controllerRefTo(j, "batch", "CronJob")?.uid] });
    this.cronJobs = cronJobs.lister();
    this.informers = [cronJobs, this.jobs] as SharedInformer[];
    this.cronJobClient = ctx.client.resource<CronJob>(cjInfo);
    this.jobClient = ctx.client.resource<BatchJob>(jobInfo);
    cronJobs.addEventHandler(enqueueHandler(this.queue));
    this.jobs.addEventHandler(
      enqueueHandler(this.queue, (j) => [controllerKey(j, "batch", "CronJob")]),
    );
  }

  protected cachesToSync() {
    return this.informers;
  }

  async sync(key: string): Promise<void> {
    const { namespace, name } = splitMetaNamespaceKey(key);
    const cj = this.cronJobs.namespace(namespace).get(name);
    if (!cj?.spec) return;
    const now = new Date(this.now());
    const jobs = this.jobs.lister().byIndex("cronJobUid", cj.metadata.uid ?? "");
    const status = structuredClone(cj.status ?? {});
    await this.reconcileActive(cj, jobs, status);

    const write = () => this.writeStatus(cj, status);
    if (cj.metadata.deletionTimestamp) return write();
    let schedule: Schedule;
    try {
      schedule = parseSchedule(cj.spec.schedule, cj.spec.timeZone);
    } catch (e) {
      // Validation refuses such schedules; one stored earlier would never work: say so once.
      this.recorder.event(
        cj,
        "Warning",
        "UnparseableSchedule",
        `unparseable schedule: ${String(e)}`,
      );
      return write();
    }
    await this.cleanUp(cj, jobs);
    if (cj.spec.suspend) return write();

    const due = dueTime(cj, schedule, now);
    if (due.next) this.queue.addAfter(key, due.next.getTime() - now.getTime() + 100);
    if (!due.time) return write();
    if (due.missed > 100) {
      this.recorder.event(
        cj,
        "Warning",
        "TooManyMissedTimes",
        "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew",
      );
    }
    const deadline = cj.spec.startingDeadlineSeconds;
    if (deadline != null && due.time.getTime() + deadline * 1000 < now.getTime()) {
      this.recorder.event(
        cj,
        "Warning",
        "MissSchedule",
        `Missed scheduled time to start a job: ${due.time.toISOString()}`,
      );
      return write();
    }
    const wanted = jobName(cj, due.time);
    const active = status.active ?? [];
    if (active.some((r) => r.name === wanted) || jobs.some((j) => j.metadata.name === wanted)) {
      return write(); // this time's Job was made already
    }
    if (cj.spec.concurrencyPolicy === "Forbid" && active.length > 0) {
      // Kubernetes leaves lastScheduleTime alone: the time is simply skipped.
      return write();
    }
    if (cj.spec.concurrencyPolicy === "Replace") {
      for (const ref of active) {
        try {
          await this.jobClient
            .namespace(namespace)
            .delete(ref.name ?? "", { propagationPolicy: "Background" });
          this.recorder.event(cj, "Normal", "SuccessfulDelete", `Deleted job ${ref.name ?? ""}`);
        } catch (e) {
          if (!isNotFound(e)) throw e;
        }
      }
      status.active = [];
    }
    let job: BatchJob;
    try {
      job = await this.jobClient.namespace(namespace).create(newJobFromCronJob(cj, due.time));
      this.recorder.event(cj, "Normal", "SuccessfulCreate", `Created job ${wanted}`);
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
      job = await this.jobClient.namespace(namespace).get(wanted);
      if (controllerRefTo(job, "batch", "CronJob")?.uid !== cj.metadata.uid) return write();
    }
    status.active = [...(status.active ?? []), refTo(job)];
    status.lastScheduleTime = rfc3339(due.time.getTime());
    return write();
  }

  /**
   * status.active lists the unfinished Jobs this CronJob owns: finished ones leave it
   * (a completed one sets lastSuccessfulTime), owned ones it missed join it, and references
   * to Jobs that are gone are dropped.
   */
  private async reconcileActive(
    cj: CronJob,
    jobs: BatchJob[],
    status: CronJobStatus,
  ): Promise<void> {
    const byUid = new Map(jobs.map((j) => [j.metadata.uid, j]));
    const active: ActiveRef[] = [];
    for (const ref of status.active ?? []) {
      const job = byUid.get(ref.uid);
      if (job) {
        if (!finishedAs(job)) active.push(ref);
        else
          this.recorder.event(
            cj,
            "Normal",
            "SawCompletedJob",
            `Saw completed job: ${ref.name ?? ""}, condition: ${finishedAs(job)!}`,
          );
        continue;
      }
      // Not in our cache: maybe just created, maybe gone. Ask the apiserver.
      try {
        const live = await this.jobClient.namespace(ref.namespace ?? "").get(ref.name ?? "");
        if (live.metadata.uid === ref.uid && !finishedAs(live)) active.push(ref);
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
    for (const job of jobs) {
      if (
        !finishedAs(job) &&
        !job.metadata.deletionTimestamp &&
        !active.some((r) => r.uid === job.metadata.uid)
      )
        active.push(refTo(job));
      const done = job.status?.completionTime;
      if (finishedAs(job) === "Complete" && done) {
        const last = status.lastSuccessfulTime;
        if (!last || Date.parse(done) > Date.parse(last)) status.lastSuccessfulTime = done;
      }
    }
    if (active.length > 0) status.active = active;
    else delete status.active;
  }

  private async cleanUp(cj: CronJob, jobs: BatchJob[]): Promise<void> {
    for (const job of jobsToClean(cj, jobs)) {
      try {
        await this.jobClient
          .namespace(job.metadata.namespace ?? "")
          .delete(job.metadata.name ?? "", { propagationPolicy: "Background" });
        this.recorder.event(
          cj,
          "Normal",
          "SuccessfulDelete",
          `Deleted job ${job.metadata.name ?? ""}`,
        );
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
  }

  private async writeStatus(cj: CronJob, status: CronJobStatus): Promise<void> {
    if (isDeepStrictEqual(status, cj.status ?? {})) return;
    const next = structuredClone(cj);
    next.status = status;
    await this.cronJobClient.namespace(cj.metadata.namespace ?? "").updateStatus(next);
  }
}

export const newCronJobController: ControllerConstructor = (ctx) => new CronJobController(ctx);
