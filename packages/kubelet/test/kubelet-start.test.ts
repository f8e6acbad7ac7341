// A kubelet that has registered its Node keeps going when its first lease renewal or status
// write is refused (a busy apiserver's 503, here a quota's 403): the next tick tries again.
// Kubernetes' kubelet does the same; Skiff's used to exit with "kubelet cannot start".
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { startApiserver, type TestApiserver } from "@skiff/testing";
import { pino } from "pino";
import { startKubelet, type RunningKubelet } from "../src/start.js";
import { waitFor } from "./harness.js";

let api: TestApiserver;
let kubelet: RunningKubelet | undefined;
const rootDir = mkdtempSync(join(tmpdir(), "skiff-kubelet-start-"));
const quotas = "/api/v1/namespaces/kube-node-lease/resourcequotas";

before(async () => {
  api = await startApiserver();
});

after(async () => {
  await kubelet?.stop();
  await api?.stop();
  rmSync(rootDir, { recursive: true, force: true });
});

test("a refused first lease renewal does not stop the kubelet; the lease follows once allowed", async () => {
  await api.request("POST", "/api/v1/namespaces", { metadata: { name: "kube-node-lease" } });
  const quota = await api.request("POST", quotas, {
    metadata: { name: "no-leases" },
    spec: { hard: { "count/leases.coordination.k8s.io": "0" } },
  });
  assert.equal(quota.status, 201);
  // The quota refuses a Lease (as the apiserver will refuse the kubelet's).
  await waitFor("the quota in force", async () => {
    const res = await api.request(
      "POST",
      "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases",
      {
        metadata: { name: "probe" },
        spec: {},
      },
    );
    return res.status === 403;
  });

  kubelet = await startKubelet({
    kubeconfig: api.kubeconfigFor("system:node:start-node", ["system:nodes"]),
    nodeName: "start-node",
    nodeIP: "127.0.0.1",
    rootDir,
    port: 0,
    runtime: "simulated",
    logger: pino({ level: "silent" }),
  });
  const lease = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/start-node";
  assert.equal((await api.request("GET", "/api/v1/nodes/start-node")).status, 200);
  assert.equal((await api.request("GET", lease)).status, 404);

  assert.equal((await api.request("DELETE", `${quotas}/no-leases`)).status, 200);
  const renewed = await waitFor(
    "the lease at a later tick",
    async () => {
      const res = await api.request("GET", lease);
      return res.status === 200 ? res.json : undefined;
    },
    20_000,
  );
  assert.equal(renewed.spec.holderIdentity, "start-node");
});
