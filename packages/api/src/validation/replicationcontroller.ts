// ReplicationController checks (Kubernetes' ValidateReplicationControllerSpec): an
// equality selector that must not be empty and must match the template's labels.
import type { ReplicationController } from "../schemas/replicationcontroller.js";
import type { FieldErrors } from "./errors.js";
import { validateLabels } from "./meta.js";
import { nonNegative } from "./pod.js";
import { validatePodSpec } from "./pod.js";

export function validateReplicationController(errs: FieldErrors, rc: ReplicationController): void {
  const spec = rc.spec;
  if (!spec) return errs.required("spec");
  nonNegative(errs, spec.minReadySeconds, "spec.minReadySeconds");
  const selector = spec.selector ?? {};
  if (Object.keys(selector).length === 0) errs.required("spec.selector");
  else validateLabels(errs, selector, "spec.selector");
  nonNegative(errs, spec.replicas, "spec.replicas");

  const template = spec.template;
  if (!template) return errs.required("spec.template");
  const labels = template.metadata?.labels ?? {};
  if (Object.entries(selector).some(([k, v]) => labels[k] !== v)) {
    errs.invalid(
      "spec.template.metadata.labels",
      labels,
      "`selector` does not match template `labels`",
    );
  }
  validateLabels(errs, template.metadata?.labels, "spec.template.metadata.labels");
  validatePodSpec(errs, template.spec, "spec.template.spec");
  const podSpec = template.spec;
  if (podSpec?.restartPolicy !== undefined && podSpec.restartPolicy !== "Always") {
    errs.notSupported("spec.template.spec.restartPolicy", podSpec.restartPolicy, ["Always"]);
  }
  if (podSpec?.activeDeadlineSeconds !== undefined) {
    errs.forbidden(
      "spec.template.spec.activeDeadlineSeconds",
      "activeDeadlineSeconds in ReplicationController is not Supported",
    );
  }
}
