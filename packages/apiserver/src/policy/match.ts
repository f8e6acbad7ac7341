// Which ValidatingAdmissionPolicies and bindings a request reaches: a MatchResources'
// resourceRules (with resourceNames) minus its excludeResourceRules, its namespace and
// object selectors. Pure functions of the policy objects and the request.
import type { MatchResources, NamedRuleWithOperations } from "@skiff/api";
import { ruleMatches, selectorMatches, type RequestAttributes } from "../webhooks/match.js";

/** The labels a MatchResources is judged by. */
export interface MatchLabels {
  /** The request's namespace's labels (undefined for cluster-scoped requests). */
  namespace?: unknown;
  object?: unknown;
  oldObject?: unknown;
}

function namedRuleMatches(rule: NamedRuleWithOperations, a: RequestAttributes): boolean {
  if (!ruleMatches(rule, a)) return false;
  const names = rule.resourceNames ?? [];
  return names.length === 0 || names.includes(a.name);
}

/**
 * Whether a request falls under a MatchResources. matchPolicy Equivalent and Exact judge
 * alike here: Skiff serves each resource at one group/version.
 */
export function matchResources(
  m: MatchResources,
  a: RequestAttributes,
  labels: MatchLabels,
): boolean {
  if ((m.excludeResourceRules ?? []).some((r) => namedRuleMatches(r, a))) return false;
  const rules = m.resourceRules ?? [];
  // A binding's matchResources without rules narrows nothing by resource.
  if (rules.length > 0 && !rules.some((r) => namedRuleMatches(r, a))) return false;
  if (a.info.group === "" && a.info.resource === "namespaces") {
    if (!selectorMatches(m.namespaceSelector, labels.object ?? labels.oldObject)) return false;
  } else if (a.info.namespaced && !selectorMatches(m.namespaceSelector, labels.namespace)) {
    return false;
  }
  const sel = m.objectSelector;
  const objectOk =
    (labels.object !== undefined && selectorMatches(sel, labels.object)) ||
    (labels.oldObject !== undefined && selectorMatches(sel, labels.oldObject)) ||
    (labels.object === undefined && labels.oldObject === undefined && selectorMatches(sel, {}));
  return objectOk;
}
