import { test } from "node:test";
import assert from "node:assert/strict";
import { resourceInfo } from "@skiff/api";
import { isNotFound, type KubeObject } from "@skiff/client";
import { JobController } from "../src/controllers/job/index.js";
import type { BatchJob as Job, Pod } from "../src/objects.js";
import {
  create,
  podsInfo,
  setPodStatus,
  startEnv,
  waitFor,
  type TestEnv,
} from "./endpoints-testenv.js";

const jobsInfo = resourceInfo("batch", "v1", "jobs");

function makeJob(name: string, spec: Record<string, unknown>, restartPolicy = "Never"): KubeObject {
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name, namespace: "default" },
    spec: {
      template: { spec: { restartPolicy, containers: [{ name: "c", image: "busybox" }] } },
      ...spec,
    },
  } as KubeObject;
}

/** The Job's pods that are neither finished nor being deleted. */
async function runningPods(env: TestEnv, job: string): Promise<Pod[]> {
  const pods = await env.client
    .resource<Pod>(podsInfo)
    .namespace("default")
    .list({ labelSelector: `job-name=${job}` });
  return pods.items.filter(
    (p) =>
      !p.metadata.deletionTimestamp && !["Succeeded", "Failed"].includes(p.status?.phase ?? ""),
  );
}

/** Waits for exactly `n` running pods, then plays the kubelet: they end in `phase`. */
async function finishPods(env: TestEnv, job: string, n: number, phase: string): Promise<void> {
  const pods = await waitFor(`${n} running pods of ${job}`, async () => {
    const ps = await runningPods(env, job);
    return ps.length === n ? ps : undefined;
  });
  for (const p of pods) await setPodStatus(env, p.metadata.name!, { podIP: "10.244.0.9", phase });
}

test("a job runs its pods to completions, parallelism at a time, then is Complete and its TTL deletes it", async (t) => {
  const env = await startEnv();
  t.after(() => env.stop());
  env.run(new JobController(env.ctx, { podFailureBackoffMs: 100 }));
  const jobs = env.client.resource<Job>(jobsInfo).namespace("default");
  await create(
    env,
    jobsInfo,
    makeJob("calc", { completions: 3, parallelism: 2, ttlSecondsAfterFinished: 2 }),
  );

  await finishPods(env, "calc", 2, "Succeeded");
  const mid = await waitFor("succeeded 2", async () => {
    const j = await jobs.get("calc");
    return j.status?.succeeded === 2 ? j : undefined;
  });
  assert.ok(mid.status?.startTime);
  await finishPods(env, "calc", 1, "Succeeded"); // only one more is needed
  const done = await waitFor("Complete", async () => {
    const j = await jobs.get("calc");
    return j.status?.conditions?.some((c) => c.type === "Complete" && c.status === "True")
      ? j
      : undefined;
  });
  assert.equal(done.status?.succeeded, 3);
  assert.equal(done.status?.active, 0);
  assert.ok(done.status?.completionTime);
  await waitFor(
    "job deleted after its TTL",
    () =>
      jobs.get("calc").then(
        () => false,
        (e: unknown) => isNotFound(e),
      ),
    15_000,
  );
});

test("a job retries failed pods up to backoffLimit, then is Failed with BackoffLimitExceeded", async (t) => {
  const env = await startEnv();
  t.after(() => env.stop());
  env.run(new JobController(env.ctx, { podFailureBackoffMs: 100 }));
  const jobs = env.client.resource<Job>(jobsInfo).namespace("default");
  await create(env, jobsInfo, makeJob("flaky", { backoffLimit: 2 }));

  for (let i = 0; i < 3; i++) await finishPods(env, "flaky", 1, "Failed");
  const failed = await waitFor("Failed", async () => {
    const j = await jobs.get("flaky");
    return j.status?.conditions?.find((c) => c.type === "Failed" && c.status === "True");
  });
  assert.equal(failed.reason, "BackoffLimitExceeded");
  assert.equal((await jobs.get("flaky")).status?.failed, 3);
  assert.equal((await runningPods(env, "flaky")).length, 0, "no replacement after the limit");
});

test("container restarts count as failures for restartPolicy OnFailure, and activeDeadlineSeconds fails a job", async (t) => {
  const env = await startEnv();
  t.after(() => env.stop());
  env.run(new JobController(env.ctx, { podFailureBackoffMs: 100 }));
  const jobs = env.client.resource<Job>(jobsInfo).namespace("default");
  await create(env, jobsInfo, makeJob("crashy", { backoffLimit: 1 }, "OnFailure"));
  await create(env, jobsInfo, makeJob("slow", { activeDeadlineSeconds: 2 }));

  const [pod] = await waitFor("crashy pod", async () => {
    const ps = await runningPods(env, "crashy");
    return ps.length === 1 ? ps : undefined;
  });
  await setPodStatus(env, pod!.metadata.name!, { podIP: "10.244.0.3", restartCount: 2 });
  const reasons = await waitFor("both Failed", async () => {
    const [a, b] = [await jobs.get("crashy"), await jobs.get("slow")];
    const fa = a.status?.conditions?.find((c) => c.type === "Failed");
    const fb = b.status?.conditions?.find((c) => c.type === "Failed");
    return fa && fb ? [fa.reason, fb.reason] : undefined;
  });
  assert.deepEqual(reasons, ["BackoffLimitExceeded", "DeadlineExceeded"]);
  assert.equal((await runningPods(env, "slow")).length, 0, "the deadline deletes active pods");
});
