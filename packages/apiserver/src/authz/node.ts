// The Node authorizer: a kubelet (user system:node:<name> in group system:nodes) may read and
// write its own Node and Lease and the pods bound to it, and read only the Secrets,
// ConfigMaps, PersistentVolumeClaims, PersistentVolumes and ServiceAccount tokens those pods
// use. Kubernetes keeps a graph of these relationships; here the pods bound to the node are
// walked from the watch cache at each request, which is the same answer at Skiff's size.
// Everything else a kubelet needs comes from the system:node role's static rules. Decisions
// and reasons follow Kubernetes' Node authorizer (with AuthorizeNodeWithSelectors); where it
// allows a write to any Node or Lease, NodeRestriction admission (index.ts) checks the name.
import { podReferences, type Pod, type PolicyRule } from "@skiff/api";
import type { Attributes } from "./attributes.js";
import { selectedValue } from "./attributes.js";
import type { Authorizer, Decision } from "./authorizer.js";
import { rulesAllow } from "./rbac.js";

export const NODES_GROUP = "system:nodes";
const NODE_PREFIX = "system:node:";
export const NODE_LEASE_NAMESPACE = "kube-node-lease";

export interface NodeGraphSource {
  /** Pods bound to the node (spec.nodeName). */
  podsOnNode(node: string): Promise<Pod[]>;
  pod(namespace: string, name: string): Promise<Pod | undefined>;
  /** The volumeName a claim is bound to. */
  claimVolume(namespace: string, claim: string): Promise<string | undefined>;
}

/** The node a user is, or undefined when the user is not a node. */
export function nodeIdentity(user: { name: string; groups: string[] }): string | undefined {
  if (!user.groups.includes(NODES_GROUP) || !user.name.startsWith(NODE_PREFIX)) return undefined;
  return user.name.slice(NODE_PREFIX.length) || undefined;
}

const READ = ["get", "list", "watch"];
// The system:node rules for what the graph does not govern (facts from Kubernetes' policy).
const NODE_RULES: PolicyRule[] = [
  { verbs: ["create"], apiGroups: ["authentication.k8s.io"], resources: ["tokenreviews"] },
  {
    verbs: ["create"],
    apiGroups: ["authorization.k8s.io"],
    resources: ["subjectaccessreviews", "localsubjectaccessreviews"],
  },
  { verbs: READ, apiGroups: [""], resources: ["services"] },
  { verbs: ["create", "patch", "update"], apiGroups: ["", "events.k8s.io"], resources: ["events"] },
  { verbs: ["get"], apiGroups: [""], resources: ["endpoints"] },
];

const allow: Decision = { decision: "allow", reason: "" };
const noOpinion = (reason: string): Decision => ({ decision: "noopinion", reason });

/**
 * A kubelet reads only its own Node; it may create, update and patch Nodes and their status,
 * and NodeRestriction admission limits those writes to its own Node (as in Kubernetes).
 */
function ownNode(node: string, attrs: Attributes): Decision {
  const { verb, subresource } = attrs;
  if (subresource === "status") return ["update", "patch"].includes(verb) ? allow : noOpinion("");
  if (subresource) return noOpinion("");
  if (["create", "update", "patch"].includes(verb)) return allow;
  if (!["get", "list", "watch"].includes(verb)) return noOpinion("");
  if (attrs.name === node) return allow;
  if (!attrs.name)
    return noOpinion(`node '${node}' cannot read all nodes, only its own Node object`);
  return noOpinion(`node '${node}' cannot read '${attrs.name}', only its own Node object`);
}

export class NodeAuthorizer implements Authorizer {
  constructor(private readonly source: NodeGraphSource) {}

  async authorize(attrs: Attributes): Promise<Decision> {
    const node = nodeIdentity(attrs.user);
    if (node === undefined) return noOpinion("");
    if (!attrs.resourceRequest) return noOpinion("");
    const { apiGroup: group, resource, subresource, verb } = attrs;
    if (group === "") {
      switch (resource) {
        case "secrets":
        case "configmaps":
          if (!READ.includes(verb)) return noOpinion("can only read resources of this type");
          if (subresource) return noOpinion("cannot read subresource");
          if (!attrs.namespace) return noOpinion("can only read namespaced object of this type");
          return this.related(node, attrs);
        case "persistentvolumeclaims":
        case "persistentvolumes":
          // A kubelet writes the status of the claims its pods use (volume expansion).
          if (resource === "persistentvolumeclaims" && subresource === "status") {
            if (verb !== "update" && verb !== "patch")
              return noOpinion("can only get/update/patch this type");
            return this.related(node, attrs);
          }
          if (verb !== "get") return noOpinion("can only get individual resources of this type");
          if (subresource) return noOpinion("cannot get subresource");
          return this.related(node, attrs);
        case "serviceaccounts":
          if (verb !== "create" || !attrs.name)
            return noOpinion("can only create tokens for individual service accounts");
          if (subresource !== "token")
            return noOpinion("can only create token subresource of serviceaccount");
          return this.related(node, attrs);
        case "nodes":
          return ownNode(node, attrs);
        case "pods":
          return this.pods(node, attrs);
      }
    }
    if (group === "coordination.k8s.io" && resource === "leases") {
      if (!["get", "create", "update", "patch", "delete"].includes(verb))
        return noOpinion("can only get, create, update, patch, or delete a node lease");
      if (attrs.namespace !== NODE_LEASE_NAMESPACE)
        return noOpinion(
          `can only access leases in the "${NODE_LEASE_NAMESPACE}" system namespace`,
        );
      // The name of a lease being created is checked by NodeRestriction admission.
      if (verb !== "create" && attrs.name !== node)
        return noOpinion("can only access node lease with the same name as the requesting node");
      return allow;
    }
    return rulesAllow(attrs, NODE_RULES) ? allow : noOpinion("");
  }

  private async pods(node: string, attrs: Attributes): Promise<Decision> {
    const { verb, subresource } = attrs;
    if (!subresource && (verb === "list" || verb === "watch")) {
      if (selectedValue(attrs, "spec.nodeName") === node) return allow;
      return noOpinion(`can only list/watch pods with spec.nodeName field selector`);
    }
    // Mirror pods: NodeRestriction admission checks what is created.
    if (!subresource && verb === "create") return allow;
    const allowed =
      (!subresource && ["get", "delete"].includes(verb)) ||
      (subresource === "status" && ["update", "patch"].includes(verb)) ||
      (subresource === "eviction" && verb === "create");
    if (!allowed || !attrs.name) return noOpinion("");
    const pod = await this.source.pod(attrs.namespace, attrs.name);
    // A pod that does not exist reveals nothing: the request gets its 404.
    if (!pod || pod.spec?.nodeName === node) return allow;
    return noOpinion(`no relationship found between node '${node}' and this object`);
  }

  private async related(node: string, attrs: Attributes): Promise<Decision> {
    if (!attrs.name) return noOpinion("No Object name found");
    const none = noOpinion(`no relationship found between node '${node}' and this object`);
    const pods = await this.source.podsOnNode(node);
    if (attrs.resource === "persistentvolumes") {
      for (const pod of pods) {
        const ns = pod.metadata?.namespace ?? "";
        for (const claim of podReferences(pod).persistentvolumeclaims!)
          if ((await this.source.claimVolume(ns, claim)) === attrs.name) return allow;
      }
      return none;
    }
    const found = pods.some(
      (p) =>
        p.metadata?.namespace === attrs.namespace &&
        podReferences(p)[attrs.resource]?.has(attrs.name),
    );
    return found ? allow : none;
  }
}
