import { test } from "node:test";
import assert from "node:assert/strict";
import { parseSchedule } from "@skiff/api";
import { CronJobController } from "../src/controllers/cronjob/index.js";
import { dueTime, jobsToClean } from "../src/controllers/cronjob/plan.js";
import type { BatchJob, CronJob } from "../src/objects.js";
import { newFixture } from "./fixture.js";

const NOW = Date.parse("2026-12-07T10:00:30Z");
const minutes = (iso: string) => Math.floor(Date.parse(iso) / 60_000);

function makeCronJob(
  spec: Partial<NonNullable<CronJob["spec"]>> = {},
  status: CronJob["status"] = {},
): CronJob {
  return {
    apiVersion: "batch/v1",
    kind: "CronJob",
    metadata: {
      name: "backup",
      namespace: "default",
      uid: "cj-uid",
      resourceVersion: "3",
      creationTimestamp: "2026-12-07T09:58:10Z",
    },
    spec: {
      schedule: "* * * * *",
      concurrencyPolicy: "Allow",
      suspend: false,
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 1,
      jobTemplate: {
        metadata: { labels: { app: "backup" } },
        spec: {
          template: {
            spec: { restartPolicy: "Never", containers: [{ name: "b", image: "busybox" }] },
          },
        },
      },
      ...spec,
    },
    status,
  } as CronJob;
}

function job(name: string, state: "running" | "Complete" | "Failed", start: string): BatchJob {
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: {
      name,
      namespace: "default",
      uid: `uid-${name}`,
      resourceVersion: "7",
      creationTimestamp: start,
      ownerReferences: [
        {
          apiVersion: "batch/v1",
          kind: "CronJob",
          name: "backup",
          uid: "cj-uid",
          controller: true,
        },
      ],
    },
    spec: { template: { spec: { containers: [] } } },
    status:
      state === "running"
        ? { startTime: start, active: 1 }
        : {
            startTime: start,
            ...(state === "Complete" ? { completionTime: start } : {}),
            conditions: [{ type: state, status: "True" }],
          },
  } as BatchJob;
}

const ref = (j: BatchJob) => ({
  kind: "Job",
  apiVersion: "batch/v1",
  namespace: "default",
  name: j.metadata.name,
  uid: j.metadata.uid,
});

function setup(cj: CronJob, jobs: BatchJob[] = []) {
  const f = newFixture();
  f.load("batch/cronjobs", [cj]);
  f.load("batch/jobs", jobs);
  const controller = new CronJobController(f.ctx, { now: () => NOW });
  return { f, controller };
}

const statusOf = (f: ReturnType<typeof newFixture>) =>
  (f.made("PUT", "cronjobs").at(-1)?.body as CronJob | undefined)?.status;

test("a due schedule creates one Job named for its scheduled minute and records it as active", async () => {
  const { f, controller } = setup(makeCronJob());
  await controller.sync("default/backup");
  const created = f.made("POST", "jobs");
  assert.equal(created.length, 1, "two missed minutes still make one Job: the latest");
  const j = created[0]!.body as BatchJob;
  assert.equal(j.metadata.name, `backup-${minutes("2026-12-07T10:00:00Z")}`);
  assert.equal(j.metadata.labels?.app, "backup");
  assert.equal(
    j.metadata.annotations?.["batch.kubernetes.io/cronjob-scheduled-timestamp"],
    "2026-12-07T10:00:00Z",
  );
  assert.equal(j.metadata.ownerReferences?.[0]?.kind, "CronJob");
  const status = statusOf(f)!;
  assert.equal(status.lastScheduleTime, "2026-12-07T10:00:00Z");
  assert.deepEqual(
    status.active?.map((r) => r.name),
    [j.metadata.name],
  );
});

test("nothing happens between scheduled times, while suspended, or after the starting deadline", async () => {
  let { f, controller } = setup(makeCronJob({}, { lastScheduleTime: "2026-12-07T10:00:00Z" }));
  await controller.sync("default/backup");
  assert.deepEqual(f.made("POST", "jobs"), []);

  ({ f, controller } = setup(makeCronJob({ suspend: true })));
  await controller.sync("default/backup");
  assert.deepEqual(f.made("POST", "jobs"), []);

  // Due at 10:00:00, 30 s ago; a 10 s deadline has passed.
  ({ f, controller } = setup(makeCronJob({ startingDeadlineSeconds: 10 })));
  await controller.sync("default/backup");
  assert.deepEqual(f.made("POST", "jobs"), []);
  ({ f, controller } = setup(makeCronJob({ startingDeadlineSeconds: 60 })));
  await controller.sync("default/backup");
  assert.equal(f.made("POST", "jobs").length, 1);
});

test("Forbid skips a time while a Job runs; Replace deletes the running Job first; Allow runs both", async () => {
  const running = job("backup-1", "running", "2026-12-07T09:59:00Z");
  const last = { lastScheduleTime: "2026-12-07T09:59:00Z", active: [ref(running)] };
  let { f, controller } = setup(makeCronJob({ concurrencyPolicy: "Forbid" }, last), [running]);
  await controller.sync("default/backup");
  assert.deepEqual(f.made("POST", "jobs"), []);
  assert.deepEqual(f.made("DELETE", "jobs"), []);

  ({ f, controller } = setup(makeCronJob({ concurrencyPolicy: "Replace" }, last), [running]));
  await controller.sync("default/backup");
  assert.deepEqual(
    f.made("DELETE", "jobs").map((c) => c.path.split("/").pop()),
    ["backup-1"],
  );
  assert.equal(f.made("POST", "jobs").length, 1);
  assert.deepEqual(
    statusOf(f)?.active?.map((r) => r.name),
    [`backup-${minutes("2026-12-07T10:00:00Z")}`],
  );

  ({ f, controller } = setup(makeCronJob({ concurrencyPolicy: "Allow" }, last), [running]));
  await controller.sync("default/backup");
  assert.equal(f.made("POST", "jobs").length, 1);
  assert.equal(statusOf(f)?.active?.length, 2);
});

test("finished Jobs leave status.active, set lastSuccessfulTime, and the oldest beyond the history limits are deleted", async () => {
  const done = ["09:10", "09:20", "09:30", "09:40"].map((t, i) =>
    job(`ok-${i}`, "Complete", `2026-12-07T${t}:00Z`),
  );
  const failed = ["09:15", "09:25"].map((t, i) => job(`bad-${i}`, "Failed", `2026-12-07T${t}:00Z`));
  const cj = makeCronJob({}, { lastScheduleTime: "2026-12-07T10:00:00Z", active: [ref(done[3]!)] });
  const { f, controller } = setup(cj, [...done, ...failed]);
  await controller.sync("default/backup");
  assert.deepEqual(
    f
      .made("DELETE", "jobs")
      .map((c) => c.path.split("/").pop())
      .sort(),
    ["bad-0", "ok-0"],
  );
  const status = statusOf(f)!;
  assert.equal(status.active, undefined);
  assert.equal(status.lastSuccessfulTime, "2026-12-07T09:40:00Z");
  assert.deepEqual(jobsToClean(makeCronJob({ successfulJobsHistoryLimit: 0 }), done).length, 4);
});

test("a schedule is read in its time zone; @hourly and friends work", () => {
  const cj = makeCronJob({ schedule: "30 5 * * *", timeZone: "Asia/Tokyo" });
  cj.metadata.creationTimestamp = "2026-12-06T00:00:00Z";
  // 05:30 in Tokyo is 20:30 UTC the day before.
  const due = dueTime(cj, parseSchedule("30 5 * * *", "Asia/Tokyo"), new Date(NOW));
  assert.equal(due.time?.toISOString(), "2026-12-06T20:30:00.000Z");
  assert.equal(due.next?.toISOString(), "2026-12-07T20:30:00.000Z");
  const hourly = dueTime(makeCronJob(), parseSchedule("@hourly"), new Date(NOW));
  assert.equal(hourly.time?.toISOString(), "2026-12-07T10:00:00.000Z");
});
