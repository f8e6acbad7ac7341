// `describe`: the key fields of an object, per kind, then its Events (found with the
// involvedObject field selector), laid out as kubectl lays them out.
import { formatQuantity, humanDuration, parseQuantity } from "@skiff/api";
import { isNotFound } from "@skiff/client";
import { strings, type Ctx } from "../context.js";
import { resourcePath, type ApiResource } from "../discovery.js";
import { formatLabels, tabwrite } from "../printers.js";
import { listObjects, metaOf, namespaceFor, resolveTargets, selectorQuery } from "../targets.js";

type Obj = Record<string, unknown>;

function rec(v: unknown): Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Obj) : {};
}
function arr(v: unknown): Obj[] {
  return Array.isArray(v) ? v.map(rec) : [];
}
function text(v: unknown, none = "<none>"): string {
  if (v === undefined || v === null || v === "") return none;
  return typeof v === "object" ? JSON.stringify(v) : String(v);
}

/** Lines of a describe block; `\t` separates label and value for alignment. */
class Lines {
  readonly lines: string[] = [];
  add(indent: number, label: string, value?: unknown): void {
    const pad = "  ".repeat(indent);
    const colon = label.endsWith(":") ? label : `${label}:`;
    const shown = typeof value === "string" ? value : text(value);
    this.lines.push(value === undefined ? `${pad}${colon}` : `${pad}${colon}\t${shown}`);
  }
  /** A map, one `k=v` (or `k: v`) per line (kubectl's Labels:/Annotations:). */
  map(indent: number, label: string, m: unknown, sep = "="): void {
    const entries = Object.entries(rec(m)).sort(([a], [b]) => a.localeCompare(b));
    if (entries.length === 0) return this.add(indent, label, "<none>");
    entries.forEach(([k, v], i) =>
      this.lines.push(
        `${i === 0 ? "  ".repeat(indent) + label + ":" : ""}\t${k}${sep}${String(v)}`,
      ),
    );
  }
  raw(line: string): void {
    this.lines.push(line);
  }
  /** An aligned sub-table (Conditions, Events). */
  table(indent: number, header: string[], rows: string[][]): void {
    const pad = "  ".repeat(indent);
    this.lines.push(pad + header.join("\t"));
    this.lines.push(pad + header.map((h) => "-".repeat(h.length)).join("\t"));
    for (const r of rows) this.lines.push(pad + r.join("\t"));
  }
}

/** A timestamp as kubectl prints it (RFC 1123 with a numeric zone). */
function date(v: unknown): string {
  const t = Date.parse(text(v, ""));
  return Number.isNaN(t) ? "<unset>" : new Date(t).toUTCString().replace("GMT", "+0000");
}

/** kubectl's toleration text: `key=value:Effect op=Exists for 300s`. */
function tolerationText(t: Obj): string {
  let s = text(t.key, "");
  if (t.value) s += `=${text(t.value)}`;
  if (t.effect) s += `:${text(t.effect)}`;
  if (t.operator === "Exists") s += " op=Exists";
  if (typeof t.tolerationSeconds === "number") s += ` for ${t.tolerationSeconds}s`;
  return s;
}

function header(l: Lines, obj: Obj, withNamespace: boolean, created = false): void {
  const m = rec(obj.metadata);
  l.add(0, "Name", m.name);
  if (withNamespace) l.add(0, "Namespace", m.namespace);
  if (created) l.add(0, "CreationTimestamp", date(m.creationTimestamp));
  l.map(0, "Labels", m.labels);
  const annotations = { ...rec(m.annotations) };
  delete annotations["kubectl.kubernetes.io/last-applied-configuration"];
  l.map(0, "Annotations", annotations, ": ");
}

function containers(
  l: Lines,
  indent: number,
  list: Obj[],
  statuses: Obj[],
  template = false,
): void {
  for (const c of list) {
    // kubectl indents container names in a pod template one space deeper than its labels.
    if (template) l.raw(`${"  ".repeat(indent - 1)} ${text(c.name)}:`);
    else l.add(indent, `${text(c.name)}:`);
    if (template) indent--;
    const st = statuses.find((s) => s.name === c.name);
    if (st?.containerID) l.add(indent + 1, "Container ID", st.containerID);
    l.add(indent + 1, "Image", c.image);
    const ports = arr(c.ports);
    l.add(
      indent + 1,
      "Port",
      ports.length
        ? ports.map((p) => `${text(p.containerPort)}/${text(p.protocol ?? "TCP")}`).join(", ")
        : "<none>",
    );
    l.add(
      indent + 1,
      "Host Port",
      ports.length
        ? ports.map((p) => `${text(p.hostPort ?? 0)}/${text(p.protocol ?? "TCP")}`).join(", ")
        : "<none>",
    );
    if (c.command) l.add(indent + 1, "Command", (c.command as unknown[]).join(" "));
    if (c.args) l.add(indent + 1, "Args", (c.args as unknown[]).join(" "));
    if (st) {
      const [state, detail] = Object.entries(rec(st.state))[0] ?? ["Waiting", {}];
      l.add(indent + 1, "State", state.charAt(0).toUpperCase() + state.slice(1));
      const d = rec(detail);
      if (d.reason) l.add(indent + 2, "Reason", d.reason);
      if (d.startedAt) l.add(indent + 2, "Started", d.startedAt);
      if (d.exitCode !== undefined) l.add(indent + 2, "Exit Code", d.exitCode);
      l.add(indent + 1, "Ready", st.ready ? "True" : "False");
      l.add(indent + 1, "Restart Count", st.restartCount ?? 0);
    }
    const env = arr(c.env);
    if (env.length === 0) l.add(indent + 1, "Environment", "<none>");
    else {
      l.add(indent + 1, "Environment");
      for (const e of env) l.add(indent + 2, text(e.name), e.value ?? JSON.stringify(e.valueFrom));
    }
    const mounts = arr(c.volumeMounts);
    if (mounts.length === 0) l.add(indent + 1, "Mounts", "<none>");
    else {
      l.add(indent + 1, "Mounts");
      for (const v of mounts)
        l.raw(
          `${"  ".repeat(indent + 2)}${text(v.mountPath)} from ${text(v.name)} (${v.readOnly ? "ro" : "rw"})`,
        );
    }
    if (template) indent++;
  }
}

function conditions(l: Lines, list: Obj[], withReason: boolean): void {
  if (list.length === 0) return;
  l.add(0, "Conditions");
  const headerRow = withReason ? ["Type", "Status", "Reason"] : ["Type", "Status"];
  l.table(
    1,
    headerRow,
    list.map((c) =>
      withReason ? [text(c.type), text(c.status), text(c.reason)] : [text(c.type), text(c.status)],
    ),
  );
}

function describePod(l: Lines, obj: Obj): void {
  const spec = rec(obj.spec);
  const status = rec(obj.status);
  const m = rec(obj.metadata);
  l.add(0, "Name", m.name);
  l.add(0, "Namespace", m.namespace);
  if (typeof spec.priority === "number") l.add(0, "Priority", String(spec.priority));
  if (spec.priorityClassName) l.add(0, "Priority Class Name", spec.priorityClassName);
  l.add(0, "Service Account", spec.serviceAccountName ?? "default");
  l.add(0, "Node", spec.nodeName ? `${text(spec.nodeName)}/${text(status.hostIP, "")}` : "<none>");
  if (status.startTime) l.add(0, "Start Time", date(status.startTime));
  l.map(0, "Labels", m.labels);
  const annotations = { ...rec(m.annotations) };
  delete annotations["kubectl.kubernetes.io/last-applied-configuration"];
  l.map(0, "Annotations", annotations, ": ");
  if (m.deletionTimestamp) l.add(0, "Status", "Terminating");
  else l.add(0, "Status", status.phase ?? "Pending");
  l.add(0, "IP", text(status.podIP, ""));
  const ips = arr(status.podIPs).map((i) => text(i.ip));
  if (ips.length === 0) l.add(0, "IPs", "<none>");
  else ips.forEach((ip, i) => l.raw(`${i === 0 ? "IPs:" : ""}\t${ip}`));
  const owner = arr(m.ownerReferences).find((o) => o.controller === true);
  if (owner) l.add(0, "Controlled By", `${text(owner.kind)}/${text(owner.name)}`);
  l.add(0, "Containers");
  containers(l, 1, arr(spec.containers), arr(status.containerStatuses));
  conditions(l, arr(status.conditions), false);
  const volumes = arr(spec.volumes);
  l.add(0, "Volumes", volumes.length ? volumes.map((v) => text(v.name)).join(", ") : "<none>");
  l.add(0, "QoS Class", status.qosClass ?? "BestEffort");
  const tolerations = arr(spec.tolerations).map(tolerationText);
  l.add(
    0,
    "Node-Selectors",
    Object.keys(rec(spec.nodeSelector)).length ? formatLabels(spec.nodeSelector) : "<none>",
  );
  if (tolerations.length === 0) l.add(0, "Tolerations", "<none>");
  else tolerations.forEach((t, i) => l.raw(`${i === 0 ? "Tolerations:" : ""}\t${t}`));
}

function describeDeployment(l: Lines, obj: Obj): void {
  const spec = rec(obj.spec);
  const status = rec(obj.status);
  header(l, obj, true, true);
  l.add(0, "Selector", formatLabels(rec(spec.selector).matchLabels));
  const n = (v: unknown): number => (typeof v === "number" ? v : 0);
  l.add(
    0,
    "Replicas",
    `${n(spec.replicas)} desired | ${n(status.updatedReplicas)} updated | ${n(status.replicas)} total | ${n(status.availableReplicas)} available | ${n(status.unavailableReplicas)} unavailable`,
  );
  const strategy = rec(spec.strategy);
  l.add(0, "StrategyType", strategy.type ?? "RollingUpdate");
  l.add(0, "MinReadySeconds", spec.minReadySeconds ?? 0);
  const ru = rec(strategy.rollingUpdate);
  if ((strategy.type ?? "RollingUpdate") === "RollingUpdate")
    l.add(
      0,
      "RollingUpdateStrategy",
      `${text(ru.maxUnavailable ?? "25%")} max unavailable, ${text(ru.maxSurge ?? "25%")} max surge`,
    );
  const template = rec(spec.template);
  l.add(0, "Pod Template");
  l.map(1, "Labels", rec(template.metadata).labels);
  l.add(1, "Containers");
  const podSpec = rec(template.spec);
  containers(l, 2, arr(podSpec.containers), [], true);
  const volumes = arr(podSpec.volumes);
  l.add(1, "Volumes", volumes.length ? volumes.map((v) => text(v.name)).join(", ") : "<none>");
  l.add(
    1,
    "Node-Selectors",
    Object.keys(rec(podSpec.nodeSelector)).length ? formatLabels(podSpec.nodeSelector) : "<none>",
  );
  const tolerations = arr(podSpec.tolerations);
  l.add(
    1,
    "Tolerations",
    tolerations.length
      ? tolerations.map((t) => `${text(t.key, "")}:${text(t.effect, "")}`).join(", ")
      : "<none>",
  );
  conditions(l, arr(status.conditions), true);
}

function describeService(l: Lines, obj: Obj, endpoints: string): void {
  const spec = rec(obj.spec);
  header(l, obj, true);
  l.add(
    0,
    "Selector",
    Object.keys(rec(spec.selector)).length ? formatLabels(spec.selector) : "<none>",
  );
  l.add(0, "Type", spec.type ?? "ClusterIP");
  if (spec.ipFamilyPolicy) l.add(0, "IP Family Policy", spec.ipFamilyPolicy);
  if (Array.isArray(spec.ipFamilies)) l.add(0, "IP Families", spec.ipFamilies.join(","));
  l.add(0, "IP", spec.clusterIP);
  if (Array.isArray(spec.clusterIPs)) l.add(0, "IPs", spec.clusterIPs.join(","));
  for (const p of arr(spec.ports)) {
    l.add(0, "Port", `${text(p.name, "<unset>")}  ${text(p.port)}/${text(p.protocol ?? "TCP")}`);
    l.add(0, "TargetPort", `${text(p.targetPort ?? p.port)}/${text(p.protocol ?? "TCP")}`);
    if (p.nodePort)
      l.add(
        0,
        "NodePort",
        `${text(p.name, "<unset>")}  ${text(p.nodePort)}/${text(p.protocol ?? "TCP")}`,
      );
  }
  l.add(0, "Endpoints", endpoints);
  l.add(0, "Session Affinity", spec.sessionAffinity ?? "None");
  if (spec.internalTrafficPolicy) l.add(0, "Internal Traffic Policy", spec.internalTrafficPolicy);
}

/** A request or limit total with its share of the allocatable amount: "250m (12%)". */
function share(total: number, allocatable: unknown, kind: "cpu" | "memory"): string {
  let alloc: number;
  try {
    alloc = allocatable === undefined ? 0 : parseQuantity(String(allocatable));
  } catch {
    alloc = 0;
  }
  const pct = alloc > 0 ? Math.floor((total / alloc) * 100) : 0;
  return `${formatQuantity(total, kind)} (${pct}%)`;
}

function podTotals(pod: Obj): Record<string, number> {
  const sums: Record<string, number> = {};
  for (const c of arr(rec(pod.spec).containers)) {
    const res = rec(c.resources);
    for (const [kind, values] of [
      ["requests", rec(res.requests)],
      ["limits", rec(res.limits)],
    ] as const) {
      for (const name of ["cpu", "memory", "ephemeral-storage"]) {
        const v = values[name];
        if (v === undefined) continue;
        try {
          sums[`${kind}.${name}`] = (sums[`${kind}.${name}`] ?? 0) + parseQuantity(String(v));
        } catch {
          // An unparsable quantity was refused by the server; nothing to add.
        }
      }
    }
  }
  return sums;
}

async function describeNode(ctx: Ctx, l: Lines, obj: Obj): Promise<void> {
  const spec = rec(obj.spec);
  const status = rec(obj.status);
  const m = rec(obj.metadata);
  const roles = Object.keys(rec(m.labels))
    .filter((k) => k.startsWith("node-role.kubernetes.io/"))
    .map((k) => k.slice("node-role.kubernetes.io/".length));
  l.add(0, "Name", m.name);
  l.add(0, "Roles", roles.length ? roles.sort().join(",") : "<none>");
  l.map(0, "Labels", m.labels);
  l.map(0, "Annotations", m.annotations, ": ");
  l.add(0, "CreationTimestamp", date(m.creationTimestamp));
  const taints = arr(spec.taints).map(
    (t) => `${text(t.key)}${t.value ? "=" + text(t.value) : ""}:${text(t.effect)}`,
  );
  if (taints.length === 0) l.add(0, "Taints", "<none>");
  else taints.forEach((t, i) => l.raw(`${i === 0 ? "Taints:" : ""}\t${t}`));
  l.add(0, "Unschedulable", spec.unschedulable === true ? "true" : "false");
  try {
    const lease = rec(
      await ctx.rest.request(
        "GET",
        `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${text(m.name)}`,
      ),
    );
    const ls = rec(lease.spec);
    l.add(0, "Lease");
    l.add(1, "HolderIdentity", ls.holderIdentity ?? "<unset>");
    l.add(1, "AcquireTime", ls.acquireTime ? date(ls.acquireTime) : "<unset>");
    l.add(1, "RenewTime", ls.renewTime ? date(ls.renewTime) : "<unset>");
  } catch (e) {
    if (!isNotFound(e)) throw e;
    l.add(
      0,
      "Lease",
      `Failed to get lease: leases.coordination.k8s.io "${text(m.name)}" not found`,
    );
  }
  conditions(l, arr(status.conditions), true);
  l.add(0, "Addresses");
  for (const a of arr(status.addresses)) l.add(1, text(a.type), a.address);
  for (const [label, field] of [
    ["Capacity", "capacity"],
    ["Allocatable", "allocatable"],
  ] as const) {
    const entries = Object.entries(rec(status[field]));
    if (entries.length === 0) continue;
    l.add(0, `${label}:`);
    for (const [k, v] of entries) l.add(1, k, v);
  }
  const info = rec(status.nodeInfo);
  l.add(0, "System Info");
  for (const [label, field] of [
    ["Machine ID", "machineID"],
    ["System UUID", "systemUUID"],
    ["Boot ID", "bootID"],
    ["Kernel Version", "kernelVersion"],
    ["OS Image", "osImage"],
    ["Operating System", "operatingSystem"],
    ["Architecture", "architecture"],
    ["Container Runtime Version", "containerRuntimeVersion"],
    ["Kubelet Version", "kubeletVersion"],
    ["Kube-Proxy Version", "kubeProxyVersion"],
  ]) {
    l.add(1, label!, text(info[field!], ""));
  }
  if (spec.podCIDR) l.add(0, "PodCIDR", spec.podCIDR);
  if (Array.isArray(spec.podCIDRs)) l.add(0, "PodCIDRs", spec.podCIDRs.join(","));
  const pods = await ctx.discovery.resolve("pods");
  const { items } = await listObjects(ctx, pods, undefined, {
    fieldSelector: `spec.nodeName=${text(m.name)},status.phase!=Succeeded,status.phase!=Failed`,
  });
  const alloc = rec(status.allocatable);
  const totals: Record<string, number> = {};
  const now = Date.now();
  l.add(0, "Non-terminated Pods", `(${items.length} in total)`);
  l.table(
    1,
    // kubectl leaves an empty column after Name.
    [
      "Namespace",
      "Name",
      "",
      "CPU Requests",
      "CPU Limits",
      "Memory Requests",
      "Memory Limits",
      "Age",
    ],
    items.map((p) => {
      const t = podTotals(p);
      for (const [k, v] of Object.entries(t)) totals[k] = (totals[k] ?? 0) + v;
      const pm = metaOf(p);
      return [
        pm.namespace ?? "",
        pm.name,
        "",
        share(t["requests.cpu"] ?? 0, alloc.cpu, "cpu"),
        share(t["limits.cpu"] ?? 0, alloc.cpu, "cpu"),
        share(t["requests.memory"] ?? 0, alloc.memory, "memory"),
        share(t["limits.memory"] ?? 0, alloc.memory, "memory"),
        humanDuration(now - (Date.parse(text(pm.creationTimestamp, "")) || now)),
      ];
    }),
  );
  l.add(0, "Allocated resources");
  l.raw("  (Total limits may be over 100 percent, i.e., overcommitted.)");
  l.table(
    1,
    ["Resource", "Requests", "Limits"],
    (["cpu", "memory", "ephemeral-storage"] as const).map((r) => {
      const kind = r === "cpu" ? "cpu" : "memory";
      return [
        r,
        share(totals[`requests.${r}`] ?? 0, alloc[r], kind),
        share(totals[`limits.${r}`] ?? 0, alloc[r], kind),
      ];
    }),
  );
}

/** Any other kind: its spec and status as nested `Key: value` lines. */
function describeGeneric(l: Lines, obj: Obj, namespaced: boolean): void {
  header(l, obj, namespaced);
  const walk = (indent: number, v: unknown, label: string): void => {
    if (typeof v === "object" && v !== null && !Array.isArray(v)) {
      l.add(indent, `${label}:`);
      for (const [k, x] of Object.entries(v))
        walk(indent + 1, x, k.charAt(0).toUpperCase() + k.slice(1));
    } else if (Array.isArray(v) && v.some((x) => typeof x === "object")) {
      l.add(indent, `${label}:`);
      for (const x of v) walk(indent + 1, x, "-");
    } else l.add(indent, label, Array.isArray(v) ? v.join(", ") : v);
  };
  for (const key of Object.keys(obj)) {
    if (["apiVersion", "kind", "metadata"].includes(key)) continue;
    walk(0, obj[key], key.charAt(0).toUpperCase() + key.slice(1));
  }
}

async function events(ctx: Ctx, l: Lines, obj: Obj): Promise<void> {
  const m = metaOf(obj);
  const selector = [
    `involvedObject.name=${m.name}`,
    ...(m.namespace ? [`involvedObject.namespace=${m.namespace}`] : []),
    ...(typeof m.uid === "string" ? [`involvedObject.uid=${m.uid}`] : []),
  ].join(",");
  let items: Obj[] = [];
  try {
    const events = await ctx.discovery.resolve("events");
    items = (await listObjects(ctx, events, m.namespace ?? "default", { fieldSelector: selector }))
      .items;
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
  if (items.length === 0) return l.add(0, "Events", "<none>");
  const time = (e: Obj): number =>
    Date.parse(
      text(
        e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? rec(e.metadata).creationTimestamp,
        "",
      ),
    ) || 0;
  items.sort((a, b) => time(a) - time(b));
  const now = Date.now();
  l.add(0, "Events");
  l.table(
    1,
    ["Type", "Reason", "Age", "From", "Message"],
    items.map((e) => {
      const count = typeof e.count === "number" ? e.count : 1;
      const first = Date.parse(text(e.firstTimestamp ?? e.eventTime, "")) || time(e);
      const age =
        count > 1
          ? `${humanDuration(now - time(e))} (x${count} over ${humanDuration(now - first)})`
          : humanDuration(now - time(e));
      const source = rec(e.source);
      const from =
        text(e.reportingComponent || source.component, "") +
        (source.host ? `, ${text(source.host)}` : "");
      return [text(e.type, ""), text(e.reason, ""), age, from, text(e.message, "").trim()];
    }),
  );
}

/** The ready addresses of a Service's Endpoints as `ip:port,…`. */
async function endpointsOf(ctx: Ctx, svc: Obj): Promise<string> {
  const m = metaOf(svc);
  try {
    const ep = rec(
      await ctx.rest.request("GET", `/api/v1/namespaces/${m.namespace ?? ""}/endpoints/${m.name}`),
    );
    const pairs = arr(ep.subsets).flatMap((sub) =>
      arr(sub.addresses).flatMap((a) => arr(sub.ports).map((p) => `${text(a.ip)}:${text(p.port)}`)),
    );
    return pairs.length ? pairs.join(",") : "<none>";
  } catch (e) {
    if (isNotFound(e)) return "<none>";
    throw e;
  }
}

export async function describeObject(ctx: Ctx, resource: ApiResource, obj: Obj): Promise<string> {
  const l = new Lines();
  switch (resource.kind) {
    case "Pod":
      describePod(l, obj);
      break;
    case "Deployment":
      describeDeployment(l, obj);
      break;
    case "Service":
      describeService(l, obj, await endpointsOf(ctx, obj));
      break;
    case "Node":
      await describeNode(ctx, l, obj);
      break;
    default:
      describeGeneric(l, obj, resource.namespaced);
  }
  await events(ctx, l, obj);
  return tabwrite(l.lines.join("\n"), 2);
}

export async function describe(ctx: Ctx): Promise<void> {
  const blocks: string[] = [];
  for (const { resource, names } of await resolveTargets(ctx, strings(ctx.args.resources))) {
    let objs: Obj[];
    if (names.length > 0) {
      objs = [];
      for (const name of names) {
        objs.push(
          rec(
            await ctx.rest.request(
              "GET",
              resourcePath(resource, namespaceFor(ctx, resource, false), name),
            ),
          ),
        );
      }
    } else {
      objs = (
        await listObjects(ctx, resource, namespaceFor(ctx, resource, true), selectorQuery(ctx))
      ).items;
    }
    for (const o of objs) blocks.push(await describeObject(ctx, resource, o));
  }
  if (blocks.length === 0) {
    ctx.err(
      ctx.allNamespaces
        ? "No resources found\n"
        : `No resources found in ${ctx.namespace} namespace.\n`,
    );
    return;
  }
  ctx.out(blocks.join("\n\n"));
}
