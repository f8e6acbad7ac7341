import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { loadClientConfig, silentLogger } from "@skiff/client";
import { ControllerManager, enabledControllers } from "../src/index.js";
import { eventually, listPods, podTemplate, startCluster, type Cluster } from "./helpers.js";

test("--controllers: '*' enables all, '-name' disables one, unknown names are refused", () => {
  const known = ["replicaset", "deployment", "namespace"];
  assert.deepEqual(enabledControllers(["*"], known), known);
  assert.deepEqual(enabledControllers(["*", "-deployment"], known), ["replicaset", "namespace"]);
  assert.deepEqual(enabledControllers(["deployment"], known), ["deployment"]);
  assert.throws(() => enabledControllers(["nope"], known), /unknown controller/);
});

let c: Cluster;
before(async () => {
  c = await startCluster([]); // the cluster's own manager runs nothing
});
after(async () => {
  await c.stop();
});

function candidate(): ControllerManager {
  return new ControllerManager({
    clientConfig: loadClientConfig({
      kubeconfig: c.api.kubeconfigFor("system:kube-controller-manager"),
    }),
    controllers: ["replicaset"],
    leaseDurationSeconds: 2,
    renewDeadlineMs: 1_500,
    retryPeriodMs: 500,
    port: 0,
    logger: silentLogger,
  });
}

test("of two controller managers one leads; when it stops, the other takes over", async () => {
  const a = candidate();
  const b = candidate();
  await a.start();
  await b.start();
  try {
    const leader = await eventually(
      () => (a.isLeader() ? a : b.isLeader() ? b : undefined),
      "a leader",
    );
    const follower = leader === a ? b : a;
    await new Promise((r) => setTimeout(r, 1_500));
    assert.equal(follower.isLeader(), false, "two leaders");
    const lease = await c.api.request(
      "GET",
      "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-controller-manager",
    );
    assert.equal(lease.json.spec.holderIdentity, leader.identity);

    const health = await fetch(`http://127.0.0.1:${leader.port}/healthz`);
    assert.equal(await health.text(), "ok");

    const rs = c.replicaSets.namespace("default");
    await rs.create({
      metadata: { name: "ha", namespace: "default" },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: "ha" } },
        template: podTemplate({ app: "ha" }),
      },
    });
    await eventually(
      async () => (await listPods(c, "default", "app=ha")).length === 2,
      "2 pods from the leader",
    );
    // The sync that made the pods is counted once it returns, a moment after they exist.
    const metrics = await eventually(async () => {
      const text = await (await fetch(`http://127.0.0.1:${leader.port}/metrics`)).text();
      return /controller_sync_duration_seconds_count\{controller="replicaset"\} [1-9]/.test(text)
        ? text
        : undefined;
    }, "the replicaset controller's sync in /metrics");
    assert.match(metrics, /workqueue_depth\{name="replicaset"\}/);

    await leader.stop();
    await eventually(() => follower.isLeader(), "the follower leads", 15_000);
    await rs.patch("ha", { spec: { replicas: 3 } }, "merge");
    await eventually(
      async () => (await listPods(c, "default", "app=ha")).length === 3,
      "3 pods from the new leader",
    );
  } finally {
    await a.stop();
    await b.stop();
  }
});
