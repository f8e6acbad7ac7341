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

/**
 * The Node.js flags scripts/cluster.sh (`make up`) starts the apiserver, controller-manager and
 * scheduler with (its `node_flags`), so that benchmarks run what ships.
 */
export function clusterNodeFlags(): string[] {
  const script = readFileSync(new URL("../cluster.sh", import.meta.url), "utf8");
  const m = /^node_flags=(.*)$/m.exec(script);
  return m?.[1] ? m[1].trim().replace(/^"|"$/g, "").split(/\s+/) : [];
}
