// The router: which resource a path names (parseRoute) and which handler serves a verb on
// it (handleResource). Each verb's handler lives in its own module beside this one.
import { findResource, type ResourceInfo } from "@skiff/api";
import { MethodNotAllowedError, UnknownResourceError } from "../errors.js";
import { boolParam } from "../query.js";
import type { RequestContext, Route } from "./context.js";
import { getItem, list } from "./read.js";
import { watch } from "./watch.js";
import { create } from "./create.js";
import { patch, replace } from "./update.js";
import { deleteCollection, remove } from "./delete.js";
import { bind } from "./binding.js";
import { evict } from "./eviction.js";
import { requestToken } from "./token.js";
import { isConnect, serveConnect } from "./kubelet-proxy.js";

/** Parses the part of a path after /api/v1 or /apis/{group}/{version}. */
export function parseRoute(
  group: string,
  version: string,
  segments: string[],
  find: (
    group: string,
    version: string,
    resource: string,
  ) => ResourceInfo | undefined = findResource,
): Route {
  const path = "/" + [group ? `apis/${group}` : "api", version, ...segments].join("/");
  let namespace: string | undefined;
  let rest = segments;
  // namespaces/{name}/status and namespaces/{name}/finalize are the Namespace's own
  // subresources; any other namespaces/{ns}/{resource}/... is a namespaced resource.
  const namespaceSubresource =
    segments.length === 3 && ["status", "finalize"].includes(segments[2]!);
  if (segments[0] === "namespaces" && segments.length >= 3 && !namespaceSubresource) {
    namespace = segments[1];
    rest = segments.slice(2);
  }
  const [resource, name, subresource, ...extra] = rest;
  const info = resource ? find(group, version, resource) : undefined;
  if (!info || (extra.length && subresource !== "proxy")) throw new UnknownResourceError(path);
  if (namespace !== undefined && !info.namespaced) throw new UnknownResourceError(path);
  if (
    subresource !== undefined &&
    !(info.subresources as string[]).includes(subresource) &&
    !(info.kind === "Namespace" && subresource === "finalize")
  ) {
    throw new UnknownResourceError(path);
  }
  if (name === "") throw new UnknownResourceError(path);
  if (subresource === "proxy")
    return { info, namespace, name, subresource, proxyPath: extra.join("/") };
  return { info, namespace, name, subresource };
}

/** Serves one resource request; returns the verb for metrics. */
export async function handleResource(r: RequestContext): Promise<string> {
  const { req, route } = r;
  const method = req.method ?? "GET";
  const isItem = route.name !== undefined;
  if (route.namespace === undefined && route.info.namespaced && isItem) {
    throw new UnknownResourceError(req.url ?? "");
  }
  switch (method) {
    case "GET":
      if (!isItem) {
        if (boolParam(r.query, "watch")) {
          await watch(r);
          return "WATCH";
        }
        await list(r);
        return "LIST";
      }
      await getItem(r);
      return "GET";
    case "POST":
      if (!isItem) {
        await create(r);
        return "POST";
      }
      if (route.subresource === "binding") {
        await bind(r);
        return "POST";
      }
      if (route.subresource === "eviction") {
        await evict(r);
        return "POST";
      }
      if (route.subresource === "token") {
        await requestToken(r);
        return "POST";
      }
      // Streaming subresources take POST as well as GET (kubectl up to 1.29 POSTs exec).
      if (route.info.resource === "pods" && isConnect(route.subresource)) {
        await serveConnect(r);
        return "CONNECT";
      }
      throw new MethodNotAllowedError("POST", route.info.resource);
    case "PUT":
      if (!isItem) throw new MethodNotAllowedError("PUT", route.info.resource);
      await replace(r);
      return "PUT";
    case "PATCH":
      if (!isItem) throw new MethodNotAllowedError("PATCH", route.info.resource);
      await patch(r);
      return "PATCH";
    case "DELETE":
      if (!isItem) {
        await deleteCollection(r);
        return "DELETE";
      }
      await remove(r);
      return "DELETE";
    default:
      throw new MethodNotAllowedError(method, route.info.resource);
  }
}
