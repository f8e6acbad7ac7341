// Benchmark: skiff-controller-manager driving a Deployment of 1,000 replicas.
//   npx tsx --conditions=source scripts/bench/controller-manager.ts [--replicas=1000]
// 1. scale 0 → N: pods created per second (first to last pod, as seen through a watch)
// 2. a rolling update (25% surge / 25% unavailable) of those N pods, with a simulated
//    kubelet (this process: it marks every new pod Running and Ready through pods/status):
//    time until the rollout is complete as `kubectl rollout status` judges it.
// The apiserver (with its etcd) runs in this process; the controller manager runs as its
// own process from its TypeScript sources, as `skiff-controller-manager` would.
import { spawn } from "node:child_process";
import { resourceInfo, rfc3339 } from "@skiff/api";
import {
  RestClient,
  SharedInformerFactory,
  loadClientConfig,
  silentLogger,
  type KubeObject,
} from "@skiff/client";
import { startApiserver } from "@skiff/testing";
import { clusterNodeFlags } from "./lib.js";

const root = new URL("../../", import.meta.url).pathname;
const replicas = Number(
  process.argv.find((a) => a.startsWith("--replicas="))?.split("=")[1] ?? 1000,
);

type Obj = KubeObject & { spec?: Record<string, unknown>; status?: Record<string, unknown> };

const api = await startApiserver();
const client = new RestClient({ ...loadClientConfig({ kubeconfig: api.kubeconfig }), qps: -1 });
const pods = client.resource<Obj>(resourceInfo("", "v1", "pods")).namespace("default");
const deployments = client
  .resource<Obj>(resourceInfo("apps", "v1", "deployments"))
  .namespace("default");

const cm = spawn(
  process.execPath,
  [
    ...clusterNodeFlags(), // as scripts/cluster.sh runs it
    "--conditions=source",
    "--import",
    "tsx",
    "packages/controller-manager/src/main.ts",
    `--kubeconfig=${api.kubeconfig}`,
    "--port=0",
    "--leader-elect=false",
    "--controllers=replicaset,deployment",
  ],
  { cwd: root, stdio: ["ignore", "ignore", "inherit"] },
);

// The simulated kubelet: every pod that appears is reported Running and Ready.
const created: number[] = [];
const factory = new SharedInformerFactory(client, { logger: silentLogger });
const podInformer = factory.forResource<Obj>(resourceInfo("", "v1", "pods"));
let kubeletOn = false;
const markReady = (pod: Obj): void => {
  const now = rfc3339();
  const next = structuredClone(pod);
  next.status = {
    phase: "Running",
    conditions: [{ type: "Ready", status: "True", lastTransitionTime: now }],
  };
  void pods.updateStatus(next).catch(() => undefined);
};
podInformer.addEventHandler({
  add: (pod) => {
    created.push(performance.now());
    if (kubeletOn && pod.status?.phase !== "Running") markReady(pod);
  },
});
factory.start();
await factory.waitForCacheSync();

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 600_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const template = (image: string) => ({
  metadata: { labels: { app: "bench" } },
  spec: { containers: [{ name: "web", image }] },
});

try {
  await deployments.create({
    metadata: { name: "bench", namespace: "default" },
    spec: {
      replicas: 0,
      selector: { matchLabels: { app: "bench" } },
      template: template("nginx:1"),
    },
  });
  await new Promise((r) => setTimeout(r, 2000)); // controller manager up, caches synced

  // 1. scale 0 → N (the kubelet is off: creation alone is measured)
  const t0 = performance.now();
  await deployments.patch("bench", { spec: { replicas } }, "merge");
  await until(`${replicas} pods`, async () => podInformer.store.size >= replicas);
  const first = created[0]! - t0;
  const last = created[replicas - 1]! - t0;
  const rate = (replicas / (last / 1000)).toFixed(0);
  console.log(
    `scale 0 -> ${replicas}: first pod after ${first.toFixed(0)} ms, last after ${last.toFixed(0)} ms: ${rate} pods/s`,
  );

  // Make them ready, then roll.
  kubeletOn = true;
  for (const p of podInformer.store.list()) if (p.status?.phase !== "Running") markReady(p);
  const complete = async (): Promise<boolean> => {
    const d = await deployments.get("bench");
    const s = (d.status ?? {}) as Record<string, number | undefined>;
    return (
      (s.observedGeneration ?? 0) >= (d.metadata.generation ?? 0) &&
      s.updatedReplicas === replicas &&
      s.replicas === replicas &&
      s.availableReplicas === replicas
    );
  };
  await until("all pods ready", async () => {
    const d = await deployments.get("bench");
    return (d.status as { availableReplicas?: number } | undefined)?.availableReplicas === replicas;
  });

  // 2. rolling update
  const t1 = performance.now();
  await deployments.patch("bench", { spec: { template: template("nginx:2") } }, "strategic");
  await until("rollout complete", complete);
  const rolled = (performance.now() - t1) / 1000;
  console.log(
    `rolling update of ${replicas} pods (25% surge, 25% unavailable, simulated kubelet): ${rolled.toFixed(1)} s`,
  );
} finally {
  cm.kill("SIGTERM");
  factory.stop();
  client.close();
  await api.stop();
}
process.exit(0);
