// /openapi/v2 in protobuf (`application/com.github.proto-openapi.spec.v2@v1.0+protobuf`), the
// encoding client-go's discovery asks for first and decodes with gnostic's openapi_v2
// messages. The messages below are the part of that schema a Swagger 2.0 document from
// openapi-v2.ts uses; the field numbers are gnostic's (github.com/google/gnostic-models,
// openapiv2/OpenAPIv2.proto). Encoding is protobufjs'.
import { isObject } from "@skiff/api";
import protobuf from "protobufjs";

type Json = Record<string, unknown>;

const f = (type: string, id: number, repeated = false) =>
  repeated ? { type, id, rule: "repeated" } : { type, id };

const named = (valueType: string) => ({ fields: { name: f("string", 1), value: f(valueType, 2) } });

const PARAMETER_SUB_SCHEMA = (numbers: Record<string, number>) => ({
  fields: Object.fromEntries(
    Object.entries(numbers).map(([name, id]) => [
      name,
      f(
        ["required", "allowEmptyValue", "uniqueItems"].includes(name)
          ? "bool"
          : name === "vendorExtension"
            ? "NamedAny"
            : "string",
        id,
        name === "vendorExtension",
      ),
    ]),
  ),
});

const root = protobuf.Root.fromJSON({
  nested: {
    Any: { fields: { yaml: f("string", 2) } },
    NamedAny: named("Any"),
    Info: { fields: { title: f("string", 1), version: f("string", 2) } },
    Document: {
      fields: {
        swagger: f("string", 1),
        info: f("Info", 2),
        paths: f("Paths", 8),
        definitions: f("Definitions", 9),
        security: f("SecurityRequirement", 12, true),
        securityDefinitions: f("SecurityDefinitions", 13),
      },
    },
    Paths: { fields: { path: f("NamedPathItem", 2, true) } },
    NamedPathItem: named("PathItem"),
    PathItem: {
      fields: {
        get: f("Operation", 2),
        put: f("Operation", 3),
        post: f("Operation", 4),
        delete: f("Operation", 5),
        patch: f("Operation", 8),
        parameters: f("ParametersItem", 9, true),
      },
    },
    Operation: {
      fields: {
        tags: f("string", 1, true),
        description: f("string", 3),
        operationId: f("string", 5),
        produces: f("string", 6, true),
        consumes: f("string", 7, true),
        parameters: f("ParametersItem", 8, true),
        responses: f("Responses", 9),
        schemes: f("string", 10, true),
        vendorExtension: f("NamedAny", 13, true),
      },
    },
    ParametersItem: { fields: { parameter: f("Parameter", 1) } },
    Parameter: {
      fields: { bodyParameter: f("BodyParameter", 1), nonBodyParameter: f("NonBodyParameter", 2) },
    },
    BodyParameter: {
      fields: {
        description: f("string", 1),
        name: f("string", 2),
        in: f("string", 3),
        required: f("bool", 4),
        schema: f("Schema", 5),
      },
    },
    NonBodyParameter: {
      fields: {
        queryParameterSubSchema: f("QueryParameterSubSchema", 3),
        pathParameterSubSchema: f("PathParameterSubSchema", 4),
      },
    },
    QueryParameterSubSchema: PARAMETER_SUB_SCHEMA({
      required: 1,
      in: 2,
      description: 3,
      name: 4,
      allowEmptyValue: 5,
      type: 6,
      format: 7,
      uniqueItems: 20,
      vendorExtension: 23,
    }),
    PathParameterSubSchema: PARAMETER_SUB_SCHEMA({
      required: 1,
      in: 2,
      description: 3,
      name: 4,
      type: 5,
      format: 6,
      uniqueItems: 19,
      vendorExtension: 22,
    }),
    Responses: { fields: { responseCode: f("NamedResponseValue", 1, true) } },
    NamedResponseValue: named("ResponseValue"),
    ResponseValue: { fields: { response: f("Response", 1) } },
    Response: { fields: { description: f("string", 1), schema: f("SchemaItem", 2) } },
    SchemaItem: { fields: { schema: f("Schema", 1) } },
    Definitions: { fields: { additionalProperties: f("NamedSchema", 1, true) } },
    NamedSchema: named("Schema"),
    Schema: {
      fields: {
        _ref: f("string", 1),
        format: f("string", 2),
        description: f("string", 4),
        default: f("Any", 5),
        uniqueItems: f("bool", 16),
        required: f("string", 19, true),
        enum: f("Any", 20, true),
        additionalProperties: f("AdditionalPropertiesItem", 21),
        type: f("TypeItem", 22),
        items: f("ItemsItem", 23),
        allOf: f("Schema", 24, true),
        properties: f("Properties", 25),
        vendorExtension: f("NamedAny", 31, true),
      },
    },
    AdditionalPropertiesItem: { fields: { schema: f("Schema", 1), boolean: f("bool", 2) } },
    TypeItem: { fields: { value: f("string", 1, true) } },
    ItemsItem: { fields: { schema: f("Schema", 1, true) } },
    Properties: { fields: { additionalProperties: f("NamedSchema", 1, true) } },
    SecurityRequirement: { fields: { additionalProperties: f("NamedStringArray", 1, true) } },
    NamedStringArray: named("StringArray"),
    StringArray: { fields: { value: f("string", 1, true) } },
    SecurityDefinitions: {
      fields: { additionalProperties: f("NamedSecurityDefinitionsItem", 1, true) },
    },
    NamedSecurityDefinitionsItem: named("SecurityDefinitionsItem"),
    SecurityDefinitionsItem: { fields: { apiKeySecurity: f("ApiKeySecurity", 2) } },
    ApiKeySecurity: {
      fields: {
        type: f("string", 1),
        name: f("string", 2),
        in: f("string", 3),
        description: f("string", 4),
      },
    },
  },
});

// An Any carries its value as YAML text; JSON is YAML.
const any = (v: unknown) => ({ yaml: JSON.stringify(v) });

const extensions = (o: Json) =>
  Object.entries(o)
    .filter(([k]) => k.startsWith("x-"))
    .map(([name, v]) => ({ name, value: any(v) }));

function schema(s: unknown): Json {
  if (!isObject(s)) return {};
  const out: Json = {};
  if (typeof s.$ref === "string") out._ref = s.$ref;
  if (typeof s.format === "string") out.format = s.format;
  if (typeof s.description === "string") out.description = s.description;
  if ("default" in s) out.default = any(s.default);
  if (s.uniqueItems === true) out.uniqueItems = true;
  if (Array.isArray(s.required)) out.required = s.required;
  if (Array.isArray(s.enum)) out.enum = s.enum.map(any);
  if (typeof s.type === "string") out.type = { value: [s.type] };
  if (isObject(s.items)) out.items = { schema: [schema(s.items)] };
  if (Array.isArray(s.allOf)) out.allOf = s.allOf.map(schema);
  if (isObject(s.properties))
    out.properties = {
      additionalProperties: Object.entries(s.properties).map(([name, p]) => ({
        name,
        value: schema(p),
      })),
    };
  if (isObject(s.additionalProperties))
    out.additionalProperties = { schema: schema(s.additionalProperties) };
  else if (typeof s.additionalProperties === "boolean")
    out.additionalProperties = { boolean: s.additionalProperties };
  const ext = extensions(s);
  if (ext.length) out.vendorExtension = ext;
  return out;
}

function parameter(p: unknown): Json {
  if (!isObject(p)) return {};
  if (p.in === "body") {
    return {
      parameter: {
        bodyParameter: {
          name: p.name,
          in: "body",
          required: p.required === true,
          schema: schema(p.schema),
        },
      },
    };
  }
  const sub: Json = { name: p.name, in: p.in, required: p.required === true };
  for (const k of ["description", "type", "format"]) if (typeof p[k] === "string") sub[k] = p[k];
  if (p.uniqueItems === true) sub.uniqueItems = true;
  return {
    parameter: {
      nonBodyParameter:
        p.in === "path" ? { pathParameterSubSchema: sub } : { queryParameterSubSchema: sub },
    },
  };
}

function operation(op: Json): Json {
  const responses = isObject(op.responses) ? op.responses : {};
  return {
    tags: op.tags,
    description: op.description,
    operationId: op.operationId,
    produces: op.produces,
    consumes: op.consumes,
    schemes: op.schemes,
    parameters: Array.isArray(op.parameters) ? op.parameters.map(parameter) : [],
    responses: {
      responseCode: Object.entries(responses).map(([name, r]) => ({
        name,
        value: {
          response: {
            description: isObject(r) ? r.description : "",
            ...(isObject(r) && r.schema ? { schema: { schema: schema(r.schema) } } : {}),
          },
        },
      })),
    },
    vendorExtension: extensions(op),
  };
}

/** Encodes a Swagger 2.0 document (openapiV2Document()) as gnostic's openapi_v2.Document. */
export function encodeOpenApiV2(doc: Json): Uint8Array {
  const Document = root.lookupType("Document");
  const paths = Object.entries(isObject(doc.paths) ? doc.paths : {}).map(([name, item]) => {
    const value: Json = {};
    for (const [k, v] of Object.entries(isObject(item) ? item : {})) {
      if (k === "parameters" && Array.isArray(v)) value.parameters = v.map(parameter);
      else if (isObject(v)) value[k] = operation(v);
    }
    return { name, value };
  });
  const definitions = Object.entries(isObject(doc.definitions) ? doc.definitions : {}).map(
    ([name, s]) => ({ name, value: schema(s) }),
  );
  const security = Object.entries(
    isObject(doc.securityDefinitions) ? doc.securityDefinitions : {},
  ).map(([name, d]) => ({ name, value: { apiKeySecurity: d } }));
  const message = Document.fromObject({
    swagger: doc.swagger,
    info: doc.info,
    paths: { path: paths },
    definitions: { additionalProperties: definitions },
    securityDefinitions: { additionalProperties: security },
    security: [{ additionalProperties: [{ name: "BearerToken", value: { value: [] } }] }],
  });
  return Document.encode(message).finish();
}

/** Decodes an encoded document back to plain objects (for tests). */
export function decodeOpenApiV2(bytes: Uint8Array): Json {
  const Document = root.lookupType("Document");
  return Document.toObject(Document.decode(bytes), { defaults: false }) as Json;
}
