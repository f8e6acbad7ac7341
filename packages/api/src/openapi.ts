// The published OpenAPI v3: a root listing one document per group/version, and the
// documents themselves, generated from the same schemas that validate requests. kubectl
// reads them before create/apply: it checks that PATCH declares `fieldValidation`, and
// computes strategic merge patches from the x-kubernetes-patch-* list markers.
import { createHash } from "node:crypto";
import type { TSchema } from "@sinclair/typebox";
import { resources, type ResourceInfo } from "./resources.js";
import { classify, listSchemaFor, schemaFor } from "./schema.js";
import { BindingSchema, ScaleSchema } from "./schema.js";
import {
  DeleteOptionsSchema,
  ListMetaSchema,
  ObjectMetaSchema,
  StatusSchema,
} from "./schemas/meta.js";

type Json = Record<string, unknown>;

const META = "io.k8s.apimachinery.pkg.apis.meta.v1";
const ref = (id: string) => ({ $ref: `#/components/schemas/${id}` });

/** "api/v1" or "apis/apps/v1": how the root and the URLs name a group/version. */
export function gvPath(info: { group: string; version: string }): string {
  return info.group === "" ? `api/${info.version}` : `apis/${info.group}/${info.version}`;
}

// ---- schemas ------------------------------------------------------------------------

/** Converts a schema to OpenAPI, turning named types into $refs collected in `named`. */
function toOpenAPI(schema: TSchema, named: Map<string, Json>, top = false): Json {
  const id = typeof schema.$id === "string" ? schema.$id : undefined;
  if (id && !top) {
    const { default: _default, "x-kubernetes-patch-strategy": _strategy, ...canonical } = schema;
    if (!named.has(id)) {
      named.set(id, {}); // reserve first: types may refer to each other
      named.set(id, toOpenAPI(canonical as TSchema, named, true));
    }
    // A default (e.g. `resources: {}`) or a patch strategy (e.g. retainKeys) belongs to
    // this use of the type, not to the type.
    const site = Object.fromEntries(
      ["default", "x-kubernetes-patch-strategy"]
        .filter((k) => k in schema)
        .map((k) => [k, schema[k]]),
    );
    return Object.keys(site).length ? { allOf: [ref(id)], ...site } : ref(id);
  }
  const out: Json = {};
  const node = classify(schema);
  switch (node.is) {
    case "struct": {
      out.type = "object";
      const props: Json = {};
      for (const [name, prop] of Object.entries(node.properties))
        props[name] = toOpenAPI(prop, named);
      out.properties = props;
      if (Array.isArray(schema.required) && schema.required.length > 0)
        out.required = [...schema.required];
      break;
    }
    case "map":
      out.type = "object";
      out.additionalProperties = toOpenAPI(node.values, named);
      break;
    case "array":
      out.type = "array";
      out.items = toOpenAPI(node.items, named);
      break;
    case "scalar":
      if (node.types.length === 1) out.type = node.types[0];
      else out.anyOf = node.types.map((type) => ({ type }));
      break;
    case "any":
      if (schema.type === "object") out.type = "object";
      break;
  }
  for (const [k, v] of Object.entries(schema)) {
    if (k.startsWith("x-kubernetes-") || k === "format" || k === "default" || k === "description")
      out[k] = v;
  }
  return out;
}

// ---- paths --------------------------------------------------------------------------

const param = (
  name: string,
  where: "path" | "query",
  type = "string",
  description?: string,
): Json => ({
  name,
  in: where,
  ...(where === "path" ? { required: true } : {}),
  ...(description ? { description } : {}),
  schema: { type, uniqueItems: true },
});

const pretty = param("pretty", "query", "string", "If 'true', then the output is pretty printed.");
const dryRun = param(
  "dryRun",
  "query",
  "string",
  "When present, indicates that modifications should not be persisted.",
);
const fieldManager = param(
  "fieldManager",
  "query",
  "string",
  "A name associated with the actor or entity that is making these changes.",
);
const fieldValidation = param(
  "fieldValidation",
  "query",
  "string",
  "fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: Ignore, Warn (the default) and Strict.",
);
const force = param("force", "query", "boolean", 'Force is going to "force" Apply requests.');
const listParams = [
  param("allowWatchBookmarks", "query", "boolean"),
  param("continue", "query"),
  param("fieldSelector", "query"),
  param("labelSelector", "query"),
  param("limit", "query", "integer"),
  param("resourceVersion", "query"),
  param("resourceVersionMatch", "query"),
  param("sendInitialEvents", "query", "boolean"),
  param("timeoutSeconds", "query", "integer"),
  param("watch", "query", "boolean"),
];
const deleteParams = [
  dryRun,
  param("gracePeriodSeconds", "query", "integer"),
  param("orphanDependents", "query", "boolean"),
  param("propagationPolicy", "query"),
];
const PATCH_TYPES = [
  "application/apply-patch+yaml",
  "application/json-patch+json",
  "application/merge-patch+json",
  "application/strategic-merge-patch+json",
];

const body = (schemaId: string, types = ["*/*"]): Json => ({
  content: Object.fromEntries(types.map((t) => [t, { schema: ref(schemaId) }])),
  required: true,
});

const reply = (schemaId: string, ...codes: string[]): Json =>
  Object.fromEntries(
    codes.map((code) => [
      code,
      {
        description: code === "201" ? "Created" : code === "202" ? "Accepted" : "OK",
        content: { "application/json": { schema: ref(schemaId) } },
      },
    ]),
  );

function operationPrefix(info: ResourceInfo): string {
  const group = info.group === "" ? "core" : info.group.split(".")[0]!;
  return `${group[0]!.toUpperCase()}${group.slice(1)}${info.version[0]!.toUpperCase()}${info.version.slice(1)}`;
}

function pathsFor(
  info: ResourceInfo,
  schemaIds: { kind: string; list: string; scale: string; binding: string },
): Json {
  const base = `/${gvPath(info)}`;
  const scope = info.namespaced ? "Namespaced" : "";
  const collection = info.namespaced
    ? `${base}/namespaces/{namespace}/${info.resource}`
    : `${base}/${info.resource}`;
  const item = `${collection}/{name}`;
  const gvk = { group: info.group, version: info.version, kind: info.kind };
  const prefix = operationPrefix(info);
  const tag = [`${info.group === "" ? "core" : info.group.split(".")[0]}_${info.version}`];
  const nsParam = info.namespaced
    ? [
        param(
          "namespace",
          "path",
          "string",
          "object name and auth scope, such as for teams and projects",
        ),
      ]
    : [];
  const nameParam = param("name", "path", "string", `name of the ${info.kind}`);

  const op = (
    action: string,
    verb: string,
    suffix: string,
    extra: Json,
    kindGVK: Json = gvk,
  ): Json => ({
    operationId: `${verb}${prefix}${suffix}`,
    tags: tag,
    ...extra,
    "x-kubernetes-action": action,
    "x-kubernetes-group-version-kind": kindGVK,
  });

  const paths: Json = {};
  paths[collection] = {
    get: op("list", "list", `${scope}${info.kind}`, {
      parameters: listParams,
      responses: reply(schemaIds.list, "200"),
    }),
    post: op("post", "create", `${scope}${info.kind}`, {
      parameters: [dryRun, fieldManager, fieldValidation],
      requestBody: body(schemaIds.kind),
      responses: reply(schemaIds.kind, "200", "201", "202"),
    }),
    delete: op("deletecollection", "delete", `Collection${scope}${info.kind}`, {
      parameters: [...listParams, ...deleteParams],
      requestBody: body(`${META}.DeleteOptions`),
      responses: reply(`${META}.Status`, "200"),
    }),
    parameters: [...nsParam, pretty],
  };
  paths[item] = itemOps(schemaIds.kind, "", gvk);
  (paths[item] as Json).delete = op("delete", "delete", `${scope}${info.kind}`, {
    parameters: deleteParams,
    requestBody: body(`${META}.DeleteOptions`),
    responses: { ...reply(schemaIds.kind, "200", "202") },
  });
  if (info.namespaced) {
    paths[`${base}/${info.resource}`] = {
      get: op("list", "list", `${info.kind}ForAllNamespaces`, {
        parameters: listParams,
        responses: reply(schemaIds.list, "200"),
      }),
      parameters: [pretty],
    };
  }
  if (info.subresources.includes("status"))
    paths[`${item}/status`] = itemOps(schemaIds.kind, "Status", gvk);
  if (info.subresources.includes("scale")) {
    paths[`${item}/scale`] = itemOps(schemaIds.scale, "Scale", {
      group: "autoscaling",
      version: "v1",
      kind: "Scale",
    });
  }
  if (info.subresources.includes("binding")) {
    paths[`${item}/binding`] = {
      post: op(
        "post",
        "create",
        `${scope}${info.kind}Binding`,
        {
          parameters: [dryRun, fieldManager, fieldValidation],
          requestBody: body(schemaIds.binding),
          responses: reply(schemaIds.binding, "200", "201", "202"),
        },
        { group: "", version: "v1", kind: "Binding" },
      ),
      parameters: [nameParam, ...nsParam, pretty],
    };
  }
  if (info.subresources.includes("log")) {
    paths[`${item}/log`] = {
      get: op("connect", "read", `${scope}${info.kind}Log`, {
        parameters: [
          "container",
          "follow",
          "previous",
          "sinceSeconds",
          "tailLines",
          "timestamps",
        ].map((n) =>
          param(
            n,
            "query",
            ["follow", "previous", "timestamps"].includes(n)
              ? "boolean"
              : n === "container"
                ? "string"
                : "integer",
          ),
        ),
        responses: {
          "200": { description: "OK", content: { "text/plain": { schema: { type: "string" } } } },
        },
      }),
      parameters: [nameParam, ...nsParam, pretty],
    };
  }
  return paths;

  function itemOps(schemaId: string, sub: string, kindGVK: Json): Json {
    return {
      get: op(
        "get",
        "read",
        `${scope}${info.kind}${sub}`,
        { responses: reply(schemaId, "200") },
        kindGVK,
      ),
      put: op(
        "put",
        "replace",
        `${scope}${info.kind}${sub}`,
        {
          parameters: [dryRun, fieldManager, fieldValidation],
          requestBody: body(schemaId),
          responses: reply(schemaId, "200", "201"),
        },
        kindGVK,
      ),
      patch: op(
        "patch",
        "patch",
        `${scope}${info.kind}${sub}`,
        {
          parameters: [dryRun, fieldManager, fieldValidation, force],
          // Custom resources take no strategic merge patch: kubectl reads this list to choose.
          requestBody: body(
            `${META}.Patch`,
            info.custom ? PATCH_TYPES.filter((t) => !t.includes("strategic")) : PATCH_TYPES,
          ),
          responses: reply(schemaId, "200", "201"),
        },
        kindGVK,
      ),
      parameters: [nameParam, ...nsParam, pretty],
    };
  }
}

// ---- documents ----------------------------------------------------------------------

/** The OpenAPI name of a custom resource's schema: "com.example.v1.Website", as Kubernetes names it. */
function customSchemaId(info: ResourceInfo): string {
  return `${info.group.split(".").reverse().join(".")}.${info.version}.${info.kind}`;
}

/** A custom resource's schema (and its List's), from the CRD's openAPIV3Schema. */
function registerCustom(
  info: ResourceInfo,
  named: Map<string, Json>,
): { kind: string; list: string } {
  const id = customSchemaId(info);
  const schema = structuredClone((info.custom?.schema ?? { type: "object" }) as Json);
  const props = { ...((schema.properties as Json | undefined) ?? {}) };
  props.apiVersion = {
    type: "string",
    description:
      "APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values.",
  };
  props.kind = {
    type: "string",
    description:
      "Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase.",
  };
  props.metadata = toOpenAPI(ObjectMetaSchema, named);
  schema.properties = props;
  if (!schema.type) schema.type = "object";
  named.set(id, schema);
  named.set(`${id}List`, {
    type: "object",
    description: `${info.listKind} is a list of ${info.kind}`,
    required: ["items"],
    properties: {
      apiVersion: props.apiVersion,
      items: { type: "array", items: ref(id) },
      kind: props.kind,
      metadata: toOpenAPI(ListMetaSchema, named),
    },
  });
  return { kind: id, list: `${id}List` };
}

function buildDocument(
  group: string,
  version: string,
  infos: readonly ResourceInfo[] = resources,
): Json {
  const named = new Map<string, Json>();
  const gvks = new Map<string, Json[]>();
  const register = (schema: TSchema, gvk: Json) => {
    const id = schema.$id as string;
    toOpenAPI(schema, named); // a named schema: registers itself and its parts
    gvks.set(id, [...(gvks.get(id) ?? []), gvk]);
    return id;
  };
  register(StatusSchema, { group: "", version: "v1", kind: "Status" });
  register(DeleteOptionsSchema, { group, version, kind: "DeleteOptions" });
  named.set(`${META}.Patch`, {
    type: "object",
    description:
      "Patch is provided to give a concrete name and type to the Kubernetes PATCH request body.",
  });

  let paths: Json = {};
  for (const info of infos.filter((r) => r.group === group && r.version === version)) {
    const custom = info.custom ? registerCustom(info, named) : undefined;
    if (custom) {
      gvks.set(custom.kind, [{ group, version, kind: info.kind }]);
      gvks.set(custom.list, [{ group, version, kind: info.listKind }]);
    }
    const ids = {
      kind: custom?.kind ?? register(schemaFor(info), { group, version, kind: info.kind }),
      list: custom?.list ?? register(listSchemaFor(info), { group, version, kind: info.listKind }),
      scale: info.subresources.includes("scale")
        ? register(ScaleSchema, { group: "autoscaling", version: "v1", kind: "Scale" })
        : "",
      binding: info.subresources.includes("binding")
        ? register(BindingSchema, { group: "", version: "v1", kind: "Binding" })
        : "",
    };
    paths = { ...paths, ...pathsFor(info, ids) };
  }
  for (const [id, list] of gvks) {
    const schema = named.get(id);
    if (schema) schema["x-kubernetes-group-version-kind"] = list;
  }
  const schemas = Object.fromEntries([...named.entries()].sort(([a], [b]) => (a < b ? -1 : 1)));
  return {
    openapi: "3.0.0",
    info: { title: "Kubernetes", version: "v1.31.0" },
    paths,
    components: {
      schemas,
      securitySchemes: {
        BearerToken: {
          type: "apiKey",
          description: "Bearer Token authentication",
          name: "authorization",
          in: "header",
        },
      },
    },
  };
}

let cache: Map<string, { doc: Json; hash: string }> | undefined;

function documents(): Map<string, { doc: Json; hash: string }> {
  if (!cache) {
    cache = new Map();
    const seen = new Set<string>();
    for (const r of resources) {
      const key = gvPath(r);
      if (seen.has(key)) continue;
      seen.add(key);
      const doc = buildDocument(r.group, r.version);
      const hash = createHash("sha512").update(JSON.stringify(doc)).digest("hex").toUpperCase();
      cache.set(key, { doc, hash });
    }
  }
  return cache;
}

/**
 * The documents of custom resources' group/versions ("apis/example.com/v1"), built from
 * the served CRDs; the apiserver caches them until the set of CRDs changes.
 */
export function customResourceDocuments(
  infos: readonly ResourceInfo[],
): Map<string, { doc: Json; hash: string }> {
  const out = new Map<string, { doc: Json; hash: string }>();
  for (const r of infos) {
    const key = gvPath(r);
    if (!r.custom || out.has(key)) continue;
    const doc = buildDocument(r.group, r.version, infos);
    const hash = createHash("sha512").update(JSON.stringify(doc)).digest("hex").toUpperCase();
    out.set(key, { doc, hash });
  }
  return out;
}

/** GET /openapi/v3: where each group/version's document lives, with its content hash. */
export function openapiV3Root(): { paths: Record<string, { serverRelativeURL: string }> } {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const [key, { hash }] of documents()) {
    paths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${hash}` };
  }
  return { paths };
}

/** GET /openapi/v3/{gvPath}: the document for "api/v1", "apis/apps/v1", ...; undefined if none. */
export function openapiV3Document(path: string): object | undefined {
  return documents().get(path.replace(/^\/+|\/+$/g, ""))?.doc;
}

/** The hash a document is published under (for ETag / immutable caching by hash). */
export function openapiV3Hash(path: string): string | undefined {
  return documents().get(path.replace(/^\/+|\/+$/g, ""))?.hash;
}
