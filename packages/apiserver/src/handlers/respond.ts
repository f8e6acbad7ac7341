// Writing an answer (JSON, YAML, protobuf or a Table, with Warning headers) and the checks
// every body gets: identity against the URL, and unknown fields by fieldValidation.
import { stringify as toYaml } from "yaml";
import { apiVersionOf, pruneUnknownFields, unknownFields } from "@skiff/api";
import { BadRequestError } from "../errors.js";
import { isObject, type KubeObject } from "../objects.js";
import { negotiate, sendJson, sendProtobuf, servesProtobuf } from "../request.js";
import { toTable } from "../tables.js";
import type { RequestContext } from "./context.js";
import { includeObject, type FieldValidation } from "./params.js";

/** Answers with an object as the client accepts it (Table, protobuf, YAML or JSON), with warnings. */
export function respond(
  r: RequestContext,
  code: number,
  obj: KubeObject | Record<string, unknown>,
  warnings: string[] = [],
): void {
  const { table, yaml, protobuf } = negotiate(r.req, servesProtobuf(r.route.info));
  const headers: Record<string, string> = {};
  const deprecation = r.route.info.custom?.deprecationWarning;
  if (deprecation) warnings = [deprecation, ...warnings];
  if (warnings.length) {
    r.res.setHeader(
      "Warning",
      warnings.map((w) => `299 - ${JSON.stringify(w)}`),
    );
  }
  if (table && isObject(obj.metadata) && obj.kind !== "Status" && obj.kind !== "Scale") {
    sendJson(
      r.res,
      code,
      toTable(r.route.info, [obj], { includeObject: includeObject(r.query) }),
      headers,
    );
  } else if (protobuf && sendProtobuf(r.res, code, obj, headers)) {
    return;
  } else if (yaml) {
    const data = toYaml(obj);
    r.res.writeHead(code, { "Content-Type": "application/yaml", ...headers });
    r.res.end(data);
  } else {
    sendJson(r.res, code, obj, headers);
  }
}

/** Checks apiVersion/kind/namespace/name of a body against the URL it was sent to. */
export function checkIdentity(
  r: RequestContext,
  obj: Record<string, unknown>,
  expectKind = r.route.info.kind,
  expectVersion = apiVersionOf(r.route.info),
): void {
  // Like Kubernetes for built-in kinds, a body without apiVersion/kind takes them from the URL.
  if (obj.kind === undefined || obj.kind === "") obj.kind = expectKind;
  if (obj.apiVersion === undefined || obj.apiVersion === "") obj.apiVersion = expectVersion;
  const { kind, apiVersion } = obj;
  if (apiVersion !== expectVersion) {
    throw new BadRequestError(
      `the API version in the data (${String(apiVersion)}) does not match the expected API version (${expectVersion})`,
    );
  }
  if (kind !== expectKind)
    throw new BadRequestError(
      `the kind in the data (${String(kind)}) does not match the expected kind (${expectKind})`,
    );
  if (obj.metadata === undefined) obj.metadata = {};
  if (!isObject(obj.metadata))
    throw new BadRequestError("metadata: Invalid value: must be an object");
  const m = obj.metadata;
  if (
    r.route.info.namespaced &&
    m.namespace !== undefined &&
    m.namespace !== "" &&
    m.namespace !== r.route.namespace
  ) {
    throw new BadRequestError(
      "the namespace of the provided object does not match the namespace sent on the request",
    );
  }
  if (
    r.route.name !== undefined &&
    m.name !== undefined &&
    m.name !== "" &&
    m.name !== r.route.name
  ) {
    throw new BadRequestError(
      `the name of the object (${String(m.name)}) does not match the name on the URL (${r.route.name})`,
    );
  }
}

/** Strict/Warn/Ignore handling of fields the schema does not know. Returns warnings. */
export function handleUnknownFields(
  r: RequestContext,
  obj: KubeObject,
  mode: FieldValidation,
): string[] {
  if (mode === "Strict") {
    const unknown = unknownFields(r.route.info, obj);
    if (unknown.length) {
      throw new BadRequestError(
        `strict decoding error: ${unknown.map((f) => `unknown field "${f}"`).join(", ")}`,
      );
    }
    return [];
  }
  const dropped = pruneUnknownFields(r.route.info, obj);
  return mode === "Warn" ? dropped.map((f) => `unknown field "${f}"`) : [];
}

/** 201 with a Success Status: a subresource POST that creates nothing to show (binding, eviction). */
export function sendCreated(r: RequestContext): void {
  sendJson(r.res, 201, {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Success",
    code: 201,
  });
}
