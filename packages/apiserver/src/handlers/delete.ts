// DELETE of one object and of a collection, with Kubernetes' DeleteOptions from the body
// (JSON or protobuf) and the query.
import type { IncomingMessage } from "node:http";
import { apiVersionOf } from "@skiff/api";
import { BadRequestError, MethodNotAllowedError, NotFoundError } from "../errors.js";
import type { DeleteOptions } from "../registry.js";
import { isObject, meta, type KubeObject } from "../objects.js";
import { intParam, type Query } from "../query.js";
import { decode, PROTOBUF, readBody, type BodyType } from "../request.js";
import type { RequestContext } from "./context.js";
import { admissionOf } from "./admission.js";
import { dryRun, filterFor, selectors } from "./params.js";
import { respond } from "./respond.js";

/** A DELETE's body: protobuf when labelled so (client-go in protobuf mode), else JSON. */
function deleteBodyType(req: IncomingMessage): BodyType {
  return (req.headers["content-type"] ?? "").startsWith(PROTOBUF) ? "protobuf" : "json";
}

/** DeleteOptions from a DELETE body (or an Eviction's) and the query, checked. */
export function readDeleteOptions(body: Buffer, q: Query, type: BodyType = "json"): DeleteOptions {
  const opts: DeleteOptions = {};
  if (body.length) {
    const parsed = decode(body, type, "DeleteOptions");
    if (!isObject(parsed)) throw new BadRequestError("DeleteOptions must be a JSON object");
    const { gracePeriodSeconds, propagationPolicy, preconditions, orphanDependents } = parsed;
    if (gracePeriodSeconds !== undefined && gracePeriodSeconds !== null) {
      if (typeof gracePeriodSeconds !== "number" || !Number.isInteger(gracePeriodSeconds)) {
        throw new BadRequestError("DeleteOptions.gracePeriodSeconds must be an integer");
      }
      opts.gracePeriodSeconds = gracePeriodSeconds;
    }
    if (propagationPolicy !== undefined && propagationPolicy !== null)
      opts.propagationPolicy = propagationPolicy as DeleteOptions["propagationPolicy"];
    if (orphanDependents === true) opts.propagationPolicy ??= "Orphan";
    if (isObject(preconditions)) {
      opts.preconditions = {
        uid: typeof preconditions.uid === "string" ? preconditions.uid : undefined,
        resourceVersion:
          typeof preconditions.resourceVersion === "string"
            ? preconditions.resourceVersion
            : undefined,
      };
    } else if (preconditions !== undefined && preconditions !== null)
      throw new BadRequestError("DeleteOptions.preconditions must be an object");
    if (Array.isArray(parsed.dryRun) && parsed.dryRun.includes("All")) opts.dryRun = true;
  }
  const g = intParam(q, "gracePeriodSeconds");
  if (g !== undefined) opts.gracePeriodSeconds = g;
  const p = q.get("propagationPolicy");
  if (p) opts.propagationPolicy = p as DeleteOptions["propagationPolicy"];
  if (
    opts.propagationPolicy &&
    !["Orphan", "Background", "Foreground"].includes(opts.propagationPolicy)
  ) {
    throw new BadRequestError(
      `propagationPolicy: Unsupported value: "${opts.propagationPolicy}": supported values: "Foreground", "Background", "Orphan"`,
    );
  }
  if (dryRun(q)) opts.dryRun = true;
  return opts;
}

/** The DeleteOptions fields an AdmissionReview's options carry. */
function deleteOptionsShown(opts: DeleteOptions): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (opts.gracePeriodSeconds !== undefined) out.gracePeriodSeconds = opts.gracePeriodSeconds;
  if (opts.propagationPolicy) out.propagationPolicy = opts.propagationPolicy;
  if (opts.preconditions) out.preconditions = opts.preconditions;
  return out;
}

/** DELETE of one object: 200 with it when gone, 202 when deletion continues (grace, finalizers). */
export async function remove(r: RequestContext): Promise<void> {
  const { info, namespace, name, subresource } = r.route;
  if (subresource) throw new MethodNotAllowedError("DELETE", `${info.resource}/${subresource}`);
  const opts = readDeleteOptions(await readBody(r.req), r.query, deleteBodyType(r.req));
  opts.admission = admissionOf(r, "DeleteOptions", deleteOptionsShown(opts));
  const { object, deleted } = await r.ctx.registry(info).delete(namespace, name!, opts);
  // Kubernetes answers 200 with the object; 202 when deletion continues in the background.
  respond(r, deleted ? 200 : 202, object, opts.admission.warnings);
}

/** DELETE of a collection: deletes each object the selectors match. */
export async function deleteCollection(r: RequestContext): Promise<void> {
  const { info, namespace } = r.route;
  const opts = readDeleteOptions(await readBody(r.req), r.query, deleteBodyType(r.req));
  opts.admission = admissionOf(r, "DeleteOptions", deleteOptionsShown(opts));
  const sel = selectors(info, r.query);
  const reg = r.ctx.registry(info);
  const page = await reg.list(namespace, { filter: filterFor(info, sel, namespace) });
  const items: KubeObject[] = [];
  for (const obj of page.items) {
    try {
      const { object } = await reg.delete(meta(obj).namespace, meta(obj).name!, opts);
      items.push(object);
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
    }
  }
  respond(r, 200, {
    kind: info.listKind,
    apiVersion: apiVersionOf(info),
    metadata: { resourceVersion: page.resourceVersion },
    items,
  });
}
