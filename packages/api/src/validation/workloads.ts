// Checks of the workload kinds (Deployment, ReplicaSet, DaemonSet, Job) and the pieces
// StatefulSet, CronJob, ReplicationController and PodDisruptionBudget checks share.
import { labelSelectorToRequirements, matchesLabels } from "../selectors.js";
import type { Deployment, DaemonSet, ReplicaSet } from "../schemas/apps.js";
import type { Job, JobSpec } from "../schemas/batch.js";
import type { PodTemplateSpec } from "../schemas/core.js";
import type { LabelSelector } from "../schemas/meta.js";

import type { FieldErrors } from "./errors.js";

import { validateLabels, validateLabelSelector } from "./meta.js";
import { isQualifiedName } from "./names.js";
import { GE0, nonNegative, validatePodSpec } from "./pod.js";

/** Selector present, valid, non-empty, and matching the template's labels. */
export function validateSelectorAndTemplate(
  errs: FieldErrors,
  selector: LabelSelector | undefined,
  template: PodTemplateSpec | undefined,
  kindWord: string,
  /** Volumes the controller adds to every pod (a StatefulSet's claim templates). */
  extraVolumes: string[] = [],
): void {
  if (!selector) errs.required("spec.selector");
  else {
    const before = errs.list.length;
    validateLabelSelector(errs, selector, "spec.selector");
    const empty =
      Object.keys(selector.matchLabels ?? {}).length + (selector.matchExpressions ?? []).length ===
      0;
    if (empty) errs.invalid("spec.selector", selector, `empty selector is invalid for ${kindWord}`);
    if (errs.list.length === before && !empty && template) {
      try {
        const reqs = labelSelectorToRequirements(selector);
        if (!matchesLabels(reqs, template.metadata?.labels)) {
          errs.invalid(
            "spec.template.metadata.labels",
            template.metadata?.labels ?? {},
            "`selector` does not match template `labels`",
          );
        }
      } catch (e) {
        errs.invalid(
          "spec.selector",
          selector,
          e instanceof Error ? e.message : "invalid label selector",
        );
      }
    }
  }
  if (!template) {
    errs.required("spec.template");
    return;
  }
  validateTemplateMeta(errs, template);
  validatePodSpec(errs, template.spec, "spec.template.spec", extraVolumes);
  if (template.spec?.ephemeralContainers?.length)
    errs.forbidden(
      "spec.template.spec.ephemeralContainers",
      "ephemeral containers not allowed in pod template",
    );
}

function validateTemplateMeta(errs: FieldErrors, template: PodTemplateSpec): void {
  validateLabels(errs, template.metadata?.labels, "spec.template.metadata.labels");
}

/** Templates of controllers that keep pods running: restartPolicy Always, no deadline. */
export function validateLongRunningTemplate(
  errs: FieldErrors,
  template: PodTemplateSpec | undefined,
  kindWord: string,
): void {
  const spec = template?.spec;
  if (!spec) return;
  if (spec.restartPolicy !== undefined && spec.restartPolicy !== "Always") {
    errs.notSupported("spec.template.spec.restartPolicy", spec.restartPolicy, ["Always"]);
  }
  if (spec.activeDeadlineSeconds !== undefined) {
    errs.invalid(
      "spec.template.spec.activeDeadlineSeconds",
      spec.activeDeadlineSeconds,
      `activeDeadlineSeconds in ${kindWord} is not Supported`,
    );
  }
}

/** maxSurge / maxUnavailable: a non-negative count or a percentage. */
export function validateIntOrPercent(
  errs: FieldErrors,
  v: number | string | undefined,
  path: string,
  max100: boolean,
): number {
  if (v === undefined) return 0;
  if (typeof v === "number") {
    if (v < 0) errs.invalid(path, v, GE0);
    return v;
  }
  const m = /^([0-9]+)%$/.exec(v);
  if (!m) {
    errs.invalid(
      path,
      v,
      "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
    );
    return -1;
  }
  const pct = Number(m[1]);
  if (max100 && pct > 100) errs.invalid(path, v, "must not be greater than 100%");
  return pct;
}

function validateRollingUpdate(
  errs: FieldErrors,
  ru: { maxUnavailable?: number | string; maxSurge?: number | string },
  path: string,
  message: string,
): void {
  const unavailable = validateIntOrPercent(errs, ru.maxUnavailable, `${path}.maxUnavailable`, true);
  const surge = validateIntOrPercent(errs, ru.maxSurge, `${path}.maxSurge`, false);
  if (unavailable === 0 && surge === 0)
    errs.invalid(`${path}.maxUnavailable`, ru.maxUnavailable ?? 0, message);
}

export function validateDeployment(errs: FieldErrors, d: Deployment): void {
  const spec = d.spec;
  if (!spec) return errs.required("spec");
  nonNegative(errs, spec.replicas, "spec.replicas");
  validateSelectorAndTemplate(errs, spec.selector, spec.template, "deployment");
  validateLongRunningTemplate(errs, spec.template, "ReplicaSet");
  const strategy = spec.strategy;
  const types = ["Recreate", "RollingUpdate"];
  if (strategy?.type !== undefined && !types.includes(strategy.type)) {
    errs.notSupported("spec.strategy.type", strategy.type, types);
  }
  if (strategy?.type === "Recreate" && strategy.rollingUpdate) {
    errs.forbidden(
      "spec.strategy.rollingUpdate",
      "may not be specified when strategy `type` is 'Recreate'",
    );
  }
  if (strategy?.type === "RollingUpdate" && strategy.rollingUpdate) {
    validateRollingUpdate(
      errs,
      strategy.rollingUpdate,
      "spec.strategy.rollingUpdate",
      "may not be 0 when `maxSurge` is 0",
    );
  }
  nonNegative(errs, spec.revisionHistoryLimit, "spec.revisionHistoryLimit");
  nonNegative(errs, spec.minReadySeconds, "spec.minReadySeconds");
  const pds = spec.progressDeadlineSeconds;
  if (pds !== undefined) {
    nonNegative(errs, pds, "spec.progressDeadlineSeconds");
    if (pds <= (spec.minReadySeconds ?? 0))
      errs.invalid("spec.progressDeadlineSeconds", pds, "must be greater than minReadySeconds");
  }
}

export function validateReplicaSet(errs: FieldErrors, rs: ReplicaSet): void {
  const spec = rs.spec;
  if (!spec) return errs.required("spec");
  nonNegative(errs, spec.replicas, "spec.replicas");
  nonNegative(errs, spec.minReadySeconds, "spec.minReadySeconds");
  validateSelectorAndTemplate(errs, spec.selector, spec.template, "deployment");
  validateLongRunningTemplate(errs, spec.template, "ReplicaSet");
}

export function validateDaemonSet(errs: FieldErrors, ds: DaemonSet): void {
  const spec = ds.spec;
  if (!spec) return errs.required("spec");
  validateSelectorAndTemplate(errs, spec.selector, spec.template, "daemonset");
  validateLongRunningTemplate(errs, spec.template, "DaemonSet");
  nonNegative(errs, spec.minReadySeconds, "spec.minReadySeconds");
  nonNegative(errs, spec.revisionHistoryLimit, "spec.revisionHistoryLimit");
  const us = spec.updateStrategy;
  const types = ["OnDelete", "RollingUpdate"];
  if (us?.type !== undefined && !types.includes(us.type)) {
    errs.notSupported("spec.updateStrategy.type", us.type, types);
  }
  if (us?.type === "RollingUpdate" && us.rollingUpdate) {
    validateRollingUpdate(
      errs,
      us.rollingUpdate,
      "spec.updateStrategy.rollingUpdate",
      "may not be 0 when `maxSurge` is 0",
    );
  }
}

export function validateJob(errs: FieldErrors, job: Job): void {
  const spec = job.spec;
  if (!spec) return errs.required("spec");
  nonNegative(errs, spec.parallelism, "spec.parallelism");
  nonNegative(errs, spec.completions, "spec.completions");
  nonNegative(errs, spec.activeDeadlineSeconds, "spec.activeDeadlineSeconds");
  nonNegative(errs, spec.backoffLimit, "spec.backoffLimit");
  nonNegative(errs, spec.ttlSecondsAfterFinished, "spec.ttlSecondsAfterFinished");
  validateSelectorAndTemplate(errs, spec.selector, spec.template, "job");
  const restart = spec.template?.spec?.restartPolicy;
  if (spec.template?.spec && restart !== "OnFailure" && restart !== "Never") {
    errs.notSupported("spec.template.spec.restartPolicy", restart ?? "", ["OnFailure", "Never"]);
  }
  validateJobPolicies(errs, spec, "spec");
}

/**
 * What a Job spec (a Job's, or a CronJob's template at `spec.jobTemplate.spec`) says about
 * completion and failure: completion mode, pod replacement, success and failure policies.
 */
export function validateJobPolicies(errs: FieldErrors, spec: JobSpec, path: string): void {
  const modes = ["NonIndexed", "Indexed"];
  if (spec.completionMode !== undefined && !modes.includes(spec.completionMode)) {
    errs.notSupported(`${path}.completionMode`, spec.completionMode, modes);
  }
  if (spec.completionMode === "Indexed" && spec.completions === undefined) {
    errs.required(`${path}.completions`, "when completion mode is Indexed");
  }
  const policies = ["TerminatingOrFailed", "Failed"];
  if (spec.podReplacementPolicy !== undefined && !policies.includes(spec.podReplacementPolicy)) {
    errs.notSupported(`${path}.podReplacementPolicy`, spec.podReplacementPolicy, policies);
  }
  if (spec.successPolicy) validateSuccessPolicy(errs, spec, path);
  if (spec.podFailurePolicy) validatePodFailurePolicy(errs, spec, path);
}

const FAILURE_ACTIONS = ["Count", "FailIndex", "FailJob", "Ignore"];
const CONDITION_STATUSES = ["False", "True", "Unknown"];

/** Job spec.podFailurePolicy, as 1.31 checks it. */
function validatePodFailurePolicy(errs: FieldErrors, spec: JobSpec, base: string): void {
  const path = `${base}.podFailurePolicy.rules`;
  const rules = spec.podFailurePolicy?.rules ?? [];
  if (spec.template?.spec && spec.template.spec.restartPolicy !== "Never")
    errs.invalid(
      `${base}.template.spec.restartPolicy`,
      spec.template.spec.restartPolicy ?? "",
      'only "Never" is supported when podFailurePolicy is specified',
    );
  if (rules.length > 20) errs.tooMany(path, rules.length, 20);
  rules.forEach((rule, i) => {
    const p = `${path}[${i}]`;
    if (!FAILURE_ACTIONS.includes(rule.action))
      errs.notSupported(`${p}.action`, rule.action, FAILURE_ACTIONS);
    else if (rule.action === "FailIndex" && spec.backoffLimitPerIndex === undefined)
      errs.invalid(`${p}.action`, rule.action, "requires the backoffLimitPerIndex to be set");
    const codes = rule.onExitCodes;
    const conditions = rule.onPodConditions;
    if (codes && conditions)
      errs.invalid(p, "", "specifying both OnExitCodes and OnPodConditions is not supported");
    else if (!codes && !conditions)
      errs.invalid(p, "", "specifying one of OnExitCodes and OnPodConditions is required");
    if (codes) {
      if (codes.operator !== "In" && codes.operator !== "NotIn")
        errs.notSupported(`${p}.onExitCodes.operator`, codes.operator, ["In", "NotIn"]);
      const values = codes.values ?? [];
      if (values.length === 0)
        errs.required(`${p}.onExitCodes.values`, "at least one value is required");
      if (values.length > 255) errs.tooMany(`${p}.onExitCodes.values`, values.length, 255);
      values.forEach((v, j) => {
        const vp = `${p}.onExitCodes.values[${j}]`;
        if (j > 0 && v === values[j - 1]) errs.duplicate(vp, v);
        else if (j > 0 && v < values[j - 1]!) errs.invalid(vp, v, "must be ordered");
        if (codes.operator === "In" && v === 0)
          errs.invalid(vp, v, "must not be 0 for the In operator");
      });
    }
    (conditions ?? []).forEach((c, j) => {
      const cp = `${p}.onPodConditions[${j}]`;
      if (c.status !== undefined && !CONDITION_STATUSES.includes(c.status))
        errs.notSupported(`${cp}.status`, c.status, CONDITION_STATUSES);
      if (!c.type) errs.required(`${cp}.type`);
      else errs.invalidEach(`${cp}.type`, c.type, isQualifiedName(c.type));
    });
  });
}

const MAX_SUCCESS_POLICY_RULES = 20;

/** Job spec.successPolicy (stored; Skiff's Job controller does not act on it). */
function validateSuccessPolicy(errs: FieldErrors, spec: JobSpec, base: string): void {
  const path = `${base}.successPolicy`;
  if (spec.completionMode !== "Indexed")
    errs.invalid(
      `${base}.completionMode`,
      spec.completionMode ?? "NonIndexed",
      "requires indexed completion mode",
    );
  const rules = spec.successPolicy?.rules ?? [];
  if (rules.length === 0)
    errs.required(
      `${path}.rules`,
      "at least one rules must be specified when the successPolicy is specified",
    );
  if (rules.length > MAX_SUCCESS_POLICY_RULES)
    errs.tooMany(`${path}.rules`, rules.length, MAX_SUCCESS_POLICY_RULES);
  const completions = spec.completions ?? 0;
  rules.forEach((rule, i) => {
    const p = `${path}.rules[${i}]`;
    if (rule.succeededIndexes === undefined && rule.succeededCount === undefined) {
      errs.required(p, "at least one of succeededCount or succeededIndexes must be specified");
      return;
    }
    let indexes: number | undefined;
    if (rule.succeededIndexes !== undefined) {
      const counted = countIndexes(rule.succeededIndexes, completions);
      if (typeof counted === "number") indexes = counted;
      else
        errs.invalid(
          `${p}.succeededIndexes`,
          rule.succeededIndexes,
          `error parsing succeededIndexes: ${counted}`,
        );
    }
    const count = rule.succeededCount;
    if (count === undefined) return;
    if (count < 0) errs.invalid(`${p}.succeededCount`, count, "must be greater than or equal to 0");
    else if (count > completions)
      errs.invalid(
        `${p}.succeededCount`,
        count,
        `must be less than or equal to ${completions} (the number of specified completions)`,
      );
    else if (indexes !== undefined && count > indexes)
      errs.invalid(
        `${p}.succeededCount`,
        count,
        `must be less than or equal to ${indexes} (the number of indexes in the specified succeededIndexes field)`,
      );
  });
}

/**
 * How many indexes "1,3-5" names, each below `completions`, in increasing order without
 * overlap; or what is wrong with it.
 */
function countIndexes(text: string, completions: number): number | string {
  let count = 0;
  let last = -1;
  for (const part of text.split(",")) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) return `cannot convert string to integer for index: "${part}"`;
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo) return `non-increasing order, previous: ${lo}, current: ${hi}`;
    if (lo <= last) return `overlapping intervals: ${part}`;
    if (hi >= completions) return `too large index: ${hi}`;
    count += hi - lo + 1;
    last = hi;
  }
  return count;
}
