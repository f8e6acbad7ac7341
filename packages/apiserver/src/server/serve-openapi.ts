// The published OpenAPI: /openapi/v2 (JSON, or protobuf for kubectl) and /openapi/v3 (the
// root index and one document per group-version, custom resources' included), built from the
// same schemas that validate requests.
import type { IncomingMessage, ServerResponse } from "node:http";
import { openapiV2Document, openapiV3Document, openapiV3Root } from "@skiff/api";
import type { CustomResources } from "../crd.js";
import { etagOf } from "../discovery.js";
import { UnknownResourceError } from "../errors.js";
import { encodeOpenApiV2 } from "../openapi-v2-proto.js";
import { sendJson } from "../request.js";

const OPENAPI_V2_PROTOBUF = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf";
let openapiV2: { json: string; protobuf: Buffer } | undefined;

/** GET /openapi/v2: protobuf when the client lists that type before JSON, else JSON. */
export function serveOpenApiV2(req: IncomingMessage, res: ServerResponse): void {
  openapiV2 ??= (() => {
    const doc = openapiV2Document();
    return { json: JSON.stringify(doc), protobuf: Buffer.from(encodeOpenApiV2(doc)) };
  })();
  const accepted = (req.headers.accept ?? "")
    .split(",")
    .map((o) => o.split(";")[0]!.trim().toLowerCase());
  const pb = accepted.indexOf(OPENAPI_V2_PROTOBUF);
  const json = accepted.findIndex((t) => t === "application/json" || t === "*/*");
  const protobuf = pb >= 0 && (json < 0 || pb < json);
  const data = protobuf ? openapiV2.protobuf : Buffer.from(openapiV2.json);
  const etag = etagOf(data);
  const headers = { ETag: etag, Vary: "Accept", "Cache-Control": "no-cache, private" };
  if (req.headers["if-none-match"] === etag) {
    res.writeHead(304, headers).end();
    return;
  }
  res.writeHead(200, {
    ...headers,
    // Go's mime parser refuses the '@' of the type asked for, so the bytes go as octet-stream.
    "Content-Type": protobuf ? "application/octet-stream" : "application/json",
    "Content-Length": data.length,
  });
  res.end(data);
}

/** GET /openapi/v3: the index of the per-group-version documents, with their hashes. */
export function serveOpenApiV3Root(customResources: CustomResources, res: ServerResponse): void {
  const root = openapiV3Root();
  for (const [key, { hash }] of customResources.openapiDocuments())
    root.paths[key] ??= { serverRelativeURL: `/openapi/v3/${key}?hash=${hash}` };
  sendJson(res, 200, root);
}

/**
 * GET /openapi/v3/{api/v1 | apis/group/version}: one group-version's document; a request that
 * names the hash (as the root index links it) may be cached for good.
 */
export function serveOpenApiV3(
  customResources: CustomResources,
  path: string,
  url: URL,
  res: ServerResponse,
): void {
  const key = path.slice("/openapi/v3/".length).replace(/^\/+|\/+$/g, "");
  const doc = openapiV3Document(key) ?? customResources.openapiDocuments().get(key)?.doc;
  if (!doc) throw new UnknownResourceError(path);
  sendJson(res, 200, doc, {
    "Cache-Control": url.searchParams.has("hash") ? "public, immutable" : "no-cache",
  });
}
