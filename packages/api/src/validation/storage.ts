// PersistentVolumeClaim (also a StatefulSet's claim templates), PersistentVolume and
// StorageClass checks, as Kubernetes 1.31 words them.
import { copyJson } from "../guards.js";
import { parseQuantity } from "../quantity.js";
import {
  ACCESS_MODES,
  type PersistentVolume,
  type PersistentVolumeClaim,
  type PersistentVolumeSpec,
  PersistentVolumeSpecSchema,
  type StorageClass,
} from "../schemas/storage.js";
import { volumeSources, type PersistentVolumeClaimSpec } from "../schemas/core.js";
import type { FieldErrors } from "./errors.js";
import { validateVolumeSource } from "./volume-sources.js";
import { HOST_PATH_TYPES } from "./pod-enums.js";
import { validateLabelSelector } from "./meta.js";
import { isDNS1123Subdomain, isQualifiedName } from "./names.js";
import { deepEqual } from "./pod.js";

const VOLUME_MODES = ["Block", "Filesystem"];

/** The access modes, storage request, class and mode of a claim (or claim template). */
export function validatePersistentVolumeClaimSpec(
  errs: FieldErrors,
  spec: PersistentVolumeClaimSpec | undefined,
  path: string,
): void {
  const modes = spec?.accessModes ?? [];
  if (modes.length === 0)
    errs.required(`${path}.accessModes`, "at least 1 access mode is required");
  for (const m of modes) {
    if (!(ACCESS_MODES as readonly string[]).includes(m))
      errs.notSupported(`${path}.accessModes`, m, ACCESS_MODES);
  }
  if (modes.includes("ReadWriteOncePod") && modes.length > 1) {
    errs.forbidden(`${path}.accessModes`, "may not use ReadWriteOncePod with other access modes");
  }
  if (spec?.selector) validateLabelSelector(errs, spec.selector, `${path}.selector`);
  const storage = spec?.resources?.requests?.storage;
  const field = `${path}.resources[storage]`;
  if (storage === undefined) errs.required(field);
  else {
    let value = NaN;
    try {
      value = parseQuantity(storage);
    } catch {
      errs.invalid(field, storage, "quantities must match the regular expression");
    }
    if (!Number.isNaN(value) && value <= 0)
      errs.invalid(field, storage, "must be greater than zero");
  }
  if (spec?.storageClassName) {
    errs.invalidEach(
      `${path}.storageClassName`,
      spec.storageClassName,
      isDNS1123Subdomain(spec.storageClassName),
    );
  }
  if (spec?.volumeMode !== undefined && !VOLUME_MODES.includes(spec.volumeMode)) {
    errs.notSupported(`${path}.volumeMode`, spec.volumeMode, VOLUME_MODES);
  }
}

export function validatePersistentVolumeClaim(errs: FieldErrors, pvc: PersistentVolumeClaim): void {
  validatePersistentVolumeClaimSpec(errs, pvc.spec, "spec");
}

/**
 * A claim's spec is fixed once created, except that the binder sets volumeName once and a
 * bound claim may ask for more storage.
 */
export function validatePersistentVolumeClaimUpdate(
  errs: FieldErrors,
  now: PersistentVolumeClaim,
  old: PersistentVolumeClaim,
): void {
  const a = copyJson(now.spec ?? {});
  const b = copyJson(old.spec ?? {});
  if (!b.volumeName) b.volumeName = a.volumeName;
  if (!b.volumeName) {
    delete a.volumeName;
    delete b.volumeName;
  }
  const bound = Boolean(old.spec?.volumeName);
  if (bound) {
    const before = b.resources?.requests?.storage;
    const after = a.resources?.requests?.storage;
    if (
      before !== undefined &&
      after !== undefined &&
      parseQuantity(after) < parseQuantity(before)
    ) {
      errs.forbidden(
        "spec.resources.requests.storage",
        "field can not be less than previous value",
      );
    }
    if (a.resources?.requests && b.resources) b.resources.requests = a.resources.requests;
    b.volumeAttributesClassName = a.volumeAttributesClassName;
    if (b.volumeAttributesClassName === undefined) delete b.volumeAttributesClassName;
  }
  if (!deepEqual(a, b)) {
    errs.forbidden(
      "spec",
      "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims",
    );
  }
}

const RECLAIM = ["Delete", "Recycle", "Retain"];
// The sources of a PersistentVolume (a pod's, less those only pods have, plus local); only
// hostPath and local are mounted by Skiff's kubelet.
const SOURCES = ["local", ...volumeSources].filter(
  (s) => s in PersistentVolumeSpecSchema.properties,
) as (keyof PersistentVolumeSpec)[];

export function validatePersistentVolume(errs: FieldErrors, pv: PersistentVolume): void {
  const spec = pv.spec;
  if (!spec) return errs.required("spec");
  const capacity = spec.capacity ?? {};
  if (Object.keys(capacity).length === 0) errs.required("spec.capacity");
  else if (capacity.storage === undefined || Object.keys(capacity).length > 1)
    errs.notSupported("spec.capacity", capacity, ["storage"]);
  else {
    let value = NaN;
    try {
      value = parseQuantity(capacity.storage);
    } catch {
      errs.invalid(
        "spec.capacity[storage]",
        capacity.storage,
        "quantities must match the regular expression",
      );
    }
    if (!Number.isNaN(value) && value <= 0)
      errs.invalid("spec.capacity[storage]", capacity.storage, "must be greater than zero");
  }
  const modes = spec.accessModes ?? [];
  if (modes.length === 0) errs.required("spec.accessModes", "at least 1 access mode is required");
  for (const m of modes) {
    if (!(ACCESS_MODES as readonly string[]).includes(m))
      errs.notSupported("spec.accessModes", m, ACCESS_MODES);
  }
  const reclaim = spec.persistentVolumeReclaimPolicy;
  if (reclaim !== undefined && !RECLAIM.includes(reclaim))
    errs.notSupported("spec.persistentVolumeReclaimPolicy", reclaim, RECLAIM);
  if (spec.storageClassName) {
    errs.invalidEach(
      "spec.storageClassName",
      spec.storageClassName,
      isDNS1123Subdomain(spec.storageClassName),
    );
  }
  if (spec.volumeMode !== undefined && !VOLUME_MODES.includes(spec.volumeMode))
    errs.notSupported("spec.volumeMode", spec.volumeMode, VOLUME_MODES);
  const given = SOURCES.filter((s) => spec[s] !== undefined);
  if (given.length === 0) errs.required("spec", "must specify a volume type");
  for (const extra of given.slice(1))
    errs.forbidden(`spec.${extra}`, "may not specify more than 1 volume type");
  for (const s of given) {
    if (s !== "hostPath" && s !== "local") {
      validateVolumeSource(errs, s, spec[s] as object, `spec.${s}`, true);
      continue;
    }
    const type = spec.hostPath?.type;
    if (s === "hostPath" && type !== undefined && !HOST_PATH_TYPES.includes(type))
      errs.notSupported("spec.hostPath.type", type, HOST_PATH_TYPES);
    const path = spec[s]?.path ?? "";
    if (!path) errs.required(`spec.${s}.path`);
    else if (!path.startsWith("/"))
      errs.invalid(`spec.${s}.path`, path, "must be an absolute path");
    else if (path.split("/").includes(".."))
      errs.invalid(`spec.${s}.path`, path, "must not contain '..'");
  }
  if (spec.local && !spec.nodeAffinity?.required)
    errs.required("spec.nodeAffinity", "Local volume requires node affinity");
}

export function validatePersistentVolumeUpdate(
  errs: FieldErrors,
  now: PersistentVolume,
  old: PersistentVolume,
): void {
  for (const s of SOURCES) {
    if (!deepEqual(now.spec?.[s], old.spec?.[s])) {
      errs.forbidden(
        "spec.persistentvolumesource",
        "spec.persistentvolumesource is immutable after creation",
      );
      return;
    }
  }
}

const BINDING_MODES = ["Immediate", "WaitForFirstConsumer"];

export function validateStorageClass(errs: FieldErrors, sc: StorageClass): void {
  if (!sc.provisioner) errs.required("provisioner");
  else
    errs.invalidEach("provisioner", sc.provisioner, isQualifiedName(sc.provisioner.toLowerCase()));
  if (sc.reclaimPolicy !== undefined && !["Delete", "Retain"].includes(sc.reclaimPolicy))
    errs.notSupported("reclaimPolicy", sc.reclaimPolicy, ["Delete", "Retain"]);
  if (sc.volumeBindingMode !== undefined && !BINDING_MODES.includes(sc.volumeBindingMode))
    errs.notSupported("volumeBindingMode", sc.volumeBindingMode, BINDING_MODES);
}

export function validateStorageClassUpdate(
  errs: FieldErrors,
  now: StorageClass,
  old: StorageClass,
): void {
  if (!deepEqual(now.parameters ?? {}, old.parameters ?? {}))
    errs.forbidden("parameters", "updates to parameters are forbidden.");
  if (now.provisioner !== old.provisioner)
    errs.forbidden("provisioner", "updates to provisioner are forbidden.");
  if ((now.reclaimPolicy ?? "") !== (old.reclaimPolicy ?? ""))
    errs.forbidden("reclaimPolicy", "updates to reclaimPolicy are forbidden.");
  if ((now.volumeBindingMode ?? "") !== (old.volumeBindingMode ?? ""))
    errs.invalid("volumeBindingMode", now.volumeBindingMode ?? "", "field is immutable");
}
