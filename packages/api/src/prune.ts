// Fields the schema does not know: listed for strict field validation (kubectl sends
// fieldValidation=Strict and expects `unknown field "spec.containers[0].imagee"`), or
// pruned with a warning otherwise. Maps with free keys (labels, data) have no unknowns.
import type { TSchema } from "@sinclair/typebox";
import type { ResourceInfo } from "./resources.js";
import { child, classify, index, isObject, schemaFor } from "./schema.js";
import { unknownCustomFields } from "./apiextensions/custom.js";

/** Paths of the fields in obj that a resource of this kind does not have. */
export function unknownFields(
  info: Pick<ResourceInfo, "kind" | "custom">,
  obj: Record<string, unknown>,
): string[] {
  if (info.custom) return unknownCustomFields(info, obj, false);
  const found: string[] = [];
  walk(schemaFor(info), obj, "", found, false);
  return found;
}

/** Removes the fields unknownFields would list, and returns their paths. */
export function pruneUnknownFields(
  info: Pick<ResourceInfo, "kind" | "custom">,
  obj: Record<string, unknown>,
): string[] {
  if (info.custom) return unknownCustomFields(info, obj, true);
  const found: string[] = [];
  walk(schemaFor(info), obj, "", found, true);
  return found;
}

/** The same two, for any schema (Scale, DeleteOptions, ...). */
export function unknownFieldsWithSchema(schema: TSchema, value: unknown, prune = false): string[] {
  const found: string[] = [];
  walk(schema, value, "", found, prune);
  return found;
}

function walk(
  schema: TSchema,
  value: unknown,
  path: string,
  found: string[],
  prune: boolean,
): void {
  const node = classify(schema);
  if (node.is === "struct" && isObject(value)) {
    for (const key of Object.keys(value)) {
      const prop = node.properties[key];
      const p = child(path, key);
      if (prop) walk(prop, value[key], p, found, prune);
      else {
        found.push(p);
        if (prune) delete value[key];
      }
    }
  } else if (node.is === "array" && Array.isArray(value)) {
    value.forEach((item, i) => walk(node.items, item, index(path, i), found, prune));
  } else if (node.is === "map" && isObject(value)) {
    for (const [k, v] of Object.entries(value)) walk(node.values, v, index(path, k), found, prune);
  }
}
