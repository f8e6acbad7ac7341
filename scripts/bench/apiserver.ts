// Benchmark: skiff-apiserver side by side with raw etcd, on this machine, in one run.
//   npx tsx --conditions=source scripts/bench/apiserver.ts      (after `make build`)
// 1. pod creates: p50/p99 latency and throughput, apiserver vs etcd3 puts, 1, 10 and 50 clients
// 2. watch fan-out: 1,000 pod watchers, 100 updates, delivery latency after the write's ack
// 3. LIST of 10,000 pods, and the apiserver's RSS with 10,000 pods and 1,000 watchers
// The apiserver runs as its own process (dist/main.js) so that its RSS is its own, with the
// Node.js flags and apiserver flags scripts/cluster.sh (`make up`) starts it with (lib.ts:
// authorization Node,RBAC, audit policy and log, encryption config, service-account key,
// ServiceAccount admission…), listening on 127.0.0.1.
// --creates-only: section 1 only (for A/B runs and profiles).
// BENCH_APISERVER_WORKERS=N: N apiserver processes sharing the port (node:cluster,
// scripts/bench/apiserver-workers.mjs) — a measurement, not what ships; CPU and RSS are then
// the sum over the processes.
// SKIFF_BENCH_ROOT=<checkout>: run that checkout's built apiserver (A/B against another build;
// the flags are still this checkout's cluster.sh's). BENCH_NODE_ARGS: extra Node.js flags.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { Agent, request } from "node:https";
import { Etcd3 } from "etcd3";
import { freePort, startEtcd, testCerts } from "@skiff/testing";
import {
  benchRoot,
  clusterApiserverArgs,
  clusterNodeFlags,
  pct,
  treeCpuSeconds,
  treeRssMiB,
} from "./lib.js";

const root = benchRoot();
const certs = testCerts();
const ca = readFileSync(join(certs, "ca.crt"));
const cert = readFileSync(join(certs, "admin.crt"));
const key = readFileSync(join(certs, "admin.key"));
const ms = (x: number): string => `${x.toFixed(2)} ms`;

function pod(name: string): object {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "bench", labels: { app: "bench" } },
    spec: {
      containers: [{ name: "c", image: "skiff.local/busybox:1.36", command: ["sleep", "3600"] }],
    },
  };
}

async function main(): Promise<void> {
  const etcd = await startEtcd();
  const port = await freePort();
  const url = `https://127.0.0.1:${port}`;
  const logs = mkdtempSync(join(tmpdir(), "skiff-bench-apiserver-"));
  const workers = process.env.BENCH_APISERVER_WORKERS;
  const server = spawn(
    process.execPath,
    [
      ...clusterNodeFlags(), // as scripts/cluster.sh runs it
      ...(process.env.BENCH_NODE_ARGS ?? "").split(" ").filter(Boolean),
      ...(workers ? [new URL("apiserver-workers.mjs", import.meta.url).pathname] : []),
      ...clusterApiserverArgs({ etcdEndpoints: etcd.endpoints, port, certs, logs }),
    ],
    {
      cwd: root,
      stdio: ["ignore", "ignore", "inherit"],
      env: { ...process.env, SKIFF_APISERVER_WORKERS: workers },
    },
  );
  // A run that fails part-way exits through process.exit: the apiserver goes with it.
  process.once("exit", () => server.kill("SIGTERM"));
  const rss = (): number => treeRssMiB(server.pid);
  const agent = new Agent({ ca, cert, key, keepAlive: true, maxSockets: 64 });
  const call = (
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: string }> =>
    new Promise((resolve, reject) => {
      const data = body === undefined ? undefined : JSON.stringify(body);
      const req = request(
        `${url}${path}`,
        { method, agent, headers: data ? { "Content-Type": "application/json" } : {} },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () =>
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }),
          );
        },
      );
      req.on("error", reject);
      if (data) req.write(data);
      req.end();
    });
  for (let i = 0; ; i++) {
    try {
      if ((await call("GET", "/readyz")).status === 200) break;
    } catch {
      // not listening yet
    }
    if (i > 100) throw new Error("apiserver did not start");
    await new Promise((r) => setTimeout(r, 100));
  }
  await call("POST", "/api/v1/namespaces", {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name: "bench" },
  });
  // No controller-manager runs here: create the account its serviceaccount controller would,
  // which ServiceAccount admission looks up for every pod.
  await call("POST", "/api/v1/namespaces/bench/serviceaccounts", {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: { name: "default" },
  });
  const etcdClient = new Etcd3({ hosts: etcd.endpoints });
  const lines: string[] = [];
  const say = (s: string): void => {
    console.log(s);
    lines.push(s);
  };

  const stop = async (): Promise<void> => {
    agent.destroy();
    etcdClient.close();
    // Let it exit by itself (a --cpu-prof profile is written on the way out).
    const exited = new Promise((r) => server.once("exit", r));
    server.kill("SIGTERM");
    await exited;
    await etcd.stop();
    rmSync(logs, { recursive: true, force: true });
    console.log("\n---\n" + lines.join("\n"));
  };

  // 1. Creates.
  say(
    `apiserver: ${root}, load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(" ")}`,
  );
  say("## pod create: apiserver vs raw etcd put (same JSON), side by side");
  say("| clients | target | creates | p50 | p99 | creates/s | p99 vs etcd | apiserver CPU s |");
  say("|---|---|---|---|---|---|---|---|");
  let seq = 0;
  for (const clients of [1, 10, 50]) {
    const n = clients === 1 ? 500 : clients * 100;
    let etcdP99 = 0;
    for (const target of ["etcd put", "apiserver"]) {
      const lat: number[] = [];
      let next = 0;
      const cpu0 = treeCpuSeconds(server.pid);
      const start = performance.now();
      await Promise.all(
        Array.from({ length: clients }, async () => {
          while (next < n) {
            next++;
            const name = `p-${seq++}`;
            const t = performance.now();
            if (target === "apiserver") {
              const res = await call("POST", "/api/v1/namespaces/bench/pods", pod(name));
              if (res.status !== 201) throw new Error(`create failed: ${res.status} ${res.body}`);
            } else {
              await etcdClient.put(`/bench/pods/bench/${name}`).value(JSON.stringify(pod(name)));
            }
            lat.push(performance.now() - t);
          }
        }),
      );
      const secs = (performance.now() - start) / 1000;
      const p99 = pct(lat, 99);
      if (target === "etcd put") etcdP99 = p99;
      const ratio = target === "etcd put" ? "" : `${(p99 / etcdP99).toFixed(1)}×`;
      const cpu = target === "etcd put" ? "" : (treeCpuSeconds(server.pid) - cpu0).toFixed(2);
      say(
        `| ${clients} | ${target} | ${n} | ${ms(pct(lat, 50))} | ${ms(p99)} | ${Math.round(n / secs)} | ${ratio} | ${cpu} |`,
      );
    }
  }

  if (process.argv.includes("--creates-only")) {
    await stop();
    return;
  }

  // Fill up to 10,000 pods for the LIST and RSS measurements.
  const have = JSON.parse((await call("GET", "/api/v1/namespaces/bench/pods?limit=1")).body) as {
    metadata: { remainingItemCount?: number };
  };
  let count = (have.metadata.remainingItemCount ?? 0) + 1;
  let fill = 0;
  await Promise.all(
    Array.from({ length: 50 }, async () => {
      while (count < 10_000) {
        count++;
        await call("POST", "/api/v1/namespaces/bench/pods", pod(`fill-${fill++}`));
      }
    }),
  );

  // 3a. LIST of 10,000 pods.
  say("\n## LIST of 10,000 pods");
  for (const [what, path] of [
    ["from etcd (consistent read)", "/api/v1/namespaces/bench/pods"],
    ["from the watch cache (resourceVersion=0)", "/api/v1/namespaces/bench/pods?resourceVersion=0"],
  ] as const) {
    const times: number[] = [];
    let items = 0;
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      const res = await call("GET", path);
      times.push(performance.now() - t);
      items = (JSON.parse(res.body) as { items: unknown[] }).items.length;
    }
    say(`- ${what}: ${items} items, median ${ms(pct(times, 50))}, max ${ms(Math.max(...times))}`);
  }
  const t0 = performance.now();
  const raw = await etcdClient.getAll().prefix("/bench/pods/").strings();
  say(
    `- raw etcd range of the ${Object.keys(raw).length} pods the raw-put runs wrote (for scale): ${ms(performance.now() - t0)}`,
  );

  // 2. Watch fan-out.
  say("\n## watch fan-out: 1,000 pod watchers, 100 updates");
  const target = JSON.parse(
    (await call("POST", "/api/v1/namespaces/bench/pods", pod("watched"))).body,
  ) as { metadata: { resourceVersion: string } };
  const watchers = 1000;
  const watchAgent = new Agent({ ca, cert, key, keepAlive: true, maxSockets: Infinity });
  const received: Map<string, number>[] = [];
  const reqs: ReturnType<typeof request>[] = [];
  await Promise.all(
    Array.from({ length: watchers }, (_, w) => {
      const seen = new Map<string, number>();
      received.push(seen);
      return new Promise<void>((resolve, reject) => {
        const req = request(
          `${url}/api/v1/namespaces/bench/pods?watch=true&fieldSelector=metadata.name%3Dwatched&resourceVersion=${target.metadata.resourceVersion}`,
          { agent: watchAgent },
          (res) => {
            let buf = "";
            res.on("data", (c: Buffer) => {
              const at = performance.now();
              buf += c.toString();
              let i;
              while ((i = buf.indexOf("\n")) >= 0) {
                const ev = JSON.parse(buf.slice(0, i)) as {
                  object: { metadata: { resourceVersion: string } };
                };
                buf = buf.slice(i + 1);
                seen.set(ev.object.metadata.resourceVersion, at);
              }
            });
            resolve();
          },
        );
        req.on("error", (e) => (w < watchers ? reject(e) : undefined));
        req.end();
        reqs.push(req);
      });
    }),
  );
  await new Promise((r) => setTimeout(r, 500));
  const rssWithWatchers = rss();
  const acks = new Map<string, number>();
  for (let i = 0; i < 100; i++) {
    const up = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const data = JSON.stringify({ metadata: { labels: { round: String(i) } } });
      const req = request(
        `${url}/api/v1/namespaces/bench/pods/watched`,
        { method: "PATCH", agent, headers: { "Content-Type": "application/merge-patch+json" } },
        (r) => {
          const chunks: Buffer[] = [];
          r.on("data", (c: Buffer) => chunks.push(c));
          r.on("end", () =>
            resolve({ status: r.statusCode ?? 0, body: Buffer.concat(chunks).toString() }),
          );
        },
      );
      req.on("error", reject);
      req.end(data);
    });
    const ackAt = performance.now();
    acks.set(
      (JSON.parse(up.body) as { metadata: { resourceVersion: string } }).metadata.resourceVersion,
      ackAt,
    );
  }
  await new Promise((r) => setTimeout(r, 2000));
  const delays: number[] = [];
  let missing = 0;
  for (const seen of received) {
    for (const [rv, ackAt] of acks) {
      const at = seen.get(rv);
      if (at === undefined) missing++;
      else delays.push(Math.max(0, at - ackAt));
    }
  }
  say(
    `- events expected: ${watchers * acks.size}, received: ${delays.length}, missing: ${missing}`,
  );
  say(
    `- delivery after the write's ack: p50 ${ms(pct(delays, 50))}, p99 ${ms(pct(delays, 99))}, max ${ms(Math.max(...delays))}`,
  );
  say(
    `\n## apiserver RSS with 10,000 pods and 1,000 open watches: ${rssWithWatchers.toFixed(0)} MB`,
  );
  for (const r of reqs) r.destroy();
  watchAgent.destroy();
  await stop();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
