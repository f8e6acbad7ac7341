// Soak (issue 20): churn on a `make up` control plane with simulated nodes, watching that
// memory and open watches stay flat, that no component logs an error, and that every object
// converges at the end.
//   npx tsc -b
//   npx tsx --conditions=source scripts/bench/soak.ts [--minutes=30] [--kubelets=10]
//     [--deployments=5] [--max-replicas=20] [--keep-logs=DIR]
// The cluster is scripts/bench/local-cluster.ts' (cluster.sh's own flags, SIMULATED kubelet
// processes, a temp dir, ports 31543/31479 by default, below the ephemeral range). Every 5 s one of: a Deployment scaled
// to a random size (0..max), a random pod deleted ("killed"), a Service created for a random
// Deployment or an old one deleted. Every minute: each component's RSS and the apiserver's
// open watches (apiserver_longrunning_requests). At the end the churn stops and the script
// waits (up to 5 min) until every Deployment has its replicas available, the namespace holds
// exactly those pods, and each Service's Endpoints list exactly its Deployment's ready pods.
import { loadavg } from "node:os";
import { resourceInfo, type Endpoints as ApiEndpoints, type PodStatus } from "@skiff/api";
import type { KubeObject } from "@skiff/client";
import {
  LocalCluster,
  benchDeployment,
  log,
  retry,
  sleep,
  sumOfThree,
  type BenchDeployment as Deployment,
} from "./local-cluster.js";

const arg = (name: string, def: string) =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? def;
const minutes = Number(arg("minutes", "30"));
const deployments = Number(arg("deployments", "5"));
const maxReplicas = Number(arg("max-replicas", "20"));
const cluster = new LocalCluster({
  kubelets: Number(arg("kubelets", "10")),
  apiPort: Number(arg("api-port", "31543")),
  etcdPort: Number(arg("etcd-port", "31479")),
  keepLogs: arg("keep-logs", "") || undefined,
});

type Endpoints = KubeObject & Omit<ApiEndpoints, "metadata">;
interface Pod extends KubeObject {
  status?: PodStatus;
}

const names = Array.from({ length: deployments }, (_, i) => `churn-${i}`);
const pick = <T>(xs: T[]): T | undefined => xs[Math.floor(Math.random() * xs.length)];

async function watchCount(): Promise<number> {
  const text = await cluster.client.requestText("GET", "/metrics");
  return [...text.matchAll(/^apiserver_longrunning_requests\{[^}]*\} (\d+)/gm)].reduce(
    (n, m) => n + Number(m[1]),
    0,
  );
}

async function main(): Promise<string> {
  cluster.up();
  const c = cluster.client;
  await c.resource(resourceInfo("", "v1", "namespaces")).create({ metadata: { name: "soak" } });
  const deps = c.resource<Deployment>(resourceInfo("apps", "v1", "deployments")).namespace("soak");
  const pods = c.resource<Pod>(resourceInfo("", "v1", "pods")).namespace("soak");
  const svcs = c.resource(resourceInfo("", "v1", "services")).namespace("soak");
  const eps = c.resource<Endpoints>(resourceInfo("", "v1", "endpoints")).namespace("soak");
  await cluster.startKubelets();
  for (const name of names) await deps.create(benchDeployment(name, "soak", 2));

  const rows: string[] = [];
  const record = async (minute: number) => {
    const s = cluster.sample();
    const w = await retry(watchCount);
    rows.push(
      `| ${minute} | ${s.apiserver.rss.toFixed(0)} | ${s["controller-manager"].rss.toFixed(0)} | ${s.scheduler.rss.toFixed(0)} | ${sumOfThree(s, "rss").toFixed(0)} | ${s.etcd1.rss.toFixed(0)} | ${w} | ${loadavg()[0]!.toFixed(1)} |`,
    );
    log(rows[rows.length - 1]!);
  };
  await sleep(20_000);
  await record(0);
  const services = new Set<string>();
  let actions = 0;
  let failures = 0;
  const t0 = Date.now();
  let nextSample = 1;
  while (Date.now() - t0 < minutes * 60_000) {
    const what = Math.random();
    try {
      if (what < 0.4) {
        const d = await deps.get(pick(names)!);
        d.spec.replicas = Math.floor(Math.random() * (maxReplicas + 1));
        await deps.update(d);
      } else if (what < 0.7) {
        const p = pick((await pods.list()).items);
        if (p) await pods.delete(p.metadata.name!);
      } else if (what < 0.85 || services.size === 0) {
        const target = pick(names)!;
        const name = `svc-${target}-${actions}`;
        await svcs.create({
          metadata: { name, namespace: "soak" },
          spec: { selector: { app: target }, ports: [{ port: 80, targetPort: 8080 }] },
        } as KubeObject);
        services.add(name);
      } else {
        const name = pick([...services])!;
        await svcs.delete(name);
        services.delete(name);
      }
      actions++;
    } catch (err) {
      failures++; // a conflict with a controller's write is normal churn; counted
      log(`churn step failed: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (Date.now() - t0 >= nextSample * 60_000) await record(nextSample++);
    await sleep(5000);
  }
  await record(nextSample);

  // Convergence: deployments available, exactly their pods, endpoints matching.
  const c0 = Date.now();
  let state: string;
  for (;;) {
    const ds = (await retry(() => deps.list())).items;
    const ps = (await retry(() => pods.list())).items;
    const bad: string[] = [];
    for (const d of ds) {
      const mine = ps.filter((p) => p.metadata.labels?.app === d.metadata.name);
      if ((d.status?.availableReplicas ?? 0) !== d.spec.replicas || mine.length !== d.spec.replicas)
        bad.push(
          `${d.metadata.name}: ${d.status?.availableReplicas ?? 0}/${mine.length}/${d.spec.replicas}`,
        );
    }
    for (const name of services) {
      const target = name.split("-").slice(1, 3).join("-");
      const ready = ps
        .filter(
          (p) =>
            p.metadata.labels?.app === target &&
            !p.metadata.deletionTimestamp &&
            p.status?.conditions?.some((x) => x.type === "Ready" && x.status === "True"),
        )
        .map((p) => p.status?.podIP)
        .sort();
      const e = await eps.get(name).catch(() => undefined);
      const ips = (e?.subsets ?? []).flatMap((s) => (s.addresses ?? []).map((a) => a.ip)).sort();
      if (JSON.stringify(ips) !== JSON.stringify(ready)) bad.push(`endpoints ${name}`);
    }
    state = bad.join(", ");
    if (!bad.length || Date.now() - c0 > 300_000) break;
    await sleep(3000);
  }
  const errors = cluster.errorLines();
  return [
    `${minutes} min of churn, ${cluster.nodeNames.length} simulated kubelets, ${deployments} Deployments (0–${maxReplicas} replicas), ${actions} actions (${failures} refused), ${services.size} Services at the end`,
    `converged: ${state === "" ? `yes, ${((Date.now() - c0) / 1000).toFixed(0)} s after the churn stopped` : `NO after 300 s: ${state}`}`,
    `error lines in logs: ${JSON.stringify(Object.fromEntries(Object.entries(errors).map(([k, v]) => [k, v.length])))}; restarts: ${JSON.stringify(cluster.restarts())}`,
    ...Object.values(errors)
      .flat()
      .slice(0, 5)
      .map((l) => `  ${l.slice(0, 300)}`),
    "| minute | apiserver RSS MiB | controller-manager | scheduler | the three | etcd | open watches | load |",
    "|---|---|---|---|---|---|---|---|",
    ...rows,
  ].join("\n");
}

const hardStop = setTimeout(
  () => {
    console.error("soak: hard timeout; stopping");
    void cluster.stop().then(() => process.exit(1));
  },
  (minutes + 15) * 60_000,
);
process.once("SIGINT", () => void cluster.stop().then(() => process.exit(130)));
main()
  .then(async (result) => {
    clearTimeout(hardStop);
    await cluster.stop();
    console.log(result);
  })
  .catch(async (err: unknown) => {
    clearTimeout(hardStop);
    console.error(err);
    await cluster.stop();
    process.exit(1);
  });
