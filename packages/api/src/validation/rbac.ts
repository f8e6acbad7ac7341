// Role, ClusterRole, RoleBinding and ClusterRoleBinding checks, as Kubernetes 1.31 words them.
import type { ClusterRole, PolicyRule, Role, RoleBinding, RoleRef } from "../schemas/rbac.js";
import type { FieldErrors } from "./errors.js";

export const RBAC_GROUP = "rbac.authorization.k8s.io";

/** RBAC names are path segments: anything but "." and "..", without "/" or "%". */
export function isValidPathSegmentName(name: string): string[] {
  if (name === "." || name === "..") return [`may not be '${name}'`];
  for (const bad of ["/", "%"]) if (name.includes(bad)) return [`may not contain '${bad}'`];
  return [];
}

function validateRule(errs: FieldErrors, rule: PolicyRule, path: string, namespaced: boolean) {
  if (!rule.verbs?.length) errs.required(`${path}.verbs`, "verbs must contain at least one value");
  const nonResource = rule.nonResourceURLs ?? [];
  if (nonResource.length) {
    if (namespaced) {
      errs.invalid(
        `${path}.nonResourceURLs`,
        nonResource,
        "namespaced rules cannot apply to non-resource URLs",
      );
    }
    if (rule.apiGroups?.length || rule.resources?.length || rule.resourceNames?.length) {
      errs.invalid(
        `${path}.nonResourceURLs`,
        nonResource,
        "rules cannot apply to both regular resources and non-resource URLs",
      );
    }
    return;
  }
  if (!rule.apiGroups?.length)
    errs.required(`${path}.apiGroups`, "resource rules must supply at least one api group");
  if (!rule.resources?.length)
    errs.required(`${path}.resources`, "resource rules must supply at least one resource");
}

function validateRules(errs: FieldErrors, rules: PolicyRule[] | undefined, namespaced: boolean) {
  (rules ?? []).forEach((r, i) => validateRule(errs, r, `rules[${i}]`, namespaced));
}

export function validateRole(errs: FieldErrors, role: Role): void {
  validateRules(errs, role.rules, true);
}

export function validateClusterRole(errs: FieldErrors, role: ClusterRole): void {
  validateRules(errs, role.rules, false);
  const selectors = role.aggregationRule?.clusterRoleSelectors;
  if (role.aggregationRule && !selectors?.length)
    errs.required("aggregationRule.clusterRoleSelectors");
}

function validateRoleRef(errs: FieldErrors, ref: RoleRef, kinds: string[]): void {
  if (ref.apiGroup !== RBAC_GROUP)
    errs.notSupported("roleRef.apiGroup", ref.apiGroup, [RBAC_GROUP]);
  if (!kinds.includes(ref.kind)) errs.notSupported("roleRef.kind", ref.kind, kinds);
  if (!ref.name) errs.required("roleRef.name");
  else for (const m of isValidPathSegmentName(ref.name)) errs.invalid("roleRef.name", ref.name, m);
}

function validateBinding(errs: FieldErrors, b: RoleBinding, clusterScoped: boolean): void {
  validateRoleRef(errs, b.roleRef, clusterScoped ? ["ClusterRole"] : ["Role", "ClusterRole"]);
  (b.subjects ?? []).forEach((s, i) => {
    const path = `subjects[${i}]`;
    if (!s.name) errs.required(`${path}.name`);
    switch (s.kind) {
      case "ServiceAccount":
        if (s.apiGroup) errs.notSupported(`${path}.apiGroup`, s.apiGroup, [""]);
        if (clusterScoped && !s.namespace) errs.required(`${path}.namespace`);
        break;
      case "User":
      case "Group":
        if (s.apiGroup !== RBAC_GROUP)
          errs.notSupported(`${path}.apiGroup`, s.apiGroup ?? "", [RBAC_GROUP]);
        break;
      default:
        errs.notSupported(`${path}.kind`, s.kind, ["ServiceAccount", "User", "Group"]);
    }
  });
}

export function validateRoleBinding(errs: FieldErrors, b: RoleBinding): void {
  validateBinding(errs, b, false);
}

export function validateClusterRoleBinding(errs: FieldErrors, b: RoleBinding): void {
  validateBinding(errs, b, true);
}

export function validateBindingUpdate(errs: FieldErrors, now: RoleBinding, old: RoleBinding): void {
  const a = now.roleRef;
  const b = old.roleRef;
  if (a.apiGroup !== b.apiGroup || a.kind !== b.kind || a.name !== b.name)
    errs.invalid("roleRef", a, "cannot change roleRef");
}
