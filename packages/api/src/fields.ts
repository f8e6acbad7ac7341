// The fields a field selector may name for each kind, and their values for one object,
// following the field label conversions Kubernetes registers per resource.

import type { ResourceInfo } from "./resources.js";
import type { FieldRequirement } from "./selectors.js";
import { readJsonPath } from "./apiextensions/crd.js";

type Getter = (obj: Json) => string;
type Json = Record<string, unknown>;

function get(obj: unknown, path: string): unknown {
  let cur = obj;
  for (const part of path.split(".")) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Json)[part];
  }
  return cur;
}

/** A string field, "" when absent. */
const str =
  (path: string): Getter =>
  (obj) => {
    const v = get(obj, path);
    return typeof v === "string" ? v : v === undefined || v === null ? "" : String(v);
  };

/** A boolean field printed as Go's strconv.FormatBool: absent is "false". */
const bool =
  (path: string): Getter =>
  (obj) =>
    get(obj, path) === true ? "true" : "false";

/** An integer field printed as Go's strconv.Itoa: absent is "0". */
const int =
  (path: string): Getter =>
  (obj) => {
    const v = get(obj, path);
    return typeof v === "number" ? String(Math.trunc(v)) : "0";
  };

// Keyed by "group/resource" ("" group for core).
const KIND_FIELDS: Record<string, Record<string, Getter>> = {
  "/pods": {
    "spec.nodeName": str("spec.nodeName"),
    "spec.restartPolicy": str("spec.restartPolicy"),
    "spec.schedulerName": str("spec.schedulerName"),
    "spec.serviceAccountName": str("spec.serviceAccountName"),
    "spec.hostNetwork": bool("spec.hostNetwork"),
    "status.phase": str("status.phase"),
    // status.podIP is the first of status.podIPs, as Kubernetes keeps them in step.
    "status.podIP": (obj) => {
      const ips = get(obj, "status.podIPs");
      const first = Array.isArray(ips) ? get(ips[0], "ip") : undefined;
      return typeof first === "string" ? first : str("status.podIP")(obj);
    },
    "status.nominatedNodeName": str("status.nominatedNodeName"),
  },
  "/events": {
    "involvedObject.kind": str("involvedObject.kind"),
    "involvedObject.namespace": str("involvedObject.namespace"),
    "involvedObject.name": str("involvedObject.name"),
    "involvedObject.uid": str("involvedObject.uid"),
    "involvedObject.apiVersion": str("involvedObject.apiVersion"),
    "involvedObject.resourceVersion": str("involvedObject.resourceVersion"),
    "involvedObject.fieldPath": str("involvedObject.fieldPath"),
    reason: str("reason"),
    reportingComponent: str("reportingComponent"),
    source: str("source.component"),
    type: str("type"),
  },
  "/nodes": { "spec.unschedulable": bool("spec.unschedulable") },
  "/namespaces": { "status.phase": str("status.phase") },
  "/secrets": { type: str("type") },
  "apps/replicasets": { "status.replicas": int("status.replicas") },
  "batch/jobs": { "status.successful": int("status.succeeded") },
};

function kindFields(info: ResourceInfo): Record<string, Getter> {
  if (info.custom) {
    // A CRD's selectableFields: string, integer or boolean values, printed as Go prints them.
    return Object.fromEntries(
      info.custom.selectableFields.map((path) => [
        path,
        (o: Json) => {
          const v = readJsonPath(o, path);
          return v === undefined || v === null ? "" : String(v);
        },
      ]),
    );
  }
  return KIND_FIELDS[`${info.group}/${info.resource}`] ?? {};
}

/**
 * The values of every field a field selector may use on this object: metadata.name and
 * metadata.namespace for all kinds ("" namespace when cluster-scoped), plus the kind's own.
 */
export function selectableFields(info: ResourceInfo, obj: unknown): Record<string, string> {
  const o: Json = obj !== null && typeof obj === "object" ? (obj as Json) : {};
  const fields: Record<string, string> = {
    "metadata.name": str("metadata.name")(o),
    "metadata.namespace": info.namespaced ? str("metadata.namespace")(o) : "",
  };
  for (const [field, getter] of Object.entries(kindFields(info))) fields[field] = getter(o);
  return fields;
}

/** The field names a field selector may use for this kind. */
export function selectableFieldNames(info: ResourceInfo): string[] {
  return ["metadata.name", "metadata.namespace", ...Object.keys(kindFields(info))];
}

/** Kubernetes' error message for the first field this kind cannot select on, or undefined. */
export function checkFieldSelector(
  info: ResourceInfo,
  reqs: FieldRequirement[],
): string | undefined {
  const allowed = new Set(selectableFieldNames(info));
  const bad = reqs.find((r) => !allowed.has(r.field));
  return bad ? `field label not supported: ${bad.field}` : undefined;
}
