// The kubelet's Summary API (/stats/summary, stats/v1alpha1 shape): the node's cpu, memory,
// network and filesystem from /proc and statfs, and each pod's and container's cpu and memory
// from the runtime's one-shot stats (the pod's network from its sandbox, which owns it).
//
// Rates (usageNanoCores) need two samples: the node's is kept here, the containers' by the
// runtime, so a rate is absent until a second request (metrics-server scrapes repeatedly).
import { readFile, statfs } from "node:fs/promises";
import os from "node:os";
import {
  rfc3339,
  type CPUStats,
  type ContainerStats,
  type InterfaceStats,
  type MemoryStats,
  type NodeStats,
  type PodStats,
  type Summary,
} from "@skiff/api";
import type { Pod } from "./objects.js";
import type {
  ContainerRuntime,
  ContainerStats as RuntimeStats,
  ContainerStatus,
} from "./runtime/runtime.js";

export interface SummaryProviderOptions {
  nodeName: string;
  runtime: ContainerRuntime;
  /** The kubelet's root directory: its filesystem is the node's `fs`. */
  rootDir: string;
  pods: () => Pod[];
}

/** USER_HZ: /proc/stat counts in 1/100 s on every Linux architecture Skiff runs on. */
const JIFFIES_PER_SECOND = 100;
const NS_PER_JIFFY = 1e9 / JIFFIES_PER_SECOND;

export class SummaryProvider {
  private lastNodeCPU: CPUJiffies | undefined;
  private nodeNanoCores: number | undefined;

  constructor(private readonly opts: SummaryProviderOptions) {}

  async summary(): Promise<Summary> {
    const [node, pods] = await Promise.all([this.nodeStats(), this.podStats()]);
    return { node, pods };
  }

  private async nodeStats(): Promise<NodeStats> {
    const time = rfc3339();
    const [stat, meminfo, netdev, route] = await Promise.all(
      ["/proc/stat", "/proc/meminfo", "/proc/net/dev", "/proc/net/route"].map((f) =>
        readFile(f, "utf8").catch(() => ""),
      ),
    );
    const jiffies = cpuJiffies(stat ?? "");
    const usage = jiffies.busy * NS_PER_JIFFY;
    const cpu: CPUStats = { time, usageCoreNanoSeconds: usage };
    const last = this.lastNodeCPU;
    // The rate is busy jiffies over all jiffies (idle included) between two reads, times the
    // cpus: /proc/stat is its own clock, so a read that waited on a busy event loop does not
    // skew it as a wall-clock interval would. Ticks are 10 ms: under a second of them would be
    // mostly rounding, so a quicker request gets the last rate again.
    if (!last || jiffies.total - last.total >= jiffies.cpus * JIFFIES_PER_SECOND) {
      if (last && jiffies.total > last.total) {
        const share = (jiffies.busy - last.busy) / (jiffies.total - last.total);
        this.nodeNanoCores = Math.round(share * jiffies.cpus * 1e9);
      }
      this.lastNodeCPU = jiffies;
    }
    if (this.nodeNanoCores !== undefined) cpu.usageNanoCores = this.nodeNanoCores;
    const out: NodeStats = {
      nodeName: this.opts.nodeName,
      startTime: rfc3339(Date.now() - os.uptime() * 1000),
      cpu,
      memory: nodeMemory(parseMeminfo(meminfo ?? ""), time),
    };
    const interfaces = parseNetDev(netdev ?? "").filter((i) => !isVirtual(i.name));
    if (interfaces.length > 0) {
      const name = defaultInterface(route ?? "");
      const main = interfaces.find((i) => i.name === name) ?? interfaces[0]!;
      out.network = { time, ...main, interfaces };
    }
    try {
      const fs = await statfs(this.opts.rootDir);
      out.fs = {
        time,
        capacityBytes: fs.blocks * fs.bsize,
        availableBytes: fs.bavail * fs.bsize,
        usedBytes: (fs.blocks - fs.bfree) * fs.bsize,
        inodes: fs.files,
        inodesFree: fs.ffree,
        inodesUsed: fs.files - fs.ffree,
      };
    } catch {
      // no fs figures when the root dir cannot be read
    }
    return out;
  }

  private async podStats(): Promise<PodStats[]> {
    const { runtime } = this.opts;
    const [containers, sandboxes] = await Promise.all([
      runtime.listContainers(),
      runtime.listPodSandboxes(),
    ]);
    const stats = async (id: string) => runtime.containerStats(id).catch(() => undefined);
    const out: PodStats[] = [];
    await Promise.all(
      this.opts.pods().map(async (pod) => {
        const uid = pod.metadata.uid ?? "";
        const running = containers.filter((c) => c.pod.uid === uid && c.state === "running");
        const sandbox = sandboxes.find((s) => s.pod.uid === uid && s.state === "ready");
        if (!sandbox && running.length === 0) return;
        const [sandboxStats, ...each] = await Promise.all([
          sandbox && !sandbox.hostNetwork ? stats(sandbox.id) : undefined,
          ...running.map((c) => stats(c.id)),
        ]);
        const time = rfc3339();
        const list = running
          .map((c, i) => containerStats(c, each[i], time))
          .sort((x, y) => x.name.localeCompare(y.name));
        const podStats: PodStats = {
          podRef: {
            name: pod.metadata.name ?? "",
            namespace: pod.metadata.namespace ?? "default",
            uid,
          },
          startTime: pod.status?.startTime ?? sandbox?.createdAt ?? time,
          containers: list,
          cpu: sumCPU(list, time),
          memory: sumMemory(list, time),
        };
        const net = sandboxStats?.network;
        if (net) {
          const eth0 = { name: "eth0", ...net };
          podStats.network = {
            time: rfc3339(Date.parse(sandboxStats.timestamp)),
            ...eth0,
            interfaces: [eth0],
          };
        }
        out.push(podStats);
      }),
    );
    return out.sort((a, b) =>
      `${a.podRef.namespace}/${a.podRef.name}`.localeCompare(
        `${b.podRef.namespace}/${b.podRef.name}`,
      ),
    );
  }
}

function containerStats(
  c: ContainerStatus,
  s: RuntimeStats | undefined,
  now: string,
): ContainerStats {
  const time = s ? rfc3339(Date.parse(s.timestamp)) : now;
  const memory: MemoryStats = {
    time,
    usageBytes: s?.memory.usageBytes ?? 0,
    workingSetBytes: s?.memory.workingSetBytes ?? 0,
    rssBytes: s?.memory.rssBytes ?? 0,
  };
  // Docker reports the host's memory as the limit of an unlimited container: no limit, no figure.
  if (s?.memory.limitBytes && s.memory.limitBytes < os.totalmem()) {
    memory.availableBytes = Math.max(0, s.memory.limitBytes - s.memory.workingSetBytes);
  }
  const cpu: CPUStats = { time, usageCoreNanoSeconds: s?.cpu.usageCoreNanoSeconds ?? 0 };
  if (s?.cpu.usageNanoCores !== undefined) cpu.usageNanoCores = s.cpu.usageNanoCores;
  return { name: c.name, startTime: rfc3339(Date.parse(c.startedAt ?? c.createdAt)), cpu, memory };
}

function sumCPU(list: ContainerStats[], time: string): CPUStats {
  const cpu: CPUStats = { time, usageCoreNanoSeconds: 0 };
  for (const c of list) cpu.usageCoreNanoSeconds! += c.cpu.usageCoreNanoSeconds ?? 0;
  // A pod's rate is only known when every container's is.
  if (list.every((c) => c.cpu.usageNanoCores !== undefined)) {
    cpu.usageNanoCores = list.reduce((n, c) => n + (c.cpu.usageNanoCores ?? 0), 0);
  }
  return cpu;
}

function sumMemory(list: ContainerStats[], time: string): MemoryStats {
  const memory = { time, usageBytes: 0, workingSetBytes: 0, rssBytes: 0 };
  for (const c of list) {
    memory.usageBytes += c.memory.usageBytes ?? 0;
    memory.workingSetBytes += c.memory.workingSetBytes ?? 0;
    memory.rssBytes += c.memory.rssBytes ?? 0;
  }
  return memory;
}

/** The cpu time of /proc/stat, in jiffies (USER_HZ). */
export interface CPUJiffies {
  /** Jiffies spent on anything but idle and iowait, summed over every cpu. */
  busy: number;
  /** All jiffies, idle included, summed over every cpu. */
  total: number;
  /** The cpus /proc/stat lists (the online ones). */
  cpus: number;
}

/** The all-cpu line of /proc/stat: user nice system idle iowait irq softirq steal guest… */
export function cpuJiffies(procStat: string): CPUJiffies {
  const lines = procStat.split("\n");
  const line = lines.find((l) => l.startsWith("cpu "));
  const cpus = lines.filter((l) => /^cpu\d/.test(l)).length || os.cpus().length;
  if (!line) return { busy: 0, total: 0, cpus };
  // Guest time is already counted in user (and guest_nice in nice), so neither is added.
  const f = line
    .trim()
    .split(/\s+/)
    .slice(1, 9)
    .map((n) => Number(n) || 0);
  const busy = [0, 1, 2, 5, 6, 7].reduce((n, i) => n + (f[i] ?? 0), 0);
  return { busy, total: busy + (f[3] ?? 0) + (f[4] ?? 0), cpus };
}

/** /proc/meminfo in bytes, by field name. */
export function parseMeminfo(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split("\n")) {
    const m = /^([^:]+):\s+(\d+)(?:\s+kB)?/.exec(line);
    if (m) out[m[1]!] = Number(m[2]) * (line.endsWith("kB") ? 1024 : 1);
  }
  return out;
}

/** As cAdvisor counts the root cgroup: working set is usage less inactive file pages. */
function nodeMemory(m: Record<string, number>, time: string): MemoryStats {
  const total = m.MemTotal ?? os.totalmem();
  const usageBytes = total - (m.MemFree ?? os.freemem());
  const workingSetBytes = Math.max(0, usageBytes - (m["Inactive(file)"] ?? 0));
  return {
    time,
    // Kubernetes' memory.available (the eviction signal) is capacity less working set.
    availableBytes: total - workingSetBytes,
    usageBytes,
    workingSetBytes,
    rssBytes: m.AnonPages ?? 0,
  };
}

/** /proc/net/dev: receive bytes and errors are columns 1 and 3, transmit 9 and 11. */
export function parseNetDev(text: string): InterfaceStats[] {
  const out: InterfaceStats[] = [];
  for (const line of text.split("\n").slice(2)) {
    const colon = line.indexOf(":");
    if (colon < 0) continue;
    const f = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/)
      .map(Number);
    out.push({
      name: line.slice(0, colon).trim(),
      rxBytes: f[0] ?? 0,
      rxErrors: f[2] ?? 0,
      txBytes: f[8] ?? 0,
      txErrors: f[10] ?? 0,
    });
  }
  return out;
}

/** Loopback, containers' veth ends and Docker's bridges are not the node's own traffic. */
function isVirtual(name: string): boolean {
  return name === "lo" || /^(veth|docker|br-)/.test(name);
}

/** The interface of the default route in /proc/net/route. */
function defaultInterface(route: string): string | undefined {
  for (const line of route.split("\n").slice(1)) {
    const [iface, destination] = line.trim().split(/\s+/);
    if (destination === "00000000") return iface;
  }
  return undefined;
}
