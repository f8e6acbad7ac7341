import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { resourceInfo, rfc3339 } from "@skiff/api";
import { CronJobController } from "../src/controllers/cronjob/index.js";
import type { BatchJob, CronJob } from "../src/objects.js";
import { create, startEnv, waitFor } from "./endpoints-testenv.js";

const run = promisify(execFile);
const cjInfo = resourceInfo("batch", "v1", "cronjobs");
const jobInfo = resourceInfo("batch", "v1", "jobs");

test("on a real apiserver a due CronJob makes its Job, tracks it as active, then records its success", async (t) => {
  const env = await startEnv();
  t.after(() => env.stop());
  // The controller's clock runs 61 s ahead, so the next minute's run is due at once.
  env.run(new CronJobController(env.ctx, { now: () => Date.now() + 61_000 }));
  await create(env, cjInfo, {
    apiVersion: "batch/v1",
    kind: "CronJob",
    metadata: { name: "tick", namespace: "default" },
    spec: {
      schedule: "* * * * *",
      jobTemplate: {
        spec: {
          template: {
            spec: { restartPolicy: "Never", containers: [{ name: "c", image: "busybox" }] },
          },
        },
      },
    },
  } as CronJob);
  const cronJobs = env.client.resource<CronJob>(cjInfo).namespace("default");
  const jobs = env.client.resource<BatchJob>(jobInfo).namespace("default");
  const made = await waitFor("a job", async () => (await jobs.list()).items[0]);
  assert.match(made.metadata.name!, /^tick-\d+$/);
  const active = await waitFor("status.active", async () => {
    const cj = await cronJobs.get("tick");
    return cj.status?.active?.length === 1 && cj.status.lastScheduleTime ? cj : undefined;
  });
  assert.equal(active.status?.active?.[0]?.name, made.metadata.name);

  const finished = structuredClone(made);
  const now = rfc3339();
  finished.status = {
    startTime: now,
    completionTime: now,
    succeeded: 1,
    conditions: [{ type: "Complete", status: "True" }],
  };
  await jobs.updateStatus(finished);
  const done = await waitFor("lastSuccessfulTime", async () => {
    const cj = await cronJobs.get("tick");
    return cj.status?.lastSuccessfulTime && !cj.status.active ? cj : undefined;
  });
  assert.equal(done.status?.lastSuccessfulTime, now);
  assert.equal((await jobs.list()).items.length, 1, "one run per scheduled minute");
});

test("the real kubectl creates a CronJob, prints its columns, refuses a bad schedule and creates a Job from it", async (t) => {
  const env = await startEnv();
  t.after(() => env.stop());
  const kubectl = async (...args: string[]) =>
    (await run("kubectl", ["--kubeconfig", env.api.kubeconfig, ...args], { timeout: 60_000 }))
      .stdout;
  await kubectl("create", "cronjob", "backup", "--image=busybox:1.36", "--schedule=*/5 * * * *");
  const table = await kubectl("get", "cj");
  assert.match(table, /^NAME\s+SCHEDULE\s+TIMEZONE\s+SUSPEND\s+ACTIVE\s+LAST SCHEDULE\s+AGE\n/);
  assert.match(table, /\nbackup\s+\*\/5 \* \* \* \*\s+<none>\s+False\s+0\s+<none>\s+/);
  const bad = await kubectl(
    "create",
    "cronjob",
    "bad",
    "--image=busybox:1.36",
    "--schedule=61 * * * *",
  ).then(
    () => "",
    (e: { stderr: string }) => e.stderr,
  );
  assert.match(bad, /spec\.schedule: Invalid value: "61 \* \* \* \*"/);
  await kubectl("create", "job", "backup-now", "--from=cronjob/backup");
  const job = JSON.parse(await kubectl("get", "job", "backup-now", "-o", "json")) as BatchJob;
  assert.equal(job.metadata.annotations?.["cronjob.kubernetes.io/instantiate"], "manual");
  assert.equal(job.metadata.ownerReferences?.[0]?.kind, "CronJob");
  assert.equal(job.spec?.template.spec?.containers[0]?.image, "busybox:1.36");
});
