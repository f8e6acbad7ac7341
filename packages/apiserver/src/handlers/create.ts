// POST of a new object: decode, check identity and unknown fields, record the field manager,
// and hand it to the registry (which defaults, admits and validates).
import { noteAuditObject } from "../audit.js";
import { MethodNotAllowedError } from "../errors.js";
import type { KubeObject } from "../objects.js";
import { bodyType, decodeObject, readBody } from "../request.js";
import type { RequestContext } from "./context.js";
import { admissionOf } from "./admission.js";
import { dryRun, fieldManager, fieldValidation } from "./params.js";
import { trackedUpdate } from "./patch.js";
import { checkIdentity, handleUnknownFields, respond } from "./respond.js";

/** POST to a collection: creates one object (201). */
export async function create(r: RequestContext): Promise<void> {
  const { info, namespace } = r.route;
  if (info.namespaced && namespace === undefined)
    throw new MethodNotAllowedError("POST", `${info.resource} (all namespaces)`);
  if (r.ctx.terminating(info)) {
    throw new MethodNotAllowedError(
      "POST",
      info.resource,
      "create not allowed while custom resource definition is terminating",
    );
  }
  const type = bodyType(r.req, ["json", "yaml", "protobuf"]);
  const obj = decodeObject(await readBody(r.req), type) as KubeObject;
  checkIdentity(r, obj);
  noteAuditObject(obj.metadata);
  const mode = fieldValidation(r.query);
  const warnings = handleUnknownFields(r, obj, mode);
  const manager = fieldManager(r.req, r.query, false);
  const tracked = trackedUpdate(info, undefined, obj, manager, true);
  const admission = admissionOf(r, "CreateOptions");
  const created = await r.ctx
    .registry(info)
    .create(namespace, tracked, { dryRun: dryRun(r.query), admission });
  respond(r, 201, created, [...warnings, ...admission.warnings]);
}
