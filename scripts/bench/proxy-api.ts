// Benchmark: skiff-proxy fed by a real apiserver (objects only, no traffic).
//   npx tsx --conditions=source scripts/bench/proxy-api.ts [--only=1000]
// For 1,000 and 10,000 Services x 3 endpoints created through the API: the first full sync
// after the caches fill, a forced full resync, and the time from one EndpointSlice update in
// the API to its rule being in the kernel (p50/p99 of 20). "In the kernel" is measured
// exactly: the iptables-restore carrying the new endpoint has returned. The proxy runs with
// kube-proxy's defaults (--min-sync-period 1 s; --sync-period 30 s: a sync, partial, after
// 30 s without one, and a canary check every 30 s; a full sync at start and hourly). Every
// sync is logged: the slowest changes are shown with the syncs around them, and the script
// then waits for one periodic sync with nothing changed. The proxy's rules go to a network
// namespace made for the purpose (its own netfilter tables), deleted at the end.
import { execFileSync } from "node:child_process";
import { resourceInfo } from "@skiff/api";
import { RestClient, loadClientConfig } from "@skiff/client";
import type { KubeObject } from "@skiff/client";
import { ProxyServer, cleanupProxyRules, execInNetns } from "@skiff/kube-proxy";
import type { Exec, SyncResult } from "@skiff/kube-proxy";
import { startApiserver } from "@skiff/testing";
import { pct, pool } from "./lib.js";

const netns = `skiff-bench-api-${process.pid}`;
const services = resourceInfo("", "v1", "services");
const slices = resourceInfo("discovery.k8s.io", "v1", "endpointslices");
const namespaces = resourceInfo("", "v1", "namespaces");
const ms = (x: number): string => `${Math.round(x)} ms`;
const sleep = (t: number): Promise<void> => new Promise((r) => setTimeout(r, t));

function endpointSlice(ns: string, svc: string, ips: string[], rv?: string): KubeObject {
  return {
    metadata: {
      name: `${svc}-x`,
      namespace: ns,
      labels: { "kubernetes.io/service-name": svc },
      ...(rv ? { resourceVersion: rv } : {}),
    },
    addressType: "IPv4",
    ports: [{ name: "http", port: 8080, protocol: "TCP" }],
    endpoints: ips.map((ip, k) => ({
      addresses: [ip],
      nodeName: `node-${k}`,
      conditions: { ready: true },
    })),
  } as KubeObject;
}

const ipOf = (i: number): string => `10.${244 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;

async function scenario(client: RestClient, n: number): Promise<void> {
  const ns = `bench-${n}`;
  await client.resource(namespaces).create({ metadata: { name: ns } });
  const created = Date.now();
  await pool([...Array(n).keys()], 64, async (i) => {
    await client
      .resource(services)
      .namespace(ns)
      .create({
        metadata: { name: `svc-${i}`, namespace: ns },
        spec: {
          type: "ClusterIP",
          ports: [{ name: "http", port: 80, protocol: "TCP", targetPort: 8080 }],
        },
      } as KubeObject);
    const ips = [0, 1, 2].map((k) => ipOf(i * 3 + k));
    await client
      .resource(slices)
      .namespace(ns)
      .create(endpointSlice(ns, `svc-${i}`, ips));
  });
  const createMs = Date.now() - created;

  // Note when each iptables-restore returns and what endpoints it carried.
  const restores: { at: number; input: string }[] = [];
  const inNetns = execInNetns(netns);
  const exec: Exec = async (command, args, stdin) => {
    const r = await inNetns(command, args, stdin);
    if (command === "iptables-restore" && stdin)
      restores.push({ at: performance.now(), input: stdin });
    return r;
  };
  // Every sync the proxier logs, with its timings.
  const syncs: SyncResult[] = [];
  const quiet = (): void => {};
  const log = {
    debug: quiet,
    warn: quiet,
    error: (obj: object, msg: string) => console.error(msg, obj),
    info: (obj: object, msg: string) => {
      if (msg === "synced iptables rules") syncs.push(obj as SyncResult);
    },
  };
  const proxy = new ProxyServer({
    client,
    log,
    hostnameOverride: "node-0",
    metricsBindAddress: "",
    healthzBindAddress: "",
    safetyNet: false,
    exec,
  });
  try {
    const started = Date.now();
    const first = proxy.waitForSync(started, 600_000);
    await proxy.start();
    const initial = await first;
    const startMs = Date.now() - started;
    await sleep(1500);
    const resyncAt = Date.now();
    const resyncDone = proxy.waitForSync(resyncAt, 600_000);
    proxy.proxier.requestFullSync();
    const resync = await resyncDone;

    const latencies: number[] = [];
    const changes: { at: number; ms: number }[] = [];
    for (let g = 0; g < 20; g++) {
      await sleep(1100); // past --min-sync-period (1 s): each change is a fresh event
      const i = (g * 7919) % n;
      const rc = client.resource(slices).namespace(ns);
      const current = await rc.get(`svc-${i}`.concat("-x"));
      const fresh = `10.250.${g}.${(i % 250) + 1}`;
      const t0 = performance.now();
      const at = Date.now();
      await rc.update(
        endpointSlice(
          ns,
          `svc-${i}`,
          [fresh, ipOf(i * 3 + 1), ipOf(i * 3 + 2)],
          current.metadata.resourceVersion,
        ),
      );
      for (;;) {
        const hit = restores.find((r) => r.input.includes(`--to-destination ${fresh}:8080`));
        if (hit) {
          latencies.push(hit.at - t0);
          changes.push({ at, ms: hit.at - t0 });
          break;
        }
        if (performance.now() - t0 > 60_000) throw new Error("the change never reached the kernel");
        await sleep(2);
      }
      restores.length = 0;
    }
    const periodic = await proxy.waitForSync(Date.now(), 60_000);
    console.log(
      `${n} services x 3 endpoints through the API (${initial.natChains} nat chains, ${initial.rules} rules)`,
    );
    console.log(`  create ${2 * n} objects (64 in parallel)   ${ms(createMs)}`);
    console.log(
      `  start -> caches synced -> first full sync   ${ms(startMs)} (sync itself ${ms(initial.ms)})`,
    );
    console.log(`  forced full resync                       ${ms(resync.ms)}`);
    console.log(
      `  EndpointSlice update -> rule in kernel    p50 ${ms(pct(latencies, 50))}  p99 ${ms(pct(latencies, 99))}  (n=${latencies.length}, min-sync-period 1 s)`,
    );
    console.log(
      `  periodic sync, nothing changed            ${periodic.full ? "full" : "partial"}, ${ms(periodic.ms)} (${periodic.written} chains written)`,
    );
    // The slowest changes, with every sync from 2 s before the change to its arrival.
    for (const c of [...changes].sort((a, b) => b.ms - a.ms).slice(0, 3)) {
      const around = syncs
        .filter((r) => r.startedAt + r.ms >= c.at - 2000 && r.startedAt <= c.at + c.ms)
        .map(
          (r) =>
            `${r.full ? "full" : "partial"} sync at ${r.startedAt - c.at >= 0 ? "+" : ""}${r.startedAt - c.at} ms` +
            ` (${r.written} chains written; prepare ${r.prepareMs}, generate ${r.generateMs}, restore ${r.restoreMs} ms)`,
        );
      console.log(`  change of ${ms(c.ms)}: ${around.join("; ")}`);
    }
  } finally {
    await proxy.stop();
    await cleanupProxyRules({ exec: inNetns });
  }
  const left = execFileSync("ip", ["netns", "exec", netns, "iptables-save"]).toString();
  if (/KUBE-/.test(left)) throw new Error("cleanup left KUBE-* rules behind");
}

async function main(): Promise<void> {
  execFileSync("ip", ["netns", "add", netns]);
  try {
    const only = process.argv.find((a) => a.startsWith("--only="))?.slice(7);
    // A fresh apiserver and etcd per scenario: each programs exactly its own n services.
    for (const n of only ? [Number(only)] : [1_000, 10_000]) {
      const api = await startApiserver();
      const config = loadClientConfig({ kubeconfig: api.kubeconfig });
      const client = new RestClient({ ...config, qps: -1 });
      try {
        await scenario(client, n);
      } finally {
        client.close();
        await api.stop();
      }
    }
  } finally {
    execFileSync("ip", ["netns", "del", netns]);
  }
}

await main();
process.exit(0);
