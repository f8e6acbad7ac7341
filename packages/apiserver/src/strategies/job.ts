// Jobs: without manualSelector, a selector on a label holding the Job's own uid.
import { meta, type KubeObject } from "../objects.js";
import type { Strategy } from "./strategy.js";

export const jobStrategy: Strategy = {
  prepareForCreate(job) {
    job.status = {};
    generateJobSelector(job);
  },
};

/** Jobs without manualSelector get a selector on a label holding their own uid. */
export function generateJobSelector(job: KubeObject): void {
  const spec = job.spec as Record<string, unknown> | undefined;
  if (!spec || spec.manualSelector === true) return;
  const uid = meta(job).uid!;
  const name = meta(job).name!;
  const template = (spec.template ??= {}) as Record<string, unknown>;
  const tmeta = (template.metadata ??= {}) as Record<string, unknown>;
  tmeta.labels = {
    ...((tmeta.labels as Record<string, string>) ?? {}),
    "batch.kubernetes.io/controller-uid": uid,
    "batch.kubernetes.io/job-name": name,
    "controller-uid": uid,
    "job-name": name,
  };
  if (!spec.selector)
    spec.selector = { matchLabels: { "batch.kubernetes.io/controller-uid": uid } };
}
