// The routing table: which handler serves a path, once the request is authenticated and
// authorized (filters.ts). In order:
//   /apis/authorization.k8s.io/v1/...accessreviews, ...rulesreviews   ../authz/reviews.ts
//   /apis/authentication.k8s.io/v1/tokenreviews                       ../tokenreview.ts
//   /apis/authentication.k8s.io/{v1,v1beta1,v1alpha1}/selfsubjectreviews  ../selfsubjectreview.ts
//   /apis/metrics.k8s.io/...                                          ../resource-metrics.ts
//   /apis/autoscaling/v1/... (v2 is an ordinary registry resource)    ../hpa-v1.ts
//   /api, /api/v1, /apis, /apis/{group}[/{version}] (discovery)       serve-discovery.ts
//   /api/v1/..., /apis/{group}/{version}/... (resources)              ../handlers/router.ts
//   /version, /healthz, /livez, /readyz, /metrics, /openapi/...       below
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ResourceInfo } from "@skiff/api";
import type { AuditRecord } from "../audit.js";
import type { Authenticator, UserInfo } from "../auth.js";
import type { Authorization } from "../authz/index.js";
import { inRequestScope } from "../request-scope.js";
import { reviewRoute, serveReview } from "../authz/reviews.js";
import type { CustomResources } from "../crd.js";
import { versionInfo } from "../discovery.js";
import { UnknownResourceError } from "../errors.js";
import type { HandlerContext } from "../handlers/context.js";
import { handleResource, parseRoute } from "../handlers/router.js";
import { autoscalingGroup, hpaV1ResourceList, serveHpaV1 } from "../hpa-v1.js";
import type { ApiserverMetrics } from "../metrics.js";
import { sendJson } from "../request.js";
import {
  METRICS_GROUP,
  METRICS_VERSION,
  metricsGroup,
  metricsResourceList,
  type ResourceMetrics,
} from "../resource-metrics.js";
import { isSelfSubjectReview, serveSelfSubjectReview } from "../selfsubjectreview.js";
import type { Storage } from "../storage.js";
import { isTokenReview, serveTokenReview } from "../tokenreview.js";
import { serveDiscovery } from "./serve-discovery.js";
import { serveLive, serveMetrics, serveReady } from "./serve-health.js";
import { serveOpenApiV2, serveOpenApiV3, serveOpenApiV3Root } from "./serve-openapi.js";

/** The parts of the server the routes hand requests to. */
export interface ServedParts {
  ctx: HandlerContext;
  auth: Authenticator;
  authz: Authorization;
  customResources: CustomResources;
  resourceMetrics: ResourceMetrics;
  metrics: ApiserverMetrics;
  storage: Storage;
}

/** A request that passed authentication and authorization. */
export interface RoutedRequest {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  /** The path without trailing slashes, and its decoded segments. */
  path: string;
  segments: string[];
  /** Undefined only on the paths anyone may read. */
  user: UserInfo | undefined;
  audit: AuditRecord | undefined;
}

/** What a request is counted as in the metrics; route() fills it in as it learns it. */
export interface Served {
  verb: string;
  info?: ResourceInfo;
  subresource: string;
}

/** Serves the request with the handler of its path (the table above). */
export async function route(parts: ServedParts, r: RoutedRequest, served: Served): Promise<void> {
  const { req, res, url, path, segments, user } = r;
  const review = reviewRoute(segments);
  if (review) {
    served.verb = "POST";
    await serveReview(parts.authz, review, req, res, user as UserInfo);
    return;
  }
  if (isTokenReview(segments)) {
    served.verb = "POST";
    await serveTokenReview(req, res, parts.auth, parts.ctx.tokens?.apiAudiences ?? []);
    return;
  }
  if (isSelfSubjectReview(segments)) {
    served.verb = "POST";
    await serveSelfSubjectReview(segments, req, res, user as UserInfo);
    return;
  }
  if (segments[0] === "apis" && segments[1] === METRICS_GROUP) {
    if (segments.length > 3 && segments[2] === METRICS_VERSION) {
      await parts.resourceMetrics.serve(segments.slice(3), req, res, url.searchParams);
    } else if (segments.length === 2 && req.method === "GET") {
      sendJson(res, 200, { kind: "APIGroup", apiVersion: "v1", ...metricsGroup() });
    } else if (segments.length === 3 && segments[2] === METRICS_VERSION) {
      sendJson(res, 200, metricsResourceList());
    } else {
      throw new UnknownResourceError(path);
    }
    return;
  }
  if (segments[0] === "apis" && segments[1] === "autoscaling" && segments[2] !== "v2") {
    if (segments.length === 2 && req.method === "GET") {
      sendJson(res, 200, { kind: "APIGroup", apiVersion: "v1", ...autoscalingGroup() });
    } else if (segments.length === 3 && segments[2] === "v1" && req.method === "GET") {
      sendJson(res, 200, hpaV1ResourceList());
    } else if (segments[2] === "v1") {
      await serveHpaV1(parts.ctx, segments.slice(3), req, res, user);
    } else {
      throw new UnknownResourceError(path);
    }
    return;
  }
  if (segments[0] === "api" || segments[0] === "apis") {
    if (serveDiscovery(parts.customResources, segments, req, res)) return;
    const group = segments[0] === "api" ? "" : segments[1]!;
    const version = segments[0] === "api" ? segments[1]! : segments[2]!;
    const rest = segments.slice(segments[0] === "api" ? 2 : 3);
    const resource = parseRoute(group, version, rest, parts.ctx.resolve);
    served.info = resource.info;
    served.subresource = resource.subresource ?? "";
    served.verb = await inRequestScope({ user, audit: r.audit }, () =>
      handleResource({
        ctx: parts.ctx,
        req,
        res,
        route: resource,
        query: url.searchParams,
        user: user as UserInfo,
      }),
    );
    return;
  }
  serveNonResource(parts, path, url, req, res);
}

/** The paths outside /api and /apis. */
function serveNonResource(
  parts: ServedParts,
  path: string,
  url: URL,
  req: IncomingMessage,
  res: ServerResponse,
): void {
  if (req.method !== "GET" && req.method !== "HEAD") throw new UnknownResourceError(path);
  switch (path) {
    case "/version":
      sendJson(res, 200, versionInfo());
      return;
    case "/healthz":
    case "/livez":
      serveLive(res);
      return;
    case "/readyz":
      void serveReady(parts.storage, res);
      return;
    case "/metrics":
      void serveMetrics(parts.metrics, res);
      return;
    case "/openapi/v2":
      serveOpenApiV2(req, res);
      return;
    case "/openapi/v3":
      serveOpenApiV3Root(parts.customResources, res);
      return;
  }
  if (path.startsWith("/openapi/v3/")) {
    serveOpenApiV3(parts.customResources, path, url, res);
    return;
  }
  throw new UnknownResourceError(path);
}
