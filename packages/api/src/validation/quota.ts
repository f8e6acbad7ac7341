// PriorityClass, ResourceQuota and LimitRange checks, as Kubernetes 1.31 words them.
import { parseQuantity } from "../quantity.js";
import type { LimitRange, PriorityClass, ResourceQuota } from "../schemas/quota.js";
import type { FieldErrors } from "./errors.js";
import { isQualifiedName } from "./names.js";

/** The highest priority a user-defined class may have (Kubernetes' HighestUserDefinablePriority). */
export const HIGHEST_USER_PRIORITY = 1_000_000_000;
export const SYSTEM_PRIORITY_CLASSES: Record<string, number> = {
  "system-cluster-critical": 2_000_000_000,
  "system-node-critical": 2_000_001_000,
};
const PREEMPTION = ["Never", "PreemptLowerPriority"];

export function validatePriorityClass(errs: FieldErrors, pc: PriorityClass): void {
  const name = pc.metadata?.name ?? "";
  const system = SYSTEM_PRIORITY_CLASSES[name];
  if (system !== undefined) {
    if (pc.value !== system)
      errs.forbidden("value", `value of ${name} PriorityClass must be ${system}`);
  } else {
    if (name.startsWith("system-"))
      errs.forbidden("metadata.name", "priority class names with 'system-' prefix are reserved.");
    if (pc.value > HIGHEST_USER_PRIORITY)
      errs.forbidden(
        "value",
        `maximum allowed value of a user defined priority is ${HIGHEST_USER_PRIORITY}`,
      );
  }
  if (pc.preemptionPolicy !== undefined && !PREEMPTION.includes(pc.preemptionPolicy))
    errs.notSupported("preemptionPolicy", pc.preemptionPolicy, PREEMPTION);
}

export function validatePriorityClassUpdate(
  errs: FieldErrors,
  now: PriorityClass,
  old: PriorityClass,
): void {
  if (now.value !== old.value) errs.forbidden("value", "may not be changed in an update.");
  if ((now.preemptionPolicy ?? "") !== (old.preemptionPolicy ?? ""))
    errs.invalid("preemptionPolicy", now.preemptionPolicy ?? "", "field is immutable");
}

function validQuantity(errs: FieldErrors, path: string, q: string | number): number | undefined {
  try {
    const v = parseQuantity(q);
    if (v < 0) {
      errs.invalid(path, q, "must be greater than or equal to 0");
      return undefined;
    }
    return v;
  } catch (e) {
    errs.invalid(path, q, e instanceof Error ? e.message : "invalid quantity");
    return undefined;
  }
}

const QUOTA_SCOPES = [
  "BestEffort",
  "NotBestEffort",
  "NotTerminating",
  "PriorityClass",
  "Terminating",
  "CrossNamespacePodAffinity",
];

export function validateResourceQuota(errs: FieldErrors, rq: ResourceQuota): void {
  for (const [name, q] of Object.entries(rq.spec?.hard ?? {})) {
    const path = `spec.hard[${name}]`;
    errs.invalidEach(path, name, isQualifiedName(name));
    validQuantity(errs, path, q);
  }
  for (const s of rq.spec?.scopes ?? []) {
    if (!QUOTA_SCOPES.includes(s)) errs.notSupported("spec.scopes", s, QUOTA_SCOPES);
  }
  (rq.spec?.scopeSelector?.matchExpressions ?? []).forEach((req, i) => {
    const path = `spec.scopeSelector.matchExpressions[${i}]`;
    if (!QUOTA_SCOPES.includes(req.scopeName))
      errs.notSupported(`${path}.scopeName`, req.scopeName, QUOTA_SCOPES);
    const values = req.values ?? [];
    switch (req.operator) {
      case "In":
      case "NotIn":
        if (values.length === 0)
          errs.required(
            `${path}.values`,
            "must be at least one value when `operator` is 'In' or 'NotIn' for scope selector",
          );
        break;
      case "Exists":
      case "DoesNotExist":
        if (values.length > 0)
          errs.invalid(
            `${path}.values`,
            values,
            "must be no value when `operator` is 'Exist' or 'DoesNotExist' for scope selector",
          );
        break;
      default:
        errs.notSupported(`${path}.operator`, req.operator, SELECTOR_OPERATORS);
        return;
    }
    if (
      req.scopeName !== "PriorityClass" &&
      req.operator !== "Exists" &&
      req.operator !== "DoesNotExist"
    )
      errs.invalid(
        `${path}.operator`,
        req.operator,
        "must be 'Exist' when scope is any of ResourceQuotaScopeTerminating, ResourceQuotaScopeNotTerminating, ResourceQuotaScopeBestEffort, ResourceQuotaScopeNotBestEffort or ResourceQuotaScopeCrossNamespacePodAffinity",
      );
  });
}

const SELECTOR_OPERATORS = ["DoesNotExist", "Exists", "In", "NotIn"];

const LIMIT_TYPES = ["Container", "PersistentVolumeClaim", "Pod"];

export function validateLimitRange(errs: FieldErrors, lr: LimitRange): void {
  const items = lr.spec?.limits ?? [];
  const seen = new Set<string>();
  items.forEach((item, i) => {
    const path = `spec.limits[${i}]`;
    if (!LIMIT_TYPES.includes(item.type)) errs.notSupported(`${path}.type`, item.type, LIMIT_TYPES);
    if (seen.has(item.type)) errs.duplicate(`${path}.type`, item.type);
    seen.add(item.type);
    if (item.type === "Pod" && (item.default || item.defaultRequest))
      errs.forbidden(`${path}.default`, "may not be specified when `type` is 'Pod'");
    const value = (field: "max" | "min" | "default" | "defaultRequest", r: string) => {
      const q = item[field]?.[r];
      return q === undefined ? undefined : validQuantity(errs, `${path}.${field}[${r}]`, q);
    };
    const resources = new Set(
      (["max", "min", "default", "defaultRequest"] as const).flatMap((f) =>
        Object.keys(item[f] ?? {}),
      ),
    );
    for (const r of resources) {
      const [min, max, dflt, req] = [
        value("min", r),
        value("max", r),
        value("default", r),
        value("defaultRequest", r),
      ];
      const q = (f: "max" | "min" | "default" | "defaultRequest") => item[f]?.[r];
      if (min !== undefined && max !== undefined && min > max)
        errs.invalid(
          `${path}.min[${r}]`,
          q("min"),
          `min value ${String(q("min"))} is greater than max value ${String(q("max"))}`,
        );
      if (req !== undefined && max !== undefined && req > max)
        errs.invalid(
          `${path}.defaultRequest[${r}]`,
          q("defaultRequest"),
          `default request value ${String(q("defaultRequest"))} is greater than max value ${String(q("max"))}`,
        );
      if (req !== undefined && min !== undefined && req < min)
        errs.invalid(
          `${path}.defaultRequest[${r}]`,
          q("defaultRequest"),
          `min value ${String(q("min"))} is greater than default request value ${String(q("defaultRequest"))}`,
        );
      if (dflt !== undefined && max !== undefined && dflt > max)
        errs.invalid(
          `${path}.default[${r}]`,
          q("default"),
          `default value ${String(q("default"))} is greater than max value ${String(q("max"))}`,
        );
      if (dflt !== undefined && min !== undefined && dflt < min)
        errs.invalid(
          `${path}.default[${r}]`,
          q("default"),
          `min value ${String(q("min"))} is greater than default value ${String(q("default"))}`,
        );
      if (req !== undefined && dflt !== undefined && req > dflt)
        errs.invalid(
          `${path}.defaultRequest[${r}]`,
          q("defaultRequest"),
          `default request value ${String(q("defaultRequest"))} is greater than default limit value ${String(q("default"))}`,
        );
    }
  });
}
