// PodDisruptionBudget checks, as Kubernetes 1.31 words them.
import type { PodDisruptionBudget } from "../schemas/policy.js";
import type { FieldErrors } from "./errors.js";
import { validateIntOrPercent } from "./workloads.js";
import { validateLabelSelector } from "./meta.js";

const EVICTION_POLICIES = ["AlwaysAllow", "IfHealthyBudget"];

export function validatePodDisruptionBudget(errs: FieldErrors, pdb: PodDisruptionBudget): void {
  const spec = pdb.spec ?? {};
  if (spec.minAvailable !== undefined && spec.maxUnavailable !== undefined) {
    errs.invalid("spec", spec, "minAvailable and maxUnavailable cannot be both set");
  }
  if (spec.minAvailable !== undefined)
    validateIntOrPercent(errs, spec.minAvailable, "spec.minAvailable", true);
  if (spec.maxUnavailable !== undefined)
    validateIntOrPercent(errs, spec.maxUnavailable, "spec.maxUnavailable", true);
  if (spec.selector) validateLabelSelector(errs, spec.selector, "spec.selector");
  const policy = spec.unhealthyPodEvictionPolicy;
  if (policy !== undefined && !EVICTION_POLICIES.includes(policy))
    errs.notSupported("spec.unhealthyPodEvictionPolicy", policy, EVICTION_POLICIES);
}
