// PersistentVolumeClaim checks (also used for a StatefulSet's claim templates), as
// Kubernetes 1.31 words them.
import { parseQuantity } from "../quantity.js";
import {
  ACCESS_MODES,
  type PersistentVolumeClaim,
  type PersistentVolumeClaimSpec,
} from "../schemas/storage.js";
import type { FieldErrors } from "./errors.js";
import { validateLabelSelector } from "./meta.js";
import { isDNS1123Subdomain } from "./names.js";
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
  const a = structuredClone(now.spec ?? {});
  const b = structuredClone(old.spec ?? {});
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
