// The RBAC authorizer: a request is allowed when a rule of a role bound to the user allows it.
// ClusterRoleBindings grant everywhere; RoleBindings grant in their namespace (a RoleBinding
// may reference a ClusterRole, whose rules then apply in that namespace only). Nothing denies:
// a request no rule allows gets no opinion, and the chain ends in a 403.
import type {
  ClusterRole,
  ClusterRoleBinding,
  PolicyRule,
  Role,
  RoleBinding,
  Subject,
} from "@skiff/api";
import type { Attributes } from "./attributes.js";
import type { UserInfo } from "../auth.js";
import type { Authorizer, Decision } from "./authorizer.js";

/** Where the authorizer reads roles and bindings from (the apiserver's watch caches). */
export interface RbacSource {
  clusterRoleBindings(): Promise<ClusterRoleBinding[]>;
  roleBindings(namespace: string): Promise<RoleBinding[]>;
  clusterRole(name: string): Promise<ClusterRole | undefined>;
  role(namespace: string, name: string): Promise<Role | undefined>;
}

const has = (list: string[] | undefined, v: string) => list?.includes(v) ?? false;

export function verbMatches(rule: PolicyRule, verb: string): boolean {
  return has(rule.verbs, "*") || has(rule.verbs, verb);
}

function groupMatches(rule: PolicyRule, group: string): boolean {
  return has(rule.apiGroups, "*") || has(rule.apiGroups, group);
}

function resourceMatches(rule: PolicyRule, resource: string, subresource: string): boolean {
  const combined = subresource ? `${resource}/${subresource}` : resource;
  return (rule.resources ?? []).some(
    (r) => r === "*" || r === combined || (subresource !== "" && r === `*/${subresource}`),
  );
}

function nameMatches(rule: PolicyRule, name: string): boolean {
  return !rule.resourceNames?.length || (name !== "" && rule.resourceNames.includes(name));
}

/**
 * Whether a path is one of the nonResourceURLs: "*" is every path, and one ending in "*" a
 * prefix ("/healthz/*"), as both RBAC and priority and fairness read them.
 */
export function nonResourceURLMatches(urls: readonly string[] | undefined, path: string): boolean {
  return (urls ?? []).some(
    (u) => u === "*" || u === path || (u.endsWith("*") && path.startsWith(u.slice(0, -1))),
  );
}

/** Whether one rule allows the request, by Kubernetes' matching. */
export function ruleAllows(attrs: Attributes, rule: PolicyRule): boolean {
  if (!verbMatches(rule, attrs.verb)) return false;
  if (!attrs.resourceRequest) return nonResourceURLMatches(rule.nonResourceURLs, attrs.path);
  return (
    groupMatches(rule, attrs.apiGroup) &&
    resourceMatches(rule, attrs.resource, attrs.subresource) &&
    nameMatches(rule, attrs.name)
  );
}

export function rulesAllow(attrs: Attributes, rules: readonly PolicyRule[]): boolean {
  return rules.some((r) => ruleAllows(attrs, r));
}

/** Whether a binding's subject is this user (namespace: the binding's, for ServiceAccounts). */
export function subjectMatches(s: Subject, user: UserInfo, bindingNamespace = ""): boolean {
  switch (s.kind) {
    case "User":
      return s.name === user.name;
    case "Group":
      return user.groups.includes(s.name);
    case "ServiceAccount":
      return user.name === `system:serviceaccount:${s.namespace || bindingNamespace}:${s.name}`;
    default:
      return false;
  }
}

/**
 * Calls visit with every rule that applies to the user in the namespace ("" for
 * cluster-wide grants only), until visit returns true. Returns what visit last returned.
 */
export async function visitRules(
  source: RbacSource,
  user: UserInfo,
  namespace: string,
  visit: (rule: PolicyRule) => boolean,
): Promise<{ stopped: boolean; errors: string[] }> {
  const errors: string[] = [];
  const rolesOf = async (
    b: RoleBinding | ClusterRoleBinding,
    ns: string,
  ): Promise<PolicyRule[]> => {
    const ref = b.roleRef;
    const role =
      ref.kind === "ClusterRole"
        ? await source.clusterRole(ref.name)
        : ref.kind === "Role"
          ? await source.role(ns, ref.name)
          : undefined;
    if (!role) {
      const kind = ref.kind === "Role" ? "role" : "clusterrole";
      errors.push(`${kind}.rbac.authorization.k8s.io "${ref.name}" not found`);
      return [];
    }
    return role.rules ?? [];
  };
  for (const b of await source.clusterRoleBindings()) {
    if (!(b.subjects ?? []).some((s) => subjectMatches(s, user))) continue;
    for (const rule of await rolesOf(b, "")) if (visit(rule)) return { stopped: true, errors };
  }
  if (namespace) {
    for (const b of await source.roleBindings(namespace)) {
      if (!(b.subjects ?? []).some((s) => subjectMatches(s, user, namespace))) continue;
      for (const rule of await rolesOf(b, namespace))
        if (visit(rule)) return { stopped: true, errors };
    }
  }
  return { stopped: false, errors };
}

/** Every rule that applies to the user in the namespace. */
export async function rulesFor(
  source: RbacSource,
  user: UserInfo,
  namespace: string,
): Promise<{ rules: PolicyRule[]; errors: string[] }> {
  const rules: PolicyRule[] = [];
  const { errors } = await visitRules(source, user, namespace, (r) => {
    rules.push(r);
    return false;
  });
  return { rules, errors };
}

/**
 * The RBAC authorizer with the rules of each (user, groups, namespace) kept between requests:
 * a request then costs a scan of its subject's rules, not a walk of every binding and role.
 * `stamp` names the state of the roles and bindings they were read from (their watch caches'
 * revisions and this server's writes to them); the rules are read again once it changes, or
 * each time while it is undefined (a cache not synced). Rules that named a missing role are
 * not kept (it may be created in etcd before its cache sees it).
 */
export class CachingRbacAuthorizer implements Authorizer {
  private readonly rules = new Map<string, PolicyRule[]>();
  private stampOfRules: string | undefined;

  constructor(
    private readonly source: RbacSource,
    private readonly stamp: () => string | undefined,
    private readonly maxSubjects = 10_000,
  ) {}

  async authorize(attrs: Attributes): Promise<Decision> {
    const stamp = this.stamp();
    if (stamp === undefined || stamp !== this.stampOfRules) {
      this.rules.clear();
      this.stampOfRules = stamp;
    }
    const { user, namespace } = attrs;
    const key = `${user.name}\0${user.groups.join("\x01")}\0${namespace}`;
    const kept = this.rules.get(key);
    if (kept) return decide(attrs, kept, []);
    const { rules, errors } = await rulesFor(this.source, user, namespace);
    if (stamp !== undefined && !errors.length && this.stamp() === stamp) {
      if (this.stampOfRules !== stamp) {
        this.rules.clear();
        this.stampOfRules = stamp;
      }
      if (this.rules.size >= this.maxSubjects) this.rules.clear();
      this.rules.set(key, rules);
    }
    return decide(attrs, rules, errors);
  }
}

function decide(attrs: Attributes, rules: readonly PolicyRule[], errors: string[]): Decision {
  if (rulesAllow(attrs, rules)) return { decision: "allow", reason: "" };
  // Bindings to roles that do not exist are named, as Kubernetes' RBAC does.
  const reason = !errors.length
    ? ""
    : `RBAC: ${errors.length === 1 ? errors[0] : `[${errors.join(", ")}]`}`;
  return { decision: "noopinion", reason };
}
