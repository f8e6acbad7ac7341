// The CronJob controller's decisions, as pure functions: which scheduled time is due,
// the Job for it, which finished Jobs the history limits let go.
import { rfc3339, type Schedule } from "@skiff/api/light";
import type { BatchJob, CronJob } from "../../objects.js";
import { newControllerRef } from "../../controller.js";

/** The annotation Kubernetes puts on a scheduled Job: the time it was scheduled for. */
export const scheduledTimestampAnnotation = "batch.kubernetes.io/cronjob-scheduled-timestamp";
/** Missed times beyond this many are not counted one by one (Kubernetes says the same). */
export const TOO_MANY_MISSED = 100;

export interface Due {
  /** The latest scheduled time at or before now that has not been started, if any. */
  time?: Date;
  /** How many scheduled times were missed since the last one (the due one included). */
  missed: number;
  /** The next scheduled time after now: when to look again. */
  next?: Date;
}

/**
 * The most recent unmet scheduled time: counting from the last schedule (or creation), but
 * no earlier than startingDeadlineSeconds ago.
 */
export function dueTime(cj: CronJob, schedule: Schedule, now: Date): Due {
  const last = cj.status?.lastScheduleTime ?? cj.metadata.creationTimestamp;
  let earliest = last ? new Date(last) : now;
  const deadline = cj.spec?.startingDeadlineSeconds;
  if (deadline !== undefined && deadline !== null) {
    const bound = new Date(now.getTime() - deadline * 1000);
    if (bound > earliest) earliest = bound;
  }
  let time: Date | undefined;
  let missed = 0;
  for (let t = schedule.next(earliest); t && t <= now; t = schedule.next(t)) {
    time = t;
    if (++missed > TOO_MANY_MISSED) {
      // Jump to the last time at or before now without walking every step.
      let probe = schedule.next(new Date(now.getTime() - 60_000 * 60 * 24 * 366));
      while (probe && probe <= now) {
        time = probe;
        probe = schedule.next(probe);
      }
      break;
    }
  }
  return { time, missed, next: schedule.next(now) };
}

/** `<cronjob>-<scheduled time in minutes since the epoch>`: one name per scheduled time. */
export function jobName(cj: CronJob, scheduled: Date): string {
  return `${cj.metadata.name ?? ""}-${Math.floor(scheduled.getTime() / 60_000)}`;
}

/** The Job for one scheduled time: the template, owned by the CronJob. */
export function newJobFromCronJob(cj: CronJob, scheduled: Date): BatchJob {
  const template = cj.spec!.jobTemplate;
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: {
      name: jobName(cj, scheduled),
      namespace: cj.metadata.namespace,
      labels: { ...(template.metadata?.labels ?? {}) },
      annotations: {
        ...(template.metadata?.annotations ?? {}),
        [scheduledTimestampAnnotation]: rfc3339(scheduled),
      },
      ownerReferences: [newControllerRef(cj, "batch/v1", "CronJob")],
    },
    spec: structuredClone(template.spec),
  } as BatchJob;
}

/** "Complete" or "Failed" once the Job has finished, else undefined. */
export function finishedAs(job: BatchJob): "Complete" | "Failed" | undefined {
  for (const c of job.status?.conditions ?? []) {
    if ((c.type === "Complete" || c.type === "Failed") && c.status === "True") return c.type;
  }
  return undefined;
}

function startOf(job: BatchJob): number {
  const t = job.status?.startTime ?? job.metadata.creationTimestamp;
  return t ? Date.parse(t) : 0;
}

/** Finished Jobs beyond successfulJobsHistoryLimit / failedJobsHistoryLimit, oldest first. */
export function jobsToClean(cj: CronJob, jobs: BatchJob[]): BatchJob[] {
  const out: BatchJob[] = [];
  const limits = {
    Complete: cj.spec?.successfulJobsHistoryLimit ?? 3,
    Failed: cj.spec?.failedJobsHistoryLimit ?? 1,
  };
  for (const kind of ["Complete", "Failed"] as const) {
    const done = jobs
      .filter((j) => finishedAs(j) === kind && !j.metadata.deletionTimestamp)
      .sort((a, b) => startOf(a) - startOf(b));
    out.push(...done.slice(0, Math.max(0, done.length - limits[kind])));
  }
  return out;
}
