// Helpers the benchmark scripts share: percentiles, a bounded-concurrency pool, CPU time of
// a process, the flags of a benchmark's apiserver, the Node.js flags `make up` ships.
import { readFileSync } from "node:fs";
import { join } from "node:path";

/** The apiserver flags every benchmark passes: its etcd, 127.0.0.1:`port`, the test certificates. */
export function apiserverFlags(etcdEndpoints: string[], port: number, certs: string): string[] {
  return [
    `--etcd-servers=${etcdEndpoints.join(",")}`,
    "--bind-address=127.0.0.1",
    `--secure-port=${port}`,
    `--tls-cert-file=${join(certs, "apiserver.crt")}`,
    `--tls-private-key-file=${join(certs, "apiserver.key")}`,
    `--client-ca-file=${join(certs, "ca.crt")}`,
  ];
}

/** The p-th percentile of xs by nearest rank (p99 of 100 samples is the 99th, not the max). */
export function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? NaN;
}

/** Runs fn over items with at most `width` calls in flight. */
export async function pool<T>(
  items: T[],
  width: number,
  fn: (item: T) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

/** CPU seconds (user + system) a process has used so far; NaN once it is gone. */
export function cpuSeconds(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

/** CPU seconds of a process and all its descendants (alive ones). */
export function treeCpuSeconds(pid: number | undefined): number {
  let total = cpuSeconds(pid);
  for (const child of childrenOf(pid)) total += treeCpuSeconds(child);
  return total;
}

/** Resident memory of a process and all its descendants, in MiB. */
export function treeRssMiB(pid: number | undefined): number {
  let kb = 0;
  try {
    kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
  } catch {
    // gone
  }
  let total = kb / 1024;
  for (const child of childrenOf(pid)) total += treeRssMiB(child);
  return total;
}

function childrenOf(pid: number | undefined): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8")
      .split(" ")
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

/**
 * The Node.js flags scripts/cluster.sh (`make up`) starts the apiserver, controller-manager and
 * scheduler with (its `node_flags`), so that benchmarks run what ships.
 */
export function clusterNodeFlags(): string[] {
  const script = readFileSync(new URL("../cluster.sh", import.meta.url), "utf8");
  const m = /^node_flags=(.*)$/m.exec(script);
  return m?.[1] ? m[1].trim().replace(/^"|"$/g, "").split(/\s+/) : [];
}

/** Where a benchmark's apiserver writes and reads what `make up` keeps under .skiff/. */
export interface ClusterApiserverPaths {
  etcdEndpoints: string[];
  port: number;
  /** scripts/make-certs.sh's output (certificates, keys, encryption-config.yaml). */
  certs: string;
  /** Directory for the audit log (`make up`: .skiff/logs). */
  logs: string;
}

/**
 * The apiserver's arguments exactly as scripts/cluster.sh (`make up`) starts it — read from
 * the script, so that a flag added there is benchmarked too — with its paths and ports
 * replaced by the benchmark's, and one departure: it listens on 127.0.0.1, not 0.0.0.0 (a
 * benchmark is not reachable from containers). The first argument is the entry point
 * (`packages/apiserver/dist/main.js`, relative to the repository).
 */
export function clusterApiserverArgs(paths: ClusterApiserverPaths): string[] {
  const script = readFileSync(new URL("../cluster.sh", import.meta.url), "utf8");
  const m = /^\s*start apiserver node \$node_flags ((?:.*\\\n)*.*)$/m.exec(script);
  if (!m) throw new Error("scripts/cluster.sh: no `start apiserver node $node_flags …` line");
  const vars: Record<string, string> = {
    "$(etcd_endpoints)": paths.etcdEndpoints.join(","),
    $api_port: String(paths.port),
    $certs: paths.certs,
    $logs: paths.logs,
  };
  return m[1]!
    .replace(/\\\n/g, " ")
    .trim()
    .split(/\s+/)
    .map((word) => {
      const arg = word.replace(/"/g, "").replace(/\$\(etcd_endpoints\)|\$[a-z_]+/g, (v) => {
        const value = vars[v];
        if (value === undefined) throw new Error(`scripts/cluster.sh: apiserver flag ${word}`);
        return value;
      });
      return arg === "--bind-address=0.0.0.0" ? "--bind-address=127.0.0.1" : arg;
    });
}

/**
 * The checkout whose built components a benchmark runs: SKIFF_BENCH_ROOT (to compare another
 * build side by side, A/B, in one session), else this one.
 */
export function benchRoot(): string {
  const root = process.env.SKIFF_BENCH_ROOT ?? new URL("../../", import.meta.url).pathname;
  return root.endsWith("/") ? root : `${root}/`;
}

/** Waits until the apiserver answers /readyz (100 ms apart, `tries` times at most). */
export async function waitForApiserver(
  client: { requestText(method: string, path: string): Promise<unknown> },
  tries = 200,
): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      await client.requestText("GET", "/readyz");
      return;
    } catch {
      if (i > tries) throw new Error("apiserver did not start");
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
