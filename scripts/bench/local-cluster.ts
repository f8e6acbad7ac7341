// A `make up` control plane for benchmarks, with SIMULATED nodes: `scripts/cluster.sh up`
// itself starts etcd, the apiserver, the controller-manager and the scheduler with the flags
// `make up` gives them, from this checkout, with its state (etcd data, certificates, logs) in
// a temp dir and on ports of its own (SKIFF_STATE, SKIFF_API_PORT, SKIFF_ETCD_PORT), and with
// SKIFF_CONTROL_PLANE_ONLY=1 so that no real kubelet, kube-proxy, network agent or add-on
// starts (they would use this host's Docker engine and iptables). The nodes are
// `skiff-kubelet --runtime=simulated` processes, each its own node with its own certificate
// (system:node:sim-NNN), started as cluster.sh starts its kubelet (plain `node`), with the
// kubelet API off (--port=0: nothing here calls it). `stop()` stops all of it by pid
// (`cluster.sh down` with the same state dir) and removes the temp dir.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import type { DeploymentSpec, DeploymentStatus } from "@skiff/api";
import { RestClient, loadClientConfig } from "@skiff/client";
import type { KubeObject } from "@skiff/client";
import { pool } from "./lib.js";

const root = new URL("../../", import.meta.url).pathname;

export const components = ["etcd1", "apiserver", "controller-manager", "scheduler"] as const;
export type Component = (typeof components)[number];
export type Sample = Record<Component, { rss: number; hwm: number }>;

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const log = (msg: string) =>
  console.error(
    `[${new Date().toISOString().slice(11, 19)}] ${msg} (load ${loadavg()[0]!.toFixed(1)})`,
  );

/** VmRSS and VmHWM (the peak) of a process in MiB. */
export function memory(pid: number): { rss: number; hwm: number } {
  try {
    const s = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)?.[1] ?? NaN);
    return { rss: kb("VmRSS") / 1024, hwm: kb("VmHWM") / 1024 };
  } catch {
    return { rss: NaN, hwm: NaN };
  }
}

/** apiserver + controller-manager + scheduler, the issue's sum. */
export const sumOfThree = (s: Sample, k: "rss" | "hwm") =>
  s.apiserver[k] + s["controller-manager"][k] + s.scheduler[k];

export interface ConnectionCount {
  total: number;
  kubeletMean: number;
  kubeletMax: number;
  controllerManager: number;
  scheduler: number;
}

export interface ApiserverMemory {
  externalMiB: number;
  heapUsedMiB: number;
  heapTotalMiB: number;
  watches: number;
  /** The watch caches holding most: "resource objects+history", largest first. */
  caches: string;
}

function watchCaches(metrics: string): string {
  const held = new Map<string, { objects: number; history: number }>();
  for (const m of metrics.matchAll(
    /^apiserver_(storage_objects|watch_cache_history_events)\{group="([^"]*)",resource="([^"]*)"\} (\S+)/gm,
  )) {
    const name = m[2] ? `${m[3]}.${m[2]}` : m[3]!;
    const e = held.get(name) ?? { objects: 0, history: 0 };
    if (m[1] === "storage_objects") e.objects += Number(m[4]);
    else e.history += Number(m[4]);
    held.set(name, e);
  }
  return [...held]
    .sort((a, b) => b[1].objects + b[1].history - (a[1].objects + a[1].history))
    .slice(0, 6)
    .map(([n, e]) => `${n} ${e.objects}+${e.history}`)
    .join(", ");
}

/** One line: the apiserver's connections and where its memory is, for a benchmark's log. */
export function describeConnections(c: ConnectionCount, m: ApiserverMemory): string {
  return `connections to the apiserver: ${c.total} (per kubelet mean ${c.kubeletMean.toFixed(1)}, max ${c.kubeletMax}; controller-manager ${c.controllerManager}; scheduler ${c.scheduler}); open watches ${m.watches}; apiserver heap used ${m.heapUsedMiB.toFixed(0)} of ${m.heapTotalMiB.toFixed(0)} MiB, external ${m.externalMiB.toFixed(0)} MiB; watch caches (objects+history): ${m.caches}`;
}

export interface LocalClusterOptions {
  kubelets: number;
  /**
   * Unusual defaults, so that a `make up` cluster (6443, 2379) or other runs never collide; below
   * Linux's ephemeral range (32768-60999), where a client connection could take a health port.
   */
  apiPort?: number;
  etcdPort?: number;
  /** NODE_OPTIONS for the control plane only (diagnostics such as --heapsnapshot-signal). */
  nodeOptions?: string;
  /** Copy the components' logs here before the temp dir is removed. */
  keepLogs?: string;
}

export class LocalCluster {
  readonly state = mkdtempSync(join(tmpdir(), "skiff-bench-cluster-"));
  readonly certs = join(this.state, "certs");
  readonly nodeNames: string[];
  readonly kubelets: ChildProcess[] = [];
  private readonly env: NodeJS.ProcessEnv;
  private client_: RestClient | undefined;

  constructor(private readonly opts: LocalClusterOptions) {
    this.nodeNames = Array.from(
      { length: opts.kubelets },
      (_, i) => `sim-${String(i + 1).padStart(3, "0")}`,
    );
    this.env = {
      ...process.env,
      SKIFF_STATE: this.state,
      SKIFF_API_PORT: String(opts.apiPort ?? 31443),
      SKIFF_ETCD_PORT: String(opts.etcdPort ?? 31379),
      SKIFF_CONTROL_PLANE_ONLY: "1",
      SKIFF_CONTROLLER_MANAGER_PORT: String((opts.apiPort ?? 31443) + 1),
      SKIFF_SCHEDULER_PORT: String((opts.apiPort ?? 31443) + 2),
      ...(opts.nodeOptions ? { NODE_OPTIONS: opts.nodeOptions } : {}),
    };
  }

  /** An admin client with no client-side limit. */
  get client(): RestClient {
    return (this.client_ ??= new RestClient(
      { ...loadClientConfig({ kubeconfig: join(this.certs, "admin.kubeconfig") }), qps: -1 },
      { maxSockets: 20 },
    ));
  }

  /** Certificates (one per simulated node), then `cluster.sh up`. */
  up(): void {
    log(`state in ${this.state}; making certificates for ${this.opts.kubelets} nodes`);
    const server = `https://127.0.0.1:${this.env.SKIFF_API_PORT}`;
    execFileSync("bash", [join(root, "scripts/make-certs.sh"), this.certs, server], {
      env: { ...process.env, NODES: this.nodeNames.join(" ") },
      stdio: "ignore",
    });
    this.cluster("up");
  }

  /**
   * Starts the simulated kubelets, a few at a time (each is a whole Node.js process). A kubelet
   * that exits is started again after 2 s, as cluster.sh's supervisor restarts its kubelet (on
   * an overloaded machine one can exit at start when the apiserver answers 503).
   */
  async startKubelets(): Promise<void> {
    await pool(this.nodeNames, 4, async (name) => {
      this.spawnKubelet(name, this.nodeNames.indexOf(name));
      await sleep(300);
    });
  }

  /** Kubelet restarts after an exit, in total. */
  kubeletRestarts = 0;
  private stopping = false;

  private spawnKubelet(name: string, i: number): void {
    const out = openSync(join(this.state, "logs", `kubelet-${name}.log`), "a");
    const p = spawn(
      process.execPath,
      [
        join(root, "packages/kubelet/dist/main.js"),
        `--kubeconfig=${join(this.certs, `kubelet-${name}.kubeconfig`)}`,
        `--node-name=${name}`,
        `--root-dir=${join(this.state, "kubelets", name)}`,
        "--runtime=simulated",
        "--port=0",
        "--node-ip=127.0.0.1",
      ],
      { stdio: ["ignore", out, out] },
    );
    this.kubelets[i] = p;
    p.once("exit", () => {
      if (this.stopping) return;
      this.kubeletRestarts++;
      setTimeout(() => {
        if (!this.stopping) this.spawnKubelet(name, i);
      }, 2000);
    });
  }

  pidOf(c: Component): number {
    return Number(readFileSync(join(this.state, "run", `${c}.child`), "utf8").trim());
  }

  sample(): Sample {
    return Object.fromEntries(components.map((c) => [c, memory(this.pidOf(c))])) as Sample;
  }

  /**
   * Established TCP connections to the apiserver's port per local process (`ss -tnp`): the
   * simulated kubelets (mean and max), each control-plane component, and the total.
   */
  connections(): ConnectionCount {
    const port = this.env.SKIFF_API_PORT!;
    const perPid = new Map<number, number>();
    let total = 0;
    try {
      const out = execFileSync(
        "ss",
        ["-Htnp", "state", "established", "(", "dport", "=", `:${port}`, ")"],
        { encoding: "utf8" },
      );
      for (const line of out.split("\n")) {
        const pid = /pid=(\d+)/.exec(line)?.[1];
        if (!pid) continue;
        total++;
        perPid.set(Number(pid), (perPid.get(Number(pid)) ?? 0) + 1);
      }
    } catch {
      // ss missing or failed: report zeros rather than stop the benchmark
    }
    const kubelets = this.kubelets.map((k) => perPid.get(k.pid!) ?? 0);
    const of = (c: Component) => {
      try {
        return perPid.get(this.pidOf(c)) ?? 0;
      } catch {
        return 0;
      }
    };
    return {
      total,
      kubeletMean: kubelets.length ? kubelets.reduce((a, b) => a + b, 0) / kubelets.length : 0,
      kubeletMax: kubelets.length ? Math.max(...kubelets) : 0,
      controllerManager: of("controller-manager"),
      scheduler: of("scheduler"),
    };
  }

  /**
   * From the apiserver's /metrics: external memory (Buffers outside the V8 heap), V8 heap used,
   * and open watches, in MiB and counts; NaN when the apiserver does not answer.
   */
  async apiserverMemory(): Promise<ApiserverMemory> {
    const text = await this.client
      .requestText("GET", "/metrics", { accept: "text/plain" })
      .catch(() => "");
    const sum = (name: string) => {
      let v = NaN;
      for (const m of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)`, "gm")))
        v = (Number.isNaN(v) ? 0 : v) + Number(m[1]);
      return v;
    };
    return {
      externalMiB: sum("nodejs_external_memory_bytes") / 2 ** 20,
      heapUsedMiB: sum("nodejs_heap_size_used_bytes") / 2 ** 20,
      heapTotalMiB: sum("nodejs_heap_size_total_bytes") / 2 ** 20,
      watches: sum("apiserver_longrunning_requests"),
      caches: watchCaches(text),
    };
  }

  /** Times each control-plane component was restarted by its supervisor. */
  restarts(): Record<string, number> {
    return Object.fromEntries(
      components.map((c) => {
        const f = join(this.state, "run", `${c}.restarts`);
        return [c, existsSync(f) ? Number(readFileSync(f, "utf8")) : 0];
      }),
    );
  }

  /** Error and fatal log lines (pino levels 50, 60) per control-plane component. */
  errorLines(): Record<string, string[]> {
    return Object.fromEntries(
      ["apiserver", "controller-manager", "scheduler"].map((c) => {
        const f = join(this.state, "logs", `${c}.log`);
        const lines = existsSync(f) ? readFileSync(f, "utf8").split("\n") : [];
        return [c, lines.filter((l) => /"level":(50|60)/.test(l))];
      }),
    );
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.client_?.close();
    for (const k of this.kubelets) k.kill("SIGTERM");
    await sleep(2000);
    for (const k of this.kubelets) if (k.exitCode === null) k.kill("SIGKILL");
    try {
      this.cluster("down");
    } catch (err) {
      console.error("cluster.sh down:", err);
    }
    if (this.opts.keepLogs)
      cpSync(join(this.state, "logs"), this.opts.keepLogs, { recursive: true });
    rmSync(this.state, { recursive: true, force: true });
  }

  private cluster(verb: "up" | "down"): void {
    execFileSync("bash", [join(root, "scripts/cluster.sh"), verb], {
      env: this.env,
      stdio: ["ignore", "inherit", "inherit"],
      timeout: 120_000,
    });
  }
}

/** The benchmark's own reads: an error (an overloaded apiserver) is logged and retried. */
export async function retry<T>(fn: () => Promise<T>, onError: () => void = () => {}): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await fn();
    } catch (err) {
      onError();
      log(`bench read failed (retrying): ${err instanceof Error ? err.message : String(err)}`);
      if (i >= 30) throw err;
      await sleep(2000);
    }
  }
}

export interface BenchDeployment extends KubeObject {
  spec: DeploymentSpec;
  status?: DeploymentStatus;
}

/** A Deployment of `replicas` sleeping busybox pods with small requests, labelled app=<name>. */
export function benchDeployment(
  name: string,
  namespace: string,
  replicas: number,
): BenchDeployment {
  return {
    metadata: { name, namespace },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [
            {
              name: "app",
              image: "skiff.local/busybox:1.36",
              command: ["sleep", "3600"],
              resources: { requests: { cpu: "10m", memory: "16Mi" } },
            },
          ],
        },
      },
    },
  };
}
