// The relist: between full resyncs, the kubelet lists the runtime and syncs only the pods
// whose sandboxes or containers changed — which is how it notices a container that exited
// while the runtime's event stream was down. Real apiserver, simulated runtime whose events
// can be held back, each sync seen as a runtime list call for the pod.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { startApiserver, type TestApiserver } from "@skiff/testing";
import { pino } from "pino";
import type { ListFilter, RuntimeEvent } from "../src/runtime/runtime.js";
import { SimulatedRuntime } from "../src/runtime/simulated.js";
import { startKubelet, type RunningKubelet } from "../src/start.js";
import { waitFor } from "./harness.js";

let api: TestApiserver;
let kubelet: RunningKubelet;
const rootDir = mkdtempSync(join(tmpdir(), "skiff-kubelet-relist-"));
/** Sandbox list calls by pod uid: one per sync of that pod. */
const syncs = new Map<string, number>();

class MutableRuntime extends SimulatedRuntime {
  /** While set, runtime events are lost, as when the engine's event stream is down. */
  muted = false;

  override listPodSandboxes(filter: ListFilter = {}) {
    if (filter.podUid) syncs.set(filter.podUid, (syncs.get(filter.podUid) ?? 0) + 1);
    return super.listPodSandboxes(filter);
  }

  override async *events(signal: AbortSignal): AsyncIterable<RuntimeEvent> {
    for await (const e of super.events(signal)) if (!this.muted) yield e;
  }
}

const runtime = new MutableRuntime();
const RELIST_MS = 300;

before(async () => {
  api = await startApiserver();
  kubelet = await startKubelet({
    kubeconfig: api.kubeconfigFor("system:node:relist-node", ["system:nodes"]),
    nodeName: "relist-node",
    nodeIP: "127.0.0.1",
    rootDir,
    port: 0,
    containerRuntime: runtime,
    // Far apart: every sync seen in the test comes from an event or from the relist.
    resyncPeriodMs: 600_000,
    relistPeriodMs: RELIST_MS,
    logger: pino({ level: "silent" }),
  });
  await api.request(
    "PATCH",
    "/api/v1/nodes/relist-node",
    { spec: { podCIDR: "10.244.97.0/24" } },
    { contentType: "application/merge-patch+json" },
  );
});

after(async () => {
  await kubelet?.stop();
  await api?.stop();
  rmSync(rootDir, { recursive: true, force: true });
});

const path = "/api/v1/namespaces/default/pods/relisted";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("relists sync an unchanged pod never, and a container that exited unseen at once", async () => {
  const created = await api.request("POST", "/api/v1/namespaces/default/pods", {
    metadata: { name: "relisted" },
    spec: { nodeName: "relist-node", containers: [{ name: "app", image: "busybox:1.36" }] },
  });
  assert.equal(created.status, 201);
  const uid: string = created.json.metadata.uid;
  await waitFor("pod running", async () => {
    const p = (await api.request("GET", path)).json;
    return p?.status?.phase === "Running";
  });
  await sleep(4 * RELIST_MS);

  // Ten relists over a pod whose runtime state did not change: no sync.
  const before = syncs.get(uid) ?? 0;
  await sleep(10 * RELIST_MS);
  assert.equal(syncs.get(uid), before, "a relist synced a pod whose containers did not change");

  // The container exits and no event says so: the next relist sees it, and the pod's sync
  // restarts it (restartPolicy Always) — with the full resync ten minutes away.
  runtime.muted = true;
  const [app] = await runtime.listContainers({ podUid: uid });
  assert.ok(app, "the pod's container is in the runtime");
  runtime.exitContainer(app.id, 3);
  const status = await waitFor(
    "the exited container restarted",
    async () => {
      const p = (await api.request("GET", path)).json;
      const c = p?.status?.containerStatuses?.[0];
      return c?.restartCount >= 1 && c?.state?.running ? c : undefined;
    },
    10_000,
  );
  assert.equal(status.lastState?.terminated?.exitCode, 3);
});
