// Benchmark: kube-proxy's iptables syncs at scale (objects only, no traffic).
//   npx tsx --conditions=source scripts/bench/proxy-rules.ts [--kube-proxy-layout-10k] [--all-local]
// For 1,000 and 10,000 services x 3 endpoints: a full sync from scratch, a full resync with
// every chain present, and partial syncs of one changed service (p50/p99 of 20). Every
// sync is the real thing: rule generation + one iptables-restore --noflush. It all runs in
// a network namespace made for the purpose (its own netfilter tables), deleted at the end,
// so the host's rules are never touched.
import { execFileSync } from "node:child_process";
import { IptablesProxier, buildRules, execInNetns } from "@skiff/kube-proxy";
import type { EndpointSlice, Layout, Service } from "@skiff/kube-proxy";
import { pct } from "./lib.js";

const netns = `skiff-bench-${process.pid}`;
const withKubeProxyLayout10k = process.argv.includes("--kube-proxy-layout-10k");
const allLocal = process.argv.includes("--all-local");
const sec = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

function fixture(n: number, epsPerService = 3): { services: Service[]; slices: EndpointSlice[] } {
  const services: Service[] = [];
  const slices: EndpointSlice[] = [];
  for (let i = 0; i < n; i++) {
    const name = `svc-${i}`;
    services.push({
      metadata: { name, namespace: "bench" },
      spec: {
        type: "ClusterIP",
        clusterIP: `10.96.${i >> 8}.${i & 255}`,
        ports: [{ name: "http", port: 80, protocol: "TCP" }],
      },
    });
    slices.push(endpoints(name, i, epsPerService, 0));
  }
  return { services, slices };
}

function endpoints(name: string, i: number, count: number, generation: number): EndpointSlice {
  return {
    metadata: {
      name: `${name}-x`,
      namespace: "bench",
      labels: { "kubernetes.io/service-name": name },
    },
    addressType: "IPv4",
    ports: [{ name: "http", port: 8080 + generation, protocol: "TCP" }],
    endpoints: Array.from({ length: count }, (_, k) => ({
      addresses: [
        `10.${244 + ((i * count + k) >> 16)}.${((i * count + k) >> 8) & 255}.${(i * count + k) & 255}`,
      ],
      // Spread over three nodes, so one endpoint of each service is on this node.
      nodeName: allLocal ? "node-0" : `node-${k}`,
    })),
  };
}

async function scenario(n: number, layout: Layout | undefined): Promise<void> {
  const label = `${n} services x 3 endpoints${allLocal ? " (all on this node)" : ""}, ${layout ?? "default"} layout`;
  const { services, slices } = fixture(n);
  const options = {
    clusterCIDR: "10.244.0.0/16",
    serviceCIDR: "10.96.0.0/12",
    localhostNodePorts: false,
    ...(layout ? { layout } : {}),
  };

  const t = performance.now();
  const generated = buildRules({
    services,
    endpointSlices: slices,
    node: { name: "node-0", addresses: [] },
    options,
  });
  const genMs = performance.now() - t;

  const proxier = new IptablesProxier({
    ...options,
    node: { name: "node-0", addresses: [] },
    exec: execInNetns(netns),
    syncPeriodMs: 3_600_000,
  });
  for (const s of services) proxier.onServiceAdd(s);
  for (const s of slices) proxier.onEndpointSliceAdd(s);
  await proxier.sync();
  const initial = proxier.lastResult!;
  proxier.requestFullSync();
  await proxier.sync();
  const resync = proxier.lastResult!;

  const partial: number[] = [];
  for (let g = 1; g <= 20; g++) {
    const i = (g * 7919) % n;
    const old = slices[i]!;
    const next = endpoints(`svc-${i}`, i, 3, g);
    slices[i] = next;
    const changedAt = performance.now();
    proxier.onEndpointSliceUpdate(old, next);
    await proxier.sync();
    if (proxier.lastResult!.full || proxier.lastResult!.written !== 1)
      throw new Error("expected a partial sync of one service");
    partial.push(performance.now() - changedAt);
  }
  await proxier.cleanup();
  const left = execFileSync("ip", ["netns", "exec", netns, "iptables-save"]).toString();
  if (/KUBE-/.test(left)) throw new Error("cleanup left KUBE-* rules behind");

  console.log(
    `${label}: ${initial.natChains} nat chains, restore input ${(generated.restore.length / 1e6).toFixed(1)} MB`,
  );
  console.log(`  generate rules only      ${sec(genMs)}`);
  const parts = (r: typeof initial): string =>
    `(prepare ${sec(r.prepareMs)}, generate ${sec(r.generateMs)}, iptables-restore ${sec(r.restoreMs)})`;
  console.log(`  full sync, from scratch  ${sec(initial.ms)} ${parts(initial)}`);
  console.log(`  full resync, all present ${sec(resync.ms)} ${parts(resync)}`);
  console.log(
    `  one change, partial sync p50 ${sec(pct(partial, 50))}  p99 ${sec(pct(partial, 99))}  (n=20)`,
  );
}

async function main(): Promise<void> {
  execFileSync("ip", ["netns", "add", netns]);
  try {
    console.log(
      `iptables ${execFileSync("iptables", ["--version"]).toString().trim()}, kernel ${execFileSync("uname", ["-r"]).toString().trim()}`,
    );
    const only = process.argv.find((a) => a.startsWith("--only="))?.slice(7);
    if (!only) await scenario(1_000, "kube-proxy");
    if (!only) await scenario(1_000, undefined);
    await scenario(only ? Number(only) : 10_000, undefined);
    if (withKubeProxyLayout10k) await scenario(10_000, "kube-proxy");
  } finally {
    execFileSync("ip", ["netns", "del", netns]);
  }
}

await main();
