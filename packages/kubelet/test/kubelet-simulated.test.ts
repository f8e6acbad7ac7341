// `--runtime=simulated`: the whole kubelet against a real apiserver with the in-memory runtime
// (for scale benchmarks), plus a memory-backed emptyDir on the real engine's host side.
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
let kubelet: RunningKubelet;
const rootDir = mkdtempSync(join(tmpdir(), "skiff-kubelet-sim-"));

before(async () => {
  api = await startApiserver();
  kubelet = await startKubelet({
    kubeconfig: api.kubeconfigFor("system:node:sim-node", ["system:nodes"]),
    nodeName: "sim-node",
    nodeIP: "127.0.0.1",
    rootDir,
    port: 0,
    runtime: "simulated",
    resyncPeriodMs: 1000,
    logger: pino({ level: "silent" }),
  });
});

after(async () => {
  await kubelet?.stop();
  await api?.stop();
  rmSync(rootDir, { recursive: true, force: true });
});

test("a simulated node reports a simulated runtime and runs pods once it has a podCIDR", async () => {
  assert.equal(kubelet.kubelet.runtime.type, "simulated");
  const node = (await api.request("GET", "/api/v1/nodes/sim-node")).json;
  assert.match(node.status.nodeInfo.containerRuntimeVersion, /^simulated:\/\//);
  await api.request(
    "PATCH",
    "/api/v1/nodes/sim-node",
    { spec: { podCIDR: "10.244.99.0/24" } },
    { contentType: "application/merge-patch+json" },
  );
  await api.request("POST", "/api/v1/namespaces/default/pods", {
    metadata: { name: "sim" },
    spec: {
      nodeName: "sim-node",
      volumes: [{ name: "scratch", emptyDir: { medium: "Memory", sizeLimit: "1Mi" } }],
      containers: [
        {
          name: "app",
          image: "busybox:1.36",
          volumeMounts: [{ name: "scratch", mountPath: "/s" }],
        },
      ],
    },
  });
  const pod = await waitFor("simulated pod running", async () => {
    const p = (await api.request("GET", "/api/v1/namespaces/default/pods/sim")).json;
    return p?.status?.phase === "Running" ? p : undefined;
  });
  assert.ok(pod.status.podIP);
  // medium: Memory is a tmpfs under the kubelet's root dir.
  const { readFileSync } = await import("node:fs");
  const mounts = readFileSync("/proc/mounts", "utf8");
  const dir = join(rootDir, "pods", pod.metadata.uid, "volumes", "scratch");
  assert.ok(mounts.split("\n").some((l) => l.startsWith("tmpfs ") && l.split(" ")[1] === dir));
  await api.request("DELETE", "/api/v1/namespaces/default/pods/sim");
  await waitFor("pod gone", async () => {
    const res = await api.request("GET", "/api/v1/namespaces/default/pods/sim");
    return res.status === 404;
  });
  await waitFor("tmpfs unmounted", async () => !readFileSync("/proc/mounts", "utf8").includes(dir));
});
