// `top node` and `top pod`: usage from metrics.k8s.io/v1beta1, printed as kubectl top prints
// it (cpu in millicores, memory in Mi, node percentages of allocatable).
import {
  parseQuantity,
  type Node,
  type NodeMetrics,
  type PodMetrics,
  type ResourceUsage,
} from "@skiff/api";
import { ApiError, type KubeObject } from "@skiff/client";
import { str, type Ctx } from "../context.js";
import { CommandError } from "../errors.js";
import { tabwrite } from "../printers.js";

const BASE = "/apis/metrics.k8s.io/v1beta1";

type NodeObject = Node & KubeObject;

const milli = (q: string | number | undefined): number =>
  q ? Math.ceil(parseQuantity(q) * 1000 - 1e-6) : 0;
const bytes = (q: string | number | undefined): number => (q ? Math.round(parseQuantity(q)) : 0);
const cpuText = (m: number): string => `${m}m`;
const memText = (b: number): string => `${Math.floor(b / (1024 * 1024))}Mi`;

/** kubectl top's tabwriter: padding 3, every cell closed by a tab. */
function print(ctx: Ctx, rows: string[][]): void {
  ctx.out(tabwrite(rows.map((r) => r.join("\t") + "\t").join("\n"), 3));
}

async function get<T>(ctx: Ctx, path: string, query: Record<string, string>): Promise<T> {
  try {
    return (await ctx.rest.request("GET", path, { query })) as T;
  } catch (err) {
    // A list that is not there: the group is not served at all.
    if (err instanceof ApiError && err.code === 404 && path.endsWith("s")) {
      throw new CommandError("error: Metrics API not available");
    }
    throw err;
  }
}

function sortBy(ctx: Ctx): "cpu" | "memory" | undefined {
  const s = str(ctx.args.sortBy);
  if (s === undefined || s === "") return undefined;
  if (s !== "cpu" && s !== "memory") {
    throw new CommandError(`error: --sort-by accepts only cpu or memory`);
  }
  return s;
}

export async function topNode(ctx: Ctx): Promise<void> {
  const name = str(ctx.args.name);
  const selector = str(ctx.args.selector) ?? "";
  const order = sortBy(ctx);
  const query: Record<string, string> = selector ? { labelSelector: selector } : {};
  const metrics: NodeMetrics[] = name
    ? [await get<NodeMetrics>(ctx, `${BASE}/nodes/${encodeURIComponent(name)}`, {})]
    : (await get<{ items: NodeMetrics[] }>(ctx, `${BASE}/nodes`, query)).items;
  const nodes = name
    ? [(await ctx.rest.request("GET", `/api/v1/nodes/${encodeURIComponent(name)}`)) as NodeObject]
    : ((await ctx.rest.request("GET", "/api/v1/nodes", { query })) as { items: NodeObject[] })
        .items;
  const byName = new Map(metrics.map((m) => [m.metadata.name, m]));
  const rows = nodes.map((n) => {
    const m = byName.get(n.metadata.name);
    const alloc = n.status?.allocatable ?? n.status?.capacity ?? {};
    return {
      name: n.metadata.name ?? "",
      m,
      cpu: milli(m?.usage.cpu),
      mem: bytes(m?.usage.memory),
      alloc,
    };
  });
  if (order === "cpu") rows.sort((a, b) => b.cpu - a.cpu);
  if (order === "memory") rows.sort((a, b) => b.mem - a.mem);
  const out = [["NAME", "CPU(cores)", "CPU%", "MEMORY(bytes)", "MEMORY%"]];
  for (const r of rows) {
    if (!r.m) {
      out.push([r.name, "<unknown>", "<unknown>", "<unknown>", "<unknown>"]);
      continue;
    }
    const cpuPct = Math.floor((r.cpu * 100) / Math.max(1, milli(r.alloc.cpu)));
    const memPct = Math.floor((r.mem * 100) / Math.max(1, bytes(r.alloc.memory)));
    out.push([r.name, cpuText(r.cpu), `${cpuPct}%`, memText(r.mem), `${memPct}%`]);
  }
  print(ctx, out);
}

export async function topPod(ctx: Ctx): Promise<void> {
  const name = str(ctx.args.name);
  const selector = str(ctx.args.selector) ?? "";
  const all = ctx.allNamespaces;
  const ns = ctx.namespace;
  const order = sortBy(ctx);
  const containers = ctx.args.containers === true;
  const base = all ? `${BASE}/pods` : `${BASE}/namespaces/${encodeURIComponent(ns)}/pods`;
  const pods: PodMetrics[] = name
    ? [await get<PodMetrics>(ctx, `${base}/${encodeURIComponent(name)}`, {})]
    : (await get<{ items: PodMetrics[] }>(ctx, base, selector ? { labelSelector: selector } : {}))
        .items;
  if (pods.length === 0) {
    ctx.err(all ? "No resources found\n" : `No resources found in ${ns} namespace.\n`);
    return;
  }
  const sum = (p: PodMetrics, f: (u: ResourceUsage) => number) =>
    p.containers.reduce((n, c) => n + f(c.usage), 0);
  const rows = pods.map((p) => ({
    p,
    cpu: sum(p, (u) => milli(u.cpu)),
    mem: sum(p, (u) => bytes(u.memory)),
  }));
  if (order === "cpu") rows.sort((a, b) => b.cpu - a.cpu);
  if (order === "memory") rows.sort((a, b) => b.mem - a.mem);
  const head = [
    ...(all ? ["NAMESPACE"] : []),
    ...(containers ? ["POD"] : []),
    "NAME",
    "CPU(cores)",
    "MEMORY(bytes)",
  ];
  const out = [head];
  for (const { p, cpu, mem } of rows) {
    const prefix = all ? [p.metadata.namespace ?? ""] : [];
    if (!containers) {
      out.push([...prefix, p.metadata.name ?? "", cpuText(cpu), memText(mem)]);
      continue;
    }
    for (const c of p.containers) {
      out.push([
        ...prefix,
        p.metadata.name ?? "",
        c.name,
        cpuText(milli(c.usage.cpu)),
        memText(bytes(c.usage.memory)),
      ]);
    }
  }
  print(ctx, out);
}

/** `top node|pod [name]`. */
export async function top(ctx: Ctx): Promise<void> {
  const kind = str(ctx.args.kind) ?? "";
  if (["node", "nodes", "no"].includes(kind)) return topNode(ctx);
  if (["pod", "pods", "po"].includes(kind)) return topPod(ctx);
  throw new CommandError(`error: unknown command "${kind}" for "skiffctl top"`);
}
