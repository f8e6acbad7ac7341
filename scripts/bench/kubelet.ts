// Benchmark: pod startup latency through the kubelet on the real Docker engine, side by side
// with raw Docker API calls for the same containers.
//   npx tsc -b packages/apiserver
//   npx tsx --conditions=source scripts/bench/kubelet.ts [--sizes=1,10,30] [--single-rounds=5]
//     [--trace] [--compare=<another copy of packages/kubelet/src>] [--kubelet-cpu-prof=<dir>]
// Starts a real etcd, skiff-apiserver (its own process, dist/main.js) and skiff-kubelet (its own
// process: this script in `--kubelet-child` mode, running startKubelet with the Docker runtime,
// a per-run node name, pod network and owner labels). For each size N it creates N pods bound
// to the node (spec.nodeName) at once and times each from its create call to status.phase=Running
// seen on a watch; then deletes them and waits until the kubelet has removed their containers.
// In the same run, "raw": N concurrent sandbox + app pairs through dockerode (same image; the
// sandbox under docker-init on a bridge network like the pod network, the app joined to its
// network and IPC namespaces), timed from the first call to the app's start, then removed.
// Per-step times (Docker events of each pod's containers) show where a pod's time goes;
// `--trace` adds the kubelet's runtime calls (when the first began; count, mean, max);
// `--compare` runs a second kubelet from other sources (e.g. a copy before a change) beside it.
// Everything is removed by the run's label io.skiff.bench=<run id>.
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { resourceInfo, type PodSpec, type PodStatus } from "@skiff/api";
import { RestClient, loadClientConfig, type KubeObject } from "@skiff/client";
import { freePort, startEtcd, testCerts } from "@skiff/testing";
import { pino } from "pino";
import { DockerRuntime, type ContainerRuntime } from "@skiff/kubelet";
import { cpuSeconds, pct, apiserverFlags, waitForApiserver } from "./lib.js";

const IMAGE = "skiff.local/busybox:1.36";
const root = fileURLToPath(new URL("../../", import.meta.url));
const self = fileURLToPath(import.meta.url);
const arg = (name: string, def: string) =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? def;
const flag = (name: string) => process.argv.includes(`--${name}`);

interface Pod extends KubeObject {
  spec?: PodSpec;
  status?: PodStatus;
}

interface ChildConfig {
  /** The kubelet's src directory (start.ts, runtime/docker.ts). */
  src: string;
  kubeconfig: string;
  nodeName: string;
  networkName: string;
  ownerLabels: Record<string, string>;
  rootDir: string;
  trace: boolean;
}

/** Epoch milliseconds with sub-millisecond precision (comparable with Docker's timeNano). */
const now = () => performance.timeOrigin + performance.now();

const secs = (ms: number) => (Number.isFinite(ms) ? (ms / 1000).toFixed(2) : "–");
const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(", ");

// ---- the kubelet, as its own process ----

async function kubeletChild(config: ChildConfig): Promise<void> {
  // Loaded from the entry point under `src`, so that --compare can run another copy of the
  // kubelet's sources; its exports are @skiff/kubelet's.
  const { DockerRuntime: Runtime, startKubelet: start } = (await import(
    join(config.src, "index.ts")
  )) as typeof import("@skiff/kubelet");
  const runtime = new Runtime({ networkName: config.networkName, ownerLabels: config.ownerLabels });
  const running = await start({
    kubeconfig: config.kubeconfig,
    nodeName: config.nodeName,
    nodeIP: "127.0.0.1",
    rootDir: config.rootDir,
    port: 0,
    containerRuntime: config.trace ? traced(runtime) : runtime,
    logger: pino({ level: "warn", base: { component: "skiff-kubelet" } }),
  });
  console.log(JSON.stringify({ msg: "kubelet started" }));
  process.once("SIGTERM", () => void running.stop().then(() => process.exit(0)));
}

/** Reports every runtime call's start and duration on stdout (one JSON line each). */
function traced(runtime: ContainerRuntime): ContainerRuntime {
  return new Proxy(runtime, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== "function" || prop === "events" || typeof prop !== "string")
        return value;
      return (...args: unknown[]) => {
        const t = now();
        const result: unknown = (value as (...a: unknown[]) => unknown).apply(target, args);
        if (!(result instanceof Promise)) return result;
        // The pod a call is about, when its argument names one (filter or config).
        const a = args[0] as { podUid?: string; pod?: { uid?: string } } | undefined;
        const uid = a?.podUid ?? a?.pod?.uid;
        return result.finally(() =>
          console.log(
            JSON.stringify({ msg: "runtime call", call: prop, uid, at: t, ms: now() - t }),
          ),
        );
      };
    },
  });
}

// ---- the load process ----

interface Steps {
  created: number;
  uid?: string;
  /** The create call's answer. */
  answered?: number;
  /** The kubelet's first runtime call for the pod (with --trace). */
  firstCall?: number;
  sandboxCreate?: number;
  sandboxStart?: number;
  appCreate?: number;
  appStart?: number;
  running?: number;
}

/** One kubelet under test: its process, node, pod network and runtime-call trace. */
interface KubeletUnderTest {
  label: string;
  nodeName: string;
  network: DockerRuntime;
  podCIDR: string;
  owner: [string, string];
  calls: Map<string, number[]>;
  firstCall: Map<string, number>;
  /** CPU seconds the kubelet used from each round's first create to its last pod Running. */
  cpu: number[];
  proc?: ChildProcess;
}

async function main(): Promise<void> {
  const sizes = arg("sizes", "1,10,30").split(",").map(Number);
  const singleRounds = Number(arg("single-rounds", "5"));
  const trace = flag("trace");
  const compare = arg("compare", "");
  const cpuProf = arg("kubelet-cpu-prof", "");
  const runId = randomBytes(4).toString("hex");
  const dir = mkdtempSync(join(tmpdir(), "skiff-bench-kubelet-"));
  const procs: ChildProcess[] = [];
  // Every object of this run carries io.skiff.bench=<runId>: cleanup finds them by it.
  const docker = new DockerRuntime({
    networkName: `skiff-bench-${runId}-raw`,
    ownerLabels: { "io.skiff.bench": runId },
  });
  const kubelets: KubeletUnderTest[] = [];
  const sources: [string, string][] = [["kubelet", join(root, "packages/kubelet/src")]];
  if (compare) sources.push([`kubelet from ${compare}`, compare]);
  const etcd = await startEtcd();
  try {
    for (const [i, [label]] of sources.entries()) {
      const id = String.fromCharCode(97 + i);
      kubelets.push({
        label,
        nodeName: `skiff-bench-${runId}-${id}`,
        // Owner labels differ per kubelet so that neither adopts (or removes) the other's pods.
        network: new DockerRuntime({
          networkName: `skiff-bench-${runId}-${id}`,
          ownerLabels: { "io.skiff.bench": runId, "io.skiff.bench.kubelet": id },
        }),
        podCIDR: "",
        owner: ["io.skiff.bench.kubelet", id],
        calls: new Map(),
        firstCall: new Map(),
        cpu: [],
      });
    }
    // The raw pairs use a network of their own, shaped like the pod network.
    await docker.ensurePodNetwork({ subnet: await freeSubnet(docker) });

    const certs = testCerts();
    const port = await freePort();
    const url = `https://127.0.0.1:${port}`;
    execFileSync("bash", [join(root, "scripts/make-certs.sh"), certs, url], { stdio: "ignore" });
    const kubeconfig = join(dir, "admin.kubeconfig");
    copyFileSync(join(certs, "admin.kubeconfig"), kubeconfig);
    procs.push(
      spawnUntil(
        [
          join(root, "packages/apiserver/dist/main.js"),
          ...apiserverFlags(etcd.endpoints, port, certs),
        ],
        () => undefined,
      ).proc,
    );
    const client = new RestClient({ ...loadClientConfig({ kubeconfig }), qps: -1 });
    await waitForApiserver(client, 300);
    const nodes = client.resource(resourceInfo("", "v1", "nodes"));
    for (const [i, k] of kubelets.entries()) {
      const child: ChildConfig = {
        src: sources[i]![1],
        kubeconfig,
        nodeName: k.nodeName,
        networkName: k.network.networkName,
        ownerLabels: { "io.skiff.bench": runId, [k.owner[0]]: k.owner[1] },
        rootDir: join(dir, k.nodeName),
        trace,
      };
      const started = spawnUntil(
        [
          ...(cpuProf ? ["--cpu-prof", `--cpu-prof-dir=${cpuProf}`] : []),
          "--conditions=source",
          "--import",
          "tsx",
          self,
          `--kubelet-child=${JSON.stringify(child)}`,
        ],
        (line) => {
          if (typeof line.level === "number" && line.level >= 50)
            console.error(JSON.stringify(line));
          if (line.msg !== "runtime call") return;
          if (typeof line.uid === "string")
            k.firstCall.set(
              line.uid,
              Math.min(Number(line.at), k.firstCall.get(line.uid) ?? Infinity),
            );
          const call = String(line.call);
          k.calls.set(call, [...(k.calls.get(call) ?? []), Number(line.ms)]);
        },
        "kubelet started",
      );
      procs.push(started.proc);
      k.proc = started.proc;
      await started.ready;
      // As the controller-manager's node IPAM would; the kubelet then makes the pod network.
      k.podCIDR = await freeSubnet(docker);
      await nodes.patch(
        k.nodeName,
        { spec: { podCIDR: k.podCIDR, podCIDRs: [k.podCIDR] } },
        "merge",
      );
      const name = [k.network.networkName];
      for (let i = 0; !(await docker.docker.listNetworks({ filters: { name } })).length; i++) {
        if (i > 300) throw new Error("the kubelet did not make the pod network");
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const pods = client.resource<Pod>(resourceInfo("", "v1", "pods")).namespace("default");

    // Docker events of this run's containers, for the per-step times.
    const steps = new Map<string, Steps>();
    const events = new AbortController();
    void dockerEvents(docker, runId, events.signal, (name, kind, action, at) => {
      const s = steps.get(name);
      if (!s) return;
      const key =
        `${kind === "sandbox" ? "sandbox" : "app"}${action === "create" ? "Create" : "Start"}` as const;
      s[key] ??= at;
    }).catch(() => undefined);

    const rows: string[] = [];
    const breakdown: string[] = [];
    const watch = pods.watch({});
    let onEvent: (pod: Pod) => void = () => {};
    void (async () => {
      for await (const e of watch) if (e.type !== "ERROR") onEvent(e.object);
    })().catch(() => undefined);

    /** Creates `n` pods on the kubelet's node at once; resolves when all are Running. */
    const round = async (k: KubeletUnderTest, n: number, r: number): Promise<Steps[]> => {
      const cpu0 = cpuSeconds(k.proc?.pid);
      const names = Array.from({ length: n }, (_, i) => `bench-${k.owner[1]}-${n}-${r}-${i}`);
      let left = n;
      let allRunning: () => void = () => {};
      const done = new Promise<void>((resolve) => (allRunning = resolve));
      onEvent = (pod) => {
        const s = steps.get(pod.metadata.name ?? "");
        if (!s || s.running !== undefined || pod.status?.phase !== "Running") return;
        s.running = now();
        if (--left === 0) allRunning();
      };
      await Promise.all(
        names.map(async (name) => {
          const s: Steps = { created: now() };
          steps.set(name, s);
          const pod = await pods.create({
            metadata: { name, namespace: "default" },
            spec: {
              nodeName: k.nodeName,
              terminationGracePeriodSeconds: 1,
              containers: [{ name: "app", image: IMAGE, command: ["sleep", "3600"] }],
            },
          });
          s.answered = now();
          s.uid = pod.metadata.uid;
        }),
      );
      const timeout = setTimeout(allRunning, 120_000);
      await done;
      clearTimeout(timeout);
      k.cpu.push(cpuSeconds(k.proc?.pid) - cpu0);
      const out = names.map((name) => steps.get(name)!);
      for (const s of out) s.firstCall = k.firstCall.get(s.uid ?? "");
      await Promise.all(names.map((name) => pods.delete(name)));
      await waitGone(docker, k.owner);
      await settle();
      return out;
    };

    for (const n of sizes) {
      const rounds = n === 1 ? singleRounds : 1;
      const results = new Map<string, Steps[]>([["raw", []]]);
      for (const k of kubelets) results.set(k.label, []);
      for (let r = 0; r < rounds; r++) {
        // Interleaved, so that drift in the machine's load meets every side alike.
        results.get("raw")!.push(...(await raw(docker, n, runId)));
        await settle();
        for (const k of kubelets) results.get(k.label)!.push(...(await round(k, n, r)));
      }
      const label = n === 1 ? `1 (${rounds} rounds)` : String(n);
      const total = (xs: Steps[]) => xs.map((s) => (s.running ?? NaN) - s.created);
      const cells = [...results.values()].map((xs) => {
        const t = total(xs);
        return `${secs(pct(t, 50))} / ${secs(pct(t, 99))}`;
      });
      rows.push(`| ${label} | ${cells.join(" | ")} | ${load()} |`);
      const cpu = new Map(kubelets.map((k) => [k.label, k.cpu.splice(0)]));
      for (const [who, list] of results) {
        const step = (pick: (s: Steps) => number | undefined) => {
          const xs = list.map((s) => (pick(s) ?? NaN) - s.created).filter(Number.isFinite);
          return `${secs(pct(xs, 50))} / ${secs(pct(xs, 99))}`;
        };
        breakdown.push(
          `| ${label} | ${who} | ${step((s) => s.answered)} | ${step((s) => s.firstCall)} | ` +
            `${step((s) => s.sandboxCreate)} | ${step((s) => s.sandboxStart)} | ` +
            `${step((s) => s.appCreate)} | ${step((s) => s.appStart)} | ${step((s) => s.running)} | ` +
            `${cpu.has(who) ? (cpu.get(who)!.reduce((a, b) => a + b, 0) / rounds).toFixed(2) : "–"} |`,
        );
      }
      console.error(`N=${n} done: ${rows.at(-1)}`);
    }
    watch.stop();
    events.abort();

    const whos = ["raw Docker", ...kubelets.map((k) => k.label)];
    console.log(`\nPod startup, ${new Date().toISOString()}, load average ${load()}`);
    console.log("Seconds, p50 / p99, from the first call to the app container started (raw) or");
    console.log("from the pod's create call to status.phase=Running seen on a watch (kubelet).\n");
    console.log(`| pods at once | ${whos.join(" | ")} | load average after |`);
    console.log(`|---|${whos.map(() => "---|").join("")}---|`);
    for (const r of rows) console.log(r);
    console.log(
      "\nSeconds from the start to each step, p50 / p99 (raw: the calls' answers; kubelet: " +
        "Docker events, then Running seen on the watch):\n",
    );
    console.log(
      "| pods at once | via | create answered | first runtime call | sandbox created | sandbox started | app created | app started | Running | kubelet CPU s per round |",
    );
    console.log("|---|---|---|---|---|---|---|---|---|---|");
    for (const b of breakdown) console.log(b);
    for (const k of kubelets) {
      if (!trace) break;
      console.log(`\n${k.label}: runtime calls (whole run): count, mean ms, max ms\n`);
      for (const [call, ms] of [...k.calls].sort()) {
        const mean = ms.reduce((a, b) => a + b, 0) / ms.length;
        const max = Math.max(...ms);
        console.log(`${call.padEnd(20)} ${ms.length} ${mean.toFixed(1)} ${max.toFixed(1)}`);
      }
    }
    client.close();
  } finally {
    for (const p of [...procs].reverse()) {
      if (p.exitCode !== null) continue;
      p.kill("SIGTERM");
      const kill = setTimeout(() => p.kill("SIGKILL"), 10_000);
      await new Promise((r) => p.once("exit", r));
      clearTimeout(kill);
    }
    await removeAll(docker, runId);
    await etcd.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** N concurrent sandbox + app pairs of raw Docker calls, timed per step; removed after. */
async function raw(rt: DockerRuntime, n: number, runId: string): Promise<Steps[]> {
  const labels = { "io.skiff.bench": runId, "io.skiff.bench.raw": "true" };
  const ids: string[] = [];
  const steps = await Promise.all(
    Array.from({ length: n }, async () => {
      const s: Steps = { created: now() };
      const sandbox = await rt.docker.createContainer({
        Image: IMAGE,
        Cmd: ["sleep", "infinity"],
        Labels: labels,
        HostConfig: {
          Init: true,
          NetworkMode: rt.networkName,
          IpcMode: "shareable",
          Dns: ["10.96.0.10"],
        },
      });
      ids.push(sandbox.id);
      s.sandboxCreate = now();
      await sandbox.start();
      s.sandboxStart = now();
      const app = await rt.docker.createContainer({
        Image: IMAGE,
        Cmd: ["sleep", "3600"],
        Labels: labels,
        HostConfig: {
          NetworkMode: `container:${sandbox.id}`,
          IpcMode: `container:${sandbox.id}`,
        },
      });
      ids.push(app.id);
      s.appCreate = now();
      await app.start();
      s.appStart = s.running = now();
      return s;
    }),
  );
  await Promise.all(ids.map((id) => rt.docker.getContainer(id).remove({ force: true })));
  return steps;
}

/** Calls `on(podName, type, action, epochMs)` for create/start events of this run's containers. */
async function dockerEvents(
  rt: DockerRuntime,
  runId: string,
  signal: AbortSignal,
  on: (pod: string, type: string, action: string, at: number) => void,
): Promise<void> {
  const stream = (await rt.docker.getEvents({
    filters: {
      type: ["container"],
      event: ["create", "start"],
      label: [`io.skiff.bench=${runId}`],
    },
    abortSignal: signal,
  } as Parameters<typeof rt.docker.getEvents>[0])) as Readable;
  stream.on("error", () => undefined);
  signal.addEventListener("abort", () => stream.destroy());
  for await (const line of createInterface({ input: stream })) {
    try {
      const e = JSON.parse(line) as {
        Action?: string;
        timeNano?: number;
        Actor?: { Attributes?: Record<string, string> };
      };
      const a = e.Actor?.Attributes ?? {};
      if (a["io.skiff.pod.name"] && e.Action && e.timeNano)
        on(a["io.skiff.pod.name"], a["io.skiff.type"] ?? "", e.Action, e.timeNano / 1e6);
    } catch {
      // A line cut by the abort.
    }
  }
}

/**
 * Docker finishes a removal in the background (shims, mounts, network endpoints): a pause
 * after each side's cleanup keeps that work out of the next side's figures.
 */
const settle = () => new Promise((r) => setTimeout(r, 3000));

/**
 * A /24 that no Docker network on this engine uses yet, in 10.244.220-239: inside the cluster
 * CIDR and clear of the ranges the kubelet's tests pick from (100-219, 240-255).
 */
async function freeSubnet(rt: DockerRuntime): Promise<string> {
  const used = new Set<string>();
  for (const n of await rt.docker.listNetworks()) {
    for (const c of n.IPAM?.Config ?? []) if (c.Subnet) used.add(c.Subnet);
  }
  for (let i = 220; i < 240; i++) if (!used.has(`10.244.${i}.0/24`)) return `10.244.${i}.0/24`;
  throw new Error("no free 10.244.x.0/24 for the pod network");
}

/** Waits until no container of this run's pods is left (the kubelet removes them). */
async function waitGone(rt: DockerRuntime, [key, value]: [string, string]): Promise<void> {
  const filters = { label: [`${key}=${value}`, "io.skiff.pod.uid"] };
  for (let i = 0; (await rt.docker.listContainers({ all: true, filters })).length > 0; i++) {
    if (i > 600) throw new Error(`the pods' containers were not removed within 60 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Removes every container and network carrying this run's label. */
async function removeAll(rt: DockerRuntime, runId: string): Promise<void> {
  const filters = { label: [`io.skiff.bench=${runId}`] };
  const list = await rt.docker.listContainers({ all: true, filters });
  await Promise.all(
    list.map((c) =>
      rt.docker
        .getContainer(c.Id)
        .remove({ force: true, v: true })
        .catch(() => {}),
    ),
  );
  for (const n of await rt.docker.listNetworks({ filters })) {
    // The engine may still be releasing the endpoints of containers just removed.
    for (let i = 0; ; i++) {
      try {
        await rt.docker.getNetwork(n.Id).remove();
        break;
      } catch (err) {
        if (i > 20) throw err;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }
}

/** Runs node with `args`; each JSON line on its stdout goes to `onLine`; ready on `readyMsg`. */
function spawnUntil(
  args: string[],
  onLine: (line: Record<string, unknown>) => void,
  readyMsg?: string,
): { proc: ChildProcess; ready: Promise<void> } {
  const proc = spawn(process.execPath, args, { cwd: root, stdio: ["ignore", "pipe", "inherit"] });
  const ready = new Promise<void>((resolve, reject) => {
    proc.once("exit", (code) => reject(new Error(`${args[0]} exited with ${code}`)));
    if (!readyMsg) resolve();
    createInterface({ input: proc.stdout! }).on("line", (text) => {
      let line: unknown;
      try {
        line = JSON.parse(text);
      } catch {
        return;
      }
      if (typeof line !== "object" || line === null) return;
      const rec = line as Record<string, unknown>;
      if (rec.msg === readyMsg) resolve();
      onLine(rec);
    });
  });
  ready.catch(() => undefined);
  return { proc, ready };
}

const childArg = arg("kubelet-child", "");
const run = childArg
  ? kubeletChild(JSON.parse(childArg) as ChildConfig)
  : main().then(() => process.exit(0));
run.catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
