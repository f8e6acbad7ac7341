// Times creating + starting a sandbox and one app container through DockerRuntime against
// the same Engine API calls made bare (no labels' lookups, no resolv.conf rewrite).
// Run from the repo root: node --conditions=source --import tsx packages/kubelet/bench/pod-start.ts
import { randomBytes, randomUUID } from "node:crypto";
import { hashContainer } from "../src/container-hash.js";
import { DockerRuntime } from "../src/runtime/docker.js";

const IMAGE = "skiff.local/busybox:1.36";
const RUNS = 10;
const runId = randomBytes(4).toString("hex");
const label = { "io.skiff.test": runId };
const rt = new DockerRuntime({ networkName: `skiff-bench-${runId}`, ownerLabels: label });
const dns = { servers: ["10.96.0.10"], searches: [], options: [] };

async function viaRuntime(): Promise<number> {
  const pod = { uid: randomUUID(), namespace: "bench", name: "p" };
  const t = performance.now();
  const sandboxId = await rt.runPodSandbox({
    pod,
    attempt: 0,
    hostname: "p",
    hostNetwork: false,
    dns,
    portMappings: [],
  });
  const container = { name: "app", image: IMAGE, command: ["sleep", "300"] };
  const id = await rt.createContainer({
    pod,
    sandboxId,
    container,
    attempt: 0,
    hash: hashContainer(container),
    env: [],
    mounts: [],
  });
  await rt.startContainer(id);
  return performance.now() - t;
}

async function raw(): Promise<number> {
  const t = performance.now();
  const sandbox = (await rt.api.call("POST", "/containers/create", {
    body: {
      Image: IMAGE,
      Cmd: ["sleep", "infinity"],
      Labels: label,
      HostConfig: {
        Init: true,
        NetworkMode: rt.networkName,
        IpcMode: "shareable",
        Dns: dns.servers,
      },
    },
  })) as { Id: string };
  await rt.api.call("POST", `/containers/${sandbox.Id}/start`);
  const app = (await rt.api.call("POST", "/containers/create", {
    body: {
      Image: IMAGE,
      Cmd: ["sleep", "300"],
      Labels: label,
      HostConfig: { NetworkMode: `container:${sandbox.Id}`, IpcMode: `container:${sandbox.Id}` },
    },
  })) as { Id: string };
  await rt.api.call("POST", `/containers/${app.Id}/start`);
  return performance.now() - t;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return (s[(s.length - 1) >> 1]! + s[s.length >> 1]!) / 2;
}

async function cleanup() {
  const filters = JSON.stringify({ label: [`io.skiff.test=${runId}`] });
  const list = (await rt.api.call("GET", "/containers/json", {
    query: { all: true, filters },
  })) as { Id: string }[];
  await Promise.all(
    list.map((c) => rt.api.call("DELETE", `/containers/${c.Id}`, { query: { force: true } })),
  );
  const nets = (await rt.api.call("GET", "/networks", { query: { filters } })) as { Id: string }[];
  for (const n of nets) await rt.api.call("DELETE", `/networks/${n.Id}`);
}

try {
  await rt.ensurePodNetwork({
    subnet: `10.244.${230 + (parseInt(runId.slice(0, 2), 16) % 9)}.0/24`,
  });
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    // Interleaved, so drift in the engine's load affects both alike.
    a.push(await viaRuntime());
    b.push(await raw());
  }
  console.log(`sandbox + app container, create+start, median of ${RUNS}:`);
  console.log(
    `  DockerRuntime      ${median(a).toFixed(0)} ms  (min ${Math.min(...a).toFixed(0)}, max ${Math.max(...a).toFixed(0)})`,
  );
  console.log(
    `  bare Engine API    ${median(b).toFixed(0)} ms  (min ${Math.min(...b).toFixed(0)}, max ${Math.max(...b).toFixed(0)})`,
  );
} finally {
  await cleanup();
}
