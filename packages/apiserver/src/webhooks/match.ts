// Which admission webhooks a request reaches: rules (operations, groups, versions,
// resources with subresources, scope), namespace and object selectors, and the order
// Kubernetes calls them in. Pure functions of the configurations and the request.
import {
  labelSelectorToRequirements,
  matchesLabels,
  type LabelSelector,
  type MutatingWebhook,
  type ResourceInfo,
  type RuleWithOperations,
  type ValidatingWebhook,
} from "@skiff/api";

export type Operation = "CREATE" | "UPDATE" | "DELETE" | "CONNECT";

/** What the dispatcher knows of one request. */
export interface RequestAttributes {
  info: Pick<ResourceInfo, "group" | "version" | "kind" | "resource" | "namespaced">;
  operation: Operation;
  subresource?: string;
  namespace?: string;
  name: string;
  /** The kind of the object sent, when not the resource's own (Eviction, PodExecOptions…). */
  objectKind?: { group: string; version: string; kind: string };
}

export type Webhook = (ValidatingWebhook | MutatingWebhook) & { reinvocationPolicy?: string };

/** A webhook with the configuration it came from. */
export interface ConfiguredWebhook {
  configuration: string;
  webhook: Webhook;
}

type Obj = Record<string, unknown>;

/**
 * The webhooks of these configurations in calling order: configurations by name, each
 * one's webhooks in the order it lists them (Kubernetes' order).
 */
export function orderedWebhooks(configs: Obj[]): ConfiguredWebhook[] {
  const named = configs.map((c) => ({
    name: String((c.metadata as Obj | undefined)?.name ?? ""),
    webhooks: Array.isArray(c.webhooks) ? (c.webhooks as Webhook[]) : [],
  }));
  named.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return named.flatMap((c) => c.webhooks.map((webhook) => ({ configuration: c.name, webhook })));
}

const anyOf = (list: string[] | undefined, value: string): boolean =>
  (list ?? []).some((v) => v === "*" || v === value);

/** Whether one rule's resources entry names this resource and subresource. */
export function resourceMatches(entry: string, resource: string, subresource = ""): boolean {
  if (entry === "*/*") return true;
  const [res, sub = ""] = entry.split("/", 2) as [string, string?];
  if (res !== "*" && res !== resource) return false;
  if (entry.includes("/")) return sub === "*" ? subresource !== "" : sub === subresource;
  return subresource === "";
}

export function ruleMatches(rule: RuleWithOperations, a: RequestAttributes): boolean {
  if (!anyOf(rule.operations, a.operation)) return false;
  if (!anyOf(rule.apiGroups, a.info.group)) return false;
  if (!anyOf(rule.apiVersions, a.info.version)) return false;
  if (!(rule.resources ?? []).some((r) => resourceMatches(r, a.info.resource, a.subresource)))
    return false;
  switch (rule.scope ?? "*") {
    case "Cluster":
      return !a.info.namespaced;
    case "Namespaced":
      return a.info.namespaced;
    default:
      return true;
  }
}

export function rulesMatch(hook: Webhook, a: RequestAttributes): boolean {
  return (hook.rules ?? []).some((r) => ruleMatches(r, a));
}

/** An absent or empty selector selects everything. */
export function selectorMatches(sel: LabelSelector | undefined, labels: unknown): boolean {
  if (!sel || (!sel.matchLabels && !sel.matchExpressions?.length)) return true;
  const reqs = labelSelectorToRequirements(sel);
  return matchesLabels(reqs, (labels ?? {}) as Record<string, string>);
}

/** Whether the namespace selector needs the namespace's labels looked up. */
export function needsNamespaceLabels(hook: Webhook, a: RequestAttributes): boolean {
  const sel = hook.namespaceSelector;
  if (!sel || (!sel.matchLabels && !sel.matchExpressions?.length)) return false;
  return a.info.namespaced && Boolean(a.namespace);
}

/**
 * The namespace selector: a namespaced object is judged by its namespace's labels, a
 * Namespace by its own, and other cluster-scoped objects always match.
 */
export function namespaceSelectorMatches(
  hook: Webhook,
  a: RequestAttributes,
  labels: { namespace?: unknown; object?: unknown; oldObject?: unknown },
): boolean {
  const sel = hook.namespaceSelector;
  if (a.info.group === "" && a.info.resource === "namespaces")
    return selectorMatches(sel, labels.object ?? labels.oldObject);
  if (!a.info.namespaced) return true;
  return selectorMatches(sel, labels.namespace);
}

/** The object selector matches the new or the old object's labels. */
export function objectSelectorMatches(
  hook: Webhook,
  objectLabels: unknown,
  oldObjectLabels: unknown,
): boolean {
  const sel = hook.objectSelector;
  if (objectLabels !== undefined && selectorMatches(sel, objectLabels)) return true;
  if (oldObjectLabels !== undefined && selectorMatches(sel, oldObjectLabels)) return true;
  return objectLabels === undefined && oldObjectLabels === undefined && selectorMatches(sel, {});
}
