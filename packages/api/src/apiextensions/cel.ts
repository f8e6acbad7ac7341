// x-kubernetes-validations: CEL rules on a custom resource's schema, evaluated with
// @marcbachmann/cel-js. `self` is the value at the rule's node; rules that use `oldSelf`
// are transition rules, checked only on updates where the old value exists.
import { parse } from "@marcbachmann/cel-js";
import { isObject } from "../schema.js";
import type { FieldError } from "../validation/errors.js";
import type { JSONSchemaProps, ValidationRule } from "./jsonschema.js";

type Program = ReturnType<typeof parse>;
const programs = new Map<string, Program | Error>();

function compile(rule: string): Program | Error {
  let p = programs.get(rule);
  if (!p) {
    try {
      p = parse(rule);
    } catch (err) {
      p = err instanceof Error ? err : new Error(String(err));
    }
    if (programs.size > 2000) programs.clear();
    programs.set(rule, p);
  }
  return p;
}

/** The first line of a CEL error: the library's own messages carry a source excerpt. */
function oneLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split("\n")[0]!.trim();
}

/** Why a rule cannot compile, or undefined when it compiles. */
export function celCompileError(rule: string): string | undefined {
  const p = compile(rule);
  return p instanceof Error ? oneLine(p) : undefined;
}

const usesOldSelf = (rule: string): boolean => /\boldSelf\b/.test(rule);

/** JSON to CEL values: integers become CEL ints (BigInt). */
export function toCel(v: unknown): unknown {
  if (typeof v === "number" && Number.isInteger(v)) return BigInt(v);
  if (Array.isArray(v)) return v.map(toCel);
  if (isObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toCel(x)]));
  return v;
}

function typeName(v: unknown): string {
  if (Array.isArray(v)) return "array";
  if (isObject(v)) return "object";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  return typeof v;
}

/** Every failed x-kubernetes-validations rule in `value` (and `old`, for transition rules). */
export function celRuleErrors(
  schema: JSONSchemaProps,
  value: unknown,
  old?: unknown,
): FieldError[] {
  const out: FieldError[] = [];
  walk(schema, value, old, "", out, true);
  return out;
}

function walk(
  s: JSONSchemaProps,
  value: unknown,
  old: unknown,
  path: string,
  out: FieldError[],
  root = false,
): void {
  if (value === undefined || value === null) return;
  for (const rule of s["x-kubernetes-validations"] ?? []) check(rule, value, old, path, out);
  if (isObject(value)) {
    const oldObj = isObject(old) ? old : undefined;
    for (const [k, v] of Object.entries(value)) {
      if (root && (k === "metadata" || k === "apiVersion" || k === "kind")) continue;
      const prop =
        s.properties?.[k] ??
        (isObject(s.additionalProperties) ? s.additionalProperties : undefined);
      if (prop) walk(prop as JSONSchemaProps, v, oldObj?.[k], path ? `${path}.${k}` : k, out);
    }
  } else if (Array.isArray(value) && s.items) {
    const keys = s["x-kubernetes-list-map-keys"];
    const olds = Array.isArray(old) ? old : [];
    value.forEach((item, i) => {
      // Old items are matched by their map keys; atomic lists have no old items.
      const before =
        s["x-kubernetes-list-type"] === "map" && keys && isObject(item)
          ? olds.find((o) => isObject(o) && keys.every((k) => o[k] === item[k]))
          : undefined;
      walk(s.items!, item, before, `${path}[${i}]`, out);
    });
  }
}

function check(
  rule: ValidationRule,
  value: unknown,
  old: unknown,
  path: string,
  out: FieldError[],
): void {
  const transition = usesOldSelf(rule.rule);
  if (transition && (old === undefined || old === null) && !rule.optionalOldSelf) return;
  const program = compile(rule.rule);
  const field = rule.fieldPath ? `${path}${rule.fieldPath}`.replace(/^\./, "") : path;
  let ok: unknown;
  try {
    if (program instanceof Error) throw program;
    ok = program({ self: toCel(value), oldSelf: toCel(old) });
  } catch (err) {
    out.push({
      type: "FieldValueInvalid",
      field,
      message: `Invalid value: "${typeName(value)}": rule evaluation error: ${oneLine(err)}`,
    });
    return;
  }
  if (ok === true) return;
  let message = rule.message || `failed rule: ${rule.rule}`;
  if (rule.messageExpression) {
    try {
      const m = compile(rule.messageExpression);
      if (!(m instanceof Error)) {
        const text = m({ self: toCel(value), oldSelf: toCel(old) });
        if (typeof text === "string" && text.trim() !== "") message = text;
      }
    } catch {
      // Kubernetes falls back to message (or the rule) when messageExpression fails.
    }
  }
  out.push({
    type: "FieldValueInvalid",
    field,
    message: `Invalid value: "${typeName(value)}": ${message}`,
  });
}
