// The engine's one-shot container stats in the units of the kubelet's /stats/summary. A
// cpu rate needs the previous sample, which the caller keeps per container.
import { num, rec, str } from "./engine-json.js";
import type { ContainerStats } from "./runtime.js";

export interface CPUSample {
  /** ms since the epoch. */
  at: number;
  /** Cumulative cpu time, ns. */
  usage: number;
}

/** The stats, and this sample of cumulative cpu for the next call's rate. */
export function toContainerStats(
  s: unknown,
  previous: CPUSample | undefined,
): { stats: ContainerStats; sample: CPUSample } {
  const at = Date.parse(str(s, "read")) || Date.now();
  const usage = num(rec(rec(s, "cpu_stats"), "cpu_usage"), "total_usage");
  const mem = rec(s, "memory_stats");
  const memStats = rec(mem, "stats");
  const usageBytes = num(mem, "usage");
  // cgroup v1 names these total_*; v2 drops the prefix. Working set as cAdvisor counts it.
  const inactiveFile = num(memStats, "total_inactive_file") || num(memStats, "inactive_file");
  const rss = num(memStats, "total_rss") || num(memStats, "anon");
  const stats: ContainerStats = {
    timestamp: new Date(at).toISOString(),
    cpu: { usageCoreNanoSeconds: usage },
    memory: {
      usageBytes,
      workingSetBytes: Math.max(0, usageBytes - inactiveFile),
      rssBytes: rss,
      limitBytes: num(mem, "limit") || undefined,
    },
  };
  if (previous && at > previous.at) {
    stats.cpu.usageNanoCores = Math.round(((usage - previous.usage) / (at - previous.at)) * 1e3);
  }
  const networks = Object.values(rec(s, "networks"));
  if (networks.length > 0) {
    stats.network = { rxBytes: 0, txBytes: 0, rxErrors: 0, txErrors: 0 };
    for (const n of networks) {
      stats.network.rxBytes += num(n, "rx_bytes");
      stats.network.txBytes += num(n, "tx_bytes");
      stats.network.rxErrors += num(n, "rx_errors");
      stats.network.txErrors += num(n, "tx_errors");
    }
  }
  return { stats, sample: { at, usage } };
}
