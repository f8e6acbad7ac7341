// validate(info, obj, old?): the schema's type checks, then Kubernetes' semantic checks for
// the kind, then (for updates) what may not change. Errors carry Kubernetes' field paths
// and wording, ready to become the causes of a 422 Invalid Status.
import type { TSchema } from "@sinclair/typebox";
import type { ResourceInfo } from "./resources.js";
import type { ObjectMeta } from "./schemas/meta.js";
import type { PodSpec } from "./schemas/core.js";
import { child, classify, index, isObject, schemaFor } from "./schema.js";
import { FieldErrors, type FieldError } from "./validation/errors.js";
import {
  isValidPathSegmentName,
  validateBindingUpdate,
  validateClusterRole,
  validateClusterRoleBinding,
  validateRole,
  validateRoleBinding,
} from "./validation/rbac.js";
import {
  createValidators,
  kindValidators,
  nameChecks,
  updateValidators,
} from "./validation/kinds.js";
import { validateEphemeralContainersUpdate } from "./validation/pod.js";
import { validateCronJob } from "./validation/cronjob.js";
import {
  validateMutatingWebhookConfiguration,
  validateValidatingWebhookConfiguration,
} from "./validation/admissionregistration.js";
import { validateObjectMeta, validateObjectMetaUpdate } from "./validation/meta.js";
import { validatePodDisruptionBudget } from "./validation/policy.js";
import { validateNetworkPolicy } from "./validation/networkpolicy.js";
import {
  validateLimitRange,
  validatePriorityClass,
  validatePriorityClassUpdate,
  validateResourceQuota,
} from "./validation/quota.js";
import {
  validateControllerRevision,
  validateControllerRevisionUpdate,
  validateStatefulSet,
  validateStatefulSetUpdate,
} from "./validation/statefulset.js";
import {
  validatePersistentVolume,
  validatePersistentVolumeClaim,
  validatePersistentVolumeClaimUpdate,
  validatePersistentVolumeUpdate,
  validateStorageClass,
  validateStorageClassUpdate,
} from "./validation/storage.js";
import { isDNS1123Subdomain } from "./validation/names.js";
import { validateCustom } from "./apiextensions/custom.js";
import { validateCRD, validateCRDUpdate } from "./apiextensions/crd.js";
import { validateReplicationController } from "./validation/replicationcontroller.js";
import {
  validateValidatingAdmissionPolicy,
  validateValidatingAdmissionPolicyBinding,
} from "./validation/admissionpolicy.js";
import {
  validateIngress,
  validateIngressClass,
  validateIngressClassUpdate,
} from "./validation/ingress.js";
import {
  validateFlowSchema,
  validatePriorityLevelConfiguration,
} from "./validation/flowcontrol.js";

export type { FieldError, FieldErrorType } from "./validation/errors.js";
export { HIGHEST_USER_PRIORITY, SYSTEM_PRIORITY_CLASSES } from "./validation/quota.js";
export { formatValue } from "./validation/errors.js";
export {
  isCIDR,
  isDNS1035Label,
  isDNS1123Label,
  isDNS1123Subdomain,
  isIPv4,
  isQualifiedName,
  isValidLabelValue,
} from "./validation/names.js";

/**
 * All that is wrong with obj as a resource of this kind; empty when it may be stored.
 * Pass the stored object as `old` for an update, and the subresource written through when
 * it has rules of its own (pods/ephemeralcontainers). Run it after applyDefaults, as
 * Kubernetes does. Wrong JSON types are reported alone, before any other check.
 */
export function validate(
  info: Pick<ResourceInfo, "kind" | "namespaced" | "custom">,
  obj: Record<string, unknown>,
  old?: object,
  subresource?: "ephemeralcontainers",
): FieldError[] {
  if (info.custom) return validateCustom(info, obj, old as Record<string, unknown> | undefined);
  const errs = new FieldErrors();
  checkTypes(errs, schemaFor(info), obj, "");
  if (errs.list.length > 0) return errs.list;

  // JSON null means "unset" to Kubernetes; the checks below see it that way.
  const now = withoutNulls(obj) as { metadata?: ObjectMeta };
  validateObjectMeta(
    errs,
    now.metadata,
    info.namespaced,
    nameChecks[info.kind] ??
      (RBAC_KINDS.has(info.kind) ? isValidPathSegmentName : isDNS1123Subdomain),
  );
  (kindValidators[info.kind] ?? moreKindValidators[info.kind])?.(errs, now as never);
  if (!old) createValidators[info.kind]?.(errs, now as never);
  if (old) {
    const before = withoutNulls(old) as { metadata?: ObjectMeta };
    validateObjectMetaUpdate(errs, now.metadata, before.metadata);
    if (subresource === "ephemeralcontainers") {
      const pods = [now, before] as { spec?: PodSpec }[];
      const mirror = before.metadata?.annotations?.["kubernetes.io/config.mirror"] !== undefined;
      validateEphemeralContainersUpdate(errs, pods[0]!.spec, pods[1]!.spec, mirror);
      return errs.list;
    }
    (updateValidators[info.kind] ?? moreUpdateValidators[info.kind])?.(
      errs,
      now as never,
      before as never,
    );
  }
  return errs.list;
}

const RBAC_KINDS = new Set(["Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"]);

// The kinds whose checks live in their own files (the dispatch in kinds.ts predates them).
const moreKindValidators: Record<string, (errs: FieldErrors, obj: never) => void> = {
  Role: validateRole,
  ClusterRole: validateClusterRole,
  RoleBinding: validateRoleBinding,
  ClusterRoleBinding: validateClusterRoleBinding,
  CustomResourceDefinition: validateCRD,
  StatefulSet: validateStatefulSet,
  ControllerRevision: validateControllerRevision,
  PersistentVolumeClaim: validatePersistentVolumeClaim,
  CronJob: validateCronJob,
  PersistentVolume: validatePersistentVolume,
  StorageClass: validateStorageClass,
  PodDisruptionBudget: validatePodDisruptionBudget,
  PriorityClass: validatePriorityClass,
  ResourceQuota: validateResourceQuota,
  LimitRange: validateLimitRange,
  MutatingWebhookConfiguration: validateMutatingWebhookConfiguration,
  ValidatingWebhookConfiguration: validateValidatingWebhookConfiguration,
  ReplicationController: validateReplicationController,
  ValidatingAdmissionPolicy: validateValidatingAdmissionPolicy,
  ValidatingAdmissionPolicyBinding: validateValidatingAdmissionPolicyBinding,
  Ingress: validateIngress,
  IngressClass: validateIngressClass,
  FlowSchema: validateFlowSchema,
  PriorityLevelConfiguration: validatePriorityLevelConfiguration,
  NetworkPolicy: validateNetworkPolicy,
};
const moreUpdateValidators: Record<string, (errs: FieldErrors, now: never, old: never) => void> = {
  RoleBinding: validateBindingUpdate,
  ClusterRoleBinding: validateBindingUpdate,
  CustomResourceDefinition: validateCRDUpdate,
  StatefulSet: validateStatefulSetUpdate,
  PriorityClass: validatePriorityClassUpdate,
  PersistentVolume: validatePersistentVolumeUpdate,
  StorageClass: validateStorageClassUpdate,
  ControllerRevision: validateControllerRevisionUpdate,
  PersistentVolumeClaim: validatePersistentVolumeClaimUpdate,
  IngressClass: validateIngressClassUpdate,
};

/** Type errors only: what a decoder would refuse. */
export function typeErrors(schema: TSchema, value: unknown): FieldError[] {
  const errs = new FieldErrors();
  checkTypes(errs, schema, value, "");
  return errs.list;
}

function jsonType(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  return typeof v;
}

function checkTypes(errs: FieldErrors, schema: TSchema, value: unknown, path: string): void {
  if (value === undefined || value === null) return;
  const node = classify(schema);
  switch (node.is) {
    case "struct":
      if (!isObject(value)) return errs.typeInvalid(path, jsonType(value), "object");
      for (const [name, prop] of node.entries) {
        const v = value[name];
        if (v !== undefined && v !== null) checkTypes(errs, prop, v, child(path, name));
      }
      return;
    case "map":
      if (!isObject(value)) return errs.typeInvalid(path, jsonType(value), "object");
      for (const [k, v] of Object.entries(value)) checkTypes(errs, node.values, v, index(path, k));
      return;
    case "array":
      if (!Array.isArray(value)) return errs.typeInvalid(path, jsonType(value), "array");
      value.forEach((v, i) => checkTypes(errs, node.items, v, index(path, i)));
      return;
    case "scalar": {
      const actual = jsonType(value);
      const ok = node.types.some((t) => t === actual || (t === "number" && actual === "integer"));
      if (!ok) errs.typeInvalid(path, actual, node.types.join(" or "));
      return;
    }
    case "any":
      return;
  }
}

/** v without its JSON nulls: v itself when it has none (the checks only read it). */
function withoutNulls(v: unknown): unknown {
  return hasNull(v) ? copyWithoutNulls(v) : v;
}

function hasNull(v: unknown): boolean {
  if (v === null) return true;
  if (Array.isArray(v)) return v.some(hasNull);
  if (isObject(v)) {
    for (const k in v) if (hasNull(v[k])) return true;
  }
  return false;
}

function copyWithoutNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(copyWithoutNulls);
  if (isObject(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (x !== null) out[k] = copyWithoutNulls(x);
    return out;
  }
  return v;
}
