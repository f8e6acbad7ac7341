// Custom resources' OpenAPI v3 schemas (a CRD's spec.versions[].schema.openAPIV3Schema):
// checking an object against one, pruning the fields it does not declare and applying its
// defaults, in the order and with the messages of Kubernetes' apiextensions-apiserver.
import { FieldErrors, formatValue, type FieldError } from "../validation/errors.js";
import { isObject } from "../schema.js";

/** The subset of apiextensions/v1 JSONSchemaProps that structural schemas use. */
export interface JSONSchemaProps {
  type?: string;
  format?: string;
  description?: string;
  title?: string;
  default?: unknown;
  nullable?: boolean;
  enum?: unknown[];
  pattern?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  multipleOf?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  uniqueItems?: boolean;
  minProperties?: number;
  maxProperties?: number;
  required?: string[];
  properties?: Record<string, JSONSchemaProps>;
  additionalProperties?: JSONSchemaProps | boolean;
  items?: JSONSchemaProps;
  allOf?: JSONSchemaProps[];
  anyOf?: JSONSchemaProps[];
  oneOf?: JSONSchemaProps[];
  not?: JSONSchemaProps;
  "x-kubernetes-preserve-unknown-fields"?: boolean;
  "x-kubernetes-embedded-resource"?: boolean;
  "x-kubernetes-int-or-string"?: boolean;
  "x-kubernetes-list-type"?: string;
  "x-kubernetes-list-map-keys"?: string[];
  "x-kubernetes-map-type"?: string;
  "x-kubernetes-validations"?: ValidationRule[];
}

export interface ValidationRule {
  rule: string;
  message?: string;
  messageExpression?: string;
  reason?: string;
  fieldPath?: string;
  optionalOldSelf?: boolean;
}

const child = (path: string, name: string): string => (path ? `${path}.${name}` : name);
const at = (path: string, i: number | string): string => `${path}[${i}]`;

function jsonType(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  return typeof v;
}

/** The schema for the values of an object with additionalProperties, if any. */
function valuesSchema(s: JSONSchemaProps): JSONSchemaProps | undefined {
  return isObject(s.additionalProperties) ? (s.additionalProperties as JSONSchemaProps) : undefined;
}

// ---- pruning --------------------------------------------------------------------------

/**
 * Removes fields the schema does not declare (unless x-kubernetes-preserve-unknown-fields),
 * returning their paths. At the root and in embedded resources apiVersion, kind and
 * metadata are always kept; metadata itself is pruned to ObjectMeta elsewhere.
 */
export function pruneObject(schema: JSONSchemaProps, obj: Record<string, unknown>): string[] {
  const found: string[] = [];
  prune(schema, obj, "", found, true);
  return found;
}

function prune(
  s: JSONSchemaProps | undefined,
  value: unknown,
  path: string,
  found: string[],
  resourceRoot: boolean,
): void {
  if (!s) return;
  if (Array.isArray(value)) {
    if (s.items) value.forEach((v, i) => prune(s.items, v, at(path, i), found, false));
    return;
  }
  if (!isObject(value)) return;
  const embedded = resourceRoot || s["x-kubernetes-embedded-resource"] === true;
  const values = valuesSchema(s);
  for (const key of Object.keys(value)) {
    if (embedded && (key === "apiVersion" || key === "kind" || key === "metadata")) {
      if (key === "metadata" && !resourceRoot && isObject(value.metadata))
        pruneEmbeddedMeta(value.metadata, child(path, "metadata"), found);
      continue;
    }
    const prop = s.properties?.[key];
    if (prop) prune(prop, value[key], child(path, key), found, false);
    else if (values) prune(values, value[key], child(path, key), found, false);
    else if (s.additionalProperties === true || s["x-kubernetes-preserve-unknown-fields"]) continue;
    else {
      found.push(child(path, key));
      delete value[key];
    }
  }
}

const EMBEDDED_META = new Set([
  "name",
  "generateName",
  "namespace",
  "labels",
  "annotations",
  "finalizers",
  "ownerReferences",
  "uid",
  "resourceVersion",
  "generation",
  "creationTimestamp",
  "deletionTimestamp",
  "deletionGracePeriodSeconds",
  "managedFields",
  "selfLink",
]);

function pruneEmbeddedMeta(m: Record<string, unknown>, path: string, found: string[]): void {
  for (const key of Object.keys(m)) {
    if (EMBEDDED_META.has(key)) continue;
    found.push(child(path, key));
    delete m[key];
  }
}

// ---- defaulting -----------------------------------------------------------------------

/** Sets the schema's defaults on unset (or null, when not nullable) fields, top down. */
export function applySchemaDefaults(s: JSONSchemaProps | undefined, value: unknown): void {
  if (!s) return;
  if (Array.isArray(value)) {
    for (const v of value) applySchemaDefaults(s.items, v);
    return;
  }
  if (!isObject(value)) return;
  for (const [name, prop] of Object.entries(s.properties ?? {})) {
    const unset = !(name in value) || (value[name] === null && !prop.nullable);
    if (unset && prop.default !== undefined) value[name] = structuredClone(prop.default);
    if (name in value) applySchemaDefaults(prop, value[name]);
  }
  const values = valuesSchema(s);
  if (values) {
    for (const [k, v] of Object.entries(value)) {
      if (s.properties?.[k]) continue;
      applySchemaDefaults(values, v);
    }
  }
}

// ---- validation -----------------------------------------------------------------------

/** Kubernetes' OpenAPI formats it checks on strings (the rest are accepted as they are). */
const FORMATS: Record<string, (s: string) => boolean> = {
  "date-time": (s) =>
    /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/.test(s),
  date: (s) => /^\d{4}-\d{2}-\d{2}$/.test(s) && !Number.isNaN(Date.parse(s)),
  uuid: (s) => /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i.test(s),
  ipv4: (s) =>
    /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/.test(s),
  email: (s) => /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(s),
  byte: (s) => /^[A-Za-z0-9+/]*={0,2}$/.test(s) && s.length % 4 === 0,
  hostname: (s) =>
    s.length <= 253 &&
    /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/i.test(s),
};

/**
 * Everything wrong with `value` under schema `s`, with Kubernetes' field paths and wording.
 * `path` is the path of `value` ("" for the object itself).
 */
export function validateAgainstSchema(s: JSONSchemaProps, value: unknown, path = ""): FieldError[] {
  const errs = new FieldErrors();
  check(errs, s, value, path, true);
  return errs.list;
}

function check(
  errs: FieldErrors,
  s: JSONSchemaProps,
  value: unknown,
  path: string,
  root = false,
): void {
  const where = path || "body";
  if (value === null) {
    if (s.nullable || (s["x-kubernetes-preserve-unknown-fields"] && !s.type)) return;
    if (s.type) errs.typeInvalid(path, "null", s.type);
    return;
  }
  const actual = jsonType(value);
  if (s["x-kubernetes-int-or-string"]) {
    if (actual !== "integer" && actual !== "string") {
      errs.typeInvalid(path, actual, "integer,string");
      return;
    }
  } else if (s.type) {
    const ok = s.type === actual || (s.type === "number" && actual === "integer");
    if (!ok) {
      errs.typeInvalid(path, actual, s.type);
      return;
    }
  }
  if (s.enum && !s.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))) {
    errs.notSupported(
      path,
      value,
      s.enum.map((e) => (typeof e === "string" ? e : JSON.stringify(e))),
    );
  }
  if (typeof value === "string") {
    if (s.maxLength !== undefined && [...value].length > s.maxLength)
      errs.list.push({
        type: "FieldValueTooLong",
        field: path,
        message: `Too long: may not be longer than ${s.maxLength}`,
      });
    if (s.minLength !== undefined && [...value].length < s.minLength)
      errs.invalid(path, value, `${where} in body should be at least ${s.minLength} chars long`);
    if (s.pattern !== undefined && !safeRegExp(s.pattern)?.test(value))
      errs.invalid(path, value, `${where} in body should match '${s.pattern}'`);
    const format = s.format ? FORMATS[s.format] : undefined;
    if (format && !format(value))
      errs.invalid(
        path,
        value,
        `${where} in body must be of type ${s.format}: ${formatValue(value)}`,
      );
  }
  if (typeof value === "number") {
    if (s.minimum !== undefined) {
      if (s.exclusiveMinimum ? value <= s.minimum : value < s.minimum)
        errs.invalid(
          path,
          value,
          `${where} in body should be greater than ${s.exclusiveMinimum ? "" : "or equal to "}${s.minimum}`,
        );
    }
    if (s.maximum !== undefined) {
      if (s.exclusiveMaximum ? value >= s.maximum : value > s.maximum)
        errs.invalid(
          path,
          value,
          `${where} in body should be less than ${s.exclusiveMaximum ? "" : "or equal to "}${s.maximum}`,
        );
    }
    if (s.multipleOf !== undefined && s.multipleOf > 0 && !Number.isInteger(value / s.multipleOf))
      errs.invalid(path, value, `${where} in body should be a multiple of ${s.multipleOf}`);
  }
  if (Array.isArray(value)) {
    if (s.maxItems !== undefined && value.length > s.maxItems)
      errs.tooMany(path, value.length, s.maxItems);
    if (s.minItems !== undefined && value.length < s.minItems)
      errs.invalid(path, value.length, `${where} in body should have at least ${s.minItems} items`);
    if (s.uniqueItems || s["x-kubernetes-list-type"] === "set") {
      const seen = new Set<string>();
      value.forEach((v, i) => {
        const key = JSON.stringify(v);
        if (seen.has(key)) errs.duplicate(at(path, i), v);
        seen.add(key);
      });
    }
    if (s["x-kubernetes-list-type"] === "map" && s["x-kubernetes-list-map-keys"]) {
      const keys = s["x-kubernetes-list-map-keys"];
      const seen = new Set<string>();
      value.forEach((v, i) => {
        if (!isObject(v)) return;
        const key = JSON.stringify(keys.map((k) => v[k]));
        if (seen.has(key))
          errs.duplicate(at(path, i), Object.fromEntries(keys.map((k) => [k, v[k]])));
        seen.add(key);
      });
    }
    if (s.items) value.forEach((v, i) => check(errs, s.items!, v, at(path, i)));
  }
  if (isObject(value)) {
    for (const name of s.required ?? []) {
      if (!(name in value)) errs.required(child(path, name));
    }
    const count = Object.keys(value).length;
    if (s.maxProperties !== undefined && count > s.maxProperties)
      errs.tooMany(path, count, s.maxProperties);
    if (s.minProperties !== undefined && count < s.minProperties)
      errs.invalid(
        path,
        count,
        `${where} in body should have at least ${s.minProperties} properties`,
      );
    const embedded = root || s["x-kubernetes-embedded-resource"] === true;
    if (embedded && !root) checkEmbedded(errs, value, path);
    const values = valuesSchema(s);
    for (const [k, v] of Object.entries(value)) {
      if (root && (k === "metadata" || k === "apiVersion" || k === "kind")) continue;
      const prop = s.properties?.[k];
      if (prop) check(errs, prop, v, child(path, k));
      else if (values) check(errs, values, v, child(path, k));
    }
  }
  for (const sub of s.allOf ?? []) check(errs, sub, value, path);
  if (s.anyOf?.length && !s["x-kubernetes-int-or-string"]) {
    const anyOk = s.anyOf.some((sub) => validateAgainstSchema(sub, value, path).length === 0);
    if (!anyOk)
      errs.invalid(path, value, `${where} in body must match at least one schema in anyOf`);
  }
  if (s.oneOf?.length) {
    const n = s.oneOf.filter((sub) => validateAgainstSchema(sub, value, path).length === 0).length;
    if (n !== 1)
      errs.invalid(path, value, `${where} in body must match exactly one schema in oneOf`);
  }
  if (s.not && validateAgainstSchema(s.not, value, path).length === 0)
    errs.invalid(path, value, `${where} in body must not match the schema in not`);
}

/** An embedded resource needs apiVersion and kind (x-kubernetes-embedded-resource). */
function checkEmbedded(errs: FieldErrors, value: Record<string, unknown>, path: string): void {
  if (typeof value.apiVersion !== "string" || value.apiVersion === "")
    errs.required(child(path, "apiVersion"), "must not be empty");
  if (typeof value.kind !== "string" || value.kind === "")
    errs.required(child(path, "kind"), "must not be empty");
}

const regexps = new Map<string, RegExp | undefined>();

/** The schema's pattern as a JavaScript RegExp (ECMA 262, as OpenAPI says); undefined if invalid. */
export function safeRegExp(pattern: string): RegExp | undefined {
  if (!regexps.has(pattern)) {
    let re: RegExp | undefined;
    try {
      re = new RegExp(pattern, "u");
    } catch {
      re = undefined;
    }
    if (regexps.size > 1000) regexps.clear();
    regexps.set(pattern, re);
  }
  return regexps.get(pattern);
}
