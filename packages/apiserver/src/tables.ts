// Table output (Accept: application/json;as=Table;g=meta.k8s.io;v=v1): the columns and cells
// kubectl prints for each kind, computed on the server as Kubernetes 1.31 does.

import type { ResourceInfo } from "@skiff/api";
import {
  humanDuration,
  labelSelectorToRequirements,
  readJsonPath,
  requirementsToString,
} from "@skiff/api";

export interface TableColumnDefinition {
  name: string;
  type: "string" | "integer" | "date" | "number" | "boolean";
  format: string;
  description: string;
  priority: number;
}

export type Cell = string | number | boolean | null;

export interface TableRow {
  cells: Cell[];
  conditions?: {
    type: string;
    status: string;
    reason: string;
    message: string;
  }[];
  object?: object;
}

export interface Table {
  kind: "Table";
  apiVersion: "meta.k8s.io/v1";
  metadata: {
    resourceVersion?: string;
    continue?: string;
    remainingItemCount?: number;
  };
  columnDefinitions: TableColumnDefinition[];
  rows: TableRow[];
}

export interface TableOptions {
  /** What rows[].object carries: the metadata only (default), the whole object, or nothing. */
  includeObject?: "None" | "Object" | "Metadata";
  resourceVersion?: string;
  continue?: string;
  remainingItemCount?: number;
  /** Leave columnDefinitions empty, as watch events after the first may. */
  noHeaders?: boolean;
  /** The clock AGE columns are measured against. */
  now?: Date;
}

// ---- reading unknown JSON --------------------------------------------------------------

type J = Record<string, unknown>;

function rec(v: unknown): J {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as J) : {};
}
function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}
function text(v: unknown): string {
  return typeof v === "string" ? v : "";
}
function int(v: unknown): number {
  return typeof v === "number" && Number.isFinite(v) ? Math.trunc(v) : 0;
}
function size(v: unknown): number {
  return Object.keys(rec(v)).length;
}

// ---- durations ---------------------------------------------------------------------------

function parseTime(v: unknown): number | undefined {
  const t = typeof v === "string" && v !== "" ? Date.parse(v) : NaN;
  return Number.isNaN(t) ? undefined : t;
}

/** The age of a timestamp, "<unknown>" when it is unset (translateTimestampSince). */
function since(ts: unknown, now: number): string {
  const t = parseTime(ts);
  return t === undefined ? "<unknown>" : humanDuration(now - t);
}

// ---- shared formatting -------------------------------------------------------------------

/** labels.FormatLabels: sorted `k=v` pairs, "<none>" when empty. */
function formatLabels(labels: unknown): string {
  const entries = Object.entries(rec(labels))
    .map(([k, v]) => `${k}=${text(v)}`)
    .sort();
  return entries.length ? entries.join(",") : "<none>";
}

/** A LabelSelector as a selector string; "" when it selects everything, "<invalid>" when broken. */
function selectorString(sel: unknown): string {
  if (sel === undefined || sel === null) return "";
  try {
    return requirementsToString(labelSelectorToRequirements(rec(sel)));
  } catch {
    return "<invalid>";
  }
}

/** metav1.FormatLabelSelector: like selectorString but "<none>" for empty, "<error>" when broken. */
function formatLabelSelector(sel: unknown): string {
  const s = selectorString(sel);
  return s === "<invalid>" ? "<error>" : s === "" ? "<none>" : s;
}

function containerCells(podSpec: unknown): [string, string] {
  const containers = list(rec(podSpec)["containers"]).map(rec);
  return [
    containers.map((c) => text(c["name"])).join(","),
    containers.map((c) => text(c["image"])).join(","),
  ];
}

function hostPort(ip: string, port: number): string {
  return ip.includes(":") ? `[${ip}]:${port}` : `${ip}:${port}`;
}

function listWithMore(items: string[], total: number, max: number, empty: string): string {
  if (total > max) return `${items.slice(0, max).join(",")} + ${total - max} more...`;
  return items.length ? items.join(",") : empty;
}

// ---- per-kind printers -------------------------------------------------------------------

type Printer = {
  columns: TableColumnDefinition[];
  row: (obj: J, now: number) => Omit<TableRow, "object">;
};

function col(
  name: string,
  description: string,
  opts: {
    type?: TableColumnDefinition["type"];
    format?: string;
    priority?: number;
  } = {},
): TableColumnDefinition {
  return {
    name,
    type: opts.type ?? "string",
    format: opts.format ?? "",
    description,
    priority: opts.priority ?? 0,
  };
}

const NAME = col("Name", "Name must be unique within a namespace.", {
  format: "name",
});
const AGE = col(
  "Age",
  "CreationTimestamp is a timestamp representing the server time when this object was created.",
);
const CONTAINERS = col("Containers", "Names of each container in the template.", { priority: 1 });
const IMAGES = col("Images", "Images referenced by each container in the template.", {
  priority: 1,
});
const wideSelector = (description: string) => col("Selector", description, { priority: 1 });

const name = (o: J) => text(rec(o["metadata"])["name"]);
const age = (o: J, now: number) => since(rec(o["metadata"])["creationTimestamp"], now);

// Pods --------------------------------------------------------------------------------------

const COMPLETED_SUCCEEDED = {
  type: "Completed",
  status: "True",
  reason: "Succeeded",
  message: "The pod has completed successfully.",
};
const COMPLETED_FAILED = {
  type: "Completed",
  status: "True",
  reason: "Failed",
  message: "The pod failed.",
};

function hasCondition(status: J, type: string): boolean {
  return list(status["conditions"]).some(
    (c) => rec(c)["type"] === type && rec(c)["status"] === "True",
  );
}

function isRestartableInit(container: J | undefined): boolean {
  return container?.["restartPolicy"] === "Always";
}

/** The STATUS, READY and RESTARTS of a pod, reasoned out as kubectl's pod printer does. */
export function podSummary(
  pod: J,
  now: number,
): { ready: string; status: string; restarts: string } {
  const spec = rec(pod["spec"]);
  const status = rec(pod["status"]);
  const metadata = rec(pod["metadata"]);
  const phase = text(status["phase"]);
  let reason = text(status["reason"]) || phase;

  for (const c of list(status["conditions"]).map(rec)) {
    if (c["type"] === "PodScheduled" && c["reason"] === "SchedulingGated")
      reason = "SchedulingGated";
  }

  const initSpecs = new Map<string, J>();
  let total = list(spec["containers"]).length;
  const initContainers = list(spec["initContainers"]).map(rec);
  for (const c of initContainers) {
    initSpecs.set(text(c["name"]), c);
    // Sidecars (restartable init containers) count as containers of the pod.
    if (isRestartableInit(c)) total++;
  }

  let ready = 0;
  let restarts = 0;
  let lastRestart = 0;
  let sidecarRestarts = 0;
  let lastSidecarRestart = 0;
  const finishedAt = (cs: J) =>
    parseTime(rec(rec(cs["lastState"])["terminated"])["finishedAt"]) ?? 0;

  // Init containers run in order; the first one not done explains the status.
  let initializing = false;
  const initStatuses = list(status["initContainerStatuses"]).map(rec);
  for (const [i, cs] of initStatuses.entries()) {
    restarts += int(cs["restartCount"]);
    lastRestart = Math.max(lastRestart, finishedAt(cs));
    const sidecar = isRestartableInit(initSpecs.get(text(cs["name"])));
    if (sidecar) {
      sidecarRestarts += int(cs["restartCount"]);
      lastSidecarRestart = Math.max(lastSidecarRestart, finishedAt(cs));
    }
    const state = rec(cs["state"]);
    const terminated = state["terminated"] === undefined ? undefined : rec(state["terminated"]);
    const waiting = state["waiting"] === undefined ? undefined : rec(state["waiting"]);
    if (terminated && int(terminated["exitCode"]) === 0) continue;
    if (sidecar && cs["started"] === true) {
      if (cs["ready"] === true) ready++;
      continue;
    }
    if (terminated) {
      const r = text(terminated["reason"]);
      if (r) reason = `Init:${r}`;
      else if (int(terminated["signal"]) !== 0) reason = `Init:Signal:${int(terminated["signal"])}`;
      else reason = `Init:ExitCode:${int(terminated["exitCode"])}`;
    } else if (waiting && text(waiting["reason"]) && waiting["reason"] !== "PodInitializing") {
      reason = `Init:${text(waiting["reason"])}`;
    } else {
      reason = `Init:${i}/${initContainers.length}`;
    }
    initializing = true;
    break;
  }

  if (!initializing || hasCondition(status, "Initialized")) {
    restarts = sidecarRestarts;
    lastRestart = lastSidecarRestart;
    let hasRunning = false;
    // Walked backwards so that the first container's state wins, as in kubectl.
    const statuses = list(status["containerStatuses"]).map(rec);
    for (let i = statuses.length - 1; i >= 0; i--) {
      const cs = statuses[i]!;
      restarts += int(cs["restartCount"]);
      lastRestart = Math.max(lastRestart, finishedAt(cs));
      const state = rec(cs["state"]);
      const waiting = state["waiting"] === undefined ? undefined : rec(state["waiting"]);
      const terminated = state["terminated"] === undefined ? undefined : rec(state["terminated"]);
      if (waiting && text(waiting["reason"])) {
        reason = text(waiting["reason"]);
      } else if (terminated && text(terminated["reason"])) {
        reason = text(terminated["reason"]);
      } else if (terminated) {
        reason =
          int(terminated["signal"]) !== 0
            ? `Signal:${int(terminated["signal"])}`
            : `ExitCode:${int(terminated["exitCode"])}`;
      } else if (cs["ready"] === true && state["running"] !== undefined) {
        hasRunning = true;
        ready++;
      }
    }
    // One container finished but another still runs: the pod is not "Completed".
    if (reason === "Completed" && hasRunning) {
      reason = hasCondition(status, "Ready") ? "Running" : "NotReady";
    }
  }

  if (metadata["deletionTimestamp"] !== undefined) {
    if (status["reason"] === "NodeLost") reason = "Unknown";
    else if (phase !== "Succeeded" && phase !== "Failed") reason = "Terminating";
  }

  const restartsText =
    restarts !== 0 && lastRestart !== 0
      ? `${restarts} (${humanDuration(now - lastRestart)} ago)`
      : String(restarts);
  return { ready: `${ready}/${total}`, status: reason, restarts: restartsText };
}

const pods: Printer = {
  columns: [
    NAME,
    col("Ready", "The aggregate readiness state of this pod for accepting traffic."),
    col("Status", "The aggregate status of the containers in this pod."),
    col(
      "Restarts",
      "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
    ),
    AGE,
    col("IP", "podIP address allocated to the pod.", { priority: 1 }),
    col("Node", "NodeName is the node this pod is scheduled onto.", {
      priority: 1,
    }),
    col(
      "Nominated Node",
      "nominatedNodeName is set when this pod preempts other pods on the node.",
      {
        priority: 1,
      },
    ),
    col(
      "Readiness Gates",
      "If specified, all readiness gates will be evaluated for pod readiness.",
      {
        priority: 1,
      },
    ),
  ],
  row(pod, now) {
    const spec = rec(pod["spec"]);
    const status = rec(pod["status"]);
    const s = podSummary(pod, now);
    const ip = text(rec(list(status["podIPs"])[0])["ip"]) || text(status["podIP"]) || "<none>";
    const gates = list(spec["readinessGates"]).map((g) => text(rec(g)["conditionType"]));
    let readinessGates = "<none>";
    if (gates.length > 0) {
      const conditions = list(status["conditions"]).map(rec);
      const satisfied = gates.filter(
        (type) => conditions.find((c) => c["type"] === type)?.["status"] === "True",
      ).length;
      readinessGates = `${satisfied}/${gates.length}`;
    }
    const phase = status["phase"];
    const row: Omit<TableRow, "object"> = {
      cells: [
        name(pod),
        s.ready,
        s.status,
        s.restarts,
        age(pod, now),
        ip,
        text(spec["nodeName"]) || "<none>",
        text(status["nominatedNodeName"]) || "<none>",
        readinessGates,
      ],
    };
    // Kubernetes marks finished pods so that clients may hide them.
    if (phase === "Succeeded") row.conditions = [COMPLETED_SUCCEEDED];
    if (phase === "Failed") row.conditions = [COMPLETED_FAILED];
    return row;
  },
};

// Nodes -------------------------------------------------------------------------------------

function nodeAddress(node: J, type: string): string {
  const found = list(rec(node["status"])["addresses"])
    .map(rec)
    .find((a) => a["type"] === type);
  return found ? text(found["address"]) : "<none>";
}

function nodeRoles(labels: J): string {
  const roles = new Set<string>();
  for (const [k, v] of Object.entries(labels)) {
    if (k.startsWith("node-role.kubernetes.io/")) {
      const role = k.slice("node-role.kubernetes.io/".length);
      if (role) roles.add(role);
    } else if (k === "kubernetes.io/role" && text(v)) {
      roles.add(text(v));
    }
  }
  return roles.size ? [...roles].sort().join(",") : "<none>";
}

const nodes: Printer = {
  columns: [
    NAME,
    col("Status", "The status of the node"),
    col("Roles", "The roles of the node"),
    AGE,
    col("Version", "Kubelet Version reported by the node."),
    col("Internal-IP", "List of addresses reachable to the node.", {
      priority: 1,
    }),
    col("External-IP", "List of addresses reachable to the node.", {
      priority: 1,
    }),
    col("OS-Image", "OS Image reported by the node.", { priority: 1 }),
    col("Kernel-Version", "Kernel Version reported by the node.", {
      priority: 1,
    }),
    col("Container-Runtime", "ContainerRuntime Version reported by the node.", {
      priority: 1,
    }),
  ],
  row(node, now) {
    const status = rec(node["status"]);
    const info = rec(status["nodeInfo"]);
    // Only the Ready condition shows; the last one listed wins, as in a Go map.
    const readyCondition = list(status["conditions"])
      .map(rec)
      .filter((c) => c["type"] === "Ready")
      .pop();
    const states = [
      readyCondition === undefined
        ? "Unknown"
        : readyCondition["status"] === "True"
          ? "Ready"
          : "NotReady",
    ];
    if (rec(node["spec"])["unschedulable"] === true) states.push("SchedulingDisabled");
    return {
      cells: [
        name(node),
        states.join(","),
        nodeRoles(rec(rec(node["metadata"])["labels"])),
        age(node, now),
        text(info["kubeletVersion"]),
        nodeAddress(node, "InternalIP"),
        nodeAddress(node, "ExternalIP"),
        text(info["osImage"]) || "<unknown>",
        text(info["kernelVersion"]) || "<unknown>",
        text(info["containerRuntimeVersion"]) || "<unknown>",
      ],
    };
  },
};

// Services ----------------------------------------------------------------------------------

function serviceExternalIP(spec: J, status: J, type: string): string {
  const externalIPs = list(spec["externalIPs"]).map(text);
  switch (type) {
    case "ClusterIP":
    case "NodePort":
      return externalIPs.length ? externalIPs.join(",") : "<none>";
    case "LoadBalancer": {
      const ingress = new Set<string>();
      for (const i of list(rec(status["loadBalancer"])["ingress"]).map(rec)) {
        const address = text(i["ip"]) || text(i["hostname"]);
        if (address) ingress.add(address);
      }
      const all = [...[...ingress].sort(), ...externalIPs];
      return all.length ? all.join(",") : "<pending>";
    }
    case "ExternalName":
      return text(spec["externalName"]);
  }
  return "<unknown>";
}

const services: Printer = {
  columns: [
    NAME,
    col("Type", "type determines how the Service is exposed."),
    col("Cluster-IP", "clusterIP is the IP address of the service."),
    col(
      "External-IP",
      "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.",
    ),
    col("Port(s)", "The list of ports that are exposed by this service."),
    AGE,
    wideSelector(
      "Route service traffic to pods with label keys and values matching this selector.",
    ),
  ],
  row(svc, now) {
    const spec = rec(svc["spec"]);
    // Stored services are defaulted; an undefaulted one is a ClusterIP service.
    const type = text(spec["type"]) || "ClusterIP";
    const clusterIP = text(list(spec["clusterIPs"])[0]) || text(spec["clusterIP"]) || "<none>";
    const ports = list(spec["ports"])
      .map(rec)
      .map((p) => {
        const protocol = text(p["protocol"]) || "TCP";
        const nodePort = int(p["nodePort"]);
        return nodePort > 0
          ? `${int(p["port"])}:${nodePort}/${protocol}`
          : `${int(p["port"])}/${protocol}`;
      });
    return {
      cells: [
        name(svc),
        type,
        clusterIP,
        serviceExternalIP(spec, rec(svc["status"]), type),
        ports.length ? ports.join(",") : "<none>",
        age(svc, now),
        formatLabels(spec["selector"]),
      ],
    };
  },
};

// Endpoints and EndpointSlices ----------------------------------------------------------------

function formatEndpoints(ep: J): string {
  const subsets = list(ep["subsets"]).map(rec);
  if (subsets.length === 0) return "<none>";
  const items: string[] = [];
  let count = 0;
  for (const ss of subsets) {
    const addresses = list(ss["addresses"]).map((a) => text(rec(a)["ip"]));
    const ports = list(ss["ports"]).map((p) => int(rec(p)["port"]));
    // Headless services may have addresses without ports.
    if (ports.length === 0) {
      count += addresses.length;
      items.push(...addresses);
      continue;
    }
    for (const port of ports) {
      count += addresses.length;
      items.push(...addresses.map((ip) => hostPort(ip, port)));
    }
  }
  return listWithMore(items, count, 3, "");
}

const endpoints: Printer = {
  columns: [NAME, col("Endpoints", "The set of all endpoints is the union of all subsets."), AGE],
  row: (ep, now) => ({ cells: [name(ep), formatEndpoints(ep), age(ep, now)] }),
};

const endpointslices: Printer = {
  columns: [
    NAME,
    col("AddressType", "addressType specifies the type of address carried by this EndpointSlice."),
    col(
      "Ports",
      "ports specifies the list of network ports exposed by each endpoint in this slice.",
    ),
    col("Endpoints", "endpoints is a list of unique endpoints in this slice."),
    AGE,
  ],
  row(slice, now) {
    const ports = list(slice["ports"]).map(rec);
    const portNames = ports.map((p) =>
      typeof p["port"] === "number" ? String(int(p["port"])) : text(p["name"]) || "*",
    );
    const addresses = list(slice["endpoints"]).flatMap((e) => list(rec(e)["addresses"]).map(text));
    return {
      cells: [
        name(slice),
        text(slice["addressType"]),
        listWithMore(portNames, portNames.length, 3, "<unset>"),
        listWithMore(addresses, addresses.length, 3, "<unset>"),
        age(slice, now),
      ],
    };
  },
};

// Simple core kinds -------------------------------------------------------------------------

const namespaces: Printer = {
  columns: [NAME, col("Status", "The status of the namespace"), AGE],
  row: (ns, now) => ({
    cells: [name(ns), text(rec(ns["status"])["phase"]), age(ns, now)],
  }),
};

const configmaps: Printer = {
  columns: [NAME, col("Data", "Data contains the configuration data."), AGE],
  row: (cm, now) => ({
    cells: [name(cm), size(cm["data"]) + size(cm["binaryData"]), age(cm, now)],
  }),
};

const secrets: Printer = {
  columns: [
    NAME,
    col("Type", "Used to facilitate programmatic handling of secret data."),
    col("Data", "Data contains the secret data."),
    AGE,
  ],
  row: (s, now) => ({
    cells: [name(s), text(s["type"]), size(s["data"]), age(s, now)],
  }),
};

const serviceaccounts: Printer = {
  columns: [
    NAME,
    col(
      "Secrets",
      "Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.",
    ),
    AGE,
  ],
  row: (sa, now) => ({
    cells: [name(sa), list(sa["secrets"]).length, age(sa, now)],
  }),
};

const leases: Printer = {
  columns: [
    NAME,
    col("Holder", "holderIdentity contains the identity of the holder of a current lease."),
    AGE,
  ],
  row: (l, now) => ({
    cells: [name(l), text(rec(l["spec"])["holderIdentity"]), age(l, now)],
  }),
};

// HorizontalPodAutoscalers ------------------------------------------------------------------

/** "cpu: 73%/50%" per metric, as kubectl prints TARGETS; the first four, then "+ N more...". */
export function hpaTargets(hpa: J): string {
  const specs = list(rec(hpa["spec"])["metrics"]).map(rec);
  const statuses = list(rec(hpa["status"])["currentMetrics"]).map(rec);
  if (specs.length === 0) return "<none>";
  const out = specs.map((spec, i) => {
    const type = text(spec["type"]);
    const field = type === "ContainerResource" ? "containerResource" : "resource";
    if (type !== "Resource" && type !== "ContainerResource") return `<unsupported: ${type}>`;
    const src = rec(spec[field]);
    const target = rec(src["target"]);
    const cur = rec(rec(statuses[i]?.[field])["current"]);
    const resource = text(src["name"]);
    if (target["averageValue"] !== undefined) {
      const current = cur["averageValue"] !== undefined ? String(cur["averageValue"]) : "<unknown>";
      return `${resource}: ${current}/${String(target["averageValue"])}`;
    }
    const current =
      typeof cur["averageUtilization"] === "number" ? `${cur["averageUtilization"]}%` : "<unknown>";
    const want =
      typeof target["averageUtilization"] === "number"
        ? `${target["averageUtilization"]}%`
        : "<auto>";
    return `${resource}: ${current}/${want}`;
  });
  if (out.length > 4) return `${out.slice(0, 4).join(", ")} + ${out.length - 4} more...`;
  return out.join(", ");
}

const horizontalpodautoscalers: Printer = {
  columns: [
    NAME,
    col("Reference", "scaleTargetRef points to the target resource to scale"),
    col(
      "Targets",
      "metrics contains the specifications for which to use to calculate the desired replica count",
    ),
    col("MinPods", "minReplicas is the lower limit for the number of replicas"),
    col("MaxPods", "maxReplicas is the upper limit for the number of replicas"),
    col(
      "Replicas",
      "currentReplicas is current number of replicas of pods managed by this autoscaler",
    ),
    AGE,
  ],
  row: (hpa, now) => {
    const spec = rec(hpa["spec"]);
    const ref = rec(spec["scaleTargetRef"]);
    const min = spec["minReplicas"];
    return {
      cells: [
        name(hpa),
        `${text(ref["kind"])}/${text(ref["name"])}`,
        hpaTargets(hpa),
        typeof min === "number" ? String(min) : "<unset>",
        String(int(spec["maxReplicas"])),
        String(int(rec(hpa["status"])["currentReplicas"])),
        age(hpa, now),
      ],
    };
  },
};

// Events ------------------------------------------------------------------------------------

const events: Printer = {
  columns: [
    col("Last Seen", "The time at which the most recent occurrence of this event was recorded."),
    col("Type", "Type of this event (Normal, Warning), new types could be added in the future"),
    col(
      "Reason",
      "This should be a short, machine understandable string that gives the reason for the transition into the object's current status.",
    ),
    col("Object", "The object that this event is about."),
    col("Subobject", "The field of the object the event is about, such as spec.containers{name}.", {
      priority: 1,
    }),
    col("Source", "The component reporting this event.", { priority: 1 }),
    col("Message", "A human-readable description of the status of this operation."),
    col("First Seen", "The time at which the event was first recorded.", {
      priority: 1,
    }),
    col("Count", "The number of times this event has occurred.", {
      priority: 1,
    }),
    col("Name", "Name must be unique within a namespace.", {
      priority: 1,
      format: "name",
    }),
  ],
  row(ev, now) {
    const first =
      parseTime(ev["firstTimestamp"]) !== undefined
        ? since(ev["firstTimestamp"], now)
        : since(ev["eventTime"], now);
    let last =
      parseTime(ev["lastTimestamp"]) !== undefined ? since(ev["lastTimestamp"], now) : first;
    let count = int(ev["count"]);
    const series = ev["series"];
    if (series !== undefined && series !== null) {
      last = since(rec(series)["lastObservedTime"], now);
      count = int(rec(series)["count"]);
    } else if (count === 0) {
      count = 1; // events.k8s.io-style singletons carry no count
    }
    const involved = rec(ev["involvedObject"]);
    const kind = text(involved["kind"]).toLowerCase();
    const target = text(involved["name"]) ? `${kind}/${text(involved["name"])}` : kind;
    const source = rec(ev["source"]);
    const component = text(source["component"]) || text(ev["reportingComponent"]);
    const instance = text(source["host"]) || text(ev["reportingInstance"]);
    return {
      cells: [
        last,
        text(ev["type"]),
        text(ev["reason"]),
        target,
        text(involved["fieldPath"]),
        instance ? `${component}, ${instance}` : component,
        text(ev["message"]).trim(),
        first,
        count,
        name(ev),
      ],
    };
  },
};

// Workloads ---------------------------------------------------------------------------------

function templateSpec(o: J): J {
  return rec(rec(rec(o["spec"])["template"])["spec"]);
}

/** spec.replicas as stored; an undefaulted object means the default of 1. */
function desiredReplicas(o: J): number {
  const r = rec(o["spec"])["replicas"];
  return typeof r === "number" ? int(r) : 1;
}

const deployments: Printer = {
  columns: [
    NAME,
    col("Ready", "Number of the pod with ready state"),
    col(
      "Up-to-date",
      "Total number of non-terminated pods targeted by this deployment that have the desired template spec.",
    ),
    col(
      "Available",
      "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.",
    ),
    AGE,
    CONTAINERS,
    IMAGES,
    wideSelector("Label selector for pods."),
  ],
  row(d, now) {
    const status = rec(d["status"]);
    const [names, images] = containerCells(templateSpec(d));
    return {
      cells: [
        name(d),
        `${int(status["readyReplicas"])}/${desiredReplicas(d)}`,
        int(status["updatedReplicas"]),
        int(status["availableReplicas"]),
        age(d, now),
        names,
        images,
        selectorString(rec(d["spec"])["selector"]),
      ],
    };
  },
};

const replicasets: Printer = {
  columns: [
    NAME,
    col("Desired", "Replicas is the number of desired pods.", {
      type: "integer",
    }),
    col("Current", "Replicas is the most recently observed number of replicas.", {
      type: "integer",
    }),
    col("Ready", "The number of pods targeted by this ReplicaSet with a Ready Condition.", {
      type: "integer",
    }),
    AGE,
    CONTAINERS,
    IMAGES,
    wideSelector("Selector is a label query over pods that should match the replica count."),
  ],
  row(rs, now) {
    const status = rec(rs["status"]);
    const [names, images] = containerCells(templateSpec(rs));
    return {
      cells: [
        name(rs),
        desiredReplicas(rs),
        int(status["replicas"]),
        int(status["readyReplicas"]),
        age(rs, now),
        names,
        images,
        formatLabelSelector(rec(rs["spec"])["selector"]),
      ],
    };
  },
};

// Kubernetes prints a ReplicationController as a ReplicaSet, its selector being a label map.
const replicationcontrollers: Printer = {
  columns: replicasets.columns,
  row(rc, now) {
    const row = replicasets.row(rc, now);
    const selector = rec(rec(rc["spec"])["selector"]);
    row.cells[row.cells.length - 1] = formatLabelSelector({ matchLabels: selector });
    return row;
  },
};

const daemonsets: Printer = {
  columns: [
    NAME,
    col("Desired", "The total number of nodes that should be running the daemon pod.", {
      type: "integer",
    }),
    col(
      "Current",
      "The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod.",
      { type: "integer" },
    ),
    col(
      "Ready",
      "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running with a Ready Condition.",
      { type: "integer" },
    ),
    col("Up-to-date", "The total number of nodes that are running updated daemon pod", {
      type: "integer",
    }),
    col(
      "Available",
      "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available.",
      { type: "integer" },
    ),
    col(
      "Node Selector",
      "NodeSelector is a selector which must be true for the pod to fit on a node.",
    ),
    AGE,
    CONTAINERS,
    IMAGES,
    wideSelector("A label query over pods that are managed by the daemon set."),
  ],
  row(ds, now) {
    const status = rec(ds["status"]);
    const [names, images] = containerCells(templateSpec(ds));
    return {
      cells: [
        name(ds),
        int(status["desiredNumberScheduled"]),
        int(status["currentNumberScheduled"]),
        int(status["numberReady"]),
        int(status["updatedNumberScheduled"]),
        int(status["numberAvailable"]),
        formatLabels(templateSpec(ds)["nodeSelector"]),
        age(ds, now),
        names,
        images,
        formatLabelSelector(rec(ds["spec"])["selector"]),
      ],
    };
  },
};

function jobStatus(job: J): string {
  const conditions = list(rec(job["status"])["conditions"]).map(rec);
  // The first condition of a type decides, as in kubectl's hasJobCondition.
  const has = (type: string) => conditions.find((c) => c["type"] === type)?.["status"] === "True";
  if (has("Complete")) return "Complete";
  if (has("Failed")) return "Failed";
  if (rec(job["metadata"])["deletionTimestamp"] !== undefined) return "Terminating";
  if (has("Suspended")) return "Suspended";
  if (has("FailureTarget")) return "FailureTarget";
  return "Running";
}

const jobs: Printer = {
  columns: [
    NAME,
    col("Status", "Status of the job."),
    col("Completions", "The number of pods which reached phase Succeeded."),
    col("Duration", "Time required to complete the job."),
    AGE,
    CONTAINERS,
    IMAGES,
    wideSelector("A label query over pods that should match the pod count."),
  ],
  row(job, now) {
    const spec = rec(job["spec"]);
    const status = rec(job["status"]);
    const succeeded = int(status["succeeded"]);
    let completions: string;
    if (typeof spec["completions"] === "number") {
      completions = `${succeeded}/${int(spec["completions"])}`;
    } else {
      const parallelism = int(spec["parallelism"]);
      completions = parallelism > 1 ? `${succeeded}/1 of ${parallelism}` : `${succeeded}/1`;
    }
    const start = parseTime(status["startTime"]);
    const end = parseTime(status["completionTime"]);
    const duration = start === undefined ? "" : humanDuration((end ?? now) - start);
    const [names, images] = containerCells(templateSpec(job));
    return {
      cells: [
        name(job),
        jobStatus(job),
        completions,
        duration,
        age(job, now),
        names,
        images,
        formatLabelSelector(spec["selector"]),
      ],
    };
  },
};

const cronjobs: Printer = {
  columns: [
    NAME,
    col("Schedule", "The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron."),
    col(
      "Timezone",
      "The time zone name for the given schedule, see https://en.wikipedia.org/wiki/List_of_tz_database_time_zones.",
    ),
    col("Suspend", "This flag tells the controller to suspend subsequent executions."),
    col("Active", "A list of pointers to currently running jobs.", { type: "integer" }),
    col("Last Schedule", "Information when was the last time the job was successfully scheduled."),
    AGE,
    CONTAINERS,
    IMAGES,
    wideSelector("A label query over pods that should match the pod count."),
  ],
  row(cj, now) {
    const spec = rec(cj["spec"]);
    const status = rec(cj["status"]);
    const jobSpec = rec(rec(spec["jobTemplate"])["spec"]);
    const [names, images] = containerCells(rec(rec(jobSpec["template"])["spec"]));
    const last = status["lastScheduleTime"];
    return {
      cells: [
        name(cj),
        text(spec["schedule"]),
        text(spec["timeZone"]) || "<none>",
        spec["suspend"] === true ? "True" : "False",
        list(status["active"]).length,
        last === undefined ? "<none>" : since(last, now),
        age(cj, now),
        names,
        images,
        formatLabelSelector(jobSpec["selector"]),
      ],
    };
  },
};

const statefulsets: Printer = {
  columns: [NAME, col("Ready", "Number of the pod with ready state"), AGE, CONTAINERS, IMAGES],
  row(sts, now) {
    const status = rec(sts["status"]);
    const [names, images] = containerCells(templateSpec(sts));
    return {
      cells: [
        name(sts),
        `${int(status["readyReplicas"])}/${desiredReplicas(sts)}`,
        age(sts, now),
        names,
        images,
      ],
    };
  },
};

const controllerrevisions: Printer = {
  columns: [
    NAME,
    col("Controller", "Controller of the object"),
    col("Revision", "Revision indicates the revision of the state represented by Data.", {
      type: "integer",
    }),
    AGE,
  ],
  row(cr, now) {
    // kubectl names the controller as "<kind>.<group>/<name>", lower case.
    const ref = list(rec(cr["metadata"])["ownerReferences"])
      .map(rec)
      .find((r) => r["controller"] === true);
    let controller = "<none>";
    if (ref) {
      const apiVersion = text(ref["apiVersion"]);
      const group = apiVersion.includes("/") ? apiVersion.split("/")[0] : "";
      const kind = text(ref["kind"]).toLowerCase();
      controller = `${group ? `${kind}.${group}` : kind}/${text(ref["name"])}`;
    }
    return { cells: [name(cr), controller, int(cr["revision"]), age(cr, now)] };
  },
};

const ACCESS_MODE_SHORT: Record<string, string> = {
  ReadWriteOnce: "RWO",
  ReadOnlyMany: "ROX",
  ReadWriteMany: "RWX",
  ReadWriteOncePod: "RWOP",
};

/** kubectl's GetAccessModesAsString: the short forms, each once, in a fixed order. */
function accessModes(modes: unknown): string {
  const have = new Set(list(modes).map(text));
  return ["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"]
    .filter((m) => have.has(m))
    .map((m) => ACCESS_MODE_SHORT[m])
    .join(",");
}

const persistentvolumeclaims: Printer = {
  columns: [
    NAME,
    col("Status", "Status of the persistent volume claim."),
    col(
      "Volume",
      "VolumeName is the binding reference to the PersistentVolume backing this claim.",
    ),
    col("Capacity", "Capacity represents the actual resources of the underlying volume."),
    col("Access Modes", "AccessModes contains the desired access modes the volume should have."),
    col("StorageClass", "StorageClassName is the name of the StorageClass required by the claim."),
    col(
      "VolumeAttributesClass",
      "VolumeAttributesClassName may be used to set the VolumeAttributesClass used by this claim.",
    ),
    AGE,
    col("VolumeMode", "VolumeMode defines what type of volume is required by the claim.", {
      priority: 1,
    }),
  ],
  row(pvc, now) {
    const spec = rec(pvc["spec"]);
    const status = rec(pvc["status"]);
    const deleting = rec(pvc["metadata"])["deletionTimestamp"] !== undefined;
    const bound = text(spec["volumeName"]) !== "";
    const storage = rec(status["capacity"])["storage"];
    return {
      cells: [
        name(pvc),
        deleting ? "Terminating" : text(status["phase"]),
        text(spec["volumeName"]),
        bound && storage !== undefined ? String(storage) : "",
        bound ? accessModes(status["accessModes"]) : "",
        text(spec["storageClassName"]),
        text(spec["volumeAttributesClassName"]) || "<unset>",
        age(pvc, now),
        text(spec["volumeMode"]) || "<unset>",
      ],
    };
  },
};

const persistentvolumes: Printer = {
  columns: [
    NAME,
    col(
      "Capacity",
      "capacity is the description of the persistent volume's resources and capacity.",
    ),
    col("Access Modes", "accessModes contains all ways the volume can be mounted."),
    col(
      "Reclaim Policy",
      "persistentVolumeReclaimPolicy defines what happens to a persistent volume when released from its claim.",
    ),
    col(
      "Status",
      "phase indicates if a volume is available, bound to a claim, or released by a claim.",
    ),
    col(
      "Claim",
      "claimRef is part of a bi-directional binding between PersistentVolume and PersistentVolumeClaim.",
    ),
    col(
      "StorageClass",
      "storageClassName is the name of StorageClass to which this persistent volume belongs.",
    ),
    col(
      "VolumeAttributesClass",
      "Name of VolumeAttributesClass to which this persistent volume belongs.",
    ),
    col("Reason", "reason is a brief CamelCase string that describes any failure."),
    AGE,
    col(
      "VolumeMode",
      "volumeMode defines if a volume is intended to be used with a formatted filesystem or to remain in raw block state.",
      { priority: 1 },
    ),
  ],
  row(pv, now) {
    const spec = rec(pv["spec"]);
    const status = rec(pv["status"]);
    const ref = rec(spec["claimRef"]);
    const claim = text(ref["name"]) ? `${text(ref["namespace"])}/${text(ref["name"])}` : "";
    const storage = rec(spec["capacity"])["storage"];
    const deleting = rec(pv["metadata"])["deletionTimestamp"] !== undefined;
    return {
      cells: [
        name(pv),
        storage === undefined ? "" : String(storage),
        accessModes(spec["accessModes"]),
        text(spec["persistentVolumeReclaimPolicy"]),
        deleting ? "Terminating" : text(status["phase"]),
        claim,
        text(spec["storageClassName"]),
        text(spec["volumeAttributesClassName"]) || "<unset>",
        text(status["reason"]),
        age(pv, now),
        text(spec["volumeMode"]) || "<unset>",
      ],
    };
  },
};

const storageclasses: Printer = {
  columns: [
    NAME,
    col("Provisioner", "provisioner indicates the type of the provisioner."),
    col(
      "ReclaimPolicy",
      "reclaimPolicy controls the reclaimPolicy for dynamically provisioned PersistentVolumes of this storage class.",
    ),
    col(
      "VolumeBindingMode",
      "volumeBindingMode indicates how PersistentVolumeClaims should be provisioned and bound.",
    ),
    col(
      "AllowVolumeExpansion",
      "allowVolumeExpansion shows whether the storage class allow volume expand.",
    ),
    AGE,
  ],
  row(sc, now) {
    const annotations = rec(rec(sc["metadata"])["annotations"]);
    const isDefault =
      annotations["storageclass.kubernetes.io/is-default-class"] === "true" ||
      annotations["storageclass.beta.kubernetes.io/is-default-class"] === "true";
    return {
      cells: [
        isDefault ? `${name(sc)} (default)` : name(sc),
        text(sc["provisioner"]),
        text(sc["reclaimPolicy"]) || "Delete",
        text(sc["volumeBindingMode"]) || "Immediate",
        sc["allowVolumeExpansion"] === true ? "true" : "false",
        age(sc, now),
      ],
    };
  },
};

// printNetworkPolicy: the description is extensions/v1beta1's, as Kubernetes' printer uses.
const networkpolicies: Printer = {
  columns: [
    NAME,
    col(
      "Pod-Selector",
      "Selects the pods to which this NetworkPolicy object applies.  The array of ingress rules is applied to any pods selected by this field. Multiple network policies can select the same set of pods.  In this case, the ingress rules for each are combined additively. This field is NOT optional and follows standard label selector semantics. An empty podSelector matches all pods in this namespace.",
    ),
    AGE,
  ],
  row: (np, now) => ({
    cells: [name(np), formatLabelSelector(rec(np["spec"])["podSelector"]), age(np, now)],
  }),
};

const poddisruptionbudgets: Printer = {
  columns: [
    NAME,
    col(
      "Min Available",
      'The minimum number of pods that must be available simultaneously. This can be either an integer or a string specifying a percentage, e.g. "28%".',
    ),
    col(
      "Max Unavailable",
      'The maximum number of pods that may be unavailable simultaneously. This can be either an integer or a string specifying a percentage, e.g. "28%".',
    ),
    col("Allowed Disruptions", "Calculated number of pods that may be disrupted at this time.", {
      type: "integer",
    }),
    AGE,
  ],
  row(pdb, now) {
    const spec = rec(pdb["spec"]);
    const show = (v: unknown) => (v === undefined || v === null ? "N/A" : String(v));
    return {
      cells: [
        name(pdb),
        show(spec["minAvailable"]),
        show(spec["maxUnavailable"]),
        int(rec(pdb["status"])["disruptionsAllowed"]),
        age(pdb, now),
      ],
    };
  },
};

const priorityclasses: Printer = {
  columns: [
    NAME,
    col("Value", "value represents the integer value of this priority class.", { type: "integer" }),
    col(
      "Global-Default",
      "globalDefault specifies whether this PriorityClass should be considered as the default priority.",
      { type: "boolean" },
    ),
    AGE,
    col(
      "PreemptionPolicy",
      "preemptionPolicy is the Policy for preempting pods with lower priority.",
    ),
  ],
  row(pc, now) {
    return {
      cells: [
        name(pc),
        int(pc["value"]),
        pc["globalDefault"] === true ? "true" : "false",
        age(pc, now),
        text(pc["preemptionPolicy"]),
      ],
    };
  },
};

const resourcequotas: Printer = {
  columns: [
    NAME,
    AGE,
    col(
      "Request",
      "Request represents a minimum amount of cpu/memory that a container may consume.",
    ),
    col(
      "Limit",
      "Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node.",
    ),
  ],
  row(rq, now) {
    const status = rec(rq["status"]);
    const hard = rec(status["hard"]);
    const used = rec(status["used"]);
    const requests: string[] = [];
    const limits: string[] = [];
    for (const r of Object.keys(hard).sort()) {
      const cell = `${r}: ${used[r] === undefined ? "0" : String(used[r])}/${String(hard[r])}`;
      (r.startsWith("limits.") ? limits : requests).push(cell);
    }
    return { cells: [name(rq), age(rq, now), requests.join(", "), limits.join(", ")] };
  },
};

// RoleBinding and ClusterRoleBinding: the role they grant and whom (Users, Groups and
// ServiceAccounts are wide columns). Roles print the default Name and Created At.
const bindings: Printer = {
  columns: [
    NAME,
    col("Role", "RoleRef is the reference to the role the binding grants."),
    AGE,
    col("Users", "Users in the binding", { priority: 1 }),
    col("Groups", "Groups in the binding", { priority: 1 }),
    col("ServiceAccounts", "ServiceAccounts in the binding", { priority: 1 }),
  ],
  row(b, now) {
    const ref = rec(b["roleRef"]);
    const subjects = list(b["subjects"]).map(rec);
    const of = (kind: string) =>
      subjects
        .filter((s) => s["kind"] === kind)
        .map((s) =>
          kind === "ServiceAccount"
            ? `${text(s["namespace"])}/${text(s["name"])}`
            : text(s["name"]),
        )
        .join(", ");
    return {
      cells: [
        name(b),
        `${text(ref["kind"])}/${text(ref["name"])}`,
        age(b, now),
        of("User"),
        of("Group"),
        of("ServiceAccount"),
      ],
    };
  },
};

// Mutating and validating webhook configurations print the same columns.
const webhookconfigurations: Printer = {
  columns: [
    NAME,
    col("Webhooks", "Webhooks indicates the number of webhooks in the configuration.", {
      type: "integer",
    }),
    AGE,
  ],
  row: (c, now) => ({ cells: [name(c), list(c["webhooks"]).length, age(c, now)] }),
};

const validatingadmissionpolicies: Printer = {
  columns: [
    NAME,
    col(
      "Validations",
      "Validations indicates the number of validation rules defined in this configuration",
      {
        type: "integer",
      },
    ),
    col("ParamKind", "ParamKind specifies the kind of resources used to parameterize this policy"),
    AGE,
  ],
  row(p, now) {
    const spec = rec(p["spec"]);
    const kind = spec["paramKind"] ? rec(spec["paramKind"]) : undefined;
    const paramKind = kind ? `${text(kind["apiVersion"])}/${text(kind["kind"])}` : "<unset>";
    return { cells: [name(p), list(spec["validations"]).length, paramKind, age(p, now)] };
  },
};

const validatingadmissionpolicybindings: Printer = {
  columns: [
    NAME,
    col(
      "PolicyName",
      "PolicyName indicates the policy definition which the policy binding binded to",
    ),
    col("ParamRef", "ParamRef indicates the param resource which sets the configration param"),
    AGE,
  ],
  row(b, now) {
    const spec = rec(b["spec"]);
    let paramRef = "<unset>";
    if (spec["paramRef"]) {
      const ref = rec(spec["paramRef"]);
      const ns = text(ref["namespace"]);
      paramRef = `${ns || "*"}/${text(ref["name"])}`;
    }
    return { cells: [name(b), text(spec["policyName"]), paramRef, age(b, now)] };
  },
};

/** Rule hosts as Kubernetes prints them: the first 3 named ones, "*" when none is named. */
function ingressHosts(rules: J[]): string {
  const max = 3;
  const hosts = rules
    .slice(0, max)
    .map((r) => text(r["host"]))
    .filter(Boolean);
  if (hosts.length === 0) return "*";
  const more = rules.length > max ? ` + ${rules.length - max} more...` : "";
  return hosts.join(",") + more;
}

const ingresses: Printer = {
  columns: [
    NAME,
    col("Class", "ingressClassName is the name of an IngressClass cluster resource."),
    col("Hosts", "Hosts that incoming requests are matched against."),
    col("Address", "Address is a list containing ingress points for the load-balancer"),
    col("Ports", "Ports of TLS configurations that open"),
    AGE,
  ],
  row(ing, now) {
    const spec = rec(ing["spec"]);
    const addresses = list(rec(rec(ing["status"])["loadBalancer"])["ingress"])
      .map(rec)
      .map((i) => text(i["ip"]) || text(i["hostname"]))
      .filter(Boolean);
    return {
      cells: [
        name(ing),
        text(spec["ingressClassName"]) || "<none>",
        ingressHosts(list(spec["rules"]).map(rec)),
        addresses.join(","),
        list(spec["tls"]).length > 0 ? "80, 443" : "80",
        age(ing, now),
      ],
    };
  },
};

const ingressclasses: Printer = {
  columns: [
    NAME,
    col("Controller", "Controller that is responsible for handling this class"),
    col("Parameters", "A reference to a resource with additional parameters"),
    AGE,
  ],
  row(c, now) {
    const spec = rec(c["spec"]);
    let params = "<none>";
    if (spec["parameters"]) {
      const p = rec(spec["parameters"]);
      const group = text(p["apiGroup"]);
      params = `${text(p["kind"])}${group ? `.${group}` : ""}/${text(p["name"])}`;
    }
    return { cells: [name(c), text(spec["controller"]), params, age(c, now)] };
  },
};

const flowschemas: Printer = {
  columns: [
    NAME,
    col(
      "PriorityLevel",
      "priorityLevelConfiguration should reference a PriorityLevelConfiguration object in the cluster.",
    ),
    col(
      "MatchingPrecedence",
      "matchingPrecedence is used to choose among the FlowSchemas that match a given request.",
      { type: "integer" },
    ),
    col(
      "DistinguisherMethod",
      "distinguisherMethod defines how to compute the flow distinguisher for requests that match this schema.",
    ),
    AGE,
    col(
      "MissingPL",
      "indicates whether the priority level referenced by this FlowSchema is missing",
    ),
  ],
  row(fs, now) {
    const spec = rec(fs["spec"]);
    const dm = spec["distinguisherMethod"] ? text(rec(spec["distinguisherMethod"])["type"]) : "*";
    const dangling = list(rec(fs["status"])["conditions"])
      .map(rec)
      .find((c) => c["type"] === "Dangling");
    return {
      cells: [
        name(fs),
        text(rec(spec["priorityLevelConfiguration"])["name"]),
        int(spec["matchingPrecedence"]),
        dm,
        age(fs, now),
        dangling ? text(dangling["status"]) : "?",
      ],
    };
  },
};

const prioritylevelconfigurations: Printer = {
  columns: [
    NAME,
    col(
      "Type",
      "type indicates whether this priority level is subject to limitation on request execution.",
    ),
    col(
      "NominalConcurrencyShares",
      "nominalConcurrencyShares (NCS) contributes to the computation of the NominalConcurrencyLimit (NominalCL) of this level.",
    ),
    col("Queues", "queues is the number of queues for this priority level."),
    col(
      "HandSize",
      "handSize is a small positive number that configures the shuffle sharding of requests into queues.",
    ),
    col(
      "QueueLengthLimit",
      "queueLengthLimit is the maximum number of requests allowed to be waiting in a given queue of this priority level at a time.",
    ),
    AGE,
  ],
  row(pl, now) {
    const spec = rec(pl["spec"]);
    const cells: (string | number)[] = ["<none>", "<none>", "<none>", "<none>"];
    if (spec["limited"]) {
      const lim = rec(spec["limited"]);
      cells[0] = int(lim["nominalConcurrencyShares"]);
      const q = rec(rec(lim["limitResponse"])["queuing"]);
      if (rec(lim["limitResponse"])["queuing"]) {
        cells[1] = int(q["queues"]);
        cells[2] = int(q["handSize"]);
        cells[3] = int(q["queueLengthLimit"]);
      }
    }
    return { cells: [name(pl), text(spec["type"]), ...cells, age(pl, now)] };
  },
};

// Kinds without a printer get Kubernetes' default table: name and creation time.
const fallback: Printer = {
  columns: [
    NAME,
    col(
      "Created At",
      "CreationTimestamp is a timestamp representing the server time when this object was created.",
      {
        type: "date",
      },
    ),
  ],
  row: (o) => ({
    cells: [name(o), text(rec(o["metadata"])["creationTimestamp"])],
  }),
};

const PRINTERS: Record<string, Printer> = {
  "/pods": pods,
  "/nodes": nodes,
  "/services": services,
  "/endpoints": endpoints,
  "discovery.k8s.io/endpointslices": endpointslices,
  "/namespaces": namespaces,
  "/configmaps": configmaps,
  "/secrets": secrets,
  "/serviceaccounts": serviceaccounts,
  "/events": events,
  "apps/deployments": deployments,
  "apps/replicasets": replicasets,
  "/replicationcontrollers": replicationcontrollers,
  "apps/daemonsets": daemonsets,
  "apps/statefulsets": statefulsets,
  "apps/controllerrevisions": controllerrevisions,
  "/persistentvolumeclaims": persistentvolumeclaims,
  "/persistentvolumes": persistentvolumes,
  "storage.k8s.io/storageclasses": storageclasses,
  "batch/jobs": jobs,
  "batch/cronjobs": cronjobs,
  "policy/poddisruptionbudgets": poddisruptionbudgets,
  "scheduling.k8s.io/priorityclasses": priorityclasses,
  "/resourcequotas": resourcequotas,
  "coordination.k8s.io/leases": leases,
  "autoscaling/horizontalpodautoscalers": horizontalpodautoscalers,
  "rbac.authorization.k8s.io/rolebindings": bindings,
  "rbac.authorization.k8s.io/clusterrolebindings": bindings,
  "admissionregistration.k8s.io/mutatingwebhookconfigurations": webhookconfigurations,
  "admissionregistration.k8s.io/validatingwebhookconfigurations": webhookconfigurations,
  "admissionregistration.k8s.io/validatingadmissionpolicies": validatingadmissionpolicies,
  "networking.k8s.io/ingresses": ingresses,
  "networking.k8s.io/ingressclasses": ingressclasses,
  "flowcontrol.apiserver.k8s.io/flowschemas": flowschemas,
  "flowcontrol.apiserver.k8s.io/prioritylevelconfigurations": prioritylevelconfigurations,
  "admissionregistration.k8s.io/validatingadmissionpolicybindings":
    validatingadmissionpolicybindings,
  "networking.k8s.io/networkpolicies": networkpolicies,
};

/**
 * A custom resource's table: Name, then the CRD's additionalPrinterColumns (Age when it
 * has none), cells typed as the column says; "date" cells show the age, as Kubernetes'.
 */
function customPrinter(info: ResourceInfo): Printer {
  const defined = info.custom?.printerColumns ?? [];
  const columns = defined.length
    ? defined
    : [{ name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp", description: "" }];
  return {
    columns: [
      NAME,
      ...columns.map((c) => ({
        name: c.name,
        type: c.type as TableColumnDefinition["type"],
        format: c.format ?? "",
        description: c.description ?? "",
        priority: c.priority ?? 0,
      })),
    ],
    row: (o, now) => ({
      cells: [name(o), ...columns.map((c) => customCell(c.type, readJsonPath(o, c.jsonPath), now))],
    }),
  };
}

function customCell(type: string, v: unknown, now: number): Cell {
  if (v === undefined || v === null) return null;
  switch (type) {
    case "integer":
      return typeof v === "number" ? Math.trunc(v) : null;
    case "number":
      return typeof v === "number" ? v : null;
    case "boolean":
      return typeof v === "boolean" ? v : null;
    case "date": {
      if (typeof v !== "string") return null;
      const t = Date.parse(v);
      return Number.isNaN(t) ? "<invalid>" : humanDuration(now - t);
    }
    default:
      return typeof v === "string" ? v : JSON.stringify(v);
  }
}

function printerFor(info: ResourceInfo): Printer {
  if (info.custom) return customPrinter(info);
  return PRINTERS[`${info.group}/${info.resource}`] ?? fallback;
}

/** The column definitions of a kind's table, wide (priority 1) columns included. */
export function tableColumns(info: ResourceInfo): TableColumnDefinition[] {
  return printerFor(info).columns.map((c) => ({ ...c }));
}

/**
 * Builds a meta.k8s.io/v1 Table for objects of one kind. Rows always carry the wide columns;
 * kubectl hides priority-1 columns unless asked for -o wide.
 */
export function toTable(info: ResourceInfo, objects: object[], opts: TableOptions = {}): Table {
  const printer = printerFor(info);
  const now = (opts.now ?? new Date()).getTime();
  const include = opts.includeObject ?? "Metadata";
  const metadata: Table["metadata"] = {};
  if (opts.resourceVersion !== undefined) metadata.resourceVersion = opts.resourceVersion;
  if (opts.continue) metadata.continue = opts.continue;
  if (opts.remainingItemCount !== undefined) metadata.remainingItemCount = opts.remainingItemCount;
  const rows = objects.map((o): TableRow => {
    const obj = rec(o);
    const row: TableRow = printer.row(obj, now);
    if (include === "Object") row.object = o;
    else if (include === "Metadata") {
      row.object = {
        kind: "PartialObjectMetadata",
        apiVersion: "meta.k8s.io/v1",
        metadata: rec(obj["metadata"]),
      };
    }
    return row;
  });
  return {
    kind: "Table",
    apiVersion: "meta.k8s.io/v1",
    metadata,
    columnDefinitions: opts.noHeaders ? [] : tableColumns(info),
    rows,
  };
}
