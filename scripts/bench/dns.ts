// Benchmark: skiff-dns against Debian's dnsmasq, side by side in one run, both on loopback.
//   npx tsc -b && npx tsx --conditions=source scripts/bench/dns.ts [--services=10000] [--seconds=10]
//     [--rounds=3] [--baseline=path/to/an/older/bin/skiff-dns.js]
// Needs Debian's dnsperf and dnsmasq (apt-get install dnsperf dnsmasq-base) and taskset.
//
// A real apiserver (and etcd) on loopback gets N Services; skiff-dns (the built program,
// bin/skiff-dns.js) serves them from its informer caches, dnsmasq serves the same names and
// addresses from a hosts file. Each server is pinned to the same one core (taskset -c 1),
// dnsperf to the other. For each server, in turn: the most queries/s dnsperf gets answered
// (`-q 200` outstanding), then a fixed 5,000 queries/s with every query's latency (`-v`),
// from which p50/p99 are taken; the two servers take turns, `--rounds` times (default 3),
// and the table shows each figure's median over the rounds (the shared machine is noisy).
// --baseline adds a third server to every round: another build of skiff-dns (say, a copy of
// packages/dns/dist and bin/ from before a change, kept inside this checkout so that its
// imports resolve), for before/after figures taken alternately under the same load. The
// query file asks A for random Service names. Memory is
// skiff-dns' resident set (VmRSS, and its peak VmHWM) with the N Services cached. Neither
// server has an upstream: skiff-dns gets an empty resolv.conf, dnsmasq --no-resolv.
import { execFileSync, spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { resourceInfo, type ServiceSpec } from "@skiff/api";
import { RestClient, loadClientConfig, type KubeObject } from "@skiff/client";
import { freePort, startApiserver } from "@skiff/testing";
import { cpuSeconds, pct, pool } from "./lib.js";

const arg = (name: string, def: number): number =>
  Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ?? def);
const n = arg("services", 10_000);
const seconds = arg("seconds", 10);
const rounds = arg("rounds", 3);
const baselineBin = process.argv.find((a) => a.startsWith("--baseline="))?.split("=")[1];
const ns = "bench-dns";
const root = new URL("../../", import.meta.url).pathname;
const sleep = (t: number): Promise<void> => new Promise((r) => setTimeout(r, t));

for (const tool of ["dnsperf", "dnsmasq", "taskset"])
  try {
    execFileSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" });
  } catch {
    console.error(`dns bench: needs ${tool} (apt-get install dnsperf dnsmasq-base util-linux)`);
    process.exit(1);
  }

function rssMB(pid: number | undefined, field: "VmRSS" | "VmHWM"): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(m?.[1]) / 1024;
}

function dnsperf(port: number, file: string, extra: string[]): string {
  const args = ["-c", "0", "dnsperf", "-s", "127.0.0.1", "-p", String(port), "-d", file];
  args.push("-l", String(seconds), "-t", "2", ...extra);
  return execFileSync("taskset", args, {
    encoding: "utf8",
    maxBuffer: 256 << 20,
    timeout: (seconds + 30) * 1000,
  });
}

const field = (out: string, name: string): number =>
  Number(new RegExp(`${name}:\\s+([\\d.]+)`).exec(out)?.[1] ?? NaN);

interface Figures {
  maxQps: number;
  maxLostPct: number;
  /** Queries answered per CPU-second the server used: what one core of its own would give. */
  perCpuSecond: number;
  fixedQps: number;
  fixedLost: number;
  p50: number;
  p99: number;
}

function measure(port: number, pid: number | undefined, file: string): Figures {
  const cpuBefore = cpuSeconds(pid);
  const max = dnsperf(port, file, ["-q", "200"]);
  const cpu = cpuSeconds(pid) - cpuBefore;
  const fixed = dnsperf(port, file, ["-Q", "5000", "-q", "200", "-v"]);
  const lat = [...fixed.matchAll(/^> \w+ \S+ \w+ ([\d.]+)$/gm)].map((m) => Number(m[1]) * 1000);
  const sent = field(max, "Queries sent");
  return {
    maxQps: field(max, "Queries per second"),
    maxLostPct: (100 * field(max, "Queries lost")) / sent,
    perCpuSecond: field(max, "Queries completed") / cpu,
    fixedQps: field(fixed, "Queries per second"),
    fixedLost: field(fixed, "Queries lost"),
    p50: pct(lat, 50),
    p99: pct(lat, 99),
  };
}

async function waitFor(what: string, ok: () => Promise<boolean> | boolean): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within 120 s`);
    await sleep(200);
  }
}

const answers = (port: number, name: string): boolean => {
  try {
    const out = execFileSync(
      "dig",
      ["@127.0.0.1", "-p", String(port), "+short", "+time=1", "+tries=1", name],
      {
        encoding: "utf8",
      },
    );
    return out.trim() !== "";
  } catch {
    return false;
  }
};

const dir = mkdtempSync(join(tmpdir(), "skiff-bench-dns-"));
const api = await startApiserver();
const children: ChildProcess[] = [];
try {
  const client = new RestClient({ ...loadClientConfig({ kubeconfig: api.kubeconfig }), qps: -1 });
  await client.resource(resourceInfo("", "v1", "namespaces")).create({ metadata: { name: ns } });
  const ips: string[] = new Array<string>(n);
  const createdAt = Date.now();
  await pool([...Array(n).keys()], 64, async (i) => {
    const svc = await client
      .resource<KubeObject & { spec?: ServiceSpec }>(resourceInfo("", "v1", "services"))
      .namespace(ns)
      .create({
        metadata: { name: `svc-${i}`, namespace: ns },
        spec: { ports: [{ name: "http", port: 80, protocol: "TCP" }] },
      });
    ips[i] = svc.spec?.clusterIP ?? "";
  });
  console.log(`${n} Services created in ${((Date.now() - createdAt) / 1000).toFixed(1)} s`);

  // The same names for both servers: a hosts file for dnsmasq, a query file for dnsperf.
  const names = ips.map((_, i) => `svc-${i}.${ns}.svc.cluster.local`);
  writeFileSync(join(dir, "hosts"), names.map((name, i) => `${ips[i]} ${name}\n`).join(""));
  let seed = 12345;
  const random = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const queries = Array.from({ length: 20_000 }, () => `${names[Math.floor(random() * n)]} A\n`);
  writeFileSync(join(dir, "queries.txt"), queries.join(""));
  writeFileSync(join(dir, "resolv.conf"), "");

  const [dnsPort, masqPort] = [await freePort(), await freePort()];
  const startSkiff = async (bin: string, port: number): Promise<ChildProcess> => {
    const child = spawn(
      "taskset",
      [
        "-c",
        "1",
        bin,
        `--kubeconfig=${api.kubeconfig}`,
        "--dns-address=127.0.0.1",
        `--dns-port=${port}`,
        `--health-port=${await freePort()}`,
        `--metrics-port=${await freePort()}`,
        `--resolv-conf=${join(dir, "resolv.conf")}`,
      ],
      { stdio: "ignore" },
    );
    children.push(child);
    return child;
  };
  const skiff = await startSkiff(join(root, "packages/dns/bin/skiff-dns.js"), dnsPort);
  const basePort = await freePort();
  const base = baselineBin ? await startSkiff(baselineBin, basePort) : undefined;
  const masq = spawn(
    "taskset",
    [
      "-c",
      "1",
      "dnsmasq",
      "--keep-in-foreground",
      `--port=${masqPort}`,
      "--listen-address=127.0.0.1",
      "--bind-interfaces",
      "--no-resolv",
      "--no-hosts",
      `--addn-hosts=${join(dir, "hosts")}`,
      "--local=/cluster.local/",
      "--pid-file=",
      "--log-facility=/dev/null",
      "--user=root",
    ],
    { stdio: "ignore" },
  );
  children.push(masq);
  const started = Date.now();
  await waitFor("skiff-dns ready", () => answers(dnsPort, names[n - 1]!));
  console.log(`skiff-dns answers all ${n} after ${((Date.now() - started) / 1000).toFixed(1)} s`);
  await waitFor("dnsmasq", () => answers(masqPort, names[n - 1]!));
  if (base) await waitFor("baseline skiff-dns", () => answers(basePort, names[n - 1]!));
  await sleep(2000);
  const rssIdle = rssMB(skiff.pid, "VmRSS");
  const masqRss = rssMB(masq.pid, "VmRSS");

  const runs: { skiff: Figures; masq: Figures; base?: Figures }[] = [];
  const load = (): string => loadavg()[0]!.toFixed(1);
  const show = (f: Figures): string =>
    `${Math.round(f.maxQps)}/s max (${Math.round(f.perCpuSecond)} per CPU-second), p99 ${f.p99.toFixed(3)} ms at ${Math.round(f.fixedQps)}/s`;
  for (let r = 0; r < rounds; r++) {
    const at = load();
    const ours = measure(dnsPort, skiff.pid, join(dir, "queries.txt"));
    const theirs = measure(masqPort, masq.pid, join(dir, "queries.txt"));
    const before = base && measure(basePort, base.pid, join(dir, "queries.txt"));
    runs.push({ skiff: ours, masq: theirs, base: before });
    console.log(
      `round ${r + 1} (load average ${at} -> ${load()}): skiff-dns ${show(ours)}; dnsmasq ${show(theirs)}` +
        (before ? `; baseline ${show(before)}` : ""),
    );
  }
  const median = (side: "skiff" | "masq" | "base"): Figures => {
    const m = (k: keyof Figures): number =>
      pct(
        runs.map((x) => x[side]![k]),
        50,
      );
    return {
      maxQps: m("maxQps"),
      maxLostPct: m("maxLostPct"),
      perCpuSecond: m("perCpuSecond"),
      fixedQps: m("fixedQps"),
      fixedLost: m("fixedLost"),
      p50: m("p50"),
      p99: m("p99"),
    };
  };
  const skiffFig = median("skiff");
  const masqFig = median("masq");
  const baseFig = base ? median("base") : undefined;
  const rssAfter = rssMB(skiff.pid, "VmRSS");
  const rssPeak = rssMB(skiff.pid, "VmHWM");

  const cpu = cpus()[0]?.model ?? "unknown CPU";
  console.log(`\nmachine: ${cpu}, ${cpus().length} cores; ${new Date().toISOString()}`);
  console.log(
    `each server pinned to core 1, dnsperf to core 0; ${seconds} s per run; medians of ${rounds} rounds`,
  );
  console.log(
    `| | skiff-dns | dnsmasq 2.90 |${baseFig ? " baseline skiff-dns |" : ""}\n|---|---|---|${baseFig ? "---|" : ""}`,
  );
  const row = (label: string, f: (x: Figures) => string): void =>
    console.log(
      `| ${label} | ${f(skiffFig)} | ${f(masqFig)} |${baseFig ? ` ${f(baseFig)} |` : ""}`,
    );
  row(
    "max queries/s (-q 200)",
    (x) => `${Math.round(x.maxQps)} (lost ${x.maxLostPct.toFixed(2)}%)`,
  );
  row("queries per CPU-second used (max run)", (x) => `${Math.round(x.perCpuSecond)}`);
  row("at 5,000 queries/s: achieved", (x) => `${Math.round(x.fixedQps)} (lost ${x.fixedLost})`);
  row("at 5,000 queries/s: p50", (x) => `${x.p50.toFixed(3)} ms`);
  row("at 5,000 queries/s: p99", (x) => `${x.p99.toFixed(3)} ms`);
  console.log(
    `| RSS with ${n} Services | ${rssIdle.toFixed(0)} MB idle, ${rssAfter.toFixed(0)} MB after load, peak ${rssPeak.toFixed(0)} MB | ${masqRss.toFixed(1)} MB |` +
      (base ? ` peak ${rssMB(base.pid, "VmHWM").toFixed(0)} MB |` : ""),
  );
  const ratio = skiffFig.maxQps / masqFig.maxQps;
  const cpuRatio = skiffFig.perCpuSecond / masqFig.perCpuSecond;
  console.log(
    `\ntargets: ${(100 * ratio).toFixed(0)}% of dnsmasq's queries/s (>= 50%: ${ratio >= 0.5 ? "met" : "NOT met"}), ` +
      `${(100 * cpuRatio).toFixed(0)}% per CPU-second; ` +
      `p99 ${skiffFig.p99.toFixed(3)} ms at 5,000/s (<= 2 ms: ${skiffFig.p99 <= 2 ? "met" : "NOT met"}); ` +
      `RSS peak ${rssPeak.toFixed(0)} MB (<= 150 MB: ${rssPeak <= 150 ? "met" : "NOT met"})`,
  );
  if (baseFig)
    console.log(
      `baseline: ${(100 * (baseFig.maxQps / masqFig.maxQps)).toFixed(0)}% of dnsmasq's queries/s, ` +
        `${(100 * (baseFig.perCpuSecond / masqFig.perCpuSecond)).toFixed(0)}% per CPU-second, p99 ${baseFig.p99.toFixed(3)} ms`,
    );
} finally {
  for (const c of children) c.kill("SIGTERM");
  await api.stop();
  rmSync(dir, { recursive: true, force: true });
}
