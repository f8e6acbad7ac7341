import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { resourceInfo } from "@skiff/api";
import { ResourceQuotaController, usedBy } from "../src/controllers/resourcequota/index.js";
import type { Pod } from "../src/objects.js";
import { podsInfo, startEnv, waitFor } from "./endpoints-testenv.js";

const run = promisify(execFile);

test("quota usage counts live pods' requests and limits, not finished ones", () => {
  const pod = (cpu: string, phase = "Running") =>
    ({
      metadata: { name: "p", namespace: "d" },
      spec: {
        containers: [
          { name: "c", resources: { requests: { cpu }, limits: { cpu, memory: "1Gi" } } },
        ],
      },
      status: { phase },
    }) as Pod;
  const used = usedBy(
    {
      pods: "10",
      "requests.cpu": "4",
      "limits.memory": "8Gi",
      "count/pods": "10",
      configmaps: "5",
    },
    [{ info: podsInfo, items: [pod("500m"), pod("250m"), pod("2", "Succeeded")] }],
  );
  assert.deepEqual(used, {
    pods: "2",
    "requests.cpu": "750m",
    "limits.memory": "2Gi",
    "count/pods": "2",
    configmaps: "0",
  });
});

const manifests = `
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: high}
value: 1000
---
apiVersion: v1
kind: LimitRange
metadata: {name: cpu}
spec:
  limits:
  - type: Container
    default: {cpu: 200m}
    defaultRequest: {cpu: 100m}
    max: {cpu: "1"}
---
apiVersion: v1
kind: ResourceQuota
metadata: {name: compute}
spec:
  hard: {pods: "2", requests.cpu: 300m, limits.cpu: "1"}
`;

test("a scoped quota counts only the pods its scopes select", () => {
  const pod = (resources: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    ({
      metadata: { name: "p", namespace: "d" },
      spec: { containers: [{ name: "c", resources }], ...extra },
      status: { phase: "Running" },
    }) as Pod;
  const pods = [
    pod({}),
    pod({}, { activeDeadlineSeconds: 60 }),
    pod({ requests: { cpu: "1" } }),
    pod({ requests: { memory: "1Gi" } }, { priorityClassName: "high" }),
  ];
  const count = (scopes: string[]) =>
    usedBy({ pods: "9" }, [{ info: podsInfo, items: pods }], scopes).pods;
  assert.equal(count(["BestEffort"]), "2");
  assert.equal(count(["NotBestEffort"]), "2");
  assert.equal(count(["Terminating"]), "1");
  assert.equal(count(["NotTerminating", "BestEffort"]), "1");
  assert.equal(count(["PriorityClass"]), "1");
});

test("with the real kubectl: system priority classes exist, a pod's class sets its priority, a LimitRange fills in defaults and caps limits, a quota refuses the pod that would exceed it", async (t) => {
  const env = await startEnv();
  const dir = await mkdtemp(join(tmpdir(), "skiff-quota-"));
  t.after(async () => {
    await env.stop();
    await rm(dir, { recursive: true, force: true });
  });
  env.run(new ResourceQuotaController(env.ctx));
  const kubectl = (...args: string[]) =>
    run("kubectl", ["--kubeconfig", env.api.kubeconfig, ...args], { timeout: 60_000 }).then(
      (r) => ({ code: 0, out: r.stdout, err: r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({
        code: e.code,
        out: e.stdout,
        err: e.stderr,
      }),
    );
  const pcs = (await kubectl("get", "pc")).out;
  assert.match(pcs, /^NAME\s+VALUE\s+GLOBAL-DEFAULT\s+AGE\s+PREEMPTIONPOLICY\n/);
  assert.match(
    pcs,
    /\nsystem-cluster-critical\s+2000000000\s+false\s+\S+\s+PreemptLowerPriority\n/,
  );
  assert.match(pcs, /\nsystem-node-critical\s+2000001000\s+false\s+/);
  await writeFile(join(dir, "policy.yaml"), manifests);
  const applied = await kubectl("apply", "-f", join(dir, "policy.yaml"));
  assert.equal(applied.code, 0, applied.err);
  const quotaInfo = resourceInfo("", "v1", "resourcequotas");
  await waitFor("the quota's status", async () => {
    const q = (await env.client.resource(quotaInfo).namespace("default").get("compute")) as {
      status?: { hard?: unknown };
    };
    return q.status?.hard !== undefined;
  });

  assert.equal(
    (
      await kubectl(
        "run",
        "p1",
        "--image=busybox:1.36",
        '--overrides={"spec":{"priorityClassName":"high"}}',
      )
    ).code,
    0,
  );
  const p1 = await env.client.resource<Pod>(podsInfo).namespace("default").get("p1");
  assert.equal(p1.spec?.priority, 1000);
  assert.equal(p1.spec?.preemptionPolicy, "PreemptLowerPriority");
  assert.deepEqual(p1.spec?.containers[0]?.resources, {
    limits: { cpu: "200m" },
    requests: { cpu: "100m" },
  });
  assert.equal(p1.status?.qosClass, "Burstable");

  const unknown = await kubectl(
    "run",
    "p0",
    "--image=busybox:1.36",
    '--overrides={"spec":{"priorityClassName":"nope"}}',
  );
  assert.notEqual(unknown.code, 0);
  assert.match(
    unknown.err,
    /Error from server \(Forbidden\): pods "p0" is forbidden: no PriorityClass with name nope was found/,
  );
  const tooBig = await kubectl(
    "run",
    "big",
    "--image=busybox:1.36",
    '--overrides={"spec":{"containers":[{"name":"big","image":"busybox:1.36","resources":{"limits":{"cpu":"2"}}}]}}',
  );
  assert.match(
    tooBig.err,
    /pods "big" is forbidden: maximum cpu usage per Container is 1, but limit is 2/,
  );

  assert.equal((await kubectl("run", "p2", "--image=busybox:1.36")).code, 0);
  const third = await kubectl("run", "p3", "--image=busybox:1.36");
  assert.notEqual(third.code, 0);
  assert.match(
    third.err,
    /Error from server \(Forbidden\): pods "p3" is forbidden: exceeded quota: compute, requested: pods=1, used: pods=2, limited: pods=2/,
  );
  await waitFor("the quota recounted", async () =>
    /\ncompute\s+\S+\s+pods: 2\/2, requests\.cpu: 200m\/300m\s+limits\.cpu: 400m\/1\n/.test(
      (await kubectl("get", "quota")).out,
    ),
  );
  // Deleting a pod frees its share.
  await kubectl("delete", "pod", "p2", "--wait=false");
  await waitFor("room again", async () => /pods: 1\/2/.test((await kubectl("get", "quota")).out));
  assert.equal((await kubectl("run", "p4", "--image=busybox:1.36")).code, 0);
});
