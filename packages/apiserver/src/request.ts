// Reading requests and writing responses: body limits, content types, JSON/YAML decoding
// and Status replies.
import type { IncomingMessage, ServerResponse } from "node:http";
import { parse as parseYaml } from "yaml";
import {
  ApiError,
  BadRequestError,
  InternalError,
  NotAcceptableError,
  TooLargeError,
  UnsupportedMediaTypeError,
  toStatus,
} from "./errors.js";
import { isObject } from "./objects.js";
import {
  apiVersionOf,
  decodeEnvelope,
  encodeEnvelope,
  protobufMessageOf,
  type ResourceInfo,
} from "@skiff/api";

export const MAX_BODY_BYTES = 3 * 1024 * 1024;
const MAX_DEPTH = 100;

export type BodyType = "json" | "yaml" | "protobuf" | "merge" | "jsonpatch" | "strategic" | "apply";

export const PROTOBUF = "application/vnd.kubernetes.protobuf";

const MEDIA: Record<string, BodyType> = {
  "application/json": "json",
  "application/yaml": "yaml",
  [PROTOBUF]: "protobuf",
  "application/merge-patch+json": "merge",
  "application/json-patch+json": "jsonpatch",
  "application/strategic-merge-patch+json": "strategic",
  "application/apply-patch+yaml": "apply",
};

export function bodyType(req: IncomingMessage, allowed: BodyType[]): BodyType {
  const raw = req.headers["content-type"];
  // A missing Content-Type is JSON (kubectl's PUT .../scale sends none).
  const type = raw ? raw.split(";")[0]!.trim().toLowerCase() : "application/json";
  const found = MEDIA[type];
  if (!found || !allowed.includes(found)) {
    const supported = Object.entries(MEDIA)
      .filter(([, t]) => allowed.includes(t))
      .map(([m]) => m);
    throw new UnsupportedMediaTypeError(raw ?? "", supported);
  }
  return found;
}

/** The bodies handlers read, kept for the audit log's Request-level events. */
export const requestBodies = new WeakMap<IncomingMessage, Buffer>();

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > MAX_BODY_BYTES) {
    req.resume();
    throw new TooLargeError(MAX_BODY_BYTES);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) {
      req.resume();
      throw new TooLargeError(MAX_BODY_BYTES);
    }
    chunks.push(chunk as Buffer);
  }
  const body = Buffer.concat(chunks);
  requestBodies.set(req, body);
  return body;
}

/** Rejects values nested deeper than any real object is, before recursive code sees them. */
function checkDepth(value: unknown): void {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length) {
    const [v, d] = stack.pop()!;
    if (d > MAX_DEPTH)
      throw new BadRequestError(`the request body is nested more than ${MAX_DEPTH} levels deep`);
    if (Array.isArray(v)) for (const x of v) stack.push([x, d + 1]);
    else if (isObject(v)) for (const x of Object.values(v)) stack.push([x, d + 1]);
  }
}

/** Decodes a JSON, YAML or Kubernetes protobuf body; `what` names the body in errors. */
export function decode(body: Buffer, type: BodyType, what = "body"): unknown {
  if (body.length === 0) throw new BadRequestError(`the ${what} is empty`);
  if (type === "protobuf") return decodeProtobuf(body, what);
  const text = body.toString("utf8");
  let value: unknown;
  try {
    value =
      type === "yaml" || type === "apply"
        ? parseYaml(text, { maxAliasCount: 100 })
        : JSON.parse(text);
  } catch (err) {
    const msg = err instanceof Error ? err.message.split("\n")[0] : String(err);
    throw new BadRequestError(
      `error decoding ${what}: ${type === "yaml" || type === "apply" ? "yaml" : "json"}: ${msg}`,
    );
  }
  checkDepth(value);
  return value;
}

function decodeProtobuf(body: Buffer, what: string): Record<string, unknown> {
  try {
    return decodeEnvelope(body).object;
  } catch (err) {
    // Whatever the bytes, a malformed body is the client's error, never a 500.
    const msg = err instanceof Error ? err.message : String(err);
    throw new BadRequestError(`error decoding ${what}: protobuf: ${msg}`);
  }
}

export function decodeObject(body: Buffer, type: BodyType): Record<string, unknown> {
  const value = decode(body, type);
  if (!isObject(value)) throw new BadRequestError("the request body must be a JSON object");
  return value;
}

export interface Negotiated {
  table: boolean;
  yaml: boolean;
  /** Kubernetes protobuf, listed before JSON (`application/vnd.kubernetes.protobuf, application/json`). */
  protobuf?: boolean;
}

/** Whether a resource's objects have a protobuf encoding (custom resources have none). */
export function servesProtobuf(info: ResourceInfo): boolean {
  return !info.custom && protobufMessageOf(apiVersionOf(info), info.kind) !== undefined;
}

/**
 * Chooses the response representation from the Accept header. `protobuf` says whether the
 * resource has a protobuf encoding: custom resources have none, so, as Kubernetes does for
 * them, protobuf is passed over for the next type the client accepts (JSON after
 * `application/vnd.kubernetes.protobuf, application/json`), and protobuf alone is a 406.
 */
export function negotiate(req: IncomingMessage, protobuf = true): Negotiated {
  const accept = req.headers.accept;
  if (!accept) return { table: false, yaml: false };
  const options = accept.split(",").map((s) => s.trim().toLowerCase());
  for (const o of options) {
    const [type, ...params] = o.split(";").map((s) => s.trim());
    if (
      type === "application/json" &&
      params.includes("as=table") &&
      params.some((p) => p === "g=meta.k8s.io")
    ) {
      return { table: true, yaml: false };
    }
    if (type === "application/json" && !params.some((p) => p.startsWith("as=")))
      return { table: false, yaml: false };
    if (type === "application/yaml") return { table: false, yaml: true };
    if (protobuf && type === PROTOBUF && !params.some((p) => p.startsWith("as=")))
      return { table: false, yaml: false, protobuf: true };
    if (type === "*/*" || type === "application/*") return { table: false, yaml: false };
  }
  throw new NotAcceptableError(accept, [
    "application/json",
    "application/yaml",
    ...(protobuf ? [PROTOBUF] : []),
  ]);
}

export function sendJson(
  res: ServerResponse,
  code: number,
  body: unknown,
  extraHeaders: Record<string, string> = {},
): void {
  const data = JSON.stringify(body);
  res.writeHead(code, {
    "Content-Type": "application/json",
    "Content-Length": Buffer.byteLength(data),
    ...extraHeaders,
  });
  res.end(data);
}

/**
 * Sends an object in Kubernetes protobuf; false (nothing sent) when its kind has no protobuf
 * encoding, so the caller answers in JSON instead.
 */
export function sendProtobuf(
  res: ServerResponse,
  code: number,
  body: Record<string, unknown>,
  extraHeaders: Record<string, string> = {},
): boolean {
  let data: Buffer;
  try {
    data = encodeEnvelope(body);
  } catch {
    return false;
  }
  res.writeHead(code, { "Content-Type": PROTOBUF, "Content-Length": data.length, ...extraHeaders });
  res.end(data);
  return true;
}

export function sendError(
  res: ServerResponse,
  err: unknown,
  log: (msg: string, err?: unknown) => void,
): number {
  const apiErr = err instanceof ApiError ? err : new InternalError();
  if (!(err instanceof ApiError)) log("internal error", err);
  if (res.headersSent) {
    res.destroy();
    return apiErr.code;
  }
  const headers: Record<string, string> = {};
  if (apiErr.details?.retryAfterSeconds)
    headers["Retry-After"] = String(apiErr.details.retryAfterSeconds);
  sendJson(res, apiErr.code, toStatus(apiErr), headers);
  return apiErr.code;
}

/** A resourceVersion from a client: a non-negative integer that fits (etcd revisions are int64). */
export function parseResourceVersion(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n)) {
    throw new BadRequestError(`invalid resource version "${text}": must be a non-negative integer`);
  }
  return n;
}
