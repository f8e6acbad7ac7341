// networking.k8s.io/v1 NetworkPolicy (Kubernetes 1.31 has no status: it was removed in 1.28).
import type { Static } from "@sinclair/typebox";
import { atomic, int32, intOrString, named, opt, str, typeMeta } from "./helpers.js";
import { LabelSelectorSchema, ObjectMetaSchema } from "./meta.js";

const NETWORKING = "io.k8s.api.networking.v1";

export const IPBlockSchema = named(`${NETWORKING}.IPBlock`, {
  cidr: str(),
  except: opt(atomic(str())),
});
export type IPBlock = Static<typeof IPBlockSchema>;

export const NetworkPolicyPeerSchema = named(`${NETWORKING}.NetworkPolicyPeer`, {
  podSelector: opt(LabelSelectorSchema),
  namespaceSelector: opt(LabelSelectorSchema),
  ipBlock: opt(IPBlockSchema),
});
export type NetworkPolicyPeer = Static<typeof NetworkPolicyPeerSchema>;

export const NetworkPolicyPortSchema = named(`${NETWORKING}.NetworkPolicyPort`, {
  protocol: opt(str({ default: "TCP" })),
  port: opt(intOrString()),
  endPort: opt(int32()),
});
export type NetworkPolicyPort = Static<typeof NetworkPolicyPortSchema>;

export const NetworkPolicyIngressRuleSchema = named(`${NETWORKING}.NetworkPolicyIngressRule`, {
  ports: opt(atomic(NetworkPolicyPortSchema)),
  from: opt(atomic(NetworkPolicyPeerSchema)),
});
export type NetworkPolicyIngressRule = Static<typeof NetworkPolicyIngressRuleSchema>;

export const NetworkPolicyEgressRuleSchema = named(`${NETWORKING}.NetworkPolicyEgressRule`, {
  ports: opt(atomic(NetworkPolicyPortSchema)),
  to: opt(atomic(NetworkPolicyPeerSchema)),
});
export type NetworkPolicyEgressRule = Static<typeof NetworkPolicyEgressRuleSchema>;

export const NetworkPolicySpecSchema = named(`${NETWORKING}.NetworkPolicySpec`, {
  podSelector: LabelSelectorSchema,
  ingress: opt(atomic(NetworkPolicyIngressRuleSchema)),
  egress: opt(atomic(NetworkPolicyEgressRuleSchema)),
  policyTypes: opt(atomic(str())),
});
export type NetworkPolicySpec = Static<typeof NetworkPolicySpecSchema>;

export const NetworkPolicySchema = named(`${NETWORKING}.NetworkPolicy`, {
  ...typeMeta,
  metadata: opt(ObjectMetaSchema),
  spec: opt(NetworkPolicySpecSchema),
});
export type NetworkPolicy = Static<typeof NetworkPolicySchema>;

/** spec.policyTypes' values. */
export const POLICY_TYPES = ["Ingress", "Egress"] as const;
