// Escalation prevention: whoever writes a Role or ClusterRole must already hold every rule it
// grants, and whoever binds a role must hold its rules — unless RBAC lets them `escalate`
// (roles) or `bind` (the referenced role). Rule coverage is Kubernetes' Covers: each
// verb/group/resource/name the new rule names must be allowed by one rule the user has.
import type { PolicyRule } from "@skiff/api";

const has = (list: string[] | undefined, v: string) => list?.includes(v) ?? false;

function resourceCovered(owner: string[] | undefined, resource: string): boolean {
  if (has(owner, "*") || has(owner, resource)) return true;
  const slash = resource.indexOf("/");
  return slash > 0 && has(owner, `*/${resource.slice(slash + 1)}`);
}

function urlCovered(owner: string[] | undefined, url: string): boolean {
  return (owner ?? []).some(
    (u) =>
      u === "*" ||
      u === url ||
      (u.endsWith("*") &&
        url.startsWith(u.slice(0, -1)) &&
        (!url.endsWith("*") || u.length <= url.length)),
  );
}

/** Splits a rule into one rule per verb, group, resource (or URL) and name. */
function breakdown(rule: PolicyRule): PolicyRule[] {
  const out: PolicyRule[] = [];
  for (const verb of rule.verbs ?? []) {
    for (const url of rule.nonResourceURLs ?? [])
      out.push({ verbs: [verb], nonResourceURLs: [url] });
    for (const group of rule.apiGroups ?? [])
      for (const resource of rule.resources ?? []) {
        const names = rule.resourceNames?.length ? rule.resourceNames : [undefined];
        for (const name of names)
          out.push({
            verbs: [verb],
            apiGroups: [group],
            resources: [resource],
            ...(name !== undefined ? { resourceNames: [name] } : {}),
          });
      }
  }
  return out;
}

function covers(owner: PolicyRule, one: PolicyRule): boolean {
  const verb = one.verbs[0]!;
  if (!has(owner.verbs, "*") && !has(owner.verbs, verb)) return false;
  if (one.nonResourceURLs?.length)
    return urlCovered(owner.nonResourceURLs, one.nonResourceURLs[0]!);
  const group = one.apiGroups![0]!;
  if (!has(owner.apiGroups, "*") && !has(owner.apiGroups, group)) return false;
  if (!resourceCovered(owner.resources, one.resources![0]!)) return false;
  if (!owner.resourceNames?.length) return true;
  return one.resourceNames?.length === 1 && owner.resourceNames.includes(one.resourceNames[0]!);
}

/** The parts of `wanted` that no rule of `owned` covers (empty: all covered). */
export function uncoveredRules(owned: PolicyRule[], wanted: PolicyRule[]): PolicyRule[] {
  const missing: PolicyRule[] = [];
  for (const rule of wanted) {
    const parts = breakdown(rule);
    if (parts.some((p) => !owned.some((o) => covers(o, p)))) missing.push(rule);
  }
  return missing;
}

/** A rule as Kubernetes' CompactString prints it: {APIGroups:["apps"], Resources:[...], Verbs:[...]}. */
export function compactRule(r: PolicyRule): string {
  const fields: string[] = [];
  const list = (name: string, v: string[] | undefined) => {
    if (v?.length) fields.push(`${name}:[${v.map((s) => JSON.stringify(s)).join(", ")}]`);
  };
  list("APIGroups", r.apiGroups);
  list("Resources", r.resources);
  list("ResourceNames", r.resourceNames);
  list("NonResourceURLs", r.nonResourceURLs);
  list("Verbs", r.verbs);
  return `{${fields.join(", ")}}`;
}
