// The HPA controller's sync on a real apiserver: a Deployment's scale subresource, its pods
// in the informer cache, and PodMetrics from a stand-in for metrics.k8s.io (no kubelets run
// here; the real metrics API is tested with kubectl top in packages/kubelet/test/top.test.ts).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { resourceInfo, rfc3339, type HorizontalPodAutoscaler, type PodMetrics } from "@skiff/api";
import type { KubeObject } from "@skiff/client";
import { HorizontalPodAutoscalerController } from "../src/controllers/podautoscaler/index.js";
import { create, startEnv, waitFor, type TestEnv } from "./endpoints-testenv.js";

const hpaInfo = resourceInfo("autoscaling", "v2", "horizontalpodautoscalers");
const podsInfo = resourceInfo("", "v1", "pods");
const deployInfo = resourceInfo("apps", "v1", "deployments");
const stsInfo = resourceInfo("apps", "v1", "statefulsets");
const LONG_AGO = rfc3339(Date.now() - 3600_000);

async function makePod(env: TestEnv, name: string, app = "burn"): Promise<void> {
  const pods = env.client.resource(podsInfo).namespace("default");
  const pod = await pods.create({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, labels: { app } },
    spec: {
      containers: [{ name: "c", image: "busybox", resources: { requests: { cpu: "100m" } } }],
    },
  } as KubeObject);
  await pods.updateStatus({
    ...pod,
    status: {
      phase: "Running",
      startTime: LONG_AGO,
      conditions: [{ type: "Ready", status: "True", lastTransitionTime: LONG_AGO }],
    },
  } as KubeObject);
}

function usage(names: string[], cpu: string): PodMetrics[] {
  return names.map((name) => ({
    metadata: { name },
    timestamp: new Date().toISOString(),
    window: "15s",
    containers: [{ name: "c", usage: { cpu, memory: "1Mi" } }],
  }));
}

type HPA = HorizontalPodAutoscaler & KubeObject;

/** A Deployment or StatefulSet `name` of busybox pods labelled app=<name>. */
async function createWorkload(
  env: TestEnv,
  kind: "Deployment" | "StatefulSet",
  name: string,
  spec: Record<string, unknown> = {},
): Promise<void> {
  const info = kind === "Deployment" ? deployInfo : stsInfo;
  await create(env, info, {
    apiVersion: "apps/v1",
    kind,
    metadata: { name, namespace: "default" },
    spec: {
      ...spec,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: "c", image: "busybox" }] },
      },
    },
  });
}

/** An autoscaling/v2 HPA `name` on the `kind` of the same name. */
function newHPA(
  name: string,
  kind: string,
  spec: Omit<NonNullable<HPA["spec"]>, "scaleTargetRef">,
): HPA {
  return {
    apiVersion: "autoscaling/v2",
    kind: "HorizontalPodAutoscaler",
    metadata: { name },
    spec: { scaleTargetRef: { apiVersion: "apps/v1", kind, name }, ...spec },
  };
}

/** Target 50 % cpu utilization. */
const cpu50 = [
  {
    type: "Resource",
    resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 50 } },
  },
];

test("the HPA controller scales a Deployment on cpu, limits, stabilizes and reports", async () => {
  const env = await startEnv();
  try {
    await createWorkload(env, "Deployment", "burn", { replicas: 2 });
    await makePod(env, "burn-a");
    await makePod(env, "burn-b");
    const hpas = env.client.resource<HPA>(hpaInfo).namespace("default");
    const created = await hpas.create(
      newHPA("burn", "Deployment", { maxReplicas: 10, metrics: cpu50 }),
    );
    assert.equal(created.spec?.minReplicas, 1, "minReplicas defaults to 1");
    let cpu = "150m";
    const c = new HorizontalPodAutoscalerController(env.ctx, {
      podMetrics: async (ns, selector) => {
        assert.equal(ns, "default");
        assert.equal(selector, "app=burn");
        return usage(["burn-a", "burn-b"], cpu);
      },
    });
    // Informers only: sync is called directly.
    env.ctx.informers.start();
    await waitFor(
      "caches",
      async () =>
        c.hpaLister.namespace("default").get("burn") &&
        c.podLister.namespace("default").list().length === 2,
    );

    // 150% of the request against 50%: ratio 3, 6 pods asked — at most max(2×2, 4) = 4.
    await c.sync("default/burn");
    const deploys = env.client.resource(deployInfo).namespace("default");
    const scaled = (await deploys.get("burn")) as KubeObject & { spec: { replicas: number } };
    assert.equal(scaled.spec.replicas, 4);
    let hpa = await hpas.get("burn");
    assert.equal(hpa.status?.desiredReplicas, 4);
    assert.equal(hpa.status?.currentReplicas, 2);
    assert.equal(hpa.status?.currentMetrics?.[0]?.resource?.current.averageUtilization, 150);
    const cond = (type: string) => hpa.status?.conditions?.find((x) => x.type === type);
    assert.equal(cond("AbleToScale")?.reason, "SucceededRescale");
    assert.equal(cond("ScalingActive")?.reason, "ValidMetricFound");
    assert.deepEqual(
      [cond("ScalingLimited")?.status, cond("ScalingLimited")?.reason],
      ["True", "ScaleUpLimit"],
    );
    const events = await waitFor("the rescale event", async () => {
      const list = (await env.client.request("GET", "/api/v1/namespaces/default/events")) as {
        items: { reason: string; message: string; involvedObject: { kind: string } }[];
      };
      const e = list.items.find((x) => x.reason === "SuccessfulRescale");
      return e ? e : undefined;
    });
    assert.equal(events.involvedObject.kind, "HorizontalPodAutoscaler");
    assert.equal(
      events.message,
      "New size: 4; reason: cpu resource utilization (percentage of request) above target",
    );

    // kubectl get hpa prints the targets as Kubernetes does.
    const out = await new Promise<string>((resolve, reject) =>
      execFile(
        "kubectl",
        ["--kubeconfig", env.api.kubeconfig, "get", "hpa", "burn"],
        { timeout: 60_000 },
        (err, stdout, stderr) => (err ? reject(new Error(stderr)) : resolve(stdout)),
      ),
    );
    const [header, row] = out
      .trim()
      .split("\n")
      .map((l) => l.trim().split(/\s{2,}/));
    assert.deepEqual(header, [
      "NAME",
      "REFERENCE",
      "TARGETS",
      "MINPODS",
      "MAXPODS",
      "REPLICAS",
      "AGE",
    ]);
    assert.deepEqual(row!.slice(0, 6), [
      "burn",
      "Deployment/burn",
      "cpu: 150%/50%",
      "1",
      "10",
      "2",
    ]);

    const described = await new Promise<string>((resolve, reject) =>
      execFile(
        "kubectl",
        ["--kubeconfig", env.api.kubeconfig, "describe", "hpa", "burn"],
        { timeout: 60_000 },
        (err, stdout, stderr) => (err ? reject(new Error(stderr)) : resolve(stdout)),
      ),
    );
    assert.match(
      described,
      /resource cpu on pods\s+\(as a percentage of request\):\s+150% \(150m\) \/ 50%/,
    );
    assert.match(described, /ScalingLimited\s+True\s+ScaleUpLimit/);
    assert.match(described, /Normal\s+SuccessfulRescale\s+.*New size: 4/);

    const replicas = async () =>
      ((await deploys.get("burn")) as KubeObject & { spec: { replicas: number } }).spec.replicas;
    // Load gone: 10% asks for 1, but the highest recommendation of the last 5 minutes (the 6
    // the rate limit held back) wins, as in Kubernetes: first up to 6, then it stays there.
    cpu = "10m";
    await c.sync("default/burn");
    assert.equal(await replicas(), 6);
    await waitFor("the cache to see 6 replicas", async () => {
      const d = c.hpaLister.namespace("default").get("burn");
      return d?.status?.desiredReplicas === 6;
    });
    await c.sync("default/burn");
    hpa = await hpas.get("burn");
    assert.equal(await replicas(), 6);
    assert.equal(cond("AbleToScale")?.reason, "ScaleDownStabilized");
    assert.equal(hpa.status?.currentMetrics?.[0]?.resource?.current.averageUtilization, 10);

    // With a zero scale-down window it goes straight to what the metrics ask for.
    await hpas.patch(
      "burn",
      { spec: { behavior: { scaleDown: { stabilizationWindowSeconds: 0 } } } },
      "merge",
    );
    await waitFor(
      "the cache to see the behavior",
      async () =>
        (c.hpaLister.namespace("default").get("burn")?.spec as { behavior?: unknown }).behavior,
    );
    await c.sync("default/burn");
    assert.equal(await replicas(), 1);
  } finally {
    env.ctx.informers.stop();
    await env.stop();
  }
});

test("the HPA controller scales a StatefulSet through its scale subresource", async () => {
  const env = await startEnv();
  try {
    await createWorkload(env, "StatefulSet", "db", { replicas: 2, serviceName: "db" });
    await makePod(env, "db-0", "db");
    await makePod(env, "db-1", "db");
    const hpas = env.client.resource<HPA>(hpaInfo).namespace("default");
    await hpas.create(
      newHPA("db", "StatefulSet", { minReplicas: 2, maxReplicas: 5, metrics: cpu50 }),
    );
    const c = new HorizontalPodAutoscalerController(env.ctx, {
      podMetrics: async (_ns, selector) => {
        assert.equal(selector, "app=db", "the selector comes from the StatefulSet's Scale");
        return usage(["db-0", "db-1"], "100m");
      },
    });
    env.ctx.informers.start();
    await waitFor(
      "caches",
      async () =>
        c.hpaLister.namespace("default").get("db") &&
        c.podLister.namespace("default").list().length === 2,
    );
    // 100% of the request against 50%: twice the pods.
    await c.sync("default/db");
    const sts = (await env.client
      .resource(stsInfo)
      .namespace("default")
      .get("db")) as KubeObject & {
      spec: { replicas: number };
    };
    assert.equal(sts.spec.replicas, 4);
    const hpa = await hpas.get("db");
    assert.equal(hpa.status?.desiredReplicas, 4);
    assert.equal(hpa.status?.currentMetrics?.[0]?.resource?.current.averageUtilization, 100);
  } finally {
    env.ctx.informers.stop();
    await env.stop();
  }
});

test("a missing target fails AbleToScale, a target without metrics fails ScalingActive", async () => {
  const env = await startEnv();
  try {
    const hpas = env.client.resource<HPA>(hpaInfo).namespace("default");
    await hpas.create(newHPA("ghost", "Deployment", { maxReplicas: 3 }));
    await createWorkload(env, "Deployment", "quiet", { replicas: 1 });
    await hpas.create(newHPA("quiet", "Deployment", { maxReplicas: 3 }));
    const c = new HorizontalPodAutoscalerController(env.ctx, { podMetrics: async () => [] });
    env.ctx.informers.start();
    await waitFor("cache", async () => c.hpaLister.namespace("default").get("ghost"));
    await c.sync("default/ghost");
    const hpa = await hpas.get("ghost");
    const able = hpa.status?.conditions?.find((x) => x.type === "AbleToScale");
    assert.deepEqual([able?.status, able?.reason], ["False", "FailedGetScale"]);
    // A target whose pods have no metrics: ScalingActive False, nothing scaled.
    await waitFor("cache", async () => c.hpaLister.namespace("default").get("quiet"));
    await c.sync("default/quiet");
    const quiet = await hpas.get("quiet");
    const active = quiet.status?.conditions?.find((x) => x.type === "ScalingActive");
    assert.deepEqual([active?.status, active?.reason], ["False", "FailedGetResourceMetric"]);
    // No metrics were given: the default is cpu at 80%.
    assert.deepEqual(hpa.spec?.metrics, [
      {
        type: "Resource",
        resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 80 } },
      },
    ]);
  } finally {
    env.ctx.informers.stop();
    await env.stop();
  }
});

test("invalid HPAs are refused with the field that is wrong", async () => {
  const env = await startEnv();
  try {
    const res = await env.api.request(
      "POST",
      "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers",
      {
        apiVersion: "autoscaling/v2",
        kind: "HorizontalPodAutoscaler",
        metadata: { name: "bad" },
        spec: {
          scaleTargetRef: { kind: "Deployment", name: "x" },
          minReplicas: 5,
          maxReplicas: 2,
          metrics: [
            {
              type: "Resource",
              resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 0 } },
            },
          ],
          behavior: {
            scaleDown: { policies: [{ type: "Percent", value: 10, periodSeconds: 4000 }] },
          },
        },
      },
    );
    assert.equal(res.status, 422, res.text);
    const fields = (res.json.details.causes as { field: string }[]).map((x) => x.field).sort();
    assert.deepEqual(fields, [
      "spec.behavior.scaleDown.policies[0].periodSeconds",
      "spec.maxReplicas",
      "spec.metrics[0].resource.target.averageUtilization",
    ]);
  } finally {
    await env.stop();
  }
});

test("kubectl autoscale creates an autoscaling/v1 HPA, stored and listed as v2", async () => {
  const env = await startEnv();
  try {
    await createWorkload(env, "Deployment", "web");
    const kubectl = (args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
        execFile(
          "kubectl",
          ["--kubeconfig", env.api.kubeconfig, ...args],
          { timeout: 60_000 },
          (err, stdout, stderr) =>
            resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
        ),
      );
    const made = await kubectl(["autoscale", "deployment", "web", "--cpu-percent=50", "--max=5"]);
    assert.equal(made.code, 0, made.stderr);
    assert.equal(made.stdout.trim(), "horizontalpodautoscaler.autoscaling/web autoscaled");
    const v2 = await env.api.request(
      "GET",
      "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers/web",
    );
    assert.deepEqual(v2.json.spec, {
      scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "web" },
      minReplicas: 1,
      maxReplicas: 5,
      metrics: [
        {
          type: "Resource",
          resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 50 } },
        },
      ],
    });
    const v1 = await env.api.request(
      "GET",
      "/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers/web",
    );
    assert.equal(v1.json.apiVersion, "autoscaling/v1");
    assert.equal(v1.json.spec.targetCPUUtilizationPercentage, 50);
    const got = await kubectl(["get", "hpa"]);
    assert.equal(got.code, 0, got.stderr);
    const row = got.stdout
      .trim()
      .split("\n")[1]!
      .trim()
      .split(/\s{2,}/);
    assert.deepEqual(row.slice(0, 6), [
      "web",
      "Deployment/web",
      "cpu: <unknown>/50%",
      "1",
      "5",
      "0",
    ]);
    const again = await kubectl(["autoscale", "deployment", "web", "--max=5"]);
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /AlreadyExists|already exists/);
    // kubectl apply of an autoscaling/v1 manifest, twice: the second sends a PATCH to v1.
    const manifest = (max: number) => `apiVersion: autoscaling/v1
kind: HorizontalPodAutoscaler
metadata: {name: applied, namespace: default}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  maxReplicas: ${max}
  targetCPUUtilizationPercentage: 70
`;
    const apply = (max: number) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        const c = execFile(
          "kubectl",
          ["--kubeconfig", env.api.kubeconfig, "apply", "-f", "-"],
          { timeout: 60_000 },
          (err, stdout, stderr) =>
            resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
        );
        c.stdin!.end(manifest(max));
      });
    const first = await apply(3);
    assert.equal(
      first.stdout,
      "horizontalpodautoscaler.autoscaling/applied created\n",
      first.stderr,
    );
    const second = await apply(7);
    assert.equal(
      second.stdout,
      "horizontalpodautoscaler.autoscaling/applied configured\n",
      second.stderr,
    );
    const patched = await env.api.request(
      "GET",
      "/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers/applied",
    );
    assert.equal(patched.json.spec.maxReplicas, 7);
    assert.equal(patched.json.spec.targetCPUUtilizationPercentage, 70);
  } finally {
    await env.stop();
  }
});
