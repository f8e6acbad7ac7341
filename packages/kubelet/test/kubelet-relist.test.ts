// The relist on the real engine: between full resyncs (here ten minutes apart) the kubelet
// lists the runtime every RELIST_MS and syncs only the pods whose sandboxes or containers
// changed since the last list. That is how a container that stopped while Docker's event
// stream was down is noticed, and why a node's steady pods cost no sync between resyncs.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { ListFilter, RuntimeEvent } from "../src/runtime/runtime.js";
import { assignPodCIDR, containerStatus, startHarness, type Harness } from "./harness.js";

const RELIST_MS = 500;
let h: Harness;
/** Pod sandbox list calls by pod uid: one per sync of that pod. */
const syncs = new Map<string, number>();
/** While set, the engine's events do not reach the kubelet (as when their stream is down). */
let muted = false;

before(async () => {
  h = await startHarness();
  const rt = h.runtime;
  const events = rt.events.bind(rt);
  rt.events = async function* (signal: AbortSignal): AsyncIterable<RuntimeEvent> {
    for await (const e of events(signal)) if (!muted) yield e;
  };
  const listSandboxes = rt.listPodSandboxes.bind(rt);
  rt.listPodSandboxes = (filter: ListFilter = {}) => {
    if (filter.podUid) syncs.set(filter.podUid, (syncs.get(filter.podUid) ?? 0) + 1);
    return listSandboxes(filter);
  };
  await h.startKubelet({ resyncPeriodMs: 600_000, relistPeriodMs: RELIST_MS });
  await assignPodCIDR(h);
});
after(async () => {
  await h?.cleanup();
});

test("relists sync an unchanged pod never, and a container stopped unseen at once", async () => {
  const pod = await h.runningPod("relisted", ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]);
  const uid: string = pod.metadata.uid;
  await new Promise((r) => setTimeout(r, 4 * RELIST_MS));

  // Six relists of a pod whose containers did not change: no sync.
  const before = syncs.get(uid) ?? 0;
  await new Promise((r) => setTimeout(r, 6 * RELIST_MS));
  assert.equal(syncs.get(uid), before, "a relist synced a pod whose containers did not change");

  // The container stops and Docker's event about it is lost: the next relist sees it, and the
  // pod's sync starts it again (restartPolicy Always).
  muted = true;
  const id = containerStatus(pod, "app").containerID.replace("docker://", "");
  await h.runtime.stopContainer(id, 1);
  const restarted = await h.waitPod(
    "relisted",
    (p) =>
      containerStatus(p, "app")?.restartCount >= 1 && !!containerStatus(p, "app").state.running,
    20_000,
  );
  assert.equal(containerStatus(restarted, "app").lastState.terminated?.exitCode, 0);
  muted = false;
});
