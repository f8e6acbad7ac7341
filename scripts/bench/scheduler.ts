// Benchmark: skiff-scheduler end to end against a real apiserver and etcd on this machine,
// started exactly as `make up` starts them (scripts/cluster.sh).
//   npx tsc -b packages/scheduler packages/apiserver
//   npx tsx --conditions=source scripts/bench/scheduler.ts [--nodes=1000] [--pods=5000]
//     [--shapes=backlog,arrival,bindings] [--runs=1] [--scheduler-flags="--kube-api-qps=-1"]
// For each node count and shape: fresh etcd + apiserver (own process) + skiff-scheduler (own
// process), each with the node flags and component flags scripts/cluster.sh gives them (the
// scheduler's own kubeconfig, its default client limits, leader election on). The only
// changes: the apiserver listens on 127.0.0.1 rather than 0.0.0.0, on a free port, and the
// scheduler's health port is a free one (--port=0) so that runs never collide.
// SIMULATED nodes (Node objects only, no kubelet, named sim-node-NNNNN, 32 cpu / 128Gi / 110
// pods each); pending pods (100m, 128Mi) created through the apiserver, 100 at a time.
// Shapes:
//   backlog   every pod is created before the scheduler starts (scheduler_perf's shape);
//             pods/s is from starting the scheduler's process to the last pod seen bound on
//             a watch (so it includes the process start, cache sync and leader election).
//   arrival   the scheduler runs and has synced; pods/s is from the first create to the
//             last pod seen bound.
//   bindings  no scheduler: the load generator binds the backlog itself, 64 at a time with
//             no client limit — the apiserver's capacity for bindings (the ceiling for any
//             scheduler client limit).
// The apiserver's flags are read from scripts/cluster.sh (lib.ts, clusterApiserverArgs): audit
// policy and log (in a temporary directory), encryption config, service-account key…
// SKIFF_BENCH_CPU_PROF=<dir>: the apiserver and scheduler also write V8 CPU profiles there.
// SKIFF_BENCH_ROOT=<checkout>: run that checkout's built apiserver and scheduler (A/B).
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, copyFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { createInterface } from "node:readline";
import { resourceInfo, type PodSpec } from "@skiff/api";
import {
  RestClient,
  SharedInformerFactory,
  loadClientConfig,
  silentLogger,
  type KubeObject,
} from "@skiff/client";
import { freePort, startEtcd, testCerts } from "@skiff/testing";
import type { Pod as FullPod } from "../../packages/scheduler/src/index.js";
import {
  benchRoot,
  clusterApiserverArgs,
  clusterNodeFlags,
  cpuSeconds,
  pct,
  pool,
  waitForApiserver,
} from "./lib.js";

// The built components it runs (SKIFF_BENCH_ROOT: another checkout's, for A/B runs).
const root = benchRoot();
// SKIFF_BENCH_SCHEDULER_ROOT: the scheduler from yet another checkout (one apiserver A/B with
// the same scheduler).
const schedulerRoot = process.env.SKIFF_BENCH_SCHEDULER_ROOT ?? root;
const arg = (name: string, def: string) =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? def;
const nodeCounts = arg("nodes", "1000").split(",").map(Number);
const podCount = Number(arg("pods", "5000"));
const shapes = arg("shapes", "backlog,arrival").split(",") as Shape[];
const runs = Number(arg("runs", "1"));
// Extra scheduler flags, for measuring candidates only (the figures in docs use none).
const extraSchedulerFlags = arg("scheduler-flags", "").split(" ").filter(Boolean);
type Shape = "backlog" | "arrival" | "bindings";

interface Pod extends KubeObject {
  spec: PodSpec;
}

/** Resident memory of a process in MiB ("–" without one). */
function rssMiB(pid: number | undefined): string {
  if (pid === undefined) return "–";
  try {
    const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
    return kb ? (Number(kb) / 1024).toFixed(0) : "–";
  } catch {
    return "–";
  }
}

/** CPU seconds this (load-generating) process has used. */
function ownCpu(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

/** Set once a run stops its processes: their exits from then on are expected. */
let stopping = false;

/** Runs a process and resolves once a JSON log line with `msg` appears on its stdout. */
function spawnUntil(
  args: string[],
  msg: string | undefined,
): { proc: ChildProcess; ready: Promise<void> } {
  const prof = process.env.SKIFF_BENCH_CPU_PROF;
  const nodeArgs = [
    ...clusterNodeFlags(),
    ...(prof ? ["--cpu-prof", `--cpu-prof-dir=${prof}`] : []),
  ];
  const proc = spawn(process.execPath, [...nodeArgs, ...args], {
    cwd: root,
    stdio: ["ignore", "pipe", "inherit"],
  });
  // Its last log lines, shown when it exits before the benchmark stops it (a scheduler that
  // lost its lease on a loaded machine, an apiserver that failed).
  const last: string[] = [];
  const lines = createInterface({ input: proc.stdout! });
  lines.on("line", (line) => {
    last.push(line);
    if (last.length > 20) last.shift();
  });
  proc.once("exit", (code, signal) => {
    if (stopping) return;
    console.error(`${args[0]} exited (${code ?? signal}); its last log lines:\n${last.join("\n")}`);
  });
  const ready = new Promise<void>((resolve, reject) => {
    proc.once("exit", (code) => reject(new Error(`${args[0]} exited with ${code}`)));
    if (!msg) return resolve();
    lines.on("line", (line) => {
      if (line.includes(`"msg":"${msg}"`)) resolve();
    });
  });
  return { proc, ready };
}

async function run(nodes: number, pods: number, shape: Shape): Promise<string> {
  stopping = false;
  const etcd = await startEtcd();
  const certs = testCerts();
  const port = await freePort();
  const url = `https://127.0.0.1:${port}`;
  const dir = mkdtempSync(join(tmpdir(), "skiff-bench-sched-"));
  execFileSync("bash", [new URL("../make-certs.sh", import.meta.url).pathname, certs, url], {
    stdio: "ignore",
  });
  const kubeconfig = join(dir, "admin.kubeconfig");
  copyFileSync(join(certs, "admin.kubeconfig"), kubeconfig);
  const schedulerKubeconfig = join(dir, "scheduler.kubeconfig");
  copyFileSync(join(certs, "scheduler.kubeconfig"), schedulerKubeconfig);
  const apiserver = spawnUntil(
    clusterApiserverArgs({ etcdEndpoints: etcd.endpoints, port, certs, logs: dir }),
    undefined,
  );
  const procs: ChildProcess[] = [apiserver.proc];
  try {
    return await measure(kubeconfig, schedulerKubeconfig, nodes, pods, shape, procs, etcd.pid);
  } finally {
    stopping = true;
    for (const p of procs) p.kill("SIGTERM");
    await etcd.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function measure(
  kubeconfig: string,
  schedulerKubeconfig: string,
  nodes: number,
  pods: number,
  shape: Shape,
  procs: ChildProcess[],
  etcdPid: number | undefined,
): Promise<string> {
  const client = new RestClient(
    { ...loadClientConfig({ kubeconfig }), qps: -1 },
    { maxSockets: 100 },
  );
  await waitForApiserver(client);
  const podsApi = client.resource<Pod>(resourceInfo("", "v1", "pods")).namespace("bench");
  await client
    .resource(resourceInfo("", "v1", "namespaces"))
    .create({ metadata: { name: "bench" } });
  // No controller-manager runs here: create the account its serviceaccount controller would,
  // which ServiceAccount admission looks up for every pod.
  await client
    .resource(resourceInfo("", "v1", "serviceaccounts"))
    .namespace("bench")
    .create({ metadata: { name: "default" } });

  const nodeNames = Array.from(
    { length: nodes },
    (_, i) => `sim-node-${String(i).padStart(5, "0")}`,
  );
  const t0 = performance.now();
  await pool(nodeNames, 50, async (name) => {
    const allocatable = { cpu: "32", memory: "128Gi", pods: "110", "ephemeral-storage": "500Gi" };
    await client.resource(resourceInfo("", "v1", "nodes")).create({
      metadata: { name, labels: { "kubernetes.io/hostname": name, "skiff.dev/simulated": "true" } },
      status: { capacity: allocatable, allocatable },
    } as KubeObject);
  });
  console.error(
    `${nodes} simulated nodes created in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );

  const created = new Map<string, number>();
  const bound = new Map<string, number>();
  let allBound: () => void = () => {};
  let gaveUp: (err: Error) => void = () => {};
  const done = new Promise<void>((resolve, reject) => {
    allBound = resolve;
    gaveUp = reject;
  });
  done.catch(() => {}); // awaited below; a failure before then must not crash the run
  const factory = new SharedInformerFactory(client, { namespace: "bench", logger: silentLogger });
  const informer = factory.forResource<Pod>(resourceInfo("", "v1", "pods"));
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
  const createAll = () =>
    pool(names, 100, async (name) => {
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
  const startScheduler = () => {
    const s = spawnUntil(
      [
        join(schedulerRoot, "packages/scheduler/dist/main.js"),
        `--kubeconfig=${schedulerKubeconfig}`,
        "--port=0",
        ...extraSchedulerFlags,
      ],
      "leading: scheduling starts",
    );
    procs.push(s.proc);
    s.ready.catch(() => {}); // its exit at the end is expected
    // Exiting on its own (a lost lease) leaves pods no one binds: the run fails now.
    s.proc.once("exit", (code, signal) => {
      if (!stopping) gaveUp(new Error(`the scheduler exited (${code ?? signal})`));
    });
    return s;
  };

  let createdAt: number;
  let schedPid: number | undefined;
  const cpu0: number[] = [];
  const snapshot = () => [
    cpuSeconds(procs[0]!.pid),
    schedPid === undefined ? 0 : cpuSeconds(schedPid),
    cpuSeconds(etcdPid),
    ownCpu(),
  ];
  let start: number;
  if (shape === "arrival") {
    const s = startScheduler();
    await s.ready;
    schedPid = s.proc.pid;
    cpu0.push(...snapshot());
    start = performance.now();
    await createAll();
    createdAt = performance.now();
  } else {
    const c0 = performance.now();
    await createAll();
    createdAt = performance.now();
    console.error(`${pods} pending pods created in ${((createdAt - c0) / 1000).toFixed(1)} s`);
    cpu0.push(...snapshot());
    start = performance.now();
    if (shape === "backlog") {
      const s = startScheduler();
      schedPid = s.proc.pid;
      void s.ready.then(() =>
        console.error(
          `scheduler leading ${((performance.now() - start) / 1000).toFixed(1)} s after its start, ${bound.size} pods bound by then`,
        ),
      );
    } else {
      let next = 0;
      const first = nodeNames.length;
      await pool(names, 64, async (name) => {
        const node = nodeNames[next++ % first]!;
        await podsApi.bind(name, node, {});
      });
    }
  }
  const timeout = setTimeout(allBound, 600_000);
  await done;
  clearTimeout(timeout);
  const end = performance.now();
  const cpu = snapshot().map((c, i) => c - cpu0[i]!);

  // The Events written by the time every pod was bound (the rest queued or dropped).
  const scheduledEvents = (
    await client
      .resource<KubeObject & { reason?: string }>(resourceInfo("", "v1", "events"))
      .namespace("bench")
      .list()
  ).items.filter((e) => e.reason === "Scheduled").length;
  const schedRss = rssMiB(schedPid);
  const secs = (end - start) / 1000;
  const waits =
    shape === "arrival"
      ? names.filter((n) => bound.has(n)).map((n) => bound.get(n)! - created.get(n)!)
      : names.filter((n) => bound.has(n)).map((n) => bound.get(n)! - start);
  const createRate = shape === "arrival" ? (pods / ((createdAt - start) / 1000)).toFixed(0) : "–";
  const line =
    `| ${shape} | ${nodes} | ${pods} | ${bound.size} | ${(bound.size / secs).toFixed(0)} | ${createRate} | ` +
    `${pct(waits, 50).toFixed(0)} | ${pct(waits, 99).toFixed(0)} | ${cpu[1]!.toFixed(1)} | ${cpu[0]!.toFixed(1)} | ${cpu[2]!.toFixed(1)} | ${cpu[3]!.toFixed(1)} | ${secs.toFixed(1)} | ${scheduledEvents} | ${schedRss} | ${loadavg()[0]!.toFixed(1)} |`;
  console.log(line);

  factory.stop();
  client.close();
  return line;
}

/**
 * The decision alone, in process: filter + score + assume, no API (the scheduler's own ceiling).
 * It runs the built scheduler, as the processes above do: the sources as tsx transpiles them
 * decide at less than half the speed.
 */
async function decisions(nodes: number, pods: number): Promise<string> {
  const { Algorithm, SchedulerCache, newPodInfo } = (await import(
    pathToFileURL(join(schedulerRoot, "packages/scheduler/dist/index.js")).href
  )) as typeof import("../../packages/scheduler/src/index.js");
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
  const dlines: string[] = [];
  for (const n of nodeCounts) dlines.push(await decisions(n, podCount));
  console.log([dheader, ...dlines].join("\n") + "\n");
  const header =
    "| shape | nodes (simulated) | pods | bound | pods/s to bound | pods/s created | p50 wait ms | p99 wait ms | scheduler cpu s | apiserver cpu s | etcd cpu s | load generator cpu s | wall s | Scheduled events written | scheduler RSS MiB | load average |\n" +
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|";
  console.log(header);
  const lines: string[] = [];
  for (const n of nodeCounts)
    for (let r = 0; r < runs; r++)
      for (const shape of shapes) lines.push(await run(n, podCount, shape));
  console.log("\n---\n" + [dheader, ...dlines].join("\n") + "\n\n" + [header, ...lines].join("\n"));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
