// Benchmark: skiff-scheduler end to end against a real apiserver and etcd on this machine.
//   npx tsc -b packages/scheduler packages/apiserver
//   npx tsx --conditions=source scripts/bench/scheduler.ts [--nodes=100,1000,5000] [--pods=10000]
// For each node count: fresh etcd + apiserver (own process) + skiff-scheduler (own process,
// no leader election, no client rate limit); SIMULATED nodes (Node objects only, no kubelet,
// named sim-node-NNNNN, 32 cpu / 128Gi / 110 pods each); then pending pods (100m, 128Mi) are
// created through the apiserver, 100 at a time. Reported: pods/s from the first create to the
// last pod seen bound (by an informer), and each pod's wait from its create call to its binding.
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, copyFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { findResource } from "@skiff/api";
import {
  RestClient,
  SharedInformerFactory,
  loadClientConfig,
  silentLogger,
  type KubeObject,
} from "@skiff/client";
import { freePort, startEtcd, testCerts } from "@skiff/testing";
import {
  Algorithm,
  SchedulerCache,
  newPodInfo,
  type Pod as FullPod,
} from "../../packages/scheduler/src/index.js";
import { cpuSeconds, pct, pool } from "./lib.js";

const root = new URL("../../", import.meta.url).pathname;
const arg = (name: string, def: string) =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ?? def;
const nodeCounts = arg("nodes", "100,1000,5000").split(",").map(Number);
const podCount = Number(arg("pods", "10000"));

interface Pod extends KubeObject {
  spec: { nodeName?: string };
}

/** CPU seconds this (load-generating) process has used. */
function ownCpu(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

/** Runs a process and resolves once a JSON log line with `msg` appears on its stdout. */
function spawnUntil(
  args: string[],
  msg: string | undefined,
): { proc: ChildProcess; ready: Promise<void> } {
  // SKIFF_BENCH_CPU_PROF=<dir>: each process writes a V8 CPU profile there when it exits.
  const prof = process.env.SKIFF_BENCH_CPU_PROF;
  // The components run with the young-generation size scripts/cluster.sh gives them.
  const nodeArgs = [
    "--max-semi-space-size=64",
    ...(prof ? ["--cpu-prof", `--cpu-prof-dir=${prof}`] : []),
  ];
  const proc = spawn(process.execPath, [...nodeArgs, ...args], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const ready = new Promise<void>((resolve, reject) => {
    proc.once("exit", (code) => reject(new Error(`${args[0]} exited with ${code}`)));
    if (!msg) return resolve();
    createInterface({ input: proc.stdout! }).on("line", (line) => {
      if (line.includes(`"msg":"${msg}"`)) resolve();
    });
  });
  if (!msg) proc.stdout!.resume();
  return { proc, ready };
}

async function run(nodes: number, pods: number): Promise<string> {
  const etcd = await startEtcd();
  const certs = testCerts();
  const port = await freePort();
  const url = `https://127.0.0.1:${port}`;
  const dir = mkdtempSync(join(tmpdir(), "skiff-bench-sched-"));
  execFileSync("bash", [join(root, "scripts/make-certs.sh"), certs, url], { stdio: "ignore" });
  const kubeconfig = join(dir, "admin.kubeconfig");
  copyFileSync(join(certs, "admin.kubeconfig"), kubeconfig);
  const apiserver = spawnUntil(
    [
      join(root, "packages/apiserver/dist/main.js"),
      `--etcd-servers=${etcd.endpoints.join(",")}`,
      "--bind-address=127.0.0.1",
      `--secure-port=${port}`,
      `--tls-cert-file=${join(certs, "apiserver.crt")}`,
      `--tls-private-key-file=${join(certs, "apiserver.key")}`,
      `--client-ca-file=${join(certs, "ca.crt")}`,
    ],
    undefined,
  );
  const procs: ChildProcess[] = [apiserver.proc];
  try {
    return await measure(kubeconfig, nodes, pods, procs, etcd.pid);
  } finally {
    for (const p of procs) p.kill("SIGTERM");
    await etcd.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function measure(
  kubeconfig: string,
  nodes: number,
  pods: number,
  procs: ChildProcess[],
  etcdPid: number | undefined,
): Promise<string> {
  const client = new RestClient(
    { ...loadClientConfig({ kubeconfig }), qps: -1 },
    { maxSockets: 100 },
  );
  for (let i = 0; ; i++) {
    try {
      await client.requestText("GET", "/readyz");
      break;
    } catch {
      if (i > 200) throw new Error("apiserver did not start");
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const podsApi = client.resource<Pod>(findResource("", "v1", "pods")!).namespace("bench");
  await client
    .resource(findResource("", "v1", "namespaces")!)
    .create({ metadata: { name: "bench" } });

  const nodeNames = Array.from(
    { length: nodes },
    (_, i) => `sim-node-${String(i).padStart(5, "0")}`,
  );
  const t0 = performance.now();
  await pool(nodeNames, 50, async (name) => {
    const allocatable = { cpu: "32", memory: "128Gi", pods: "110", "ephemeral-storage": "500Gi" };
    await client.resource(findResource("", "v1", "nodes")!).create({
      metadata: { name, labels: { "kubernetes.io/hostname": name, "skiff.dev/simulated": "true" } },
      status: { capacity: allocatable, allocatable },
    } as KubeObject);
  });
  console.error(
    `${nodes} simulated nodes created in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );

  const scheduler = spawnUntil(
    [
      join(root, "packages/scheduler/dist/main.js"),
      `--kubeconfig=${kubeconfig}`,
      "--leader-elect=false",
      "--port=0",
      "--kube-api-qps=-1",
      "--log-level=info",
    ],
    "caches synced",
  );
  procs.push(scheduler.proc);
  await scheduler.ready;

  const created = new Map<string, number>();
  const bound = new Map<string, number>();
  let allBound: () => void = () => {};
  const done = new Promise<void>((r) => (allBound = r));
  const factory = new SharedInformerFactory(client, { namespace: "bench", logger: silentLogger });
  const informer = factory.forResource<Pod>(findResource("", "v1", "pods")!);
  const seen = (p: Pod) => {
    const name = p.metadata.name!;
    if (p.spec.nodeName && !bound.has(name)) {
      bound.set(name, performance.now());
      if (bound.size === pods) allBound();
    }
  };
  informer.addEventHandler({ add: seen, update: (_o, p) => seen(p) });
  factory.start();
  await factory.waitForCacheSync();

  const names = Array.from({ length: pods }, (_, i) => `pod-${i}`);
  const [apiPid, schedPid] = [procs[0]!.pid, scheduler.proc.pid];
  const cpu0 = [cpuSeconds(apiPid), cpuSeconds(schedPid), cpuSeconds(etcdPid), ownCpu()];
  const start = performance.now();
  await pool(names, 100, async (name) => {
    created.set(name, performance.now());
    await podsApi.create({
      metadata: { name, namespace: "bench", labels: { app: "bench" } },
      spec: {
        containers: [
          {
            name: "c",
            image: "skiff.local/busybox:1.36",
            resources: { requests: { cpu: "100m", memory: "128Mi" } },
          },
        ],
      },
    } as Pod);
  });
  const createdAt = performance.now();
  const timeout = setTimeout(allBound, 600_000);
  await done;
  clearTimeout(timeout);
  const end = performance.now();
  const cpu = [
    cpuSeconds(apiPid) - cpu0[0]!,
    cpuSeconds(schedPid) - cpu0[1]!,
    cpuSeconds(etcdPid) - cpu0[2]!,
    ownCpu() - cpu0[3]!,
  ];

  const waits = names.filter((n) => bound.has(n)).map((n) => bound.get(n)! - created.get(n)!);
  const secs = (end - start) / 1000;
  const line =
    `| ${nodes} | ${pods} | ${bound.size} | ${(bound.size / secs).toFixed(0)} | ${(pods / ((createdAt - start) / 1000)).toFixed(0)} | ` +
    `${pct(waits, 50).toFixed(0)} | ${pct(waits, 99).toFixed(0)} | ${cpu[1]!.toFixed(1)} | ${cpu[0]!.toFixed(1)} | ${cpu[2]!.toFixed(1)} | ${cpu[3]!.toFixed(1)} | ${secs.toFixed(1)} | ${loadavg()[0]!.toFixed(1)} |`;
  console.log(line);

  factory.stop();
  client.close();
  return line;
}

/** The decision alone, in process: filter + score + assume, no API (the scheduler's own ceiling). */
function decisions(nodes: number, pods: number): string {
  const cache = new SchedulerCache();
  for (let i = 0; i < nodes; i++) {
    const name = `sim-node-${String(i).padStart(5, "0")}`;
    const allocatable = { cpu: "32", memory: "128Gi", pods: "110", "ephemeral-storage": "500Gi" };
    cache.addNode({
      metadata: { name, labels: { "kubernetes.io/hostname": name } },
      status: { capacity: allocatable, allocatable },
    });
  }
  const algorithm = new Algorithm();
  const spread = { namespace: "bench", controllerUID: undefined, selectors: [] };
  const start = performance.now();
  for (let i = 0; i < pods; i++) {
    const pod: FullPod = {
      metadata: { name: `pod-${i}`, namespace: "bench" },
      spec: {
        containers: [
          {
            name: "c",
            image: "busybox",
            resources: { requests: { cpu: "100m", memory: "128Mi" } },
          },
        ],
      },
    };
    const info = newPodInfo(pod);
    cache.assumePod(info, algorithm.schedule(info, cache, spread).nodeName);
  }
  const secs = (performance.now() - start) / 1000;
  return `| ${nodes} | ${pods} | ${(pods / secs).toFixed(0)} | ${((secs * 1000) / pods).toFixed(2)} |`;
}

async function main(): Promise<void> {
  const dheader =
    "| nodes (simulated) | pods | decisions/s (in process, no API) | ms per decision |\n|---|---|---|---|";
  const dlines = nodeCounts.map((n) => decisions(n, podCount));
  console.log([dheader, ...dlines].join("\n") + "\n");
  const header =
    "| nodes (simulated) | pods | bound | pods/s create→bound | pods/s created | p50 wait ms | p99 wait ms | scheduler cpu s | apiserver cpu s | etcd cpu s | load generator cpu s | wall s | load average |\n" +
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|";
  console.log(header);
  const lines: string[] = [];
  for (const n of nodeCounts) lines.push(await run(n, podCount));
  console.log("\n---\n" + [dheader, ...dlines].join("\n") + "\n\n" + [header, ...lines].join("\n"));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
