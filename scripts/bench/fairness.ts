// Benchmark: what a flood of one client does to everyone else's requests, with API Priority
// and Fairness on (the default) and off, side by side in one run.
//   npx tsx --conditions=source scripts/bench/fairness.ts [--flood=200] [--seconds=20]
//       [--variants=default,off]       (after `make build`)
// For each variant an apiserver is started on a fresh etcd with the flags scripts/cluster.sh
// (`make up`) gives it, plus the variant's: `default` adds nothing, `off` is
// --enable-priority-and-fairness=false, `seats=N` is --max-requests-inflight=N
// --max-mutating-requests-inflight=0. Then, for --seconds:
// - the flood: --flood concurrent clients creating ConfigMaps as one service account
//   (FlowSchema service-accounts, level workload-low), each waiting out a 429's Retry-After
//   as client-go does;
// - the scheduler's lease renewal (system:kube-scheduler: GET and PUT of its Lease, level
//   leader-election), one after another;
// - a second service account reading a ConfigMap (the flood's level, another flow), one
//   after another.
// Reported: each one's requests/s and p50/p99 latency, and the flood's 429s. The probes start
// 2 s into the flood; their first request opens a TLS connection, which a saturated Node.js
// server accepts late (libuv accepts one connection per event-loop turn), so it is reported
// apart.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { Agent, request } from "node:https";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, startEtcd, testCerts } from "@skiff/testing";
import {
  benchRoot,
  clusterApiserverArgs,
  clusterNodeFlags,
  pct,
  treeCpuSeconds,
  waitForApiserver,
} from "./lib.js";

const arg = (name: string, fallback: string): string =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const floodClients = Number(arg("flood", "200"));
const seconds = Number(arg("seconds", "20"));
const variants = arg("variants", "default,off").split(",");
const root = benchRoot();
const certs = testCerts();
const ca = readFileSync(join(certs, "ca.crt"));

interface Answer {
  status: number;
  body: string;
  retryAfter?: string;
}

function caller(url: string, agent: Agent, token?: string) {
  return (method: string, path: string, body?: unknown): Promise<Answer> =>
    new Promise((resolve, reject) => {
      const data = body === undefined ? undefined : JSON.stringify(body);
      const headers: Record<string, string> = {};
      if (data) headers["Content-Type"] = "application/json";
      if (token) headers.Authorization = `Bearer ${token}`;
      const req = request(`${url}${path}`, { method, agent, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString(),
            retryAfter: res.headers["retry-after"],
          }),
        );
      });
      req.on("error", reject);
      req.end(data);
    });
}

const certAgent = (name: string, sockets: number): Agent =>
  new Agent({
    ca,
    cert: readFileSync(join(certs, `${name}.crt`)),
    key: readFileSync(join(certs, `${name}.key`)),
    keepAlive: true,
    maxSockets: sockets,
  });

async function must(p: Promise<Answer>, what: string): Promise<Answer> {
  const a = await p;
  if (a.status >= 300) throw new Error(`${what}: ${a.status} ${a.body.slice(0, 200)}`);
  return a;
}

async function runVariant(variant: string): Promise<string> {
  const etcd = await startEtcd();
  const port = await freePort();
  const url = `https://127.0.0.1:${port}`;
  const logs = mkdtempSync(join(tmpdir(), "skiff-bench-fairness-"));
  const extra =
    variant === "off"
      ? ["--enable-priority-and-fairness=false"]
      : variant.startsWith("seats=")
        ? [`--max-requests-inflight=${variant.slice(6)}`, "--max-mutating-requests-inflight=0"]
        : [];
  const server = spawn(
    process.execPath,
    [
      ...clusterNodeFlags(),
      ...(process.env.BENCH_NODE_ARGS ?? "").split(" ").filter(Boolean),
      ...clusterApiserverArgs({ etcdEndpoints: etcd.endpoints, port, certs, logs }),
      ...extra,
    ],
    { cwd: root, stdio: ["ignore", "ignore", "inherit"] },
  );
  const exited = new Promise((r) => server.once("exit", r));
  process.once("exit", () => server.kill("SIGTERM"));
  const adminAgent = certAgent("admin", 4);
  const admin = caller(url, adminAgent);
  await waitForApiserver({ requestText: (m, p) => must(admin(m, p), "readyz") });
  const ns = "/api/v1/namespaces/bench";
  await must(admin("POST", "/api/v1/namespaces", { metadata: { name: "bench" } }), "namespace");
  const tokens: string[] = [];
  for (const name of ["flood", "reader"]) {
    await must(admin("POST", `${ns}/serviceaccounts`, { metadata: { name } }), name);
    await must(
      admin("POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/bench/rolebindings", {
        metadata: { name },
        roleRef: {
          apiGroup: "rbac.authorization.k8s.io",
          kind: "ClusterRole",
          name: "cluster-admin",
        },
        subjects: [{ kind: "ServiceAccount", name, namespace: "bench" }],
      }),
      `${name} binding`,
    );
    const tr = await must(
      admin("POST", `${ns}/serviceaccounts/${name}/token`, {
        apiVersion: "authentication.k8s.io/v1",
        kind: "TokenRequest",
        spec: { expirationSeconds: 3600 },
      }),
      `${name} token`,
    );
    tokens.push((JSON.parse(tr.body) as { status: { token: string } }).status.token);
  }
  await must(admin("POST", `${ns}/configmaps`, { metadata: { name: "read-me" } }), "configmap");
  const leasePath = "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-scheduler";
  await must(
    admin("POST", "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases", {
      metadata: { name: "kube-scheduler" },
      spec: { holderIdentity: "bench", leaseDurationSeconds: 15 },
    }),
    "lease",
  );

  const floodAgent = new Agent({ ca, keepAlive: true, maxSockets: floodClients });
  const flood = caller(url, floodAgent, tokens[0]);
  const readerAgent = new Agent({ ca, keepAlive: true, maxSockets: 1 });
  const reader = caller(url, readerAgent, tokens[1]);
  const schedAgent = certAgent("scheduler", 1);
  const scheduler = caller(url, schedAgent);

  const cpuBefore = treeCpuSeconds(server.pid);
  const deadline = Date.now() + seconds * 1000;
  const floodMs: number[] = [];
  let rejected = 0;
  let failed = 0;
  let n = 0;
  const floodWorker = async (): Promise<void> => {
    while (Date.now() < deadline) {
      const name = `f-${n++}`;
      const t0 = performance.now();
      for (;;) {
        const a = await flood("POST", `${ns}/configmaps`, { metadata: { name } });
        if (a.status === 429 && a.retryAfter) {
          rejected++;
          await new Promise((r) => setTimeout(r, Number(a.retryAfter) * 1000));
          continue;
        }
        if (a.status !== 201) failed++;
        break;
      }
      floodMs.push(performance.now() - t0);
    }
  };
  const probe = async (once: () => Promise<void>, out: number[]): Promise<void> => {
    await new Promise((r) => setTimeout(r, 2000)); // once the flood is under way
    while (Date.now() < deadline) {
      const t0 = performance.now();
      await once();
      out.push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const leaseMs: number[] = [];
  const readMs: number[] = [];
  await Promise.all([
    ...Array.from({ length: floodClients }, floodWorker),
    probe(async () => {
      const lease = JSON.parse((await must(scheduler("GET", leasePath), "lease get")).body);
      lease.spec.renewTime = new Date().toISOString().replace("Z", "000Z");
      await must(scheduler("PUT", leasePath, lease), "lease put");
    }, leaseMs),
    probe(async () => void (await must(reader("GET", `${ns}/configmaps/read-me`), "read")), readMs),
  ]);
  const cpu = treeCpuSeconds(server.pid) - cpuBefore;
  for (const a of [adminAgent, floodAgent, readerAgent, schedAgent]) a.destroy();
  server.kill("SIGTERM");
  await exited;
  await etcd.stop();
  rmSync(logs, { recursive: true, force: true });
  const f = (xs: number[]) => `${pct(xs, 50).toFixed(0)} / ${pct(xs, 99).toFixed(0)} ms`;
  // A probe's first request opens its connection: reported apart from the ones after it.
  const summary = (what: string, xs: number[]) =>
    `${xs.length - 1} ${what}, ${f(xs.slice(1))}; first ${xs[0]?.toFixed(0)} ms`;
  return (
    `| ${variant} | ${(floodMs.length / seconds).toFixed(0)}/s, ${f(floodMs)}, ${rejected} × 429` +
    `${failed ? `, ${failed} failed` : ""} | ${summary("renewals", leaseMs)} | ` +
    `${summary("reads", readMs)} | ${cpu.toFixed(1)} |`
  );
}

async function main(): Promise<void> {
  const rows: string[] = [];
  for (const v of variants) {
    const row = await runVariant(v);
    console.log(row);
    rows.push(row);
  }
  console.log(
    `\nfairness: ${floodClients} flooding clients for ${seconds} s, load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(" ")}\n`,
  );
  console.log(
    "| variant | flood: creates/s, p50 / p99 (a create's wait for 429s included) | lease renewal (GET + PUT), p50 / p99; the first (new connection) | another account's GET, likewise | apiserver CPU s |",
  );
  console.log("|---|---|---|---|---|");
  for (const r of rows) console.log(r);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
