// What the filters and scores read: a pod's computed requests (PodInfo) and a node with the
// pods placed on it and what they add up to (NodeInfo).
import { labelSelectorToRequirements, parseQuantity, type Requirement } from "@skiff/api/light";
import {
  podKey,
  type Container,
  type Node,
  type NodeSelectorTerm,
  type Pod,
  type PodAffinityTerm,
  type Taint,
} from "../types.js";

/** Resource amounts in the units the scheduler compares: millicores and bytes. */
export interface Resources {
  milliCPU: number;
  memory: number;
  ephemeralStorage: number;
  /** Extended resources ("nvidia.com/gpu", "hugepages-2Mi") by name. */
  scalar: Map<string, number>;
}

export const emptyResources = (): Resources => ({
  milliCPU: 0,
  memory: 0,
  ephemeralStorage: 0,
  scalar: new Map(),
});

// Scoring counts a container that requests nothing as if it asked for this much, so that
// pods without requests still spread (Kubernetes' DefaultMilliCPURequest and DefaultMemoryRequest).
export const defaultMilliCPURequest = 100;
export const defaultMemoryRequest = 200 * 1024 * 1024;

/** A quantity in base units, or 0 for one that does not parse (validation refuses those). */
function quantity(q: string | number | undefined, milli = false): number {
  if (q === undefined) return 0;
  try {
    const v = parseQuantity(q) * (milli ? 1000 : 1);
    return Math.ceil(v - 1e-9); // Kubernetes rounds (milli)values up
  } catch {
    return 0;
  }
}

/** Reads a ResourceList (requests, allocatable) into Resources; "pods" is returned apart. */
export function toResources(list: Record<string, string | number> | undefined): {
  res: Resources;
  pods: number;
} {
  const res = emptyResources();
  let pods = 0;
  for (const [name, q] of Object.entries(list ?? {})) {
    if (name === "cpu") res.milliCPU = quantity(q, true);
    else if (name === "memory") res.memory = quantity(q);
    else if (name === "ephemeral-storage") res.ephemeralStorage = quantity(q);
    else if (name === "pods") pods = quantity(q);
    else res.scalar.set(name, quantity(q));
  }
  return { res, pods };
}

function addTo(into: Resources, r: Resources, sign = 1): void {
  into.milliCPU += sign * r.milliCPU;
  into.memory += sign * r.memory;
  into.ephemeralStorage += sign * r.ephemeralStorage;
  for (const [k, v] of r.scalar) into.scalar.set(k, (into.scalar.get(k) ?? 0) + sign * v);
}

function maxInto(into: Resources, r: Resources): void {
  into.milliCPU = Math.max(into.milliCPU, r.milliCPU);
  into.memory = Math.max(into.memory, r.memory);
  into.ephemeralStorage = Math.max(into.ephemeralStorage, r.ephemeralStorage);
  for (const [k, v] of r.scalar) into.scalar.set(k, Math.max(into.scalar.get(k) ?? 0, v));
}

const requestsOf = (c: Container): Resources => toResources(c.resources?.requests).res;

/**
 * A pod's effective request, as Kubernetes counts it: the sum over app containers, or the
 * largest init container if that is more (init containers run one at a time, before the app
 * containers); sidecars (init containers with restartPolicy Always) keep running, so they add
 * to both. Pod overhead is added on top.
 */
export function podRequests(pod: Pod, nonZero = false): Resources {
  const one = (c: Container): Resources => {
    const r = requestsOf(c);
    if (nonZero) {
      if (r.milliCPU === 0) r.milliCPU = defaultMilliCPURequest;
      if (r.memory === 0) r.memory = defaultMemoryRequest;
    }
    return r;
  };
  const total = emptyResources();
  for (const c of pod.spec.containers ?? []) addTo(total, one(c));
  const sidecars = emptyResources();
  const initPeak = emptyResources();
  for (const c of pod.spec.initContainers ?? []) {
    const r = one(c);
    if (c.restartPolicy === "Always") {
      addTo(total, r);
      addTo(sidecars, r);
      maxInto(initPeak, sidecars);
    } else {
      addTo(r, sidecars);
      maxInto(initPeak, r);
    }
  }
  maxInto(total, initPeak);
  if (pod.spec.overhead) addTo(total, toResources(pod.spec.overhead).res);
  return total;
}

export interface HostPort {
  protocol: string;
  ip: string;
  port: number;
}

/** A required (anti-)affinity term made ready to match pods. */
export interface AffinityTerm {
  topologyKey: string;
  /** undefined: every namespace. */
  namespaces: Set<string> | undefined;
  selector: Requirement[] | undefined; // undefined: the term matches no pod
}

function parseTerm(term: PodAffinityTerm, podNamespace: string): AffinityTerm {
  let selector: Requirement[] | undefined;
  try {
    selector = term.labelSelector ? labelSelectorToRequirements(term.labelSelector) : undefined;
  } catch {
    selector = undefined;
  }
  const listed = term.namespaces ?? [];
  // An empty namespaceSelector ({}) means every namespace; without one the pod's own namespace.
  const allNamespaces =
    term.namespaceSelector !== undefined && Object.keys(term.namespaceSelector).length === 0;
  const namespaces = allNamespaces
    ? undefined
    : new Set(listed.length > 0 ? listed : [podNamespace]);
  return { topologyKey: term.topologyKey, namespaces, selector };
}

/** A pod with what the scheduler computes from it once. */
export interface PodInfo {
  pod: Pod;
  key: string;
  requests: Resources;
  /** cpu and memory with the scoring defaults for containers that request none. */
  nonZero: Resources;
  hostPorts: HostPort[];
  requiredAntiAffinity: AffinityTerm[];
  /** The images of every container (init ones included), normalized as nodes report them. */
  images: string[];
  /** Node terms of the pod's bound volumes (volumes.ts): a node must match one of each. */
  volumeNodeTerms?: NodeSelectorTerm[][];
}

export function newPodInfo(pod: Pod): PodInfo {
  const hostPorts: HostPort[] = [];
  for (const c of pod.spec.containers ?? []) {
    for (const p of c.ports ?? []) {
      if (p.hostPort && p.hostPort > 0)
        hostPorts.push({
          protocol: p.protocol || "TCP",
          ip: p.hostIP || "0.0.0.0",
          port: p.hostPort,
        });
    }
  }
  const ns = pod.metadata.namespace ?? "";
  const anti =
    pod.spec.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? [];
  return {
    pod,
    key: podKey(pod),
    requests: podRequests(pod),
    nonZero: podRequests(pod, true),
    hostPorts,
    requiredAntiAffinity: anti.map((t) => parseTerm(t, ns)),
    images: [...(pod.spec.initContainers ?? []), ...(pod.spec.containers ?? [])].flatMap((c) =>
      c.image ? [normalizedImageName(c.image)] : [],
    ),
  };
}

/** Image names as the kubelet reports them carry a tag; a bare name means :latest. */
export function normalizedImageName(image: string): string {
  const lastSlash = image.lastIndexOf("/");
  const tail = image.slice(lastSlash + 1);
  return image.includes("@") || tail.includes(":") ? image : `${image}:latest`;
}

/** A node and the pods placed on it (bound, or assumed while binding). */
export class NodeInfo {
  node: Node | undefined;
  readonly pods = new Map<string, PodInfo>();
  readonly requested = emptyResources();
  readonly nonZeroRequested = emptyResources();
  allocatable = emptyResources();
  allowedPodNumber = 0;
  /** "TCP/8080" → host IP → how many pods use it. */
  readonly usedPorts = new Map<string, Map<string, number>>();
  /** How many of the pods have required anti-affinity terms. */
  podsWithRequiredAntiAffinity = 0;
  /** Normalized image name → size in bytes. */
  imageSizes = new Map<string, number>();
  // What the filters read for every node of every cycle, taken from the Node once when it
  // changes: fields of this class read faster than paths into a decoded Node object.
  /** spec.unschedulable. */
  unschedulable = false;
  /** spec.taints. */
  taints: Taint[] = [];
  private nodeLabels: Record<string, string> = {};

  constructor(readonly name: string) {}

  setNode(node: Node | undefined): void {
    this.node = node;
    this.unschedulable = node?.spec?.unschedulable === true;
    this.taints = node?.spec?.taints ?? [];
    this.nodeLabels = node?.metadata.labels ?? {};
    if (!node) return;
    const { res, pods } = toResources(node.status?.allocatable ?? node.status?.capacity);
    this.allocatable = res;
    this.allowedPodNumber = pods;
    this.imageSizes = new Map();
    for (const image of node.status?.images ?? []) {
      for (const name of image.names ?? []) {
        // Pods say "nginx" where the runtime reports "docker.io/library/nginx:latest".
        const full = normalizedImageName(name);
        this.imageSizes.set(full, image.sizeBytes ?? 0);
        const short = full.replace(/^docker\.io\/(library\/)?/, "");
        if (short !== full) this.imageSizes.set(short, image.sizeBytes ?? 0);
      }
    }
  }

  addPod(pi: PodInfo): void {
    this.removePod(pi.key);
    this.pods.set(pi.key, pi);
    this.account(pi, 1);
  }

  removePod(key: string): boolean {
    const pi = this.pods.get(key);
    if (!pi) return false;
    this.pods.delete(key);
    this.account(pi, -1);
    return true;
  }

  private account(pi: PodInfo, sign: 1 | -1): void {
    addTo(this.requested, pi.requests, sign);
    this.nonZeroRequested.milliCPU += sign * pi.nonZero.milliCPU;
    this.nonZeroRequested.memory += sign * pi.nonZero.memory;
    if (pi.requiredAntiAffinity.length > 0) this.podsWithRequiredAntiAffinity += sign;
    for (const p of pi.hostPorts) {
      const key = `${p.protocol}/${p.port}`;
      let ips = this.usedPorts.get(key);
      if (!ips) this.usedPorts.set(key, (ips = new Map()));
      const n = (ips.get(p.ip) ?? 0) + sign;
      if (n > 0) ips.set(p.ip, n);
      else ips.delete(p.ip);
      if (ips.size === 0) this.usedPorts.delete(key);
    }
  }

  /** Whether a host port is taken: same protocol and port, and either side listens on 0.0.0.0 or both on one IP. */
  portInUse(p: HostPort): boolean {
    const ips = this.usedPorts.get(`${p.protocol}/${p.port}`);
    if (!ips) return false;
    return p.ip === "0.0.0.0" || ips.has("0.0.0.0") || ips.has(p.ip);
  }

  labels(): Record<string, string> {
    return this.nodeLabels;
  }
}

export { podKey };
