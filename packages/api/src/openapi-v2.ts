// The published OpenAPI v2 (Swagger 2.0): the same operations and schemas as the v3
// documents (openapi.ts), merged into one document and re-expressed in v2's shape, for the
// clients that still read /openapi/v2 (kubectl 1.27 and 1.28 compute apply patches from it).
import { openapiV3Document, openapiV3Root } from "./openapi.js";
import { isObject } from "./schema.js";

type Json = Record<string, unknown>;

/** Rewrites v3 `$ref`s to v2's `#/definitions/`, and v3-only keywords to v2 equivalents. */
function schemaV2(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(schemaV2);
  if (!isObject(schema)) return schema;
  const out: Json = {};
  for (const [k, v] of Object.entries(schema)) {
    if (k === "$ref" && typeof v === "string")
      out.$ref = v.replace("#/components/schemas/", "#/definitions/");
    else if (k === "allOf" && Array.isArray(v) && v.length === 1 && isObject(v[0]) && v[0].$ref) {
      // v3's `allOf: [$ref]` beside a default or a patch strategy: v2 readers (kubectl's
      // models) read the markers beside the $ref itself, where Kubernetes' v2 puts them.
      Object.assign(out, schemaV2(v[0]));
    } else if (k === "anyOf") {
      // v2 has no anyOf: a value of several scalar types is left untyped, as Kubernetes
      // does for int-or-string (which it marks with format: int-or-string).
      continue;
    } else if (k === "properties" && isObject(v))
      out.properties = Object.fromEntries(Object.entries(v).map(([n, s]) => [n, schemaV2(s)]));
    else out[k] = schemaV2(v);
  }
  return out;
}

function parameterV2(p: unknown): unknown {
  if (!isObject(p)) return p;
  const { schema, ...rest } = p;
  return { ...rest, ...(isObject(schema) ? schema : {}) };
}

function operationV2(op: Json): Json {
  const { requestBody, responses, parameters, ...rest } = op;
  const out: Json = { ...rest };
  const params: unknown[] = Array.isArray(parameters) ? parameters.map(parameterV2) : [];
  if (isObject(requestBody) && isObject(requestBody.content)) {
    const types = Object.keys(requestBody.content);
    const first = requestBody.content[types[0]!];
    params.unshift({
      name: "body",
      in: "body",
      required: true,
      schema: schemaV2(isObject(first) ? first.schema : {}),
    });
    if (!types.includes("*/*")) out.consumes = types;
    else out.consumes = ["*/*"];
  }
  if (params.length) out.parameters = params;
  const produces = new Set<string>();
  const codes: Json = {};
  for (const [code, r] of Object.entries(isObject(responses) ? responses : {})) {
    if (!isObject(r)) continue;
    const content = isObject(r.content) ? r.content : {};
    const first = Object.values(content)[0];
    for (const t of Object.keys(content)) produces.add(t);
    codes[code] = {
      description: r.description ?? "",
      ...(isObject(first) && first.schema ? { schema: schemaV2(first.schema) } : {}),
    };
  }
  out.produces = produces.size ? [...produces] : ["application/json"];
  out.responses = codes;
  out.schemes = ["https"];
  return out;
}

let cached: Json | undefined;

/** GET /openapi/v2: one Swagger 2.0 document for every group/version Skiff serves. */
export function openapiV2Document(): Json {
  if (cached) return cached;
  const paths: Json = {};
  const definitions: Json = {};
  for (const key of Object.keys(openapiV3Root().paths)) {
    const doc = openapiV3Document(key) as Json;
    for (const [path, item] of Object.entries(doc.paths as Json)) {
      const v2: Json = {};
      for (const [method, op] of Object.entries(item as Json)) {
        if (method === "parameters" && Array.isArray(op)) v2.parameters = op.map(parameterV2);
        else if (isObject(op)) v2[method] = operationV2(op);
      }
      paths[path] = v2;
    }
    const schemas = (doc.components as Json).schemas as Json;
    for (const [id, s] of Object.entries(schemas)) {
      const next = schemaV2(s) as Json;
      const prev = definitions[id] as Json | undefined;
      // A type shared by several group/versions (DeleteOptions) names every kind it serves as.
      const GVK = "x-kubernetes-group-version-kind";
      if (prev && Array.isArray(prev[GVK]) && Array.isArray(next[GVK])) {
        const all = [...(prev[GVK] as Json[]), ...(next[GVK] as Json[])];
        next[GVK] = all.filter(
          (g, i) => all.findIndex((h) => JSON.stringify(h) === JSON.stringify(g)) === i,
        );
      }
      definitions[id] = next;
    }
  }
  cached = {
    swagger: "2.0",
    info: { title: "Kubernetes", version: "v1.31.0" },
    paths,
    definitions: Object.fromEntries(
      Object.entries(definitions).sort(([a], [b]) => (a < b ? -1 : 1)),
    ),
    securityDefinitions: {
      BearerToken: {
        type: "apiKey",
        description: "Bearer Token authentication",
        name: "authorization",
        in: "header",
      },
    },
    security: [{ BearerToken: [] }],
  };
  return cached;
}
