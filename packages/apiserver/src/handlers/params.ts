// The query parameters Kubernetes gives every verb: dryRun, fieldValidation, fieldManager,
// label and field selectors, includeObject, and the resourceVersion preconditions of bodies.
import type { IncomingMessage } from "node:http";
import {
  apiVersionOf,
  checkFieldSelector,
  matchesFields,
  matchesLabels,
  parseFieldSelector,
  parseLabelSelector,
  selectableFields,
  SelectorError,
  type FieldRequirement,
  type Requirement,
  type ResourceInfo,
} from "@skiff/api";
import { BadRequestError } from "../errors.js";
import { get, meta, type KubeObject } from "../objects.js";
import type { Query } from "../query.js";

/** dryRun=All, or a 400 for any other value. */
export function dryRun(q: Query): boolean {
  const values = q.getAll("dryRun");
  for (const v of values)
    if (v !== "All")
      throw new BadRequestError(`dryRun: Unsupported value: "${v}": supported values: "All"`);
  return values.length > 0;
}

/** Whether the client asked for a dry run at all (checked by dryRun). */
export function dryRunRequested(q: Query): boolean {
  return q.getAll("dryRun").length > 0;
}

/** What to do with fields the schema does not know. */
export type FieldValidation = "Strict" | "Warn" | "Ignore";

/** fieldValidation: Warn unless the client says Strict or Ignore. */
export function fieldValidation(q: Query): FieldValidation {
  const v = q.get("fieldValidation") ?? "";
  if (v === "") return "Warn";
  if (v === "Strict" || v === "Warn" || v === "Ignore") return v;
  throw new BadRequestError(
    `fieldValidation: Unsupported value: "${v}": supported values: "Ignore", "Strict", "Warn"`,
  );
}

/** The field manager of a write: the query's, else the client's user agent (apply requires one). */
export function fieldManager(req: IncomingMessage, q: Query, required: boolean): string {
  const m = q.get("fieldManager");
  if (m) {
    if (m.length > 128)
      throw new BadRequestError("fieldManager: Too long: may not be longer than 128 characters");
    return m;
  }
  if (required)
    throw new BadRequestError(
      "PATCH, application/apply-patch+yaml requires the fieldManager query parameter",
    );
  const agent = req.headers["user-agent"] ?? "unknown";
  return agent.split("/")[0]!.slice(0, 128) || "unknown";
}

/** The parsed labelSelector and fieldSelector of a request. */
export interface Selectors {
  labels: Requirement[];
  fields: FieldRequirement[];
}

/** Parses and checks the label and field selectors; a bad one is a 400 naming it. */
export function selectors(info: ResourceInfo, q: Query): Selectors {
  try {
    const labels = parseLabelSelector(q.get("labelSelector") ?? "");
    const fields = parseFieldSelector(q.get("fieldSelector") ?? "");
    const bad = checkFieldSelector(info, fields);
    if (bad)
      throw new BadRequestError(
        `Unable to find "${apiVersionOf(info)}, Resource=${info.resource}" that match label selector "${q.get("labelSelector") ?? ""}", field selector "${q.get("fieldSelector") ?? ""}": ${bad}`,
      );
    return { labels, fields };
  } catch (err) {
    if (err instanceof SelectorError)
      throw new BadRequestError(`unable to parse requirement: ${err.message}`);
    throw err;
  }
}

/** The filter a LIST, WATCH or DELETE collection applies: namespace, labels, fields. */
export function filterFor(
  info: ResourceInfo,
  sel: Selectors,
  namespace: string | undefined,
): (obj: KubeObject) => boolean {
  return (obj) => {
    if (namespace !== undefined && info.namespaced && meta(obj).namespace !== namespace)
      return false;
    if (sel.labels.length && !matchesLabels(sel.labels, meta(obj).labels)) return false;
    if (sel.fields.length && !matchesFields(sel.fields, selectableFields(info, obj))) return false;
    return true;
  };
}

/** includeObject of Table output: Metadata unless the client says None or Object. */
export function includeObject(q: Query): "None" | "Object" | "Metadata" {
  const v = q.get("includeObject") ?? "Metadata";
  if (v === "None" || v === "Object" || v === "Metadata") return v;
  throw new BadRequestError(
    `includeObject: Unsupported value: "${v}": supported values: "None", "Object", "Metadata"`,
  );
}

/** The resourceVersion a request body demands, if any (a precondition for the write). */
export function rvOf(body: unknown): string | undefined {
  const rv = get(body, "metadata", "resourceVersion");
  return typeof rv === "string" && rv !== "" ? rv : undefined;
}

/** The subresources PUT and PATCH write through besides the object itself. */
export function writableSubresource(
  subresource: string | undefined,
): "status" | "ephemeralcontainers" | undefined {
  return subresource === "status" || subresource === "ephemeralcontainers"
    ? subresource
    : undefined;
}
