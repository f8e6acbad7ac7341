// Filter plugins: pure functions that say whether a pod may go on a node, and if not, why,
// in the words Kubernetes 1.31 uses in FailedScheduling messages. They run in the order of
// Kubernetes' default profile and the first failure decides.
import { matchesLabels, nodeSelectorRequirementMatches } from "@skiff/api/light";
import type { NodeSelectorTerm, Taint, Toleration } from "../types.js";
import type { AffinityTerm, NodeInfo, PodInfo } from "./nodeinfo.js";

/**
 * Unschedulable: removing pods from the node might make room (preemption could help).
 * UnschedulableAndUnresolvable: nothing short of changing the node or the pod helps.
 */
export type FailureCode = "Unschedulable" | "UnschedulableAndUnresolvable";

export interface FilterFailure {
  plugin: string;
  code: FailureCode;
  reasons: string[];
}

export const reasons = {
  unschedulable: "node(s) were unschedulable",
  nodeName: "node(s) didn't match the requested node name",
  nodeAffinity: "node(s) didn't match Pod's node affinity/selector",
  nodePorts: "node(s) didn't have free ports for the requested pod ports",
  tooManyPods: "Too many pods",
  antiAffinity: "node(s) didn't match pod anti-affinity rules",
  existingAntiAffinity: "node(s) didn't satisfy existing pods anti-affinity rules",
  insufficient: (resource: string) => `Insufficient ${resource}`,
  volumeNodeAffinity: "node(s) had volume node affinity conflict",
  untoleratedTaint: (t: Taint) => `node(s) had untolerated taint {${t.key}: ${t.value ?? ""}}`,
};

/** Per-cycle facts computed once for the pod being scheduled, shared by every node's filters. */
export interface CycleState {
  pod: PodInfo;
  /** Topology key → values of domains holding a pod the incoming pod's anti-affinity rejects. */
  antiAffinityDomains: Map<string, Set<string>>;
  /** Topology key → values of domains holding a pod whose anti-affinity rejects the incoming pod. */
  existingAntiAffinityDomains: Map<string, Set<string>>;
}

export type FilterFn = (state: CycleState, node: NodeInfo) => FilterFailure | undefined;

const fail = (plugin: string, code: FailureCode, ...rs: string[]): FilterFailure => ({
  plugin,
  code,
  reasons: rs,
});

/** Whether one toleration tolerates one taint (Kubernetes' ToleratesTaint). */
export function toleratesTaint(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  switch (t.operator ?? "Equal") {
    case "Exists":
      return true;
    case "":
    case "Equal":
      return (t.value ?? "") === (taint.value ?? "");
    default:
      return false;
  }
}

const tolerated = (tolerations: Toleration[] | undefined, taint: Taint): boolean =>
  (tolerations ?? []).some((t) => toleratesTaint(t, taint));

export const nodeUnschedulable: FilterFn = ({ pod }, node) => {
  if (!node.unschedulable) return undefined;
  const taint = { key: "node.kubernetes.io/unschedulable", effect: "NoSchedule" };
  if (tolerated(pod.pod.spec.tolerations, taint)) return undefined;
  return fail("NodeUnschedulable", "UnschedulableAndUnresolvable", reasons.unschedulable);
};

export const nodeName: FilterFn = ({ pod }, node) => {
  const want = pod.pod.spec.nodeName;
  if (!want || want === node.name) return undefined;
  return fail("NodeName", "UnschedulableAndUnresolvable", reasons.nodeName);
};

export const taintToleration: FilterFn = ({ pod }, node) => {
  for (const taint of node.taints) {
    if (taint.effect !== "NoSchedule" && taint.effect !== "NoExecute") continue;
    if (!tolerated(pod.pod.spec.tolerations, taint)) {
      return fail(
        "TaintToleration",
        "UnschedulableAndUnresolvable",
        reasons.untoleratedTaint(taint),
      );
    }
  }
  return undefined;
};

/** One nodeSelectorTerm: all its expressions and fields hold; an empty term matches nothing. */
export function nodeSelectorTermMatches(
  term: NodeSelectorTerm,
  name: string,
  labels: Record<string, string>,
): boolean {
  const exprs = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  if (exprs.length === 0 && fields.length === 0) return false;
  // metadata.name is the one field a node selector may name.
  const fieldSet = { "metadata.name": name };
  return (
    exprs.every((r) => nodeSelectorRequirementMatches(r, labels)) &&
    fields.every(
      (r) =>
        r.key === "metadata.name" &&
        (r.operator === "In" || r.operator === "NotIn") &&
        nodeSelectorRequirementMatches(r, fieldSet),
    )
  );
}

export const nodeAffinity: FilterFn = ({ pod }, node) => {
  const labels = node.labels();
  const spec = pod.pod.spec;
  let selectorOk = true;
  for (const k in spec.nodeSelector) {
    if (labels[k] !== spec.nodeSelector[k]) {
      selectorOk = false;
      break;
    }
  }
  const required = spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  const affinityOk =
    !required ||
    required.nodeSelectorTerms.some((t) => nodeSelectorTermMatches(t, node.name, labels));
  if (selectorOk && affinityOk) return undefined;
  return fail("NodeAffinity", "UnschedulableAndUnresolvable", reasons.nodeAffinity);
};

/** VolumeBinding: the node must be one every bound volume of the pod can be used on. */
export const volumeBinding: FilterFn = ({ pod }, node) => {
  const labels = node.labels();
  for (const terms of pod.volumeNodeTerms ?? []) {
    if (!terms.some((t) => nodeSelectorTermMatches(t, node.name, labels)))
      return fail("VolumeBinding", "UnschedulableAndUnresolvable", reasons.volumeNodeAffinity);
  }
  return undefined;
};

export const nodePorts: FilterFn = ({ pod }, node) => {
  if (pod.hostPorts.some((p) => node.portInUse(p)))
    return fail("NodePorts", "Unschedulable", reasons.nodePorts);
  return undefined;
};

/** Whether a request for `w` exceeds what is left of `alloc` after `req`. */
const short = (w: number, alloc: number, req: number) => w > 0 && w > alloc - req;

// Runs for every node considered for every pod: the common case (it fits) allocates nothing.
export const nodeResourcesFit: FilterFn = ({ pod }, node) => {
  const want = pod.requests;
  const have = node.allocatable;
  const used = node.requested;
  const tooMany = node.pods.size + 1 > node.allowedPodNumber;
  const cpu = short(want.milliCPU, have.milliCPU, used.milliCPU);
  const memory = short(want.memory, have.memory, used.memory);
  const storage = short(want.ephemeralStorage, have.ephemeralStorage, used.ephemeralStorage);
  let scalar = false;
  if (want.scalar.size > 0)
    for (const [name, q] of want.scalar)
      if (short(q, have.scalar.get(name) ?? 0, used.scalar.get(name) ?? 0)) scalar = true;
  if (!tooMany && !cpu && !memory && !storage && !scalar) return undefined;
  const out: string[] = [];
  if (tooMany) out.push(reasons.tooManyPods);
  if (cpu) out.push(reasons.insufficient("cpu"));
  if (memory) out.push(reasons.insufficient("memory"));
  if (storage) out.push(reasons.insufficient("ephemeral-storage"));
  for (const [name, q] of want.scalar)
    if (short(q, have.scalar.get(name) ?? 0, used.scalar.get(name) ?? 0))
      out.push(reasons.insufficient(name));
  return fail("NodeResourcesFit", "Unschedulable", ...out);
};

export const interPodAffinity: FilterFn = (state, node) => {
  const labels = node.labels();
  for (const [key, values] of state.existingAntiAffinityDomains) {
    const v = labels[key];
    if (v !== undefined && values.has(v))
      return fail("InterPodAffinity", "Unschedulable", reasons.existingAntiAffinity);
  }
  for (const term of state.pod.requiredAntiAffinity) {
    const v = labels[term.topologyKey];
    if (v !== undefined && state.antiAffinityDomains.get(term.topologyKey)?.has(v)) {
      return fail("InterPodAffinity", "Unschedulable", reasons.antiAffinity);
    }
  }
  return undefined;
};

/** The default profile's filters, in Kubernetes' order. */
export const defaultFilters: FilterFn[] = [
  nodeUnschedulable,
  nodeName,
  taintToleration,
  nodeAffinity,
  nodePorts,
  nodeResourcesFit,
  volumeBinding,
  interPodAffinity,
];

/** Runs the filters in order; the first failure is the node's verdict. */
export function runFilters(
  state: CycleState,
  node: NodeInfo,
  filters = defaultFilters,
): FilterFailure | undefined {
  for (const f of filters) {
    const failure = f(state, node);
    if (failure) return failure;
  }
  return undefined;
}

// ---- per-cycle precomputation -----------------------------------------------------------

/** Whether an existing pod falls under an affinity term owned by a pod. */
export function termMatchesPod(term: AffinityTerm, other: PodInfo): boolean {
  if (!term.selector) return false;
  if (term.namespaces && !term.namespaces.has(other.pod.metadata.namespace ?? "")) return false;
  return matchesLabels(term.selector, other.pod.metadata.labels);
}

/** Builds the cycle state: which topology domains the pod's and existing pods' anti-affinity rule out. */
export function newCycleState(pod: PodInfo, nodes: Iterable<NodeInfo>): CycleState {
  const antiAffinityDomains = new Map<string, Set<string>>();
  const existingAntiAffinityDomains = new Map<string, Set<string>>();
  const mark = (m: Map<string, Set<string>>, key: string, value: string | undefined) => {
    if (value === undefined) return;
    let s = m.get(key);
    if (!s) m.set(key, (s = new Set()));
    s.add(value);
  };
  const mine = pod.requiredAntiAffinity;
  for (const node of nodes) {
    if (mine.length === 0 && node.podsWithRequiredAntiAffinity === 0) continue;
    const labels = node.labels();
    for (const other of node.pods.values()) {
      if (other.key === pod.key) continue;
      for (const term of mine)
        if (termMatchesPod(term, other))
          mark(antiAffinityDomains, term.topologyKey, labels[term.topologyKey]);
      for (const term of other.requiredAntiAffinity)
        if (termMatchesPod(term, pod))
          mark(existingAntiAffinityDomains, term.topologyKey, labels[term.topologyKey]);
    }
  }
  return { pod, antiAffinityDomains, existingAntiAffinityDomains };
}
