// The request attributes an authorizer decides on, computed from the HTTP request the way
// Kubernetes' RequestInfoFactory does: a resource request (verb, API group, resource,
// subresource, namespace, name) or a non-resource one (verb and path).
import { parseFieldSelector, verbForMethod } from "@skiff/api";
import type { UserInfo } from "../auth.js";
import { isWatch } from "../query.js";

export interface Attributes {
  user: UserInfo;
  /** get list watch create update patch delete deletecollection (or get/post/... for paths). */
  verb: string;
  resourceRequest: boolean;
  path: string;
  apiGroup: string;
  apiVersion: string;
  namespace: string;
  resource: string;
  subresource: string;
  name: string;
  /** The list/watch field selector, for authorizers that allow selected reads only. */
  fieldSelector?: string;
}

/** The attributes of a request for a path that names no resource (verb: get, post, ...). */
export function nonResourceAttributes(user: UserInfo, verb: string, path: string): Attributes {
  return {
    user,
    verb,
    resourceRequest: false,
    path,
    apiGroup: "",
    apiVersion: "",
    namespace: "",
    resource: "",
    subresource: "",
    name: "",
  };
}

const NAMESPACE_SUBRESOURCES = new Set(["status", "finalize"]);

/** The attributes of one request; `path` is the URL path without the query. */
export function requestAttributes(
  user: UserInfo,
  method: string,
  path: string,
  query: URLSearchParams,
): Attributes {
  const segments = path.split("/").filter(Boolean).map(decodeURIComponent);
  const base = nonResourceAttributes(user, method.toLowerCase(), path);
  const prefix = segments[0] === "api" ? 2 : segments[0] === "apis" ? 3 : 0;
  // /api, /api/v1, /apis, /apis/apps and /apis/apps/v1 are discovery: non-resource paths.
  if (prefix === 0 || segments.length <= prefix) return base;
  let parts = segments.slice(prefix);
  const attrs: Attributes = {
    ...base,
    resourceRequest: true,
    verb: verbForMethod(method),
    apiGroup: prefix === 3 ? segments[1]! : "",
    apiVersion: segments[prefix - 1]!,
  };
  if (parts[0] === "namespaces" && parts.length > 1) {
    attrs.namespace = parts[1]!;
    if (parts.length > 2 && !NAMESPACE_SUBRESOURCES.has(parts[2]!)) parts = parts.slice(2);
  }
  attrs.resource = parts[0]!;
  attrs.name = parts[1] ?? "";
  attrs.subresource = parts[2] ?? "";
  if (attrs.verb === "get" && attrs.name === "") {
    attrs.verb = isWatch(query) ? "watch" : "list";
  }
  if (attrs.verb === "delete" && attrs.name === "") attrs.verb = "deletecollection";
  if (attrs.verb === "list" || attrs.verb === "watch") {
    const selector = query.get("fieldSelector") ?? "";
    attrs.fieldSelector = selector;
    // A list or watch of one object by metadata.name is authorized as that object.
    try {
      const byName = parseFieldSelector(selector).find(
        (r) => r.field === "metadata.name" && r.operator === "=",
      );
      if (byName) attrs.name = byName.value;
    } catch {
      // A malformed selector is refused by the handler with its own 400.
    }
  }
  return attrs;
}

/** The field selector's value for `field` (=, ==), when the selector names one. */
export function selectedValue(attrs: Attributes, field: string): string | undefined {
  try {
    return parseFieldSelector(attrs.fieldSelector ?? "").find(
      (r) => r.field === field && r.operator === "=",
    )?.value;
  } catch {
    return undefined;
  }
}

/** Kubernetes' wording of a denial (before the reason an authorizer may add). */
export function forbiddenMessage(attrs: Attributes): string {
  const user = attrs.user.name;
  if (!attrs.resourceRequest) return `User "${user}" cannot ${attrs.verb} path "${attrs.path}"`;
  const resource = attrs.subresource ? `${attrs.resource}/${attrs.subresource}` : attrs.resource;
  const where = attrs.namespace ? `in the namespace "${attrs.namespace}"` : "at the cluster scope";
  return `User "${user}" cannot ${attrs.verb} resource "${resource}" in API group "${attrs.apiGroup}" ${where}`;
}
