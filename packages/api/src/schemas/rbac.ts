// rbac.authorization.k8s.io/v1: Role, ClusterRole, RoleBinding, ClusterRoleBinding.
import type { Static } from "@sinclair/typebox";
import { atomic, named, opt, str, typeMeta } from "./helpers.js";
import { LabelSelectorSchema, ObjectMetaSchema } from "./meta.js";

const RBAC = "io.k8s.api.rbac.v1";

export const PolicyRuleSchema = named(`${RBAC}.PolicyRule`, {
  verbs: atomic(str()),
  apiGroups: opt(atomic(str())),
  resources: opt(atomic(str())),
  resourceNames: opt(atomic(str())),
  nonResourceURLs: opt(atomic(str())),
});
export type PolicyRule = Static<typeof PolicyRuleSchema>;

export const AggregationRuleSchema = named(`${RBAC}.AggregationRule`, {
  clusterRoleSelectors: opt(atomic(LabelSelectorSchema)),
});

export const RoleSchema = named(`${RBAC}.Role`, {
  ...typeMeta,
  metadata: opt(ObjectMetaSchema),
  rules: opt(atomic(PolicyRuleSchema)),
});
export type Role = Static<typeof RoleSchema>;

export const ClusterRoleSchema = named(`${RBAC}.ClusterRole`, {
  ...typeMeta,
  metadata: opt(ObjectMetaSchema),
  rules: opt(atomic(PolicyRuleSchema)),
  aggregationRule: opt(AggregationRuleSchema),
});
export type ClusterRole = Static<typeof ClusterRoleSchema>;

export const SubjectSchema = named(
  `${RBAC}.Subject`,
  { kind: str(), apiGroup: opt(str()), name: str(), namespace: opt(str()) },
  { "x-kubernetes-map-type": "atomic" },
);
export type Subject = Static<typeof SubjectSchema>;

export const RoleRefSchema = named(
  `${RBAC}.RoleRef`,
  { apiGroup: str(), kind: str(), name: str() },
  { "x-kubernetes-map-type": "atomic" },
);
export type RoleRef = Static<typeof RoleRefSchema>;

export const RoleBindingSchema = named(`${RBAC}.RoleBinding`, {
  ...typeMeta,
  metadata: opt(ObjectMetaSchema),
  subjects: opt(atomic(SubjectSchema)),
  roleRef: RoleRefSchema,
});
export type RoleBinding = Static<typeof RoleBindingSchema>;

export const ClusterRoleBindingSchema = named(`${RBAC}.ClusterRoleBinding`, {
  ...typeMeta,
  metadata: opt(ObjectMetaSchema),
  subjects: opt(atomic(SubjectSchema)),
  roleRef: RoleRefSchema,
});
export type ClusterRoleBinding = Static<typeof ClusterRoleBindingSchema>;
