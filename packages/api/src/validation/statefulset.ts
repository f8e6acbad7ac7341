// StatefulSet and ControllerRevision checks, as Kubernetes 1.31 words them.
import type { ControllerRevision, StatefulSet } from "../schemas/apps.js";
import type { FieldErrors } from "./errors.js";
import { IMMUTABLE, immutableSelector } from "./kinds.js";
import {
  validateIntOrPercent,
  validateLongRunningTemplate,
  validateSelectorAndTemplate,
} from "./workloads.js";
import { validateObjectMeta } from "./meta.js";
import { isDNS1123Subdomain } from "./names.js";
import { GE0, deepEqual, nonNegative } from "./pod.js";
import { validatePersistentVolumeClaimSpec } from "./storage.js";

const RETENTION = ["Retain", "Delete"];

export function validateStatefulSet(errs: FieldErrors, sts: StatefulSet): void {
  const spec = sts.spec;
  if (!spec) return errs.required("spec");
  nonNegative(errs, spec.replicas, "spec.replicas");
  nonNegative(errs, spec.minReadySeconds, "spec.minReadySeconds");
  nonNegative(errs, spec.revisionHistoryLimit, "spec.revisionHistoryLimit");
  nonNegative(errs, spec.ordinals?.start, "spec.ordinals.start");
  switch (spec.podManagementPolicy) {
    case undefined:
    case "":
      errs.required("spec.podManagementPolicy");
      break;
    case "OrderedReady":
    case "Parallel":
      break;
    default:
      errs.invalid(
        "spec.podManagementPolicy",
        spec.podManagementPolicy,
        "must be 'OrderedReady' or 'Parallel'",
      );
  }
  const us = spec.updateStrategy;
  switch (us?.type) {
    case undefined:
    case "":
      errs.required("spec.updateStrategy");
      break;
    case "OnDelete":
      if (us.rollingUpdate) {
        errs.invalid(
          "spec.updateStrategy.rollingUpdate",
          us.rollingUpdate,
          "only allowed for updateStrategy 'RollingUpdate'",
        );
      }
      break;
    case "RollingUpdate": {
      const ru = us.rollingUpdate;
      nonNegative(errs, ru?.partition, "spec.updateStrategy.rollingUpdate.partition");
      if (ru?.maxUnavailable !== undefined) {
        const path = "spec.updateStrategy.rollingUpdate.maxUnavailable";
        const v = validateIntOrPercent(errs, ru.maxUnavailable, path, true);
        if (v === 0) errs.invalid(path, ru.maxUnavailable, "cannot be 0");
      }
      break;
    }
    default:
      errs.invalid("spec.updateStrategy", us, "must be 'RollingUpdate' or 'OnDelete'");
  }
  const retention = spec.persistentVolumeClaimRetentionPolicy;
  for (const f of ["whenDeleted", "whenScaled"] as const) {
    const v = retention?.[f];
    if (v !== undefined && !RETENTION.includes(v))
      errs.notSupported(`spec.persistentVolumeClaimRetentionPolicy.${f}`, v, RETENTION);
  }
  // The controller adds a volume per claim template to every pod: mounts may name them.
  const claimVolumes = (spec.volumeClaimTemplates ?? []).flatMap((t) =>
    t.metadata?.name ? [t.metadata.name] : [],
  );
  validateSelectorAndTemplate(errs, spec.selector, spec.template, "statefulset", claimVolumes);
  validateLongRunningTemplate(errs, spec.template, "StatefulSet");
  (spec.volumeClaimTemplates ?? []).forEach((t, i) => {
    const path = `spec.volumeClaimTemplates[${i}]`;
    validateObjectMeta(
      errs,
      { ...t.metadata, namespace: undefined },
      false,
      isDNS1123Subdomain,
      `${path}.metadata`,
    );
    validatePersistentVolumeClaimSpec(errs, t.spec, `${path}.spec`);
  });
}

const MUTABLE = [
  "replicas",
  "ordinals",
  "template",
  "updateStrategy",
  "persistentVolumeClaimRetentionPolicy",
  "minReadySeconds",
] as const;

export function validateStatefulSetUpdate(
  errs: FieldErrors,
  now: StatefulSet,
  old: StatefulSet,
): void {
  const a: Record<string, unknown> = { ...(now.spec ?? {}) };
  const b: Record<string, unknown> = { ...(old.spec ?? {}) };
  for (const f of MUTABLE) {
    delete a[f];
    delete b[f];
  }
  if (!deepEqual(a, b)) {
    errs.forbidden(
      "spec",
      "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
    );
  } else immutableSelector(errs, now, old);
}

export function validateControllerRevision(errs: FieldErrors, cr: ControllerRevision): void {
  if (cr.data === undefined) errs.required("data", "data is mandatory");
  if (cr.revision < 0) errs.invalid("revision", cr.revision, GE0);
}

export function validateControllerRevisionUpdate(
  errs: FieldErrors,
  now: ControllerRevision,
  old: ControllerRevision,
): void {
  if (!deepEqual(now.data, old.data)) errs.invalid("data", now.data ?? null, IMMUTABLE);
}
