// GET /api, /api/v1, /apis, /apis/{group} and /apis/{group}/{version}: the discovery documents
// (built by ../discovery.ts) for the built-in and custom resources plus the groups served
// beside the registry (autoscaling/v1, metrics.k8s.io), legacy or aggregated as the client
// asks, with an ETag so that a client that has the document gets 304.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { CustomResources } from "../crd.js";
import {
  aggregatedContentType,
  aggregatedDiscovery,
  aggregatedVersion,
  apiGroup,
  apiGroupList,
  apiResourceList,
  apiVersions,
  discoveryFormat,
  etagOf,
} from "../discovery.js";
import { MethodNotAllowedError, UnknownResourceError } from "../errors.js";
import { autoscalingGroup, hpaV1ResourceList } from "../hpa-v1.js";
import { METRICS_GROUP, metricsGroup, metricsResourceList } from "../resource-metrics.js";

/**
 * Answers the discovery documents under /api or /apis (`segments` is the path split at "/");
 * returns false when the path is a resource path.
 */
export function serveDiscovery(
  customResources: CustomResources,
  segments: string[],
  req: IncomingMessage,
  res: ServerResponse,
): boolean {
  const core = segments[0] === "api";
  if (segments.length > (core ? 2 : 3)) return false;
  if (req.method !== "GET") throw new MethodNotAllowedError(req.method ?? "", req.url ?? "");
  const [, a, b] = segments;
  if (a === undefined) {
    const format = discoveryFormat(req.headers.accept);
    if (format !== "legacy") {
      const doc = aggregatedDiscovery(core, format, customResources.all()) as {
        items: { metadata: { name?: string }; versions: object[] }[];
      };
      if (!core) {
        // The groups served beside the registry: autoscaling/v1 and metrics.k8s.io.
        const hpaV1 = aggregatedVersion(hpaV1ResourceList());
        doc.items.find((i) => i.metadata.name === "autoscaling")?.versions.push(hpaV1);
        doc.items.push({
          metadata: { name: METRICS_GROUP },
          versions: [aggregatedVersion(metricsResourceList())],
        });
      }
      sendDiscovery(req, res, doc, aggregatedContentType(format));
      return true;
    }
  }
  let doc: object | undefined;
  const all = customResources.all();
  if (core)
    doc =
      a === undefined ? apiVersions(req.headers.host ?? "127.0.0.1") : apiResourceList("", a, all);
  else if (a === undefined) {
    const list = apiGroupList(all) as { groups: { name: string }[] };
    const groups = list.groups.map((g) => (g.name === "autoscaling" ? autoscalingGroup() : g));
    doc = { ...list, groups: [...groups, metricsGroup()] };
  } else doc = b === undefined ? apiGroup(a, all) : apiResourceList(a, b, all);
  if (!doc) throw new UnknownResourceError(req.url ?? "");
  sendDiscovery(req, res, doc, "application/json");
  return true;
}

/** Sends a discovery document with an ETag; a client that already has it gets 304. */
function sendDiscovery(
  req: IncomingMessage,
  res: ServerResponse,
  doc: object,
  contentType: string,
): void {
  const data = JSON.stringify(doc);
  const etag = etagOf(data);
  const headers = { ETag: etag, Vary: "Accept", "Cache-Control": "no-cache, private" };
  const known = req.headers["if-none-match"];
  if (known && known.split(",").some((t) => t.trim() === etag)) {
    res.writeHead(304, headers).end();
    return;
  }
  res.writeHead(200, {
    ...headers,
    "Content-Type": contentType,
    "Content-Length": Buffer.byteLength(data),
  });
  res.end(data);
}
