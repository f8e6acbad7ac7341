// Benchmark: many SIMULATED kubelets in one process (`--runtime=simulated`: an in-memory
// runtime whose containers "start" at once) against a real apiserver and etcd.
//   npx tsc -b packages/apiserver
//   npx tsx --conditions=source scripts/bench/simulated-nodes.ts [--kubelets=200] [--pods-per-node=10]
// Starts etcd and `skiff-apiserver` (own process), then the kubelets in this process, each
// with its own clients, informers, node lease and pod workers, as `skiff-kubelet
// --runtime=simulated` would run them; gives each node a podCIDR (the Node IPAM controller's
// job, done here directly); creates the pods bound by spec.nodeName (no scheduler), 50 at a
// time; reports registration time, pods/s from the first create to the last Running seen on a
// watch, each pod's created → Running p50/p99, and this process's memory.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { resourceInfo, type PodSpec, type PodStatus } from "@skiff/api";
import {
  RestClient,
  SharedInformerFactory,
  loadClientConfig,
  silentLogger,
  type KubeObject,
} from "@skiff/client";
import { freePort, startEtcd, testCerts } from "@skiff/testing";
import { startKubelet, type RunningKubelet } from "@skiff/kubelet";
import {
  apiserverFlags,
  clusterNodeFlags,
  cpuSeconds,
  pct,
  pool,
  waitForApiserver,
} from "./lib.js";

const root = new URL("../../", import.meta.url).pathname;
const arg = (name: string, def: string) =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ?? def;
const kubeletCount = Number(arg("kubelets", "200"));
const podsPerNode = Number(arg("pods-per-node", "10"));
if (kubeletCount > 250) throw new Error("--kubelets: at most 250 (one 10.244.N.0/24 each)");

interface Pod extends KubeObject {
  spec: PodSpec;
  status?: PodStatus;
}

const etcd = await startEtcd();
const certs = testCerts();
const port = await freePort();
const url = `https://127.0.0.1:${port}`;
execFileSync("bash", [join(root, "scripts/make-certs.sh"), certs, url], { stdio: "ignore" });
const kubeconfig = join(certs, "admin.kubeconfig");
const apiserver = spawn(
  process.execPath,
  [
    ...clusterNodeFlags(), // as scripts/cluster.sh runs it
    join(root, "packages/apiserver/dist/main.js"),
    ...apiserverFlags(etcd.endpoints, port, certs),
  ],
  { stdio: "ignore" },
);
const dir = mkdtempSync(join(tmpdir(), "skiff-bench-simnodes-"));
const kubelets: RunningKubelet[] = [];
const client = new RestClient({ ...loadClientConfig({ kubeconfig }), qps: -1 });
try {
  await waitForApiserver(client);
  const nodes = client.resource(resourceInfo("", "v1", "nodes"));
  const podsApi = client.resource<Pod>(resourceInfo("", "v1", "pods")).namespace("default");
  // No controller-manager runs here: create the account its serviceaccount controller would,
  // which ServiceAccount admission looks up for every pod.
  await client
    .resource(resourceInfo("", "v1", "serviceaccounts"))
    .namespace("default")
    .create({ metadata: { name: "default" } });
  const rssBefore = process.memoryUsage().rss;

  // The kubelets, 10 starting at a time.
  const logger = pino({ level: "silent" });
  const names = Array.from(
    { length: kubeletCount },
    (_, i) => `sim-kubelet-${String(i).padStart(3, "0")}`,
  );
  const t0 = performance.now();
  await pool(names, 10, async (nodeName) => {
    kubelets.push(
      await startKubelet({
        kubeconfig,
        nodeName,
        nodeIP: "127.0.0.1",
        rootDir: join(dir, nodeName),
        port: 0,
        runtime: "simulated",
        logger,
      }),
    );
  });
  await pool(names, 20, async (name) => {
    const i = names.indexOf(name);
    await nodes.patch(name, { spec: { podCIDR: `10.244.${i}.0/24` } }, "merge");
  });
  const registered = (performance.now() - t0) / 1000;
  console.error(`${kubeletCount} simulated kubelets registered in ${registered.toFixed(1)} s`);

  // Pods bound to the nodes, created 50 at a time; Running seen through an informer.
  const total = kubeletCount * podsPerNode;
  const created = new Map<string, number>();
  const running = new Map<string, number>();
  let allRunning: () => void = () => {};
  const done = new Promise<void>((r) => (allRunning = r));
  const factory = new SharedInformerFactory(client, { namespace: "default", logger: silentLogger });
  const informer = factory.forResource<Pod>(resourceInfo("", "v1", "pods"));
  const seen = (p: Pod) => {
    const name = p.metadata.name!;
    if (p.status?.phase === "Running" && !running.has(name)) {
      running.set(name, performance.now());
      if (running.size === total) allRunning();
    }
  };
  informer.addEventHandler({ add: seen, update: (_o, p) => seen(p) });
  factory.start();
  await factory.waitForCacheSync();
  const apiCpu0 = cpuSeconds(apiserver.pid);
  const ownCpu0 = process.cpuUsage();
  const podNames = Array.from({ length: total }, (_, i) => `pod-${i}`);
  const start = performance.now();
  await pool(podNames, 50, async (name) => {
    const i = Number(name.slice(4));
    created.set(name, performance.now());
    await podsApi.create({
      metadata: { name, namespace: "default" },
      spec: {
        nodeName: names[i % kubeletCount],
        containers: [{ name: "c", image: "skiff.local/busybox:1.36" }],
      },
    } as Pod);
  });
  const timer = setTimeout(allRunning, 300_000);
  await done;
  clearTimeout(timer);
  const secs = (performance.now() - start) / 1000;
  const own = process.cpuUsage(ownCpu0);
  const waits = podNames
    .filter((n) => running.has(n))
    .map((n) => running.get(n)! - created.get(n)!);
  const rss = process.memoryUsage().rss;
  factory.stop();

  const line =
    `| ${kubeletCount} | ${total} | ${running.size} | ${registered.toFixed(1)} s | ` +
    `${(running.size / secs).toFixed(0)} | ${(pct(waits, 50) / 1000).toFixed(2)} / ${(pct(waits, 99) / 1000).toFixed(2)} s | ` +
    `${((own.user + own.system) / 1e6).toFixed(1)} / ${(cpuSeconds(apiserver.pid) - apiCpu0).toFixed(1)} | ` +
    `${Math.round(rssBefore / 2 ** 20)} → ${Math.round(rss / 2 ** 20)} MB | ${loadavg()[0]!.toFixed(1)} |`;
  console.log(
    "| simulated kubelets (one process) | pods | Running | kubelets registered | pods/s created → Running | p50 / p99 created → Running | CPU s: kubelets' process / apiserver | kubelets' process RSS | load average |\n" +
      "|---|---|---|---|---|---|---|---|---|\n" +
      line,
  );
} finally {
  await Promise.allSettled(kubelets.map((k) => k.stop()));
  client.close();
  apiserver.kill("SIGTERM");
  await etcd.stop();
  rmSync(dir, { recursive: true, force: true });
}
process.exit(0);
