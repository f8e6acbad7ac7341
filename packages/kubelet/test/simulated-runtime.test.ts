// SimulatedRuntime (scale benchmarks only) keeps the ContainerRuntime contract in memory.
import assert from "node:assert/strict";
import { test } from "node:test";
import { startContainers } from "./harness.js";
import { ImageNotFoundError } from "../src/errors.js";
import { computePodActions } from "../src/pod-actions.js";
import { readAll } from "../src/runtime/streams.js";
import type { RuntimeEvent } from "../src/runtime/runtime.js";
import { SimulatedRuntime } from "../src/runtime/simulated.js";
import type { Pod } from "../src/objects.js";

const UID = "aaaaaaaa-0000-0000-0000-000000000001";
const containers = [
  { name: "app", image: "sim/app:1" },
  { name: "side", image: "sim/side:1" },
];
const pod: Pod = {
  metadata: { name: "crasher", namespace: "default", uid: UID },
  spec: { containers },
};
const ref = { uid: UID, namespace: "default", name: "crasher" };
const dns = { servers: ["10.96.0.10"], searches: [], options: [] };

test("a simulated container starts at once, exits with its scripted code and shows in events and lists", async () => {
  const rt = new SimulatedRuntime({
    script: (_pod, c) =>
      c.name === "app" ? { runForMs: 20, exitCode: 3, logs: "crashing\n" } : undefined,
    missingImages: (image) => image.startsWith("sim/missing"),
  });
  await rt.ensurePodNetwork({ subnet: "10.244.7.0/24" });
  const abort = new AbortController();
  const events: string[] = [];
  const collecting = (async () => {
    for await (const e of rt.events(abort.signal) as AsyncIterable<RuntimeEvent>) {
      events.push(
        `${e.containerName}/${e.type}${e.exitCode === undefined ? "" : `:${e.exitCode}`}`,
      );
      if (e.type === "die") abort.abort();
    }
  })();
  const sandboxId = await rt.runPodSandbox({
    pod: ref,
    attempt: 0,
    hostname: "crasher",
    hostNetwork: false,
    dns,
    portMappings: [],
  });
  const [sandbox] = await rt.listPodSandboxes({ podUid: ref.uid });
  assert.equal(sandbox?.state, "ready");
  assert.match(sandbox?.ip ?? "", /^10\.244\.7\.\d+$/);

  await startContainers(rt, ref, sandboxId, containers);
  await collecting;
  assert.deepEqual(events, ["POD/start", "app/start", "side/start", "app/die:3"]);
  const byName = Object.fromEntries(
    (await rt.listContainers({ podUid: ref.uid })).map((c) => [c.name, c]),
  );
  assert.deepEqual(
    [byName.app?.state, byName.app?.exitCode, byName.app?.reason],
    ["exited", 3, "Error"],
  );
  assert.equal(byName.side?.state, "running");
  assert.equal(await readAll(await rt.containerLogs(ref, "app", { previous: true })), "crashing\n");

  // The pure decision reads the simulated state like the real one: restart app, keep side.
  const plan = computePodActions(pod, {
    sandboxes: await rt.listPodSandboxes({ podUid: ref.uid }),
    containers: await rt.listContainers({ podUid: ref.uid }),
    now: Date.now(),
  });
  assert.deepEqual(
    plan.containersToStart.map((c) => `${c.name}#${c.attempt}`),
    ["app#1"],
  );
  assert.equal(plan.sandboxId, sandboxId);

  await rt.stopPodSandbox(sandboxId);
  assert.equal((await rt.listPodSandboxes())[0]?.state, "notready");
  await assert.rejects(rt.pullImage("sim/missing:1"), ImageNotFoundError);
  assert.match(await rt.pullImage("sim/app:1"), /^sha256:/);
  assert.equal(await rt.imageStatus("sim/app:1"), await rt.pullImage("sim/app:1"));
});
