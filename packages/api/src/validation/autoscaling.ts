// autoscaling/v2 HorizontalPodAutoscaler checks, with Kubernetes' field paths and messages.
import { isValidQuantity } from "../quantity.js";
import type { HorizontalPodAutoscaler, MetricTarget } from "../schemas/autoscaling.js";
import type { FieldErrors } from "./errors.js";

const METRIC_TYPES = ["ContainerResource", "External", "Object", "Pods", "Resource"] as const;
const TARGET_TYPES = ["AverageValue", "Utilization", "Value"] as const;
const SELECT_POLICIES = ["Disabled", "Max", "Min"] as const;
const POLICY_TYPES = ["Percent", "Pods"] as const;
const MAX_PERIOD_SECONDS = 1800;
const MAX_STABILIZATION_SECONDS = 3600;

function validateTarget(errs: FieldErrors, t: MetricTarget, path: string): void {
  if (!t.type) errs.required(`${path}.type`, "must specify a metric target type");
  else if (!(TARGET_TYPES as readonly string[]).includes(t.type)) {
    errs.notSupported(`${path}.type`, t.type, TARGET_TYPES);
  }
  if (t.averageUtilization !== undefined && t.averageValue !== undefined) {
    errs.forbidden(path, "may not set both a target raw value and a target utilization");
  }
  if (t.averageUtilization === undefined && t.averageValue === undefined && t.value === undefined) {
    errs.required(
      `${path}.averageUtilization`,
      "must set either a target raw value or a target utilization",
    );
  }
  if (t.averageUtilization !== undefined && t.averageUtilization < 1) {
    errs.invalid(`${path}.averageUtilization`, t.averageUtilization, "must be greater than 0");
  }
  for (const f of ["value", "averageValue"] as const) {
    const q = t[f];
    if (q === undefined) continue;
    if (!isValidQuantity(q)) errs.invalid(`${path}.${f}`, q, "must be a quantity");
    else if (Number.parseFloat(String(q)) <= 0) {
      errs.invalid(`${path}.${f}`, q, "must be positive");
    }
  }
}

export function validateHorizontalPodAutoscaler(
  errs: FieldErrors,
  hpa: HorizontalPodAutoscaler,
): void {
  const spec = hpa.spec;
  if (!spec) {
    errs.required("spec", "");
    return;
  }
  const ref = spec.scaleTargetRef;
  if (!ref?.kind) errs.required("spec.scaleTargetRef.kind", "");
  if (!ref?.name) errs.required("spec.scaleTargetRef.name", "");
  else if (ref.name.includes("/") || ref.name.includes("%")) {
    errs.invalid("spec.scaleTargetRef.name", ref.name, "may not contain '/' or '%'");
  }
  const min = spec.minReplicas ?? 1;
  if (min < 1) errs.invalid("spec.minReplicas", min, "must be greater than or equal to 1");
  if (spec.maxReplicas < 1)
    errs.invalid("spec.maxReplicas", spec.maxReplicas, "must be greater than 0");
  if (spec.maxReplicas < min) {
    errs.invalid(
      "spec.maxReplicas",
      spec.maxReplicas,
      "must be greater than or equal to `minReplicas`",
    );
  }
  (spec.metrics ?? []).forEach((m, i) => {
    const path = `spec.metrics[${i}]`;
    if (!(METRIC_TYPES as readonly string[]).includes(m.type)) {
      errs.notSupported(`${path}.type`, m.type, METRIC_TYPES);
      return;
    }
    if (m.type === "Resource" || m.type === "ContainerResource") {
      const field = m.type === "Resource" ? "resource" : "containerResource";
      const src = m.type === "Resource" ? m.resource : m.containerResource;
      if (!src) {
        errs.required(`${path}.${field}`, "must populate information for the given metric source");
        return;
      }
      if (!src.name) errs.required(`${path}.${field}.name`, "must specify a resource name");
      if (m.containerResource && !m.containerResource.container) {
        errs.required(`${path}.containerResource.container`, "must specify a container");
      }
      validateTarget(errs, src.target, `${path}.${field}.target`);
    } else {
      const field = m.type.charAt(0).toLowerCase() + m.type.slice(1);
      if (!(m as Record<string, unknown>)[field]) {
        errs.required(`${path}.${field}`, "must populate information for the given metric source");
      }
    }
  });
  for (const dir of ["scaleUp", "scaleDown"] as const) {
    const rules = spec.behavior?.[dir];
    if (!rules) continue;
    const path = `spec.behavior.${dir}`;
    const w = rules.stabilizationWindowSeconds;
    if (w !== undefined && w < 0) {
      errs.invalid(
        `${path}.stabilizationWindowSeconds`,
        w,
        "must be greater than or equal to zero",
      );
    }
    if (w !== undefined && w > MAX_STABILIZATION_SECONDS) {
      errs.invalid(
        `${path}.stabilizationWindowSeconds`,
        w,
        `must be less than or equal to ${MAX_STABILIZATION_SECONDS}`,
      );
    }
    if (
      rules.selectPolicy &&
      !(SELECT_POLICIES as readonly string[]).includes(rules.selectPolicy)
    ) {
      errs.notSupported(`${path}.selectPolicy`, rules.selectPolicy, SELECT_POLICIES);
    }
    if (rules.policies && rules.policies.length === 0) {
      errs.required(`${path}.policies`, "must specify at least one Policy");
    }
    (rules.policies ?? []).forEach((p, i) => {
      const pp = `${path}.policies[${i}]`;
      if (!(POLICY_TYPES as readonly string[]).includes(p.type)) {
        errs.notSupported(`${pp}.type`, p.type, POLICY_TYPES);
      }
      if (p.value <= 0) errs.invalid(`${pp}.value`, p.value, "must be greater than zero");
      if (p.periodSeconds <= 0) {
        errs.invalid(`${pp}.periodSeconds`, p.periodSeconds, "must be greater than zero");
      }
      if (p.periodSeconds > MAX_PERIOD_SECONDS) {
        errs.invalid(
          `${pp}.periodSeconds`,
          p.periodSeconds,
          `must be less than or equal to ${MAX_PERIOD_SECONDS}`,
        );
      }
    });
  }
}
