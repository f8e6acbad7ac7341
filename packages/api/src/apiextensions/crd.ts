// CustomResourceDefinitions: their defaults, their validation (names, versions, structural
// schemas, with Kubernetes' messages and field paths); the ResourceInfo of each served version
// is in serving.ts (re-exported here).
import { isObject } from "../schema.js";
import { FieldErrors } from "../validation/errors.js";
import { isDNS1035Label, isDNS1123Subdomain } from "../validation/names.js";
import { safeRegExp, type JSONSchemaProps } from "./jsonschema.js";
import { celCompileError } from "./cel.js";
import { specOf, type Names, type Obj, type Version } from "./serving.js";

export { compareKubeVersions, customResourceInfos } from "./serving.js";

export const CRD_CLEANUP_FINALIZER = "customresourcecleanup.apiextensions.k8s.io";

/** Kubernetes' defaults for a CRD: singular, listKind, conversion strategy None. */
export function defaultCRD(crd: Obj): void {
  const spec = specOf(crd);
  const names = spec.names;
  if (names?.kind) {
    names.singular ||= names.kind.toLowerCase();
    names.listKind ||= `${names.kind}List`;
  }
  spec.conversion ??= { strategy: "None" };
  for (const v of spec.versions ?? []) {
    // priority is an omitempty int32 in Go: a zero never shows in Kubernetes' JSON.
    for (const c of v.additionalPrinterColumns ?? []) if (c.priority === 0) delete c.priority;
  }
}

// ---- validation -----------------------------------------------------------------------

const PRINTER_TYPES = ["boolean", "date", "integer", "number", "string"];
const PRINTER_FORMATS = [
  "byte",
  "date",
  "date-time",
  "double",
  "float",
  "int32",
  "int64",
  "name",
  "password",
];

/** Every problem with a CRD, as Kubernetes' apiextensions validation words it. */
export function validateCRD(errs: FieldErrors, crd: Obj): void {
  const spec = specOf(crd);
  const name = isObject(crd.metadata) ? crd.metadata.name : undefined;
  const names = spec.names ?? {};
  if (typeof name === "string" && name !== `${names.plural ?? ""}.${spec.group ?? ""}`)
    errs.invalid("metadata.name", name, 'must be spec.names.plural+"."+spec.group');

  if (!spec.group) errs.required("spec.group");
  else {
    const bad = isDNS1123Subdomain(spec.group);
    if (bad.length) errs.invalid("spec.group", spec.group, bad.join(","));
    else if (spec.group.split(".").length < 2)
      errs.invalid("spec.group", spec.group, "should be a domain with at least one dot");
  }
  if (spec.scope !== "Cluster" && spec.scope !== "Namespaced") {
    if (!spec.scope) errs.required("spec.scope");
    else errs.notSupported("spec.scope", spec.scope, ["Cluster", "Namespaced"]);
  }
  validateNames(errs, names, "spec.names");

  const versions = spec.versions ?? [];
  if (versions.length === 0)
    errs.invalid(
      "spec.versions",
      versions,
      "must have exactly one version marked as storage version",
    );
  const seen = new Set<string>();
  let storage = 0;
  versions.forEach((v, i) => {
    const path = `spec.versions[${i}]`;
    if (!v.name) errs.required(`${path}.name`);
    else {
      const bad = isDNS1035Label(v.name);
      if (bad.length) errs.invalid(`${path}.name`, v.name, bad.join(","));
      if (seen.has(v.name))
        errs.invalid("spec.versions", v.name, "must contain unique version names");
      seen.add(v.name);
    }
    if (v.storage) storage++;
    validateVersion(errs, v, path);
  });
  if (versions.length && storage !== 1)
    errs.invalid(
      "spec.versions",
      versions.map((v) => v.name),
      "must have exactly one version marked as storage version",
    );
  if (versions.length && !versions.some((v) => v.served))
    errs.invalid(
      "spec.versions",
      versions.map((v) => v.name),
      "must have at least one served version",
    );
  const strategy = spec.conversion?.strategy;
  if (strategy !== "None" && strategy !== "Webhook")
    errs.notSupported("spec.conversion.strategy", strategy, ["None", "Webhook"]);
  else if (strategy === "Webhook")
    errs.forbidden(
      "spec.conversion.strategy",
      "conversion webhooks are not supported by this server",
    );
  if (spec.preserveUnknownFields) errs.invalid("spec.preserveUnknownFields", true, "must be false");
}

/** On update: group, names.kind... may change as Kubernetes allows; scope and group may not. */
export function validateCRDUpdate(errs: FieldErrors, crd: Obj, old: Obj): void {
  const now = specOf(crd);
  const before = specOf(old);
  if (now.group !== before.group) errs.invalid("spec.group", now.group, "field is immutable");
  if (now.scope !== before.scope) errs.invalid("spec.scope", now.scope, "field is immutable");
  const stored = (isObject(old.status) ? (old.status.storedVersions as string[]) : undefined) ?? [];
  const names = new Set((now.versions ?? []).map((v) => v.name));
  stored.forEach((v, i) => {
    if (!names.has(v))
      errs.invalid(`status.storedVersions[${i}]`, v, "must appear in spec.versions");
  });
}

function validateNames(errs: FieldErrors, names: Names, path: string): void {
  if (!names.plural) errs.required(`${path}.plural`);
  else {
    const bad = isDNS1035Label(names.plural);
    if (bad.length) errs.invalid(`${path}.plural`, names.plural, bad.join(","));
  }
  if (!names.singular) errs.required(`${path}.singular`);
  else {
    const bad = isDNS1035Label(names.singular);
    if (bad.length) errs.invalid(`${path}.singular`, names.singular, bad.join(","));
  }
  if (!names.kind) errs.required(`${path}.kind`);
  else {
    const bad = isDNS1035Label(names.kind.toLowerCase());
    if (bad.length)
      errs.invalid(
        `${path}.kind`,
        names.kind,
        `may have mixed case, but should otherwise match: ${bad.join(",")}`,
      );
  }
  if (!names.listKind) errs.required(`${path}.listKind`);
  else {
    const bad = isDNS1035Label(names.listKind.toLowerCase());
    if (bad.length)
      errs.invalid(
        `${path}.listKind`,
        names.listKind,
        `may have mixed case, but should otherwise match: ${bad.join(",")}`,
      );
    if (names.kind && names.kind === names.listKind)
      errs.invalid(`${path}.listKind`, names.listKind, "kind and listKind may not be the same");
  }
  (names.shortNames ?? []).forEach((s, i) => {
    const bad = isDNS1035Label(s);
    if (bad.length) errs.invalid(`${path}.shortNames[${i}]`, s, bad.join(","));
  });
  (names.categories ?? []).forEach((s, i) => {
    const bad = isDNS1035Label(s);
    if (bad.length) errs.invalid(`${path}.categories[${i}]`, s, bad.join(","));
  });
}

function validateVersion(errs: FieldErrors, v: Version, path: string): void {
  const schema = v.schema?.openAPIV3Schema;
  const schemaPath = `${path}.schema.openAPIV3Schema`;
  if (!schema) errs.required(schemaPath, "schemas are required");
  else {
    validateSchemaProps(errs, schema, schemaPath);
    validateStructural(errs, schema, schemaPath, "root");
    if (v.subresources?.status !== undefined && schema.type && schema.type !== "object")
      errs.invalid(
        `${path}.schema.openAPIV3Schema.type`,
        schema.type,
        'only "object" is allowed as the type at the root of the schema if the status subresource is enabled',
      );
  }
  const scale = v.subresources?.scale;
  if (scale) {
    const sp = `${path}.subresources.scale`;
    for (const key of ["specReplicasPath", "statusReplicasPath", "labelSelectorPath"] as const) {
      const p = scale[key];
      if (p === undefined) {
        if (key !== "labelSelectorPath") errs.required(`${sp}.${key}`);
        continue;
      }
      if (!/^\.[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$/.test(p))
        errs.invalid(`${sp}.${key}`, p, "should be a json path under .spec or .status");
      else if (key === "specReplicasPath" && !p.startsWith(".spec."))
        errs.invalid(`${sp}.${key}`, p, "should be a json path under .spec");
      else if (key !== "specReplicasPath" && !p.startsWith(".status."))
        errs.invalid(`${sp}.${key}`, p, "should be a json path under .status");
    }
  }
  (v.additionalPrinterColumns ?? []).forEach((c, i) => {
    const cp = `${path}.additionalPrinterColumns[${i}]`;
    if (!c.name) errs.required(`${cp}.name`);
    if (!c.type) errs.required(`${cp}.type`, `must be one of ${PRINTER_TYPES.join(",")}`);
    else if (!PRINTER_TYPES.includes(c.type))
      errs.invalid(`${cp}.type`, c.type, `must be one of ${PRINTER_TYPES.join(",")}`);
    if (c.format && !PRINTER_FORMATS.includes(c.format))
      errs.invalid(`${cp}.format`, c.format, `must be one of ${PRINTER_FORMATS.join(",")}`);
    if (!c.jsonPath) errs.required(`${cp}.JSONPath`);
  });
  (v.selectableFields ?? []).forEach((f, i) => {
    const fp = `${path}.selectableFields[${i}].jsonPath`;
    if (!f.jsonPath) return errs.required(fp);
    if (f.jsonPath.startsWith(".metadata"))
      return errs.invalid(fp, f.jsonPath, "must not point to fields in metadata");
    const target = schema && schemaAt(schema, f.jsonPath);
    if (!target)
      return errs.invalid(fp, f.jsonPath, "is an invalid path: does not refer to a valid field");
    if (!["string", "boolean", "integer"].includes(target.type ?? ""))
      errs.invalid(
        fp,
        f.jsonPath,
        "must point to a field of type string, boolean or integer. Enum string fields and strings with formats are allowed.",
      );
  });
}

/** The schema of the field a simple JSON path (".spec.color") names, if the schema has it. */
export function schemaAt(schema: JSONSchemaProps, jsonPath: string): JSONSchemaProps | undefined {
  let s: JSONSchemaProps | undefined = schema;
  for (const part of jsonPath.replace(/^\./, "").split(".")) s = s?.properties?.[part];
  return s;
}

/** Checks on the schema's own keywords (patterns compile, list markers fit the type, rules). */
function validateSchemaProps(errs: FieldErrors, s: JSONSchemaProps, path: string): void {
  if (s.pattern !== undefined && !safeRegExp(s.pattern))
    errs.invalid(`${path}.pattern`, s.pattern, "must be a valid regular expression");
  if (s["x-kubernetes-preserve-unknown-fields"] === false)
    errs.invalid(
      `${path}.x-kubernetes-preserve-unknown-fields`,
      false,
      "must be true or undefined",
    );
  const listType = s["x-kubernetes-list-type"];
  if (listType !== undefined) {
    if (!s.type)
      errs.required(`${path}.type`, "must be array if x-kubernetes-list-type is specified");
    else if (s.type !== "array")
      errs.invalid(`${path}.type`, s.type, "must be array if x-kubernetes-list-type is specified");
    if (!["atomic", "set", "map"].includes(listType))
      errs.notSupported(`${path}.x-kubernetes-list-type`, listType, ["atomic", "set", "map"]);
  }
  const keys = s["x-kubernetes-list-map-keys"];
  if (keys?.length && listType !== "map") {
    if (listType === undefined)
      errs.required(
        `${path}.x-kubernetes-list-type`,
        "must be map if x-kubernetes-list-map-keys is non-empty",
      );
    else
      errs.invalid(
        `${path}.x-kubernetes-list-type`,
        listType,
        "must be map if x-kubernetes-list-map-keys is non-empty",
      );
  }
  if (listType === "map") {
    if (!keys?.length)
      errs.required(
        `${path}.x-kubernetes-list-map-keys`,
        "must not be empty if x-kubernetes-list-type is map",
      );
    else if (s.items && !keys.every((k) => s.items!.properties?.[k]))
      errs.invalid(
        `${path}.x-kubernetes-list-map-keys`,
        keys,
        "entries must all be names of item properties",
      );
  }
  (s["x-kubernetes-validations"] ?? []).forEach((r, i) => {
    if (!r.rule)
      errs.required(`${path}.x-kubernetes-validations[${i}].rule`, "rule is not specified");
    else {
      const bad = celCompileError(r.rule);
      if (bad)
        errs.invalid(
          `${path}.x-kubernetes-validations[${i}].rule`,
          r.rule,
          `compilation failed: ${bad}`,
        );
    }
    if (r.message !== undefined && r.message.trim() === "")
      errs.invalid(
        `${path}.x-kubernetes-validations[${i}].message`,
        r.message,
        "message must be non-empty if specified",
      );
  });
  for (const [k, p] of Object.entries(s.properties ?? {}))
    validateSchemaProps(errs, p, `${path}.properties[${k}]`);
  if (s.items) validateSchemaProps(errs, s.items, `${path}.items`);
  if (isObject(s.additionalProperties))
    validateSchemaProps(
      errs,
      s.additionalProperties as JSONSchemaProps,
      `${path}.additionalProperties`,
    );
}

type Level = "root" | "item" | "field";

/** Kubernetes' structural schema rules (apiserver/schema/validation.go), with its messages. */
function validateStructural(errs: FieldErrors, s: JSONSchemaProps, path: string, lvl: Level): void {
  if (s.type === "array" && !s.items) errs.required(`${path}.items`, "must be specified");
  if (s.items) validateStructural(errs, s.items, `${path}.items`, "item");
  for (const [k, p] of Object.entries(s.properties ?? {}))
    validateStructural(errs, p, `${path}.properties[${k}]`, "field");
  const additional = isObject(s.additionalProperties)
    ? (s.additionalProperties as JSONSchemaProps)
    : undefined;
  if (s.additionalProperties !== undefined && s.additionalProperties !== false) {
    if (lvl === "root")
      errs.forbidden(`${path}.additionalProperties`, "must not be used at the root");
    if (s.properties && Object.keys(s.properties).length)
      errs.forbidden(
        `${path}.additionalProperties`,
        "additionalProperties and properties are mutual exclusive",
      );
    if (additional) validateStructural(errs, additional, `${path}.additionalProperties`, "field");
  }
  const intOrString = s["x-kubernetes-int-or-string"] === true;
  const preserve = s["x-kubernetes-preserve-unknown-fields"] === true;
  const embedded = s["x-kubernetes-embedded-resource"] === true;
  if (intOrString && preserve)
    errs.invalid(
      `${path}.x-kubernetes-preserve-unknown-fields`,
      true,
      "must be false if x-kubernetes-int-or-string is true",
    );
  if (intOrString && embedded)
    errs.invalid(
      `${path}.x-kubernetes-embedded-resource`,
      true,
      "must be false if x-kubernetes-int-or-string is true",
    );
  for (const [key, list] of [
    ["allOf", s.allOf],
    ["anyOf", s.anyOf],
    ["oneOf", s.oneOf],
  ] as const) {
    if (key === "anyOf" && intOrString && isIntOrStringAnyOf(list)) continue;
    (list ?? []).forEach((sub, i) => validateValueValidation(errs, sub, `${path}.${key}[${i}]`));
  }
  if (s.not) validateValueValidation(errs, s.not, `${path}.not`);
  if (embedded && s.type !== "object") {
    if (!s.type)
      errs.required(`${path}.type`, "must be object if x-kubernetes-embedded-resource is true");
    else
      errs.invalid(
        `${path}.type`,
        s.type,
        "must be object if x-kubernetes-embedded-resource is true",
      );
  } else if (!s.type && !intOrString && !preserve) {
    const detail = {
      root: "must not be empty at the root",
      item: "must not be empty for specified array items",
      field: "must not be empty for specified object fields",
    }[lvl];
    errs.required(`${path}.type`, detail);
  }
  if (embedded && s.additionalProperties !== undefined)
    errs.forbidden(
      `${path}.additionalProperties`,
      "must not be used if x-kubernetes-embedded-resource is set",
    );
  if (lvl === "root" && s.type && s.type !== "object")
    errs.invalid(`${path}.type`, s.type, "must be object at the root");
  const checkMeta = lvl === "root" || embedded;
  const kind = s.properties?.kind;
  if (kind && checkMeta && kind.type !== "string")
    errs.invalid(`${path}.properties[kind].type`, kind.type ?? "", "must be string");
  const apiVersion = s.properties?.apiVersion;
  if (apiVersion && checkMeta && apiVersion.type !== "string")
    errs.invalid(`${path}.properties[apiVersion].type`, apiVersion.type ?? "", "must be string");
  const metadata = s.properties?.metadata;
  if (metadata) {
    const mp = `${path}.properties[metadata]`;
    if (checkMeta && metadata.type !== "object")
      errs.invalid(`${mp}.type`, metadata.type ?? "", "must be object");
    if (lvl === "root") {
      const props = Object.keys(metadata.properties ?? {}).filter(
        (k) => k !== "name" && k !== "generateName",
      );
      const { type: _t, properties: _p, default: _d, description: _desc, ...rest } = metadata;
      if (props.length || Object.keys(rest).length)
        errs.forbidden(
          mp,
          "must not specify anything other than name and generateName, but metadata is implicitly specified",
        );
    } else if (!embedded) errs.forbidden(mp, "must not be specified in a nested context");
  }
  if (embedded && !preserve && !Object.keys(s.properties ?? {}).length)
    errs.required(
      `${path}.properties`,
      "must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields",
    );
}

function isIntOrStringAnyOf(list: readonly JSONSchemaProps[] | undefined): boolean {
  return (
    list?.length === 2 &&
    list[0]?.type === "integer" &&
    list[1]?.type === "string" &&
    Object.keys(list[0]).length === 1 &&
    Object.keys(list[1]).length === 1
  );
}

/** Inside allOf/anyOf/oneOf/not only value validations are allowed (no types, no defaults). */
function validateValueValidation(errs: FieldErrors, s: JSONSchemaProps, path: string): void {
  const forbid: [keyof JSONSchemaProps, string][] = [
    ["type", "must be empty to be structural"],
    ["additionalProperties", "must be undefined to be structural"],
    ["default", "must be undefined to be structural"],
    ["title", "must be empty to be structural"],
    ["description", "must be empty to be structural"],
    ["nullable", "must be false to be structural"],
    ["x-kubernetes-preserve-unknown-fields", "must be false to be structural"],
    ["x-kubernetes-embedded-resource", "must be false to be structural"],
    ["x-kubernetes-int-or-string", "must be false to be structural"],
    ["x-kubernetes-list-map-keys", "must be empty to be structural"],
    ["x-kubernetes-list-type", "must be undefined to be structural"],
    ["x-kubernetes-map-type", "must be undefined to be structural"],
    ["x-kubernetes-validations", "must be empty to be structural"],
  ];
  for (const [key, msg] of forbid) {
    const v = s[key];
    if (v !== undefined && v !== false && !(typeof v === "string" && v === ""))
      errs.forbidden(`${path}.${key}`, msg);
  }
  for (const [k, p] of Object.entries(s.properties ?? {}))
    validateValueValidation(errs, p, `${path}.properties[${k}]`);
  if (s.items) validateValueValidation(errs, s.items, `${path}.items`);
}

// ---- serving --------------------------------------------------------------------------

/** Reads a simple JSON path (".spec.replicas", ".status.conditions[0].type") from an object. */
export function readJsonPath(obj: unknown, jsonPath: string): unknown {
  const path = jsonPath
    .trim()
    .replace(/^\{|\}$/g, "")
    .replace(/^\./, "");
  if (path === "") return obj;
  let cur: unknown = obj;
  for (const part of path.split(".")) {
    const m = /^([^[\]]*)((?:\[\d+\])*)$/.exec(part);
    if (!m) return undefined;
    if (m[1]) cur = isObject(cur) ? cur[m[1]] : undefined;
    for (const idx of m[2]!.match(/\d+/g) ?? [])
      cur = Array.isArray(cur) ? cur[Number(idx)] : undefined;
    if (cur === undefined) return undefined;
  }
  return cur;
}
