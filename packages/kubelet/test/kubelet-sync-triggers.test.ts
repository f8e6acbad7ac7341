// What makes the kubelet sync a pod: a change to what the pod asks for does, a change to its
// status alone (mostly the kubelet's own writes coming back on the watch) does not. Real
// apiserver, simulated runtime, each sync seen as a runtime list call for the pod. (The
// relist, on the real engine: kubelet-relist.test.ts.)
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { startApiserver, type TestApiserver } from "@skiff/testing";
import { pino } from "pino";
import type { ListFilter } from "../src/runtime/runtime.js";
import { SimulatedRuntime } from "../src/runtime/simulated.js";
import { startKubelet, type RunningKubelet } from "../src/start.js";
import { waitFor } from "./harness.js";

let api: TestApiserver;
let kubelet: RunningKubelet;
const rootDir = mkdtempSync(join(tmpdir(), "skiff-kubelet-sync-"));
/** Sandbox list calls by pod uid: one per sync of that pod. */
const syncs = new Map<string, number>();

class CountingRuntime extends SimulatedRuntime {
  override listPodSandboxes(filter: ListFilter = {}) {
    if (filter.podUid) syncs.set(filter.podUid, (syncs.get(filter.podUid) ?? 0) + 1);
    return super.listPodSandboxes(filter);
  }
}

before(async () => {
  api = await startApiserver();
  kubelet = await startKubelet({
    kubeconfig: api.kubeconfigFor("system:node:sync-node", ["system:nodes"]),
    nodeName: "sync-node",
    nodeIP: "127.0.0.1",
    rootDir,
    port: 0,
    containerRuntime: new CountingRuntime(),
    // No periodic resync or relist during the test: every sync seen comes from an event.
    resyncPeriodMs: 600_000,
    relistPeriodMs: 600_000,
    logger: pino({ level: "silent" }),
  });
  await api.request(
    "PATCH",
    "/api/v1/nodes/sync-node",
    { spec: { podCIDR: "10.244.98.0/24" } },
    { contentType: "application/merge-patch+json" },
  );
});

after(async () => {
  await kubelet?.stop();
  await api?.stop();
  rmSync(rootDir, { recursive: true, force: true });
});

const path = "/api/v1/namespaces/default/pods/watched";
const settle = () => new Promise((r) => setTimeout(r, 1000));

/** Creates a one-container pod on the node and waits until it runs; its uid. */
async function runningPod(name: string): Promise<string> {
  const created = await api.request("POST", "/api/v1/namespaces/default/pods", {
    metadata: { name },
    spec: { nodeName: "sync-node", containers: [{ name: "app", image: "busybox:1.36" }] },
  });
  assert.equal(created.status, 201, created.text);
  await waitFor(`${name} running`, async () => {
    const p = (await api.request("GET", `/api/v1/namespaces/default/pods/${name}`)).json;
    return p?.status?.phase === "Running";
  });
  return created.json.metadata.uid;
}

test("a status-only update starts no sync; a label change does", async () => {
  const uid = await runningPod("watched");
  await settle();
  const before = syncs.get(uid) ?? 0;

  const status = await api.request(
    "PATCH",
    `${path}/status`,
    { status: { message: "written by someone else" } },
    { contentType: "application/merge-patch+json" },
  );
  assert.equal(status.status, 200);
  await settle();
  assert.equal(syncs.get(uid), before, "a status-only update started a sync");

  const labels = await api.request(
    "PATCH",
    path,
    { metadata: { labels: { tier: "web" } } },
    { contentType: "application/merge-patch+json" },
  );
  assert.equal(labels.status, 200);
  await waitFor("a sync after the label change", async () => (syncs.get(uid) ?? 0) > before);
});

/** The apiserver's count of GETs of one resource, from its /metrics. */
async function gets(resource: string): Promise<number> {
  const text = (await api.request("GET", "/metrics")).text;
  let n = 0;
  for (const line of text.split("\n")) {
    if (
      line.startsWith("apiserver_request_total{") &&
      line.includes('verb="GET"') &&
      line.includes(`resource="${resource}"`) &&
      line.includes('subresource=""')
    )
      n += Number(line.split(" ").at(-1));
  }
  return n;
}

test("a ConfigMap's change syncs the pods using it at once; their syncs read it from a watch", async () => {
  await api.request("POST", "/api/v1/namespaces/default/configmaps", {
    metadata: { name: "settings" },
    data: { mode: "one" },
  });
  const created = await api.request("POST", "/api/v1/namespaces/default/pods", {
    metadata: { name: "configured" },
    spec: {
      nodeName: "sync-node",
      volumes: [{ name: "conf", configMap: { name: "settings" } }],
      containers: [
        {
          name: "app",
          image: "busybox:1.36",
          volumeMounts: [{ name: "conf", mountPath: "/etc/conf" }],
          env: [
            { name: "MODE", valueFrom: { configMapKeyRef: { name: "settings", key: "mode" } } },
          ],
        },
      ],
    },
  });
  assert.equal(created.status, 201);
  const uid: string = created.json.metadata.uid;
  const file = join(rootDir, "pods", uid, "volumes", "conf", "mode");
  await waitFor("the volume written", async () => readFileSync(file, "utf8") === "one");
  await settle();
  const dataLink = join(rootDir, "pods", uid, "volumes", "conf", "..data");
  const generation = readlinkSync(dataLink);

  // Syncs (woken by label changes) read the ConfigMap from the kubelet's watch of it, and
  // leave the unchanged volume as it was written.
  const getsBefore = await gets("configmaps");
  const syncsBefore = syncs.get(uid) ?? 0;
  for (const tier of ["a", "b", "c"]) {
    await api.request(
      "PATCH",
      "/api/v1/namespaces/default/pods/configured",
      { metadata: { labels: { tier } } },
      { contentType: "application/merge-patch+json" },
    );
    await waitFor(`a sync after tier=${tier}`, async () => (syncs.get(uid) ?? 0) > syncsBefore);
  }
  await settle();
  assert.ok((syncs.get(uid) ?? 0) >= syncsBefore + 1);
  assert.equal(
    await gets("configmaps"),
    getsBefore,
    "a sync asked the apiserver for the ConfigMap",
  );
  assert.equal(readlinkSync(dataLink), generation, "an unchanged volume was written again");

  // No periodic resync runs here: only the watch can bring the new contents.
  await api.request(
    "PATCH",
    "/api/v1/namespaces/default/configmaps/settings",
    { data: { mode: "two" } },
    { contentType: "application/merge-patch+json" },
  );
  await waitFor("the volume follows the update", async () => readFileSync(file, "utf8") === "two");
  assert.notEqual(readlinkSync(dataLink), generation);
});
