// Benchmark (issue 20): control-plane memory at 100 simulated nodes running 3,000 pods.
//   npx tsc -b
//   npx tsx --conditions=source scripts/bench/control-plane-memory.ts [--kubelets=100]
//     [--deployments=30] [--replicas=100] [--settle=30] [--heap-snapshots] [--timeout=900]
//     [--nodes-timeout=300] [--api-port=31443 --etcd-port=31379]
//     [--keep-logs=DIR]
// The control plane is started by `scripts/cluster.sh up` itself — the flags `make up` gives
// etcd, the apiserver, the controller-manager and the scheduler, unchanged — from this
// checkout, with its state (etcd data, certificates, logs) in a temp dir and on ports of its
// own (SKIFF_API_PORT, SKIFF_ETCD_PORT), with SKIFF_CONTROL_PLANE_ONLY=1 so that no real
// kubelet, kube-proxy, network agent or add-on starts (they would use this host's Docker and
// iptables). Then N `skiff-kubelet --runtime=SIMULATED` processes, each its own node with its
// own certificate (system:node:sim-NNN), started as cluster.sh starts its kubelet (plain
// `node`), with the kubelet API off (--port=0: nothing here calls it). Then Deployments of
// pods (10m CPU, 16Mi each) are created at once; the script reports the time from the first
// create until every Deployment is available, and each component's RSS from /proc (VmRSS now
// and VmHWM, the peak) idle, at available, and after --settle seconds, and at each stage (and
// every 30 s of the rollout) the established connections to the apiserver per process, its open
// watches, heap, external memory and what its watch caches hold (from its /metrics). At the end everything
// it started is stopped (`cluster.sh down` with the same state dir) and the temp dir removed.
// --heap-snapshots: the components also get --heapsnapshot-signal=SIGUSR2 (through
// NODE_OPTIONS, for this run only) and write a heap snapshot each after the settle; the
// summary of each (by constructor, self size) is printed, the files kept under --heap-dir.
import { mkdirSync, readdirSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { resourceInfo, type NodeSpec, type NodeStatus } from "@skiff/api";
import type { KubeObject } from "@skiff/client";
import { pool } from "./lib.js";
import {
  LocalCluster,
  benchDeployment,
  type BenchDeployment as Deployment,
  components,
  describeConnections,
  log,
  memory,
  retry,
  sleep,
  sumOfThree,
  type Component,
  type Sample,
} from "./local-cluster.js";

const arg = (name: string, def: string) =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? def;
const kubeletCount = Number(arg("kubelets", "100"));
const deployments = Number(arg("deployments", "30"));
const replicas = Number(arg("replicas", "100"));
const settleSeconds = Number(arg("settle", "30"));
const timeoutSeconds = Number(arg("timeout", "900"));
const nodesTimeoutSeconds = Number(arg("nodes-timeout", "300"));
const heapSnapshots = process.argv.includes("--heap-snapshots");
const heapDir = arg("heap-dir", join(tmpdir(), `skiff-bench-heap-${Date.now()}`));

const cluster = new LocalCluster({
  kubelets: kubeletCount,
  // Below Linux's ephemeral range (32768-60999): with 100 kubelets' connections, a client
  // socket's local port once took 47444, and the restarted controller-manager could not bind
  // its health port there (EADDRINUSE) for the rest of the run.
  apiPort: Number(arg("api-port", "31443")),
  etcdPort: Number(arg("etcd-port", "31379")),
  nodeOptions: heapSnapshots
    ? `--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${heapDir}`
    : undefined,
  keepLogs: arg("keep-logs", "") || undefined,
});

function row(label: string, s: Sample): string {
  const cell = (c: Component) => `${s[c].rss.toFixed(0)} (${s[c].hwm.toFixed(0)})`;
  return `| ${label} | ${cell("apiserver")} | ${cell("controller-manager")} | ${cell("scheduler")} | **${sumOfThree(s, "rss").toFixed(0)}** (${sumOfThree(s, "hwm").toFixed(0)}) | ${cell("etcd1")} | ${loadavg()[0]!.toFixed(1)} |`;
}

interface Node extends KubeObject {
  spec?: NodeSpec;
  status?: NodeStatus;
}

const probes: string[] = [];
/** Connections per process and the apiserver's heap and external memory, logged and kept. */
async function probe(label: string): Promise<void> {
  const line = `${label}: ${describeConnections(cluster.connections(), await cluster.apiserverMemory())}`;
  log(line);
  probes.push(`${line} (load ${loadavg()[0]!.toFixed(1)})`);
}

let apiErrors = 0;
const counted = () => void apiErrors++;

async function main(): Promise<string> {
  if (heapSnapshots) mkdirSync(heapDir, { recursive: true });
  cluster.up();
  const client = cluster.client;
  const nodesApi = client.resource<Node>(resourceInfo("", "v1", "nodes"));
  // Idle: the control plane with no node, after its start-up settled.
  await sleep(15_000);
  const idle = cluster.sample();
  log(`idle: ${row("idle", idle)}`);
  await probe("idle");

  const t0 = performance.now();
  await cluster.startKubelets();
  for (;;) {
    const nodes = await retry(() => nodesApi.list(), counted).then((l) => l.items);
    const ready = nodes.filter(
      (n) =>
        n.spec?.podCIDR &&
        n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
    ).length;
    if (ready >= kubeletCount) break;
    if (performance.now() - t0 > nodesTimeoutSeconds * 1000)
      throw new Error(`only ${ready} nodes Ready after ${nodesTimeoutSeconds} s`);
    await sleep(2000);
  }
  const nodesReady = (performance.now() - t0) / 1000;
  const withNodes = cluster.sample();
  log(`${kubeletCount} nodes Ready (with podCIDRs) in ${nodesReady.toFixed(1)} s`);
  await probe(`${kubeletCount} nodes Ready`);

  await client
    .resource(resourceInfo("", "v1", "namespaces"))
    .create({ metadata: { name: "bench" } });
  const depApi = client
    .resource<Deployment>(resourceInfo("apps", "v1", "deployments"))
    .namespace("bench");
  const c0 = performance.now();
  await pool(
    Array.from({ length: deployments }, (_, i) => `app-${String(i).padStart(2, "0")}`),
    10,
    async (name) => {
      await depApi.create(benchDeployment(name, "bench", replicas));
    },
  );
  const want = deployments * replicas;
  const peak = cluster.sample();
  let available: number;
  let lastProbe = performance.now();
  for (;;) {
    if (performance.now() - lastProbe > 30_000) {
      lastProbe = performance.now();
      await probe(`rollout, ${((lastProbe - c0) / 1000).toFixed(0)} s`);
    }
    const s = cluster.sample();
    for (const c of components) peak[c] = { rss: Math.max(peak[c].rss, s[c].rss), hwm: s[c].hwm };
    available = (await retry(() => depApi.list(), counted)).items.reduce(
      (n, d) => n + (d.status?.availableReplicas ?? 0),
      0,
    );
    if (available >= want) break;
    if (performance.now() - c0 > timeoutSeconds * 1000) break;
    await sleep(2000);
  }
  const toAvailable = (performance.now() - c0) / 1000;
  const atAvailable = cluster.sample();
  log(`${available}/${want} pods available after ${toAvailable.toFixed(1)} s`);
  await probe("all available");
  await sleep(settleSeconds * 1000);
  const settled = cluster.sample();
  await probe(`${settleSeconds} s later`);
  const kubeletRss = cluster.kubelets.map((k) => memory(k.pid!).rss);
  const kAvg = kubeletRss.reduce((a, b) => a + b, 0) / kubeletRss.length;

  if (heapSnapshots) {
    for (const c of ["apiserver", "controller-manager", "scheduler"] as const) {
      const before = readdirSync(heapDir).length;
      process.kill(cluster.pidOf(c), "SIGUSR2");
      for (let i = 0; i < 600 && readdirSync(heapDir).length === before; i++) await sleep(500);
      await sleep(3000);
      log(`${c}: heap snapshot written to ${heapDir}`);
    }
  }

  const errors = Object.fromEntries(
    Object.entries(cluster.errorLines()).map(([c, lines]) => [c, lines.length]),
  );
  const header =
    "| when | apiserver MiB now (peak) | controller-manager | scheduler | the three | etcd | load |\n|---|---|---|---|---|---|---|";
  const result = [
    `${kubeletCount} simulated kubelets (own processes), ${deployments} Deployments × ${replicas} = ${want} pods; ${available} available after **${toAvailable.toFixed(1)} s**; nodes Ready in ${nodesReady.toFixed(1)} s; machine: ${cpus().length} cores, load ${loadavg()
      .map((l) => l.toFixed(1))
      .join(" / ")}`,
    `bench reads retried after an error: ${apiErrors}; restarts: ${JSON.stringify(cluster.restarts())}, simulated kubelets ${cluster.kubeletRestarts}; kubelet RSS: mean ${kAvg.toFixed(0)} MiB, max ${Math.max(...kubeletRss).toFixed(0)} MiB; error lines in logs: ${JSON.stringify(errors)}`,
    header,
    row("idle (no nodes, 15 s after start)", idle),
    row(`${kubeletCount} nodes Ready, no pods`, withNodes),
    row(`all available (${toAvailable.toFixed(0)} s)`, atAvailable),
    row(`${settleSeconds} s later`, settled),
    ...probes,
    `peak VmRSS sampled while pods rolled out: apiserver ${peak.apiserver.rss.toFixed(0)}, controller-manager ${peak["controller-manager"].rss.toFixed(0)}, scheduler ${peak.scheduler.rss.toFixed(0)}`,
  ].join("\n");
  return result;
}

const cleanup = () => cluster.stop();

const hardStop = setTimeout(
  () => {
    console.error(`bench: hard timeout (${timeoutSeconds + 600} s); stopping`);
    void cleanup().then(() => process.exit(1));
  },
  (timeoutSeconds + 600) * 1000,
);
process.once("SIGINT", () => void cleanup().then(() => process.exit(130)));
main()
  .then(async (result) => {
    clearTimeout(hardStop);
    await cleanup();
    console.log(result);
  })
  .catch(async (err: unknown) => {
    clearTimeout(hardStop);
    console.error(err);
    await cleanup();
    process.exit(1);
  });
