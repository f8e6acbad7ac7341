// ObjectMeta, labels, annotations and LabelSelector checks shared by every kind.
import type { LabelSelector, ObjectMeta } from "../schemas/meta.js";
import type { FieldErrors } from "./errors.js";
import { isDNS1123Label, isQualifiedName, isValidLabelValue } from "./names.js";

export type NameCheck = (name: string) => string[];

const TOTAL_ANNOTATION_SIZE = 256 * 1024;

export function validateLabels(
  errs: FieldErrors,
  labels: Record<string, string> | undefined,
  path: string,
): void {
  for (const [k, v] of Object.entries(labels ?? {})) {
    errs.invalidEach(path, k, isQualifiedName(k));
    errs.invalidEach(path, v, isValidLabelValue(v));
  }
}

export function validateAnnotations(
  errs: FieldErrors,
  annotations: Record<string, string> | undefined,
  path: string,
): void {
  let size = 0;
  for (const [k, v] of Object.entries(annotations ?? {})) {
    errs.invalidEach(path, k, isQualifiedName(k.toLowerCase()));
    size += Buffer.byteLength(k) + Buffer.byteLength(v);
  }
  if (size > TOTAL_ANNOTATION_SIZE) errs.tooLong(path, TOTAL_ANNOTATION_SIZE);
}

/** ObjectMeta on create and update: names, namespace, labels, annotations, owners. */
export function validateObjectMeta(
  errs: FieldErrors,
  meta: ObjectMeta | undefined,
  namespaced: boolean,
  nameCheck: NameCheck,
  path = "metadata",
): void {
  const m = meta ?? {};
  if (m.generateName) {
    // A generated name is the prefix plus random characters, so a trailing "-" is fine.
    const prefix =
      m.generateName.endsWith("-") && m.generateName.length > 1
        ? `${m.generateName.slice(0, -1)}a`
        : m.generateName;
    errs.invalidEach(`${path}.generateName`, m.generateName, nameCheck(prefix));
  }
  if (!m.name) {
    if (!m.generateName) errs.required(`${path}.name`, "name or generateName is required");
  } else {
    errs.invalidEach(`${path}.name`, m.name, nameCheck(m.name));
  }
  if (namespaced) {
    if (!m.namespace) errs.required(`${path}.namespace`);
    else errs.invalidEach(`${path}.namespace`, m.namespace, isDNS1123Label(m.namespace));
  } else if (m.namespace) {
    errs.forbidden(`${path}.namespace`, "not allowed on this type");
  }
  if (m.generation !== undefined && m.generation < 0) {
    errs.invalid(`${path}.generation`, m.generation, "must be greater than or equal to 0");
  }
  validateLabels(errs, m.labels, `${path}.labels`);
  validateAnnotations(errs, m.annotations, `${path}.annotations`);
  const owners = m.ownerReferences ?? [];
  const ownersPath = `${path}.ownerReferences`;
  for (const ref of owners) {
    if (!ref.apiVersion || ref.apiVersion.endsWith("/"))
      errs.invalid(`${ownersPath}.apiVersion`, ref.apiVersion, "version must not be empty");
    if (!ref.kind) errs.invalid(`${ownersPath}.kind`, ref.kind, "kind must not be empty");
    if (!ref.name) errs.invalid(`${ownersPath}.name`, ref.name, "name must not be empty");
    if (!ref.uid) errs.invalid(`${ownersPath}.uid`, ref.uid, "uid must not be empty");
  }
  const controllers = owners.filter((r) => r.controller === true);
  if (controllers.length > 1) {
    errs.invalid(
      ownersPath,
      owners,
      `Only one reference can have Controller set to true. Found "true" in references for ${controllers
        .map((r) => `${r.kind}/${r.name}`)
        .join(" and ")}`,
    );
  }
  (m.finalizers ?? []).forEach((f, i) => {
    errs.invalidEach(`${path}.finalizers[${i}]`, f, isQualifiedName(f));
  });
}

/** Fields no update may change. uid and creationTimestamp the registry carries over when absent. */
export function validateObjectMetaUpdate(
  errs: FieldErrors,
  meta: ObjectMeta | undefined,
  old: ObjectMeta | undefined,
): void {
  const m = meta ?? {};
  const o = old ?? {};
  const immutable = (
    field: "name" | "namespace" | "uid" | "creationTimestamp",
    carried: boolean,
  ) => {
    const now = m[field];
    const before = o[field];
    if (carried && (now === undefined || now === "")) return;
    if ((now ?? "") !== (before ?? ""))
      errs.invalid(`metadata.${field}`, now ?? "", "field is immutable");
  };
  immutable("name", false);
  immutable("namespace", false);
  immutable("uid", true);
  immutable("creationTimestamp", true);
}

/** A metav1.LabelSelector: keys, values and operators. */
export function validateLabelSelector(
  errs: FieldErrors,
  sel: LabelSelector | undefined,
  path: string,
): void {
  if (!sel) return;
  (sel.matchExpressions ?? []).forEach((e, i) => {
    const p = `${path}.matchExpressions[${i}]`;
    const values = e.values ?? [];
    if (e.operator === "In" || e.operator === "NotIn") {
      if (values.length === 0)
        errs.required(`${p}.values`, "must be specified when `operator` is 'In' or 'NotIn'");
    } else if (e.operator === "Exists" || e.operator === "DoesNotExist") {
      if (values.length > 0)
        errs.forbidden(
          `${p}.values`,
          "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
        );
    } else {
      errs.invalid(`${p}.operator`, e.operator, "not a valid selector operator");
    }
    errs.invalidEach(`${p}.key`, e.key, isQualifiedName(e.key));
  });
  validateLabels(errs, sel.matchLabels, `${path}.matchLabels`);
}
