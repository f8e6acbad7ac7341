// CronJob checks, as Kubernetes 1.31 words them.
import { scheduleError, timeZoneError } from "../cron.js";
import type { CronJob } from "../schemas/batch.js";
import type { FieldErrors } from "./errors.js";
import { nonNegative } from "./pod.js";
import { validateJobPolicies } from "./workloads.js";
import { validateLabels } from "./meta.js";
import { validatePodSpec } from "./pod.js";

const POLICIES = ["Allow", "Forbid", "Replace"];
/** Job names get 11 characters of suffix: the name leaves room for them. */
const MAX_NAME = 52;

export function validateCronJob(errs: FieldErrors, cj: CronJob): void {
  const name = cj.metadata?.name ?? "";
  if (name.length > MAX_NAME) {
    errs.invalid("metadata.name", name, `must be no more than ${MAX_NAME} characters`);
  }
  const spec = cj.spec;
  if (!spec) return errs.required("spec");
  if (!spec.schedule) errs.required("spec.schedule");
  else {
    const err = scheduleError(spec.schedule);
    if (err) errs.invalid("spec.schedule", spec.schedule, err);
    if (spec.schedule.includes("TZ")) {
      errs.invalid(
        "spec.schedule",
        spec.schedule,
        "cannot use TZ or CRON_TZ in schedule, use timeZone field instead",
      );
    }
  }
  if (spec.timeZone !== undefined) {
    const err = timeZoneError(spec.timeZone);
    if (err) errs.invalid("spec.timeZone", spec.timeZone, err);
  }
  if (!spec.concurrencyPolicy) errs.required("spec.concurrencyPolicy");
  else if (!POLICIES.includes(spec.concurrencyPolicy))
    errs.notSupported("spec.concurrencyPolicy", spec.concurrencyPolicy, POLICIES);
  nonNegative(errs, spec.startingDeadlineSeconds, "spec.startingDeadlineSeconds");
  nonNegative(errs, spec.successfulJobsHistoryLimit, "spec.successfulJobsHistoryLimit");
  nonNegative(errs, spec.failedJobsHistoryLimit, "spec.failedJobsHistoryLimit");

  const path = "spec.jobTemplate.spec";
  const job = spec.jobTemplate?.spec;
  if (!job) return errs.required(path);
  nonNegative(errs, job.parallelism, `${path}.parallelism`);
  nonNegative(errs, job.completions, `${path}.completions`);
  nonNegative(errs, job.activeDeadlineSeconds, `${path}.activeDeadlineSeconds`);
  nonNegative(errs, job.backoffLimit, `${path}.backoffLimit`);
  nonNegative(errs, job.ttlSecondsAfterFinished, `${path}.ttlSecondsAfterFinished`);
  validateLabels(errs, spec.jobTemplate.metadata?.labels, "spec.jobTemplate.metadata.labels");
  const template = job.template;
  validateLabels(errs, template?.metadata?.labels, `${path}.template.metadata.labels`);
  validatePodSpec(errs, template?.spec, `${path}.template.spec`);
  const restart = template?.spec?.restartPolicy;
  if (template?.spec && restart !== "OnFailure" && restart !== "Never") {
    errs.notSupported(`${path}.template.spec.restartPolicy`, restart ?? "", ["OnFailure", "Never"]);
  }
  validateJobPolicies(errs, job, path);
}
