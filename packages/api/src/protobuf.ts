// Kubernetes' protobuf encoding (`application/vnd.kubernetes.protobuf`) of the kinds Skiff
// serves: the `k8s\0` magic, the runtime.Unknown envelope naming apiVersion/kind, and each
// message's fields as Kubernetes numbers them (protobuf-fields.ts, generated from
// generated.proto). Objects are converted to and from their JSON form here, so everything
// past decoding sees the same plain objects JSON requests produce. Wire work is protobufjs'.
import protobuf from "protobufjs";
import { protobufMessages, type ProtoField } from "./protobuf-fields.js";
import { isObject } from "./schema.js";
import { rfc3339 } from "./time.js";

type Json = Record<string, unknown>;

/** A body that is not valid Kubernetes protobuf; the message says why, for a 400. */
export class ProtobufError extends Error {}

export const PROTOBUF_MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]); // "k8s\0"

const META = "k8s.io.apimachinery.pkg.apis.meta.v1";
const TIME = new Set([`${META}.Time`, `${META}.MicroTime`]);
const QUANTITY = "k8s.io.apimachinery.pkg.api.resource.Quantity";
const INT_OR_STRING = "k8s.io.apimachinery.pkg.util.intstr.IntOrString";
const RAW_EXTENSION = "k8s.io.apimachinery.pkg.runtime.RawExtension";
const FIELDS_V1 = `${META}.FieldsV1`;
const DURATION = `${META}.Duration`;
const UNKNOWN = "k8s.io.apimachinery.pkg.runtime.Unknown";
/**
 * Go slice types (`type ExtraValue []string`) that protobuf wraps in a message with one
 * repeated `items` field; their JSON is the plain list (a user's `extra` values).
 */
// apiextensions' JSON-schema values whose JSON has two shapes: any JSON value (JSON: raw bytes
// on the wire), a schema or a list of schemas, a schema or a bool, a schema or a string list.
const EXT = "k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1";
const ANY_JSON = `${EXT}.JSON`;
const SCHEMA = `${EXT}.JSONSchemaProps`;
const SCHEMA_OR_ARRAY = `${EXT}.JSONSchemaPropsOrArray`;
const SCHEMA_OR_BOOL = `${EXT}.JSONSchemaPropsOrBool`;
const SCHEMA_OR_STRINGS = `${EXT}.JSONSchemaPropsOrStringArray`;
const ITEMS_LISTS = new Set([
  "k8s.io.api.authentication.v1.ExtraValue",
  "k8s.io.api.authorization.v1.ExtraValue",
]);
/** Go's zero time.Time as Unix seconds: what an unset Time encodes as. */
const GO_ZERO_TIME = -62135596800;

const flat = (name: string) => name.replace(/\./g, "_");
const SCALAR = new Set([
  "string",
  "bytes",
  "bool",
  "int32",
  "int64",
  "double",
  "float",
  "uint32",
  "uint64",
]);

/**
 * protobufjs' name for a field: its JSON name, unless that is no identifier or one
 * protobufjs reserves (`$schema`, `x-kubernetes-list-type` in JSON schemas).
 */
const wireName = (json: string) =>
  /^[A-Za-z_]\w*$/.test(json) ? json : `_${json.replace(/\W/g, "_")}`;

const root = protobuf.Root.fromJSON({
  nested: Object.fromEntries(
    Object.entries(protobufMessages).map(([name, fields]) => [
      flat(name),
      {
        fields: Object.fromEntries(
          Object.entries(fields).map(([json, [id, type, mode]]) => {
            const t = SCALAR.has(type) ? type : flat(type);
            if (mode === "map") return [wireName(json), { keyType: "string", type: t, id }];
            if (mode === "repeated")
              // proto2, as Kubernetes' files are: repeated scalars are not packed.
              return [
                wireName(json),
                { rule: "repeated", type: t, id, options: { packed: false } },
              ];
            return [wireName(json), { type: t, id }];
          }),
        ),
      },
    ]),
  ),
});

const types = new Map<string, protobuf.Type>();
function typeOf(name: string): protobuf.Type {
  let t = types.get(name);
  if (!t) {
    t = root.lookupType(flat(name));
    types.set(name, t);
  }
  return t;
}

// ---- kinds ----------------------------------------------------------------------------

const GROUP_PACKAGES: Record<string, string> = {
  "": "k8s.io.api.core",
  apps: "k8s.io.api.apps",
  batch: "k8s.io.api.batch",
  "coordination.k8s.io": "k8s.io.api.coordination",
  "discovery.k8s.io": "k8s.io.api.discovery",
  autoscaling: "k8s.io.api.autoscaling",
  "authentication.k8s.io": "k8s.io.api.authentication",
  policy: "k8s.io.api.policy",
  "storage.k8s.io": "k8s.io.api.storage",
  "scheduling.k8s.io": "k8s.io.api.scheduling",
  "rbac.authorization.k8s.io": "k8s.io.api.rbac",
  "authorization.k8s.io": "k8s.io.api.authorization",
  "admissionregistration.k8s.io": "k8s.io.api.admissionregistration",
  "networking.k8s.io": "k8s.io.api.networking",
  "flowcontrol.apiserver.k8s.io": "k8s.io.api.flowcontrol",
  "apiextensions.k8s.io": "k8s.io.apiextensions_apiserver.pkg.apis.apiextensions",
};
/** Kinds of meta/v1 that any group/version may carry. */
const META_KINDS = new Set(["Status", "DeleteOptions", "WatchEvent"]);

/** The protobuf message of an apiVersion/kind, or undefined when Skiff has none. */
export function protobufMessageOf(apiVersion: string, kind: string): string | undefined {
  if (META_KINDS.has(kind)) return `${META}.${kind}`;
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  const pkg = GROUP_PACKAGES[group!];
  const name = pkg && `${pkg}.${version}.${kind}`;
  return name && protobufMessages[name] ? name : undefined;
}

// ---- JSON -> protobuf -----------------------------------------------------------------

function toProtoValue(type: string, v: unknown, path: string): unknown {
  if (v === null || v === undefined) return undefined;
  if (TIME.has(type)) {
    const ms = typeof v === "string" ? Date.parse(v) : NaN;
    if (Number.isNaN(ms)) throw new ProtobufError(`${path}: not a timestamp`);
    const micros = typeof v === "string" ? /\.(\d{1,9})/.exec(v)?.[1] : undefined;
    return {
      seconds: Math.floor(ms / 1000),
      nanos: micros ? Number(micros.padEnd(9, "0")) : 0,
    };
  }
  if (type === QUANTITY) return { string: String(v) };
  if (type === INT_OR_STRING)
    return typeof v === "number" ? { type: 0, intVal: v } : { type: 1, strVal: String(v) };
  if (type === RAW_EXTENSION) return { raw: Buffer.from(JSON.stringify(v)) };
  if (type === FIELDS_V1) return { Raw: Buffer.from(JSON.stringify(v)) };
  if (type === DURATION) return { duration: parseGoDuration(String(v)) };
  if (ITEMS_LISTS.has(type)) {
    if (!Array.isArray(v)) throw new ProtobufError(`${path}: expected a list`);
    return { items: v.map(String) };
  }
  if (type === ANY_JSON) return { raw: Buffer.from(JSON.stringify(v)) };
  if (type === SCHEMA_OR_ARRAY)
    return Array.isArray(v)
      ? { jSONSchemas: v.map((x, i) => toProtoValue(SCHEMA, x, `${path}[${i}]`)) }
      : { schema: toProtoValue(SCHEMA, v, path) };
  if (type === SCHEMA_OR_BOOL)
    return typeof v === "boolean"
      ? { allows: v }
      : { allows: true, schema: toProtoValue(SCHEMA, v, path) };
  if (type === SCHEMA_OR_STRINGS)
    return Array.isArray(v)
      ? { property: v.map(String) }
      : { schema: toProtoValue(SCHEMA, v, path) };
  if (SCALAR.has(type)) return v;
  if (!isObject(v)) throw new ProtobufError(`${path}: expected an object`);
  return toProtoObject(type, v, path);
}

function toProtoObject(message: string, obj: Json, path = ""): Json {
  const fields = protobufMessages[message];
  if (!fields) throw new ProtobufError(`no protobuf message ${message}`);
  const out: Json = {};
  for (const [json, [, type, mode]] of Object.entries(fields) as [string, ProtoField][]) {
    const at = path ? `${path}.${json}` : json;
    if (mode === "inline") {
      out[wireName(json)] = toProtoObject(type, obj, path);
      continue;
    }
    const v = obj[json];
    if (v === undefined || v === null) continue;
    if (mode === "repeated") {
      if (!Array.isArray(v)) throw new ProtobufError(`${at}: expected a list`);
      out[wireName(json)] = v.map((x, i) => toProtoValue(type, x, `${at}[${i}]`));
    } else if (mode === "map") {
      if (!isObject(v)) throw new ProtobufError(`${at}: expected a map`);
      // Map entries in key order, as Go writes them (integer-like keys aside: JavaScript
      // objects put those first whatever the insertion order).
      out[wireName(json)] = Object.fromEntries(
        Object.entries(v)
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
          .map(([k, x]) => [k, toProtoValue(type, x, `${at}[${k}]`)]),
      );
    } else out[wireName(json)] = toProtoValue(type, v, at);
  }
  return out;
}

/** Encodes a JSON-shaped object as the given message (no envelope). */
export function encodeMessage(message: string, obj: Json): Uint8Array {
  const t = typeOf(message);
  return t.encode(t.fromObject(toProtoObject(message, obj))).finish();
}

// ---- protobuf -> JSON -----------------------------------------------------------------

function fromProtoValue(type: string, v: unknown): unknown {
  if (TIME.has(type)) {
    const p = v as { seconds?: number; nanos?: number };
    const seconds = p.seconds ?? 0;
    const nanos = p.nanos ?? 0;
    if ((seconds === 0 && nanos === 0) || seconds === GO_ZERO_TIME) return null;
    const time = rfc3339(seconds * 1000);
    if (type === `${META}.MicroTime`)
      return `${time.slice(0, -1)}.${String(Math.floor(nanos / 1000)).padStart(6, "0")}Z`;
    return time;
  }
  if (type === QUANTITY) return (v as { string?: string }).string ?? "0";
  if (type === INT_OR_STRING) {
    const p = v as { type?: number; intVal?: number; strVal?: string };
    return p.type === 1 ? (p.strVal ?? "") : (p.intVal ?? 0);
  }
  if (type === RAW_EXTENSION || type === FIELDS_V1) {
    const raw = (v as { raw?: string; Raw?: string }).raw ?? (v as { Raw?: string }).Raw;
    if (!raw) return {};
    const bytes = Buffer.from(raw, "base64");
    try {
      return JSON.parse(bytes.toString("utf8"));
    } catch {
      // An embedded object may itself be protobuf (a watch event's object).
      return decodeEnvelope(bytes).object;
    }
  }
  if (type === DURATION) return formatGoDuration((v as { duration?: number }).duration ?? 0);
  if (ITEMS_LISTS.has(type)) return (v as { items?: string[] }).items ?? [];
  if (type === ANY_JSON) {
    const raw = (v as { raw?: string }).raw;
    try {
      return raw ? JSON.parse(Buffer.from(raw, "base64").toString("utf8")) : null;
    } catch {
      throw new ProtobufError("a JSON value in the schema is not JSON");
    }
  }
  const schema = (v as { schema?: Json }).schema;
  if (type === SCHEMA_OR_ARRAY)
    return schema
      ? fromProtoValue(SCHEMA, schema)
      : ((v as { jSONSchemas?: Json[] }).jSONSchemas ?? []).map((x) => fromProtoValue(SCHEMA, x));
  if (type === SCHEMA_OR_BOOL)
    return schema ? fromProtoValue(SCHEMA, schema) : ((v as { allows?: boolean }).allows ?? false);
  if (type === SCHEMA_OR_STRINGS)
    return schema
      ? fromProtoValue(SCHEMA, schema)
      : ((v as { property?: string[] }).property ?? []);
  if (SCALAR.has(type)) return v;
  return fromProtoObject(type, v as Json);
}

function fromProtoObject(message: string, p: Json, into: Json = {}): Json {
  const fields = protobufMessages[message]!;
  for (const [json, [, type, mode, omitZero]] of Object.entries(fields) as [string, ProtoField][]) {
    const v = p[wireName(json)];
    if (v === undefined || v === null) continue;
    // Go writes value fields even when zero; its JSON leaves out those marked omitempty.
    if (omitZero && SCALAR.has(type) && (v === "" || v === 0 || v === false)) continue;
    if (mode === "inline") fromProtoObject(type, v as Json, into);
    else if (mode === "repeated") into[json] = (v as unknown[]).map((x) => fromProtoValue(type, x));
    else if (mode === "map")
      into[json] = Object.fromEntries(
        Object.entries(v as Json).map(([k, x]) => [k, fromProtoValue(type, x)]),
      );
    else {
      const value = fromProtoValue(type, v);
      if (value !== null) into[json] = value;
    }
  }
  return into;
}

/** Decodes one message (no envelope) to its JSON shape; malformed bytes throw ProtobufError. */
export function decodeMessage(message: string, bytes: Uint8Array): Json {
  const t = typeOf(message);
  let decoded: protobuf.Message;
  try {
    decoded = t.decode(bytes);
  } catch (err) {
    throw new ProtobufError(`malformed ${message.split(".").pop()}: ${(err as Error).message}`);
  }
  const plain = t.toObject(decoded, { longs: Number, bytes: String, defaults: false }) as Json;
  return fromProtoObject(message, plain);
}

// ---- the envelope ---------------------------------------------------------------------

/** Encodes an object with apiVersion/kind as Kubernetes sends it: magic + runtime.Unknown. */
export function encodeEnvelope(obj: Json): Buffer {
  const apiVersion = String(obj.apiVersion ?? "");
  const kind = String(obj.kind ?? "");
  const message = protobufMessageOf(apiVersion, kind);
  if (!message) throw new ProtobufError(`no protobuf encoding for ${apiVersion}, Kind=${kind}`);
  const raw = encodeMessage(message, obj);
  const t = typeOf(UNKNOWN);
  const unknown = t
    .encode(
      t.fromObject({ typeMeta: { apiVersion, kind }, raw, contentEncoding: "", contentType: "" }),
    )
    .finish();
  return Buffer.concat([PROTOBUF_MAGIC, unknown]);
}

/** Decodes magic + runtime.Unknown + the object; the result carries apiVersion and kind. */
export function decodeEnvelope(bytes: Uint8Array): {
  apiVersion: string;
  kind: string;
  object: Json;
} {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 4 || !buf.subarray(0, 4).equals(PROTOBUF_MAGIC))
    throw new ProtobufError('the body does not start with the protobuf magic "k8s\\x00"');
  // runtime.Unknown's typeMeta is inline in its JSON form: apiVersion and kind at the top.
  const envelope = decodeMessage(UNKNOWN, buf.subarray(4));
  const apiVersion = typeof envelope.apiVersion === "string" ? envelope.apiVersion : "";
  const kind = typeof envelope.kind === "string" ? envelope.kind : "";
  if (!kind) throw new ProtobufError("the protobuf envelope names no kind");
  if (envelope.contentEncoding)
    throw new ProtobufError(`unsupported content encoding "${String(envelope.contentEncoding)}"`);
  const message = protobufMessageOf(apiVersion, kind);
  if (!message)
    throw new ProtobufError(`no kind "${kind}" is registered for version "${apiVersion}"`);
  const raw =
    typeof envelope.raw === "string" ? Buffer.from(envelope.raw, "base64") : Buffer.alloc(0);
  const object = decodeMessage(message, raw);
  return { apiVersion, kind, object: { apiVersion, kind, ...object } };
}

/** A watch event as one length-prefixed protobuf frame (4-byte big-endian length). */
export function encodeWatchFrame(type: string, object: Json): Buffer {
  const t = typeOf(`${META}.WatchEvent`);
  const raw = t.encode(t.fromObject({ type, object: { raw: encodeEnvelope(object) } })).finish();
  const u = typeOf(UNKNOWN);
  const unknown = u
    .encode(
      u.fromObject({
        typeMeta: { apiVersion: "v1", kind: "WatchEvent" },
        raw,
        contentEncoding: "",
        contentType: "",
      }),
    )
    .finish();
  const body = Buffer.concat([PROTOBUF_MAGIC, unknown]);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(body.length);
  return Buffer.concat([length, body]);
}

// ---- Go durations (meta/v1 Duration travels as nanoseconds) ------------------------------

const UNITS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  µs: 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

function parseGoDuration(text: string): number {
  let total = 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text))) total += Number(m[1]) * UNITS[m[2]!]!;
  return Math.round(text.startsWith("-") ? -total : total);
}

function formatGoDuration(ns: number): string {
  if (ns === 0) return "0s";
  const h = Math.floor(ns / 3600e9);
  const m = Math.floor((ns % 3600e9) / 60e9);
  const s = (ns % 60e9) / 1e9;
  return `${h ? `${h}h` : ""}${h || m ? `${m}m` : ""}${s}s`;
}
