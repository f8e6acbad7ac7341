// GET of one object (and its status, scale and ephemeralcontainers views) and LIST, paged and
// filtered, as objects or as a Table.
import { apiVersionOf } from "@skiff/api";
import { BadRequestError, MethodNotAllowedError } from "../errors.js";
import { intParam } from "../query.js";
import { negotiate, sendJson, servesProtobuf } from "../request.js";
import { toTable } from "../tables.js";
import type { RequestContext } from "./context.js";
import { filterFor, includeObject, selectors } from "./params.js";
import { respond } from "./respond.js";
import { toScale } from "./scale.js";
import { isConnect, serveConnect, serveNodeProxy } from "./kubelet-proxy.js";

/** GET of one object, its status, scale or ephemeralcontainers, or a kubelet-served subresource. */
export async function getItem(r: RequestContext): Promise<void> {
  const { info, namespace, name, subresource } = r.route;
  if (info.resource === "pods" && (subresource === "log" || isConnect(subresource))) {
    return serveConnect(r);
  }
  if (info.resource === "nodes" && subresource === "proxy") return serveNodeProxy(r);
  const obj = await r.ctx.registry(info).get(namespace, name!);
  if (subresource === "scale") return respond(r, 200, toScale(obj, info));
  if (subresource && subresource !== "status" && subresource !== "ephemeralcontainers")
    throw new MethodNotAllowedError("GET", `${info.resource}/${subresource}`);
  respond(r, 200, obj);
}

/** LIST: one page of the matching objects, or a Table of them. */
export async function list(r: RequestContext): Promise<void> {
  const { info, namespace } = r.route;
  const q = r.query;
  const sel = selectors(info, q);
  const limit = intParam(q, "limit");
  if (limit !== undefined && limit < 0)
    throw new BadRequestError(`limit: Invalid value: ${limit}: must be greater than or equal to 0`);
  const table = negotiate(r.req, servesProtobuf(info)).table;
  const page = await r.ctx.registry(info).list(namespace, {
    filter: filterFor(info, sel, namespace),
    filtered: sel.labels.length > 0 || sel.fields.length > 0,
    limit,
    continueToken: q.get("continue") || undefined,
    resourceVersion: q.get("resourceVersion") || undefined,
  });
  if (table) {
    const deprecation = info.custom?.deprecationWarning;
    if (deprecation) r.res.setHeader("Warning", `299 - ${JSON.stringify(deprecation)}`);
    sendJson(
      r.res,
      200,
      toTable(info, page.items, {
        includeObject: includeObject(q),
        resourceVersion: page.resourceVersion,
        continue: page.continueToken,
        remainingItemCount: page.remainingItemCount,
      }),
    );
    return;
  }
  const metadata: Record<string, unknown> = { resourceVersion: page.resourceVersion };
  if (page.continueToken) metadata.continue = page.continueToken;
  if (page.remainingItemCount !== undefined) metadata.remainingItemCount = page.remainingItemCount;
  respond(r, 200, {
    kind: info.listKind,
    apiVersion: apiVersionOf(info),
    metadata,
    items: page.items,
  });
}
