// Pod start latency, three ways, on the real engine:
// 1. DockerRuntime: sandbox + one app container, create+start (labels, resolv.conf rewrite);
// 2. bare dockerode: the same two containers, nothing else (the floor);
// 3. the whole path: pod created in the API → Running seen through a watch, with a real
//    apiserver and kubelet, for batches of 1, 10 and 30 pods (p50/p99 per batch).
// Run from the repo root: node --conditions=source --import tsx packages/kubelet/bench/pod-start.ts
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, startApiserver } from "@skiff/testing";
import { pino } from "pino";
import { hashContainer } from "../src/container-hash.js";
import { DockerRuntime } from "../src/runtime/docker.js";
import { startKubelet } from "../src/start.js";

const IMAGE = "skiff.local/busybox:1.36";
const RUNS = 10;
const runId = randomBytes(4).toString("hex");
const label = { "io.skiff.test": runId };
const rt = new DockerRuntime({ networkName: `skiff-bench-${runId}`, ownerLabels: label });
const dns = { servers: ["10.96.0.10"], searches: [], options: [] };
const podCIDR = `10.244.${230 + (parseInt(runId.slice(0, 2), 16) % 9)}.0/24`;

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
  const sandbox = await rt.docker.createContainer({
    Image: IMAGE,
    Cmd: ["sleep", "infinity"],
    Labels: label,
    HostConfig: { Init: true, NetworkMode: rt.networkName, IpcMode: "shareable", Dns: dns.servers },
  });
  await sandbox.start();
  const app = await rt.docker.createContainer({
    Image: IMAGE,
    Cmd: ["sleep", "300"],
    Labels: label,
    HostConfig: { NetworkMode: `container:${sandbox.id}`, IpcMode: `container:${sandbox.id}` },
  });
  await app.start();
  return performance.now() - t;
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] ?? NaN;
}

function line(name: string, xs: number[]): string {
  return `  ${name.padEnd(30)} p50 ${quantile(xs, 0.5).toFixed(0).padStart(5)} ms   p99 ${quantile(xs, 0.99).toFixed(0).padStart(5)} ms`;
}

/** Creates `n` pods at once and times each from its create to Running seen in a watch. */
async function throughApi(n: number): Promise<number[]> {
  const api = await startApiserver();
  const rootDir = mkdtempSync(join(tmpdir(), "skiff-bench-kubelet-"));
  const kubelet = await startKubelet({
    kubeconfig: api.kubeconfig,
    nodeName: `bench-${runId}`,
    nodeIP: "127.0.0.1",
    rootDir,
    port: await freePort(),
    bindAddress: "127.0.0.1",
    clientCAFile: join(api.certDir, "ca.crt"),
    containerRuntime: rt,
    logger: pino({ level: "silent" }),
  });
  try {
    await api.request(
      "PATCH",
      `/api/v1/nodes/bench-${runId}`,
      { spec: { podCIDR } },
      { contentType: "application/merge-patch+json" },
    );
    const created = new Map<string, number>();
    const latencies: number[] = [];
    const watch = await fetchWatch(api.url, join(api.certDir));
    const done = new Promise<void>((resolve) => {
      watch.on("pod", (name: string, phase: string) => {
        const t0 = created.get(name);
        if (t0 !== undefined && phase === "Running") {
          latencies.push(performance.now() - t0);
          created.delete(name);
          if (latencies.length === n) resolve();
        }
      });
    });
    await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const name = `b${n}-${i}`;
        created.set(name, performance.now());
        await api.request("POST", "/api/v1/namespaces/default/pods", {
          metadata: { name },
          spec: {
            nodeName: `bench-${runId}`,
            terminationGracePeriodSeconds: 0,
            containers: [{ name: "app", image: IMAGE, command: ["sleep", "300"] }],
          },
        });
      }),
    );
    await done;
    watch.close();
    return latencies;
  } finally {
    await kubelet.stop();
    await api.stop();
    rmSync(rootDir, { recursive: true, force: true });
  }
}

/** A raw watch on pods as the admin; emits ("pod", name, phase) per event. */
async function fetchWatch(url: string, certDir: string) {
  const { request } = await import("node:https");
  const { readFileSync } = await import("node:fs");
  const { EventEmitter } = await import("node:events");
  const emitter = Object.assign(new EventEmitter(), { close: () => {} });
  const req = request(`${url}/api/v1/pods?watch=true`, {
    ca: readFileSync(join(certDir, "ca.crt")),
    cert: readFileSync(join(certDir, "admin.crt")),
    key: readFileSync(join(certDir, "admin.key")),
  });
  req.on("response", (res) => {
    let buf = "";
    res.on("data", (chunk: Buffer) => {
      buf += chunk.toString();
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const ev = JSON.parse(buf.slice(0, nl)) as {
          object?: { metadata?: { name?: string }; status?: { phase?: string } };
        };
        buf = buf.slice(nl + 1);
        emitter.emit("pod", ev.object?.metadata?.name ?? "", ev.object?.status?.phase ?? "");
      }
    });
  });
  req.on("error", () => undefined);
  req.end();
  emitter.close = () => req.destroy();
  return emitter;
}

async function cleanup() {
  const filters = { label: [`io.skiff.test=${runId}`] };
  const list = await rt.docker.listContainers({ all: true, filters });
  await Promise.all(list.map((c) => rt.docker.getContainer(c.Id).remove({ force: true })));
  for (const n of await rt.docker.listNetworks({ filters })) {
    await rt.docker.getNetwork(n.Id).remove();
  }
}

try {
  await rt.ensurePodNetwork({ subnet: podCIDR });
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    // Interleaved, so drift in the engine's load affects both alike.
    a.push(await viaRuntime());
    b.push(await raw());
  }
  console.log(`sandbox + app container, create+start, ${RUNS} runs:`);
  console.log(line("DockerRuntime", a));
  console.log(line("bare dockerode (docker run)", b));
  await cleanup();
  await rt.ensurePodNetwork({ subnet: podCIDR });
  console.log("pod created in the API → Running seen through a watch:");
  for (const n of [1, 10, 30]) {
    console.log(line(`${n} pod${n > 1 ? "s" : ""} at once`, await throughApi(n)));
    await cleanup();
    await rt.ensurePodNetwork({ subnet: podCIDR });
  }
} finally {
  await cleanup();
}
