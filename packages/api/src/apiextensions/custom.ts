// Custom resources (objects of a CRD's kind): defaults, pruning and validation from the
// version's openAPIV3Schema, reached through the same entry points as the built-in kinds
// (applyDefaults, pruneUnknownFields, unknownFields, validate) when info.custom is set.
import type { ResourceInfo } from "../resources.js";
import { isObject } from "../schema.js";
import { ObjectMetaSchema } from "../schemas/meta.js";
import { unknownFieldsWithSchema } from "../prune.js";
import { FieldErrors, type FieldError } from "../validation/errors.js";
import { validateObjectMeta, validateObjectMetaUpdate } from "../validation/meta.js";
import { isDNS1123Subdomain } from "../validation/names.js";
import type { ObjectMeta } from "../schemas/meta.js";
import { applySchemaDefaults, pruneObject, validateAgainstSchema } from "./jsonschema.js";
import { celRuleErrors } from "./cel.js";

type Obj = Record<string, unknown>;
type Custom = Pick<ResourceInfo, "kind" | "namespaced" | "custom">;

export function defaultCustom(info: Pick<ResourceInfo, "custom">, obj: Obj): void {
  applySchemaDefaults(info.custom?.schema, obj);
}

/** Paths of fields the schema does not declare; with `prune`, they are removed too. */
export function unknownCustomFields(
  info: Pick<ResourceInfo, "custom">,
  obj: Obj,
  prune: boolean,
): string[] {
  const found: string[] = [];
  if (isObject(obj.metadata))
    found.push(
      ...unknownFieldsWithSchema(ObjectMetaSchema, obj.metadata, prune).map((p) => `metadata.${p}`),
    );
  const schema = info.custom?.schema;
  if (!schema) return found;
  if (prune) return [...found, ...pruneObject(schema, obj)];
  return [...found, ...pruneObject(schema, structuredClone(obj))];
}

/** Metadata, schema and x-kubernetes-validations errors of a custom object. */
export function validateCustom(info: Custom, obj: Obj, old?: Obj): FieldError[] {
  const errs = new FieldErrors();
  const m = obj.metadata as ObjectMeta | undefined;
  validateObjectMeta(errs, m, info.namespaced, isDNS1123Subdomain);
  if (old) validateObjectMetaUpdate(errs, m, old.metadata as ObjectMeta | undefined);
  const schema = info.custom?.schema;
  if (schema) {
    const body: Obj = { ...obj };
    errs.list.push(...validateAgainstSchema(schema, body));
    if (errs.list.length === 0) errs.list.push(...celRuleErrors(schema, body, old));
  }
  return errs.list;
}
