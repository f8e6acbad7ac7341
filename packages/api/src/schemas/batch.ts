// batch/v1 Job and CronJob.
import type { Static } from "@sinclair/typebox";
import {
  atomic,
  bool,
  int32,
  int64,
  keyed,
  named,
  opt,
  set,
  str,
  time,
  probedCondition,
} from "./helpers.js";
import { LabelSelectorSchema, kindSchema, templateSchema } from "./meta.js";
import { ObjectReferenceSchema, PodTemplateSpecSchema } from "./core.js";

const BATCH = "io.k8s.api.batch.v1";

export const JobConditionSchema = probedCondition(`${BATCH}.JobCondition`);
export type JobCondition = Static<typeof JobConditionSchema>;

export const PodFailurePolicyRuleSchema = named(`${BATCH}.PodFailurePolicyRule`, {
  action: str(),
  onExitCodes: opt(
    named(`${BATCH}.PodFailurePolicyOnExitCodesRequirement`, {
      containerName: opt(str()),
      operator: str(),
      values: set(int32()),
    }),
  ),
  onPodConditions: opt(
    atomic(
      named(`${BATCH}.PodFailurePolicyOnPodConditionsPattern`, {
        type: str(),
        status: opt(str({ default: "True" })),
      }),
    ),
  ),
});

export const JobSpecSchema = named(`${BATCH}.JobSpec`, {
  parallelism: opt(int32()),
  completions: opt(int32()),
  activeDeadlineSeconds: opt(int64()),
  podFailurePolicy: opt(
    named(`${BATCH}.PodFailurePolicy`, { rules: atomic(PodFailurePolicyRuleSchema) }),
  ),
  backoffLimit: opt(int32()),
  backoffLimitPerIndex: opt(int32()),
  maxFailedIndexes: opt(int32()),
  selector: opt(LabelSelectorSchema),
  manualSelector: opt(bool()),
  template: PodTemplateSpecSchema,
  ttlSecondsAfterFinished: opt(int32()),
  completionMode: opt(str({ default: "NonIndexed" })),
  suspend: opt(bool({ default: false })),
  podReplacementPolicy: opt(str()),
  successPolicy: opt(
    named(`${BATCH}.SuccessPolicy`, {
      rules: atomic(
        named(`${BATCH}.SuccessPolicyRule`, {
          succeededIndexes: opt(str()),
          succeededCount: opt(int32()),
        }),
      ),
    }),
  ),
});
export type JobSpec = Static<typeof JobSpecSchema>;

export const JobStatusSchema = named(`${BATCH}.JobStatus`, {
  conditions: opt(keyed(JobConditionSchema, "type", { listType: "atomic" })),
  startTime: opt(time()),
  completionTime: opt(time()),
  active: opt(int32()),
  succeeded: opt(int32()),
  failed: opt(int32()),
  terminating: opt(int32()),
  completedIndexes: opt(str()),
  failedIndexes: opt(str()),
  uncountedTerminatedPods: opt(
    named(`${BATCH}.UncountedTerminatedPods`, {
      succeeded: opt(set(str())),
      failed: opt(set(str())),
    }),
  ),
  ready: opt(int32()),
});
export type JobStatus = Static<typeof JobStatusSchema>;

export const JobSchema = kindSchema(`${BATCH}.Job`, JobSpecSchema, JobStatusSchema);
export type Job = Static<typeof JobSchema>;

export const JobTemplateSpecSchema = templateSchema(`${BATCH}.JobTemplateSpec`, JobSpecSchema);
export type JobTemplateSpec = Static<typeof JobTemplateSpecSchema>;

export const CronJobSpecSchema = named(`${BATCH}.CronJobSpec`, {
  schedule: str(),
  timeZone: opt(str()),
  startingDeadlineSeconds: opt(int64()),
  concurrencyPolicy: opt(str({ default: "Allow" })),
  suspend: opt(bool({ default: false })),
  jobTemplate: JobTemplateSpecSchema,
  successfulJobsHistoryLimit: opt(int32({ default: 3 })),
  failedJobsHistoryLimit: opt(int32({ default: 1 })),
});
export type CronJobSpec = Static<typeof CronJobSpecSchema>;

export const CronJobStatusSchema = named(`${BATCH}.CronJobStatus`, {
  active: opt(atomic(ObjectReferenceSchema)),
  lastScheduleTime: opt(time()),
  lastSuccessfulTime: opt(time()),
});
export type CronJobStatus = Static<typeof CronJobStatusSchema>;

export const CronJobSchema = kindSchema(`${BATCH}.CronJob`, CronJobSpecSchema, CronJobStatusSchema);
export type CronJob = Static<typeof CronJobSchema>;
