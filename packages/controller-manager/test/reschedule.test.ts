// A node going silent, end to end through the controllers: its lease stops → Ready Unknown →
// unreachable taint → its pod evicted → the ReplicaSet recreates it → the real scheduler
// (its own process) places the new pod on the other node.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { resourceInfo, rfc3339, rfc3339Micro } from "@skiff/api";
import type { KubeObject } from "@skiff/client";
import { NodeLifecycleController } from "../src/controllers/nodelifecycle/index.js";
import { ReplicaSetController } from "../src/controllers/replicaset/index.js";
import type { Pod } from "../src/objects.js";
import { create, startEnv } from "./endpoints-testenv.js";

const nodesInfo = resourceInfo("", "v1", "nodes");
const leasesInfo = resourceInfo("coordination.k8s.io", "v1", "leases");
const podsInfo = resourceInfo("", "v1", "pods");
const rsInfo = resourceInfo("apps", "v1", "replicasets");
const micro = (): string => rfc3339Micro();
const schedulerMain = new URL("../../scheduler/src/main.ts", import.meta.url).pathname;

test("pods of a node that goes silent are evicted and recreated on another node", async (t) => {
  const env = await startEnv();
  t.after(() => env.stop());
  const now = rfc3339();
  for (const name of ["n1", "n2"]) {
    const node = await create(env, nodesInfo, {
      apiVersion: "v1",
      kind: "Node",
      metadata: { name, labels: { "kubernetes.io/hostname": name } },
    } as KubeObject);
    await env.client.resource(nodesInfo).updateStatus({
      ...node,
      status: {
        capacity: { cpu: "4", memory: "8Gi", pods: "110" },
        allocatable: { cpu: "4", memory: "8Gi", pods: "110" },
        conditions: [
          {
            type: "Ready",
            status: "True",
            reason: "KubeletReady",
            lastHeartbeatTime: now,
            lastTransitionTime: now,
          },
        ],
      },
    } as KubeObject);
    await create(env, leasesInfo, {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name, namespace: "kube-node-lease" },
      spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime: micro() },
    } as KubeObject);
  }
  const scheduler = spawn(
    process.execPath,
    [
      "--conditions=source",
      "--import",
      "tsx",
      schedulerMain,
      `--kubeconfig=${env.api.kubeconfigFor("system:kube-scheduler")}`,
      "--port=0",
      "--leader-elect=false",
    ],
    {
      stdio: "ignore",
    },
  );
  t.after(() => {
    scheduler.kill("SIGKILL");
  });
  env.run(
    new NodeLifecycleController(env.ctx, { nodeMonitorGracePeriodMs: 3000, nodeEvictionRate: 100 }),
    new ReplicaSetController(env.ctx),
  );

  await create(env, rsInfo, {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: { name: "web", namespace: "default" },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: "web" } },
      template: {
        metadata: { labels: { app: "web" } },
        spec: {
          containers: [{ name: "c", image: "skiff.local/busybox:1.36" }],
          tolerations: [
            {
              key: "node.kubernetes.io/unreachable",
              operator: "Exists",
              effect: "NoExecute",
              tolerationSeconds: 1,
            },
          ],
        },
      },
    },
  } as KubeObject);
  const pods = env.client.resource<Pod>(podsInfo).namespace("default");
  const bound = async (): Promise<Pod[]> =>
    (await pods.list({ labelSelector: "app=web" })).items.filter(
      (p) => p.spec?.nodeName && !p.metadata.deletionTimestamp,
    );
  const deadline = (ms: number) => Date.now() + ms;
  let until = deadline(20_000);
  let first: Pod | undefined;
  while (!first && Date.now() < until) {
    first = (await bound())[0];
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.ok(first, "the scheduler bound the first pod");
  const silent = first.spec!.nodeName!;
  const alive = silent === "n1" ? "n2" : "n1";

  // Only the live node's kubelet keeps renewing its lease.
  const renew = setInterval(() => {
    void env.client
      .resource(leasesInfo)
      .namespace("kube-node-lease")
      .patch(alive, { spec: { renewTime: micro() } }, "merge")
      .catch(() => {});
  }, 500);
  t.after(() => clearInterval(renew));

  until = deadline(45_000);
  let moved: Pod | undefined;
  while (!moved && Date.now() < until) {
    const now = await bound();
    moved = now.find((p) => p.metadata.name !== first!.metadata.name && p.spec?.nodeName === alive);
    if (!moved) await new Promise((r) => setTimeout(r, 300));
  }
  assert.ok(moved, `a replacement pod was bound to ${alive}`);
  const old = await pods.get(first.metadata.name!).catch(() => undefined);
  assert.ok(!old || old.metadata.deletionTimestamp, "the pod on the silent node was evicted");
  const node = await env.client
    .resource<KubeObject & { spec?: { taints?: { key: string }[] } }>(nodesInfo)
    .get(silent);
  assert.ok(
    node.spec?.taints?.some((x) => x.key === "node.kubernetes.io/unreachable"),
    "the silent node is tainted unreachable",
  );
});
