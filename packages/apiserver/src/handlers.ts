// The REST handlers for /api/v1/... and /apis/{group}/{version}/...: they turn an HTTP
// request into registry calls, with Kubernetes' query parameters, content types,
// subresources (status, scale, binding, eviction), field validation and Table output.
import type { IncomingMessage, ServerResponse } from "node:http";
import {
  apiVersionOf,
  checkFieldSelector,
  encodeWatchFrame,
  findResource,
  resourceInfo,
  matchesFields,
  matchesLabels,
  parseFieldSelector,
  parseLabelSelector,
  pruneUnknownFields,
  readJsonPath,
  selectableFields,
  SelectorError,
  unknownFields,
  type FieldRequirement,
  type Requirement,
  type ResourceInfo,
} from "@skiff/api";
import {
  ApiError,
  BadRequestError,
  ConflictError,
  InvalidError,
  MethodNotAllowedError,
  NotFoundError,
  UnknownResourceError,
  UnsupportedMediaTypeError,
} from "./errors.js";
import { Registry, storageError, type DeleteOptions } from "./registry.js";
import { evictPod } from "./eviction.js";
import type { Watcher, EventType, CacheEvent } from "./watchcache.js";
import {
  bodyType,
  decode,
  decodeObject,
  negotiate,
  parseResourceVersion,
  readBody,
  sendJson,
  sendProtobuf,
  PROTOBUF,
  type BodyType,
} from "./request.js";
import { clone, get, isObject, meta, now, type KubeObject } from "./objects.js";
import { toTable } from "./tables.js";
import { boolParam, intParam, type Query } from "./query.js";
import {
  jsonPatch,
  mergePatch,
  PatchError,
  serverSideApply,
  strategicMergePatch,
  trackUpdate,
} from "./patch/index.js";
import type { UserInfo } from "./auth.js";
import type { ServiceAccountTokens } from "./serviceaccount.js";
import { stringify as toYaml } from "yaml";
import { proxyToKubelet, proxyToNode } from "./kubelet-proxy.js";
import {
  admitSubresource,
  type AdmissionRequest,
  type WebhookAdmission,
} from "./webhooks/dispatch.js";
import type { Operation } from "./webhooks/match.js";

export interface Route {
  info: ResourceInfo;
  namespace?: string;
  name?: string;
  subresource?: string;
  /** nodes/{name}/proxy/{path}: the path on the node's kubelet. */
  proxyPath?: string;
}

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

function dryRun(q: Query): boolean {
  const values = q.getAll("dryRun");
  for (const v of values)
    if (v !== "All")
      throw new BadRequestError(`dryRun: Unsupported value: "${v}": supported values: "All"`);
  return values.length > 0;
}

type FieldValidation = "Strict" | "Warn" | "Ignore";
function fieldValidation(q: Query): FieldValidation {
  const v = q.get("fieldValidation") ?? "";
  if (v === "") return "Warn";
  if (v === "Strict" || v === "Warn" || v === "Ignore") return v;
  throw new BadRequestError(
    `fieldValidation: Unsupported value: "${v}": supported values: "Ignore", "Strict", "Warn"`,
  );
}

function fieldManager(req: IncomingMessage, q: Query, required: boolean): string {
  const m = q.get("fieldManager");
  if (m) {
    if (m.length > 128)
      throw new BadRequestError("fieldManager: Too long: may not be longer than 128 characters");
    return m;
  }
  if (required)
    throw new BadRequestError(
      "PATCH, application/apply-patch+yaml requires the fieldManager query parameter",
    );
  const agent = req.headers["user-agent"] ?? "unknown";
  return agent.split("/")[0]!.slice(0, 128) || "unknown";
}

interface Selectors {
  labels: Requirement[];
  fields: FieldRequirement[];
}

function selectors(info: ResourceInfo, q: Query): Selectors {
  try {
    const labels = parseLabelSelector(q.get("labelSelector") ?? "");
    const fields = parseFieldSelector(q.get("fieldSelector") ?? "");
    const bad = checkFieldSelector(info, fields);
    if (bad)
      throw new BadRequestError(
        `Unable to find "${apiVersionOf(info)}, Resource=${info.resource}" that match label selector "${q.get("labelSelector") ?? ""}", field selector "${q.get("fieldSelector") ?? ""}": ${bad}`,
      );
    return { labels, fields };
  } catch (err) {
    if (err instanceof SelectorError)
      throw new BadRequestError(`unable to parse requirement: ${err.message}`);
    throw err;
  }
}

function filterFor(
  info: ResourceInfo,
  sel: Selectors,
  namespace: string | undefined,
): (obj: KubeObject) => boolean {
  return (obj) => {
    if (namespace !== undefined && info.namespaced && meta(obj).namespace !== namespace)
      return false;
    if (sel.labels.length && !matchesLabels(sel.labels, meta(obj).labels)) return false;
    if (sel.fields.length && !matchesFields(sel.fields, selectableFields(info, obj))) return false;
    return true;
  };
}

export interface HandlerContext {
  registries: Map<ResourceInfo, Registry>;
  registry(info: ResourceInfo): Registry;
  /** Finds a served resource, custom ones included. */
  resolve(group: string, version: string, resource: string): ResourceInfo | undefined;
  /** Whether a custom resource's CRD is being deleted. */
  terminating(info: ResourceInfo): boolean;
  log: (msg: string, err?: unknown) => void;
  onWatch: (info: ResourceInfo, delta: number) => void;
  /** How long an un-timed watch stays open (Kubernetes: 30–60 minutes). */
  watchTimeoutSeconds: () => number;
  bookmarkIntervalMs: number;
  /** Issues service account tokens (TokenRequest); undefined when no signing key is set. */
  tokens?: ServiceAccountTokens;
  /** The shortest token TokenRequest grants (Kubernetes: 600 s; lower only in tests). */
  minTokenExpirationSeconds?: number;
  /** Admission webhooks, for the subresources that are no write of the resource itself. */
  webhooks?: WebhookAdmission;
  /** NodeRestriction of TokenRequest: throws the 403 a kubelet gets for a token it may not have. */
  admitTokenRequest?: (
    user: UserInfo,
    namespace: string,
    name: string,
    boundObjectRef: unknown,
  ) => Promise<void>;
}

export interface Request {
  req: IncomingMessage;
  res: ServerResponse;
  route: Route;
  query: Query;
  user: UserInfo;
}

/** Serves one resource request; returns the verb for metrics. */
export async function handleResource(ctx: HandlerContext, r: Request): Promise<string> {
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
          await watch(ctx, r);
          return "WATCH";
        }
        await list(ctx, r);
        return "LIST";
      }
      await getItem(ctx, r);
      return "GET";
    case "POST":
      if (!isItem) {
        await create(ctx, r);
        return "POST";
      }
      if (route.subresource === "binding") {
        await bind(ctx, r);
        return "POST";
      }
      if (route.subresource === "eviction") {
        await evict(ctx, r);
        return "POST";
      }
      if (route.subresource === "token") {
        await requestToken(ctx, r);
        return "POST";
      }
      // Streaming subresources take POST as well as GET (kubectl up to 1.29 POSTs exec).
      if (route.info.resource === "pods" && isConnect(route.subresource)) {
        await getItem(ctx, r);
        return "CONNECT";
      }
      throw new MethodNotAllowedError("POST", route.info.resource);
    case "PUT":
      if (!isItem) throw new MethodNotAllowedError("PUT", route.info.resource);
      await replace(ctx, r);
      return "PUT";
    case "PATCH":
      if (!isItem) throw new MethodNotAllowedError("PATCH", route.info.resource);
      await patch(ctx, r);
      return "PATCH";
    case "DELETE":
      if (!isItem) {
        await deleteCollection(ctx, r);
        return "DELETE";
      }
      await remove(ctx, r);
      return "DELETE";
    default:
      throw new MethodNotAllowedError(method, route.info.resource);
  }
}

function respond(
  r: Request,
  code: number,
  obj: KubeObject | Record<string, unknown>,
  warnings: string[] = [],
): void {
  const { table, yaml, protobuf } = negotiate(r.req);
  const headers: Record<string, string> = {};
  const deprecation = r.route.info.custom?.deprecationWarning;
  if (deprecation) warnings = [deprecation, ...warnings];
  if (warnings.length) {
    r.res.setHeader(
      "Warning",
      warnings.map((w) => `299 - ${JSON.stringify(w)}`),
    );
  }
  if (table && isObject(obj.metadata) && obj.kind !== "Status" && obj.kind !== "Scale") {
    sendJson(
      r.res,
      code,
      toTable(r.route.info, [obj], { includeObject: includeObject(r.query) }),
      headers,
    );
  } else if (protobuf && sendProtobuf(r.res, code, obj, headers)) {
    return;
  } else if (yaml) {
    const data = toYaml(obj);
    r.res.writeHead(code, { "Content-Type": "application/yaml", ...headers });
    r.res.end(data);
  } else {
    sendJson(r.res, code, obj, headers);
  }
}

function includeObject(q: Query): "None" | "Object" | "Metadata" {
  const v = q.get("includeObject") ?? "Metadata";
  if (v === "None" || v === "Object" || v === "Metadata") return v;
  throw new BadRequestError(
    `includeObject: Unsupported value: "${v}": supported values: "None", "Object", "Metadata"`,
  );
}

async function getItem(ctx: HandlerContext, r: Request): Promise<void> {
  const { info, namespace, name, subresource } = r.route;
  const reg = ctx.registry(info);
  if (info.resource === "pods" && (subresource === "log" || isConnect(subresource))) {
    const pod = await reg.get(namespace, name!);
    if (subresource !== "log") await admitConnect(ctx, r, subresource);
    return proxyToKubelet(ctx, r, pod, subresource);
  }
  if (info.resource === "nodes" && subresource === "proxy") {
    return proxyToNode(ctx, r, await reg.get(undefined, name!), r.route.proxyPath ?? "");
  }
  const obj = await reg.get(namespace, name!);
  if (subresource === "scale") return respond(r, 200, toScale(obj, info));
  if (subresource && subresource !== "status" && subresource !== "ephemeralcontainers")
    throw new MethodNotAllowedError("GET", `${info.resource}/${subresource}`);
  respond(r, 200, obj);
}

async function list(ctx: HandlerContext, r: Request): Promise<void> {
  const { info, namespace } = r.route;
  const q = r.query;
  const sel = selectors(info, q);
  const limit = intParam(q, "limit");
  if (limit !== undefined && limit < 0)
    throw new BadRequestError(`limit: Invalid value: ${limit}: must be greater than or equal to 0`);
  const table = negotiate(r.req).table;
  const page = await ctx.registry(info).list(namespace, {
    filter: filterFor(info, sel, namespace),
    filtered: sel.labels.length > 0 || sel.fields.length > 0,
    limit,
    continueToken: q.get("continue") || undefined,
    resourceVersion: q.get("resourceVersion") || undefined,
  });
  if (table) {
    const deprecation = info.custom?.deprecationWarning;
    if (deprecation) r.res.setHeader("Warning", `299 - ${JSON.stringify(deprecation)}`);
    sendJson(
      r.res,
      200,
      toTable(info, page.items, {
        includeObject: includeObject(q),
        resourceVersion: page.resourceVersion,
        continue: page.continueToken,
        remainingItemCount: page.remainingItemCount,
      }),
    );
    return;
  }
  const metadata: Record<string, unknown> = { resourceVersion: page.resourceVersion };
  if (page.continueToken) metadata.continue = page.continueToken;
  if (page.remainingItemCount !== undefined) metadata.remainingItemCount = page.remainingItemCount;
  respond(r, 200, {
    kind: info.listKind,
    apiVersion: apiVersionOf(info),
    metadata,
    items: page.items,
  });
}

async function watch(ctx: HandlerContext, r: Request): Promise<void> {
  const { info, namespace } = r.route;
  const q = r.query;
  const sel = selectors(info, q);
  const rvText = q.get("resourceVersion") ?? "";
  let fromRevision: number | undefined;
  if (rvText !== "" && rvText !== "0") {
    fromRevision = parseResourceVersion(rvText);
  }
  const timeoutSeconds = intParam(q, "timeoutSeconds");
  if (timeoutSeconds !== undefined && timeoutSeconds < 0) {
    throw new BadRequestError(
      `timeoutSeconds: Invalid value: ${timeoutSeconds}: must be greater than or equal to 0`,
    );
  }
  const bookmarks = boolParam(q, "allowWatchBookmarks");
  const { table, protobuf } = negotiate(r.req);
  // One event: a JSON line, or a length-prefixed protobuf frame when asked for protobuf.
  const encode = (type: string, object: Record<string, unknown>): string | Buffer =>
    protobuf ? encodeWatchFrame(type, object) : JSON.stringify({ type, object }) + "\n";
  const incl = includeObject(q);
  const reg = ctx.registry(info);
  const res = r.res;
  let lastSent = fromRevision ?? 0;
  let ended = false;

  const write = (line: string | Buffer): void => {
    if (ended) return;
    // A watcher that does not read its stream is cut off rather than buffered forever.
    if (res.writableLength > 16 * 1024 * 1024) {
      end();
      return;
    }
    res.write(line);
  };
  const watcher: Watcher = {
    send(type: EventType, object: KubeObject, ev: CacheEvent) {
      lastSent = ev.revision;
      if (table) {
        write(
          JSON.stringify({ type, object: toTable(info, [object], { includeObject: incl }) }) + "\n",
        );
      } else if (protobuf) {
        write(encode(type, object));
      } else if (type === ev.type && object === ev.object) {
        const shared = ev as CacheEvent & { line?: string };
        shared.line ??= JSON.stringify({ type, object }) + "\n";
        write(shared.line);
      } else {
        write(JSON.stringify({ type, object }) + "\n");
      }
    },
    bookmark(revision: number) {
      if (!bookmarks || revision <= lastSent) return;
      lastSent = revision;
      write(
        encode("BOOKMARK", {
          kind: info.kind,
          apiVersion: apiVersionOf(info),
          metadata: { resourceVersion: String(revision) },
        }),
      );
    },
    terminate() {
      end();
    },
  };
  let unregister: (() => void) | undefined;
  const timers: { end?: NodeJS.Timeout; bookmarks?: NodeJS.Timeout } = {};
  const end = (): void => {
    if (ended) return;
    ended = true;
    unregister?.();
    clearTimeout(timers.end);
    clearInterval(timers.bookmarks);
    ctx.onWatch(info, -1);
    res.end();
  };
  res.writeHead(200, {
    "Content-Type": protobuf ? `${PROTOBUF};stream=watch` : "application/json",
    "Transfer-Encoding": "chunked",
    "Cache-Control": "no-cache, private",
  });
  res.flushHeaders();
  ctx.onWatch(info, +1);
  res.on("close", end);
  try {
    if (fromRevision !== undefined && !(await reg.cache.reachable(fromRevision))) {
      // A version etcd itself has not reached (after a moment's grace, as Kubernetes gives).
      const current = reg.cache.currentRevision();
      throw new ApiError(
        504,
        "Timeout",
        `Too large resource version: ${fromRevision}, current: ${current}`,
        {
          causes: [{ type: "ResourceVersionTooLarge", message: "Too large resource version" }],
          retryAfterSeconds: 1,
        },
      );
    }
    unregister = await reg.cache.watch(watcher, {
      fromRevision,
      filter: filterFor(info, sel, namespace),
    });
  } catch (err) {
    // Errors once the stream has started are sent as an ERROR event, as Kubernetes does.
    const status = err instanceof ApiError ? err : undefined;
    if (!status) {
      try {
        storageError(err);
      } catch (e) {
        if (e instanceof ApiError) writeError(e);
        else writeError(new ApiError(500, "InternalError", "an internal error occurred"));
      }
    } else writeError(status);
    end();
    return;
  }
  if (ended) {
    unregister();
    return;
  }
  // Timers cannot run longer than about 24 days; no watch needs to.
  const seconds = Math.min(timeoutSeconds ?? ctx.watchTimeoutSeconds(), 2_000_000);
  timers.end = setTimeout(() => {
    watcher.bookmark(reg.cache.currentRevision());
    end();
  }, seconds * 1000);
  if (bookmarks)
    timers.bookmarks = setInterval(
      () => watcher.bookmark(reg.cache.currentRevision()),
      ctx.bookmarkIntervalMs,
    );

  function writeError(e: ApiError): void {
    write(
      encode("ERROR", {
        kind: "Status",
        apiVersion: "v1",
        metadata: {},
        status: "Failure",
        message: e.message,
        reason: e.reason,
        code: e.code,
      }),
    );
  }
}

/** Webhooks on a subresource request: CONNECT to pods/exec, CREATE of pods/eviction… */
function admitRequest(
  ctx: HandlerContext,
  r: Request,
  operation: Operation,
  object: Record<string, unknown>,
  objectKind: { group: string; version: string; kind: string },
  options: AdmissionRequest,
  oldObject?: Record<string, unknown>,
): Promise<KubeObject> {
  const { info, namespace, name, subresource } = r.route;
  return admitSubresource(
    ctx.webhooks,
    {
      info,
      operation,
      subresource,
      namespace,
      name: name ?? "",
      objectKind,
      dryRun: dryRunRequested(r.query),
      request: options,
    },
    object as KubeObject,
    oldObject as KubeObject | undefined,
  );
}

const SCALE_KIND = { group: "autoscaling", version: "v1", kind: "Scale" };

function dryRunRequested(q: Query): boolean {
  return q.getAll("dryRun").length > 0;
}

/** The streaming subresources of pods, relayed to the kubelet after CONNECT admission. */
function isConnect(
  subresource: string | undefined,
): subresource is "exec" | "attach" | "portforward" {
  return subresource === "exec" || subresource === "attach" || subresource === "portforward";
}

/** The subresources PUT and PATCH write through besides the object itself. */
function writableSubresource(
  subresource: string | undefined,
): "status" | "ephemeralcontainers" | undefined {
  return subresource === "status" || subresource === "ephemeralcontainers"
    ? subresource
    : undefined;
}

/** CONNECT admission of pods/exec, attach and portforward, with the options Kubernetes sends. */
async function admitConnect(
  ctx: HandlerContext,
  r: Request,
  subresource: "exec" | "attach" | "portforward",
): Promise<void> {
  const q = r.query;
  const flag = (k: string) => ["true", "1"].includes(q.get(k) ?? "");
  const object =
    subresource !== "portforward"
      ? {
          kind: subresource === "exec" ? "PodExecOptions" : "PodAttachOptions",
          apiVersion: "v1",
          stdin: flag("stdin"),
          stdout: flag("stdout"),
          stderr: flag("stderr"),
          tty: flag("tty"),
          ...(q.get("container") ? { container: q.get("container") } : {}),
          ...(subresource === "exec" ? { command: q.getAll("command") } : {}),
        }
      : {
          kind: "PodPortForwardOptions",
          apiVersion: "v1",
          ports: q.getAll("ports").map(Number),
        };
  await admitRequest(
    ctx,
    r,
    "CONNECT",
    object,
    { group: "", version: "v1", kind: object.kind },
    { user: r.user, warnings: [] },
  );
}

/** What admission webhooks learn of a client's write: who asks, with which options. */
function admissionOf(
  r: Request,
  kind: "CreateOptions" | "UpdateOptions" | "DeleteOptions",
  extra: Record<string, unknown> = {},
): AdmissionRequest {
  const options: Record<string, unknown> = { kind, apiVersion: "meta.k8s.io/v1", ...extra };
  if (r.query.getAll("dryRun").length) options.dryRun = ["All"];
  const manager = r.query.get("fieldManager");
  if (manager && kind !== "DeleteOptions") options.fieldManager = manager;
  return { user: r.user, options, warnings: [] };
}

/** Checks apiVersion/kind/namespace/name of a body against the URL it was sent to. */
function checkIdentity(
  r: Request,
  obj: Record<string, unknown>,
  expectKind = r.route.info.kind,
  expectVersion = apiVersionOf(r.route.info),
): void {
  // Like Kubernetes for built-in kinds, a body without apiVersion/kind takes them from the URL.
  if (obj.kind === undefined || obj.kind === "") obj.kind = expectKind;
  if (obj.apiVersion === undefined || obj.apiVersion === "") obj.apiVersion = expectVersion;
  const { kind, apiVersion } = obj;
  if (apiVersion !== expectVersion) {
    throw new BadRequestError(
      `the API version in the data (${String(apiVersion)}) does not match the expected API version (${expectVersion})`,
    );
  }
  if (kind !== expectKind)
    throw new BadRequestError(
      `the kind in the data (${String(kind)}) does not match the expected kind (${expectKind})`,
    );
  if (obj.metadata === undefined) obj.metadata = {};
  if (!isObject(obj.metadata))
    throw new BadRequestError("metadata: Invalid value: must be an object");
  const m = obj.metadata;
  if (
    r.route.info.namespaced &&
    m.namespace !== undefined &&
    m.namespace !== "" &&
    m.namespace !== r.route.namespace
  ) {
    throw new BadRequestError(
      "the namespace of the provided object does not match the namespace sent on the request",
    );
  }
  if (
    r.route.name !== undefined &&
    m.name !== undefined &&
    m.name !== "" &&
    m.name !== r.route.name
  ) {
    throw new BadRequestError(
      `the name of the object (${String(m.name)}) does not match the name on the URL (${r.route.name})`,
    );
  }
}

/** Strict/Warn/Ignore handling of fields the schema does not know. Returns warnings. */
function handleUnknownFields(r: Request, obj: KubeObject, mode: FieldValidation): string[] {
  if (mode === "Strict") {
    const unknown = unknownFields(r.route.info, obj);
    if (unknown.length) {
      throw new BadRequestError(
        `strict decoding error: ${unknown.map((f) => `unknown field "${f}"`).join(", ")}`,
      );
    }
    return [];
  }
  const dropped = pruneUnknownFields(r.route.info, obj);
  return mode === "Warn" ? dropped.map((f) => `unknown field "${f}"`) : [];
}

async function create(ctx: HandlerContext, r: Request): Promise<void> {
  const { info, namespace } = r.route;
  if (info.namespaced && namespace === undefined)
    throw new MethodNotAllowedError("POST", `${info.resource} (all namespaces)`);
  if (ctx.terminating(info)) {
    throw new MethodNotAllowedError(
      "POST",
      info.resource,
      "create not allowed while custom resource definition is terminating",
    );
  }
  const type = bodyType(r.req, ["json", "yaml", "protobuf"]);
  const obj = decodeObject(await readBody(r.req), type) as KubeObject;
  checkIdentity(r, obj);
  const mode = fieldValidation(r.query);
  const warnings = handleUnknownFields(r, obj, mode);
  const manager = fieldManager(r.req, r.query, false);
  const tracked = trackUpdate({
    old: undefined,
    updated: obj,
    manager,
    operation: "Update",
    apiVersion: apiVersionOf(info),
    now: now(),
    kind: info,
  }) as KubeObject;
  const admission = admissionOf(r, "CreateOptions");
  const created = await ctx
    .registry(info)
    .create(namespace, tracked, { dryRun: dryRun(r.query), admission });
  respond(r, 201, created, [...warnings, ...admission.warnings]);
}

async function replace(ctx: HandlerContext, r: Request): Promise<void> {
  const { info, namespace, name, subresource } = r.route;
  const type = bodyType(r.req, ["json", "yaml", "protobuf"]);
  const body = decodeObject(await readBody(r.req), type);
  const reg = ctx.registry(info);
  const manager = fieldManager(r.req, r.query, false);
  const dry = dryRun(r.query);
  if (subresource === "scale") {
    checkIdentity(r, body, "Scale", "autoscaling/v1");
    const admission = admissionOf(r, "UpdateOptions");
    const result = await reg.update(
      namespace,
      name!,
      async (cur) =>
        scaleInto(
          cur,
          await admitRequest(ctx, r, "UPDATE", body, SCALE_KIND, admission, toScale(cur, info)),
          info,
        ),
      { precondition: rvOf(body), dryRun: dry },
    );
    respond(r, 200, toScale(result.object, info), admission.warnings);
    return;
  }
  if (subresource === "finalize") {
    checkIdentity(r, body);
    const { object } = await reg.update(
      namespace,
      name!,
      (cur) => {
        const next = clone(cur);
        next.spec = {
          ...((cur.spec as object) ?? {}),
          finalizers: get(body, "spec", "finalizers") ?? [],
        };
        return next;
      },
      { dryRun: dry, precondition: rvOf(body), skipUpdateValidation: true },
    );
    respond(r, 200, object);
    return;
  }
  const written = writableSubresource(subresource);
  if (subresource && !written)
    throw new MethodNotAllowedError("PUT", `${info.resource}/${subresource}`);
  checkIdentity(r, body);
  const obj = body as KubeObject;
  const warnings = handleUnknownFields(r, obj, fieldValidation(r.query));
  const admission = admissionOf(r, "UpdateOptions");
  const { object, created } = await reg.update(
    namespace,
    name!,
    (cur) =>
      trackUpdate({
        old: cur,
        updated: obj,
        manager,
        operation: "Update",
        apiVersion: apiVersionOf(info),
        now: now(),
        kind: info,
      }) as KubeObject,
    {
      subresource: written,
      dryRun: dry,
      precondition: rvOf(obj),
      admission,
    },
  );
  respond(r, created ? 201 : 200, object, [...warnings, ...admission.warnings]);
}

/** Applies a patch body of the given type to an object (or a Scale). */
export function applyPatch(
  type: BodyType,
  current: unknown,
  patchBody: unknown,
  info: ResourceInfo,
): unknown {
  switch (type) {
    case "merge":
      if (!isObject(patchBody)) throw new BadRequestError("a merge patch must be a JSON object");
      return mergePatch(current, patchBody);
    case "jsonpatch":
      return jsonPatch(current, patchBody);
    case "strategic":
      if (info.custom) {
        // Custom resources have no patch strategies to merge by, as in Kubernetes.
        throw new UnsupportedMediaTypeError("application/strategic-merge-patch+json", [
          "application/json-patch+json",
          "application/merge-patch+json",
          "application/apply-patch+yaml",
        ]);
      }
      if (!isObject(patchBody))
        throw new BadRequestError("a strategic merge patch must be a JSON object");
      return strategicMergePatch(current, patchBody, info);
    default:
      throw new BadRequestError(`unsupported patch type ${type}`);
  }
}

export function patchErrors<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof PatchError) {
      throw new ApiError(
        err.code,
        err.reason,
        err.message,
        err.causes ? { causes: err.causes } : undefined,
      );
    }
    throw err;
  }
}

async function patch(ctx: HandlerContext, r: Request): Promise<void> {
  const { info, namespace, name, subresource } = r.route;
  const type = bodyType(r.req, ["merge", "jsonpatch", "strategic", "apply"]);
  const patchBody = decode(await readBody(r.req), type, "patch");
  const reg = ctx.registry(info);
  const dry = dryRun(r.query);
  const mode = fieldValidation(r.query);
  const apiVersion = apiVersionOf(info);
  if (subresource === "scale") {
    if (type === "apply")
      throw new BadRequestError("apply patches are not supported on the scale subresource");
    const admission = admissionOf(r, "UpdateOptions");
    const { object } = await reg.update(
      namespace,
      name!,
      async (cur) => {
        const old = toScale(cur, info);
        const scale = patchErrors(() => applyPatch(type, old, patchBody, info));
        if (!isObject(scale)) throw new BadRequestError("the patch did not produce an object");
        return scaleInto(
          cur,
          await admitRequest(ctx, r, "UPDATE", scale, SCALE_KIND, admission, old),
          info,
        );
      },
      { dryRun: dry, precondition: patchPrecondition(type, patchBody) },
    );
    respond(r, 200, toScale(object, info), admission.warnings);
    return;
  }
  const status = writableSubresource(subresource);
  if (subresource && !status)
    throw new MethodNotAllowedError("PATCH", `${info.resource}/${subresource}`);
  let warnings: string[] = [];
  // Kubernetes shows webhooks a patch as the update (or create) it performs.
  const admission = admissionOf(r, "UpdateOptions");
  if (type === "apply") {
    if (!isObject(patchBody)) throw new BadRequestError("an apply patch must be an object");
    checkIdentity(r, patchBody);
    const manager = fieldManager(r.req, r.query, true);
    const force = boolParam(r.query, "force");
    warnings = handleUnknownFields(r, patchBody as KubeObject, mode);
    const { object, created } = await reg.update(
      namespace,
      name!,
      (cur) =>
        patchErrors(
          () =>
            serverSideApply({
              live: cur,
              applied: patchBody,
              manager,
              force,
              apiVersion,
              now: now(),
              kind: info,
              ignoreStatus: status !== "status",
            }) as KubeObject,
        ),
      {
        subresource: status,
        dryRun: dry,
        createIfMissing: status === undefined,
        precondition: rvOf(patchBody),
        admission,
      },
    );
    respond(r, created ? 201 : 200, object, [...warnings, ...admission.warnings]);
    return;
  }
  const manager = fieldManager(r.req, r.query, false);
  const { object } = await reg.update(
    namespace,
    name!,
    (cur) => {
      const next = patchErrors(() => applyPatch(type, cur, patchBody, info));
      if (!isObject(next)) throw new BadRequestError("the patch did not produce an object");
      const obj = next as KubeObject;
      checkIdentity(r, obj);
      warnings = handleUnknownFields(r, obj, mode);
      return trackUpdate({
        old: cur,
        updated: obj,
        manager,
        operation: "Update",
        apiVersion,
        now: now(),
        kind: info,
      }) as KubeObject;
    },
    {
      subresource: status,
      dryRun: dry,
      precondition: patchPrecondition(type, patchBody),
      admission,
    },
  );
  respond(r, 200, object, [...warnings, ...admission.warnings]);
}

/** A DELETE's body: protobuf when labelled so (client-go in protobuf mode), else JSON. */
function deleteBodyType(req: IncomingMessage): BodyType {
  return (req.headers["content-type"] ?? "").startsWith(PROTOBUF) ? "protobuf" : "json";
}

function readDeleteOptions(body: Buffer, q: Query, type: BodyType = "json"): DeleteOptions {
  const opts: DeleteOptions = {};
  if (body.length) {
    const parsed = decode(body, type, "DeleteOptions");
    if (!isObject(parsed)) throw new BadRequestError("DeleteOptions must be a JSON object");
    const { gracePeriodSeconds, propagationPolicy, preconditions, orphanDependents } = parsed;
    if (gracePeriodSeconds !== undefined && gracePeriodSeconds !== null) {
      if (typeof gracePeriodSeconds !== "number" || !Number.isInteger(gracePeriodSeconds)) {
        throw new BadRequestError("DeleteOptions.gracePeriodSeconds must be an integer");
      }
      opts.gracePeriodSeconds = gracePeriodSeconds;
    }
    if (propagationPolicy !== undefined && propagationPolicy !== null)
      opts.propagationPolicy = propagationPolicy as DeleteOptions["propagationPolicy"];
    if (orphanDependents === true) opts.propagationPolicy ??= "Orphan";
    if (isObject(preconditions)) {
      opts.preconditions = {
        uid: typeof preconditions.uid === "string" ? preconditions.uid : undefined,
        resourceVersion:
          typeof preconditions.resourceVersion === "string"
            ? preconditions.resourceVersion
            : undefined,
      };
    } else if (preconditions !== undefined && preconditions !== null)
      throw new BadRequestError("DeleteOptions.preconditions must be an object");
    if (Array.isArray(parsed.dryRun) && parsed.dryRun.includes("All")) opts.dryRun = true;
  }
  const g = intParam(q, "gracePeriodSeconds");
  if (g !== undefined) opts.gracePeriodSeconds = g;
  const p = q.get("propagationPolicy");
  if (p) opts.propagationPolicy = p as DeleteOptions["propagationPolicy"];
  if (
    opts.propagationPolicy &&
    !["Orphan", "Background", "Foreground"].includes(opts.propagationPolicy)
  ) {
    throw new BadRequestError(
      `propagationPolicy: Unsupported value: "${opts.propagationPolicy}": supported values: "Foreground", "Background", "Orphan"`,
    );
  }
  if (dryRun(q)) opts.dryRun = true;
  return opts;
}

/** The DeleteOptions fields an AdmissionReview's options carry. */
function deleteOptionsShown(opts: DeleteOptions): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (opts.gracePeriodSeconds !== undefined) out.gracePeriodSeconds = opts.gracePeriodSeconds;
  if (opts.propagationPolicy) out.propagationPolicy = opts.propagationPolicy;
  if (opts.preconditions) out.preconditions = opts.preconditions;
  return out;
}

async function remove(ctx: HandlerContext, r: Request): Promise<void> {
  const { info, namespace, name, subresource } = r.route;
  if (subresource) throw new MethodNotAllowedError("DELETE", `${info.resource}/${subresource}`);
  const opts = readDeleteOptions(await readBody(r.req), r.query, deleteBodyType(r.req));
  opts.admission = admissionOf(r, "DeleteOptions", deleteOptionsShown(opts));
  const { object, deleted } = await ctx.registry(info).delete(namespace, name!, opts);
  // Kubernetes answers 200 with the object; 202 when deletion continues in the background.
  respond(r, deleted ? 200 : 202, object, opts.admission.warnings);
}

async function deleteCollection(ctx: HandlerContext, r: Request): Promise<void> {
  const { info, namespace } = r.route;
  const opts = readDeleteOptions(await readBody(r.req), r.query, deleteBodyType(r.req));
  opts.admission = admissionOf(r, "DeleteOptions", deleteOptionsShown(opts));
  const sel = selectors(info, r.query);
  const reg = ctx.registry(info);
  const page = await reg.list(namespace, { filter: filterFor(info, sel, namespace) });
  const items: KubeObject[] = [];
  for (const obj of page.items) {
    try {
      const { object } = await reg.delete(meta(obj).namespace, meta(obj).name!, opts);
      items.push(object);
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
    }
  }
  respond(r, 200, {
    kind: info.listKind,
    apiVersion: apiVersionOf(info),
    metadata: { resourceVersion: page.resourceVersion },
    items,
  });
}

async function bind(ctx: HandlerContext, r: Request): Promise<void> {
  const { namespace, name } = r.route;
  const body = decodeObject(await readBody(r.req), bodyType(r.req, ["json", "yaml", "protobuf"]));
  checkIdentity(r, body, "Binding", "v1");
  await admitRequest(
    ctx,
    r,
    "CREATE",
    body,
    { group: "", version: "v1", kind: "Binding" },
    admissionOf(r, "CreateOptions"),
  );
  const target = body.target;
  const node = isObject(target) ? target.name : undefined;
  if (typeof node !== "string" || node === "") {
    throw new InvalidError("Binding", "", name!, [
      { type: "FieldValueRequired", field: "target.name", message: "Required value" },
    ]);
  }
  const reg = ctx.registry(r.route.info);
  await reg.update(
    namespace,
    name!,
    (cur) => {
      const spec = (cur.spec ?? {}) as Record<string, unknown>;
      if (meta(cur).deletionTimestamp) {
        throw new ConflictError(
          { kind: "pods", group: "", name: name! },
          "pod is being deleted, cannot be assigned to a host",
        );
      }
      if (spec.nodeName) {
        throw new ConflictError(
          { kind: "pods", group: "", name: name! },
          `pod ${name} is already assigned to node "${String(spec.nodeName)}"`,
        );
      }
      const uid = get(body, "metadata", "uid");
      if (typeof uid === "string" && uid !== meta(cur).uid) {
        throw new ConflictError(
          { kind: "pods", group: "", name: name! },
          `Precondition failed: UID in precondition: ${uid}, UID in object meta: ${meta(cur).uid}`,
        );
      }
      spec.nodeName = node;
      cur.spec = spec;
      const status = (cur.status ?? {}) as Record<string, unknown>;
      const conditions = ((status.conditions as Record<string, unknown>[]) ?? []).filter(
        (c) => c.type !== "PodScheduled",
      );
      conditions.push({
        type: "PodScheduled",
        status: "True",
        lastProbeTime: null,
        lastTransitionTime: now(),
      });
      status.conditions = conditions;
      cur.status = status;
      return cur;
    },
    { dryRun: dryRun(r.query), skipUpdateValidation: true, withStatus: true },
  );
  // The binding changes spec and status together, which the main resource alone cannot.
  sendJson(r.res, 201, {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Success",
    code: 201,
  });
}

async function evict(ctx: HandlerContext, r: Request): Promise<void> {
  const { namespace, name } = r.route;
  const body = decodeObject(await readBody(r.req), bodyType(r.req, ["json", "protobuf"]));
  checkIdentity(
    r,
    body,
    "Eviction",
    typeof body.apiVersion === "string" && body.apiVersion === "policy/v1beta1"
      ? "policy/v1beta1"
      : "policy/v1",
  );
  const policyVersion = String(body.apiVersion).split("/")[1] ?? "v1";
  const admitted = await admitRequest(
    ctx,
    r,
    "CREATE",
    body,
    { group: "policy", version: policyVersion, kind: "Eviction" },
    admissionOf(r, "CreateOptions"),
  );
  const deleteOptions = isObject(admitted.deleteOptions) ? admitted.deleteOptions : {};
  const opts = readDeleteOptions(Buffer.from(JSON.stringify(deleteOptions)), new URLSearchParams());
  await evictPod(
    (resource, group) => ctx.registry(resourceInfo(group, "v1", resource)),
    namespace!,
    name!,
    opts,
  );
  sendJson(r.res, 201, {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Success",
    code: 201,
  });
}

// The autoscaling/v1 Scale view of a Deployment, ReplicaSet or ReplicationController, or of
// a custom resource whose CRD names where its replicas and selector live.
export function toScale(obj: KubeObject, info?: ResourceInfo): Record<string, unknown> {
  const m = meta(obj);
  const custom = info?.custom?.scale;
  let replicas: unknown;
  let current: unknown;
  let selector: string | undefined;
  if (custom) {
    replicas = readJsonPath(obj, custom.specReplicasPath);
    current = readJsonPath(obj, custom.statusReplicasPath);
    const sel = custom.labelSelectorPath ? readJsonPath(obj, custom.labelSelectorPath) : undefined;
    selector = typeof sel === "string" && sel ? sel : undefined;
  } else {
    replicas = get(obj, "spec", "replicas");
    current = get(obj, "status", "replicas");
    const sel = get(obj, "spec", "selector");
    // A ReplicationController's selector is a plain label map.
    selector = !isObject(sel)
      ? ""
      : info?.kind === "ReplicationController"
        ? selectorString({ matchLabels: sel })
        : selectorString(sel);
  }
  return {
    kind: "Scale",
    apiVersion: "autoscaling/v1",
    metadata: {
      name: m.name,
      namespace: m.namespace,
      uid: m.uid,
      resourceVersion: m.resourceVersion,
      creationTimestamp: m.creationTimestamp,
    },
    spec: { replicas: typeof replicas === "number" ? replicas : 0 },
    status: {
      replicas: typeof current === "number" ? current : 0,
      ...(selector !== undefined ? { selector } : {}),
    },
  };
}

function selectorString(sel: Record<string, unknown>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries((sel.matchLabels as Record<string, string>) ?? {}))
    parts.push(`${k}=${v}`);
  for (const e of (sel.matchExpressions as Record<string, unknown>[]) ?? []) {
    const values = ((e.values as string[]) ?? []).join(",");
    if (e.operator === "In") parts.push(`${String(e.key)} in (${values})`);
    else if (e.operator === "NotIn") parts.push(`${String(e.key)} notin (${values})`);
    else if (e.operator === "Exists") parts.push(String(e.key));
    else if (e.operator === "DoesNotExist") parts.push(`!${String(e.key)}`);
  }
  return parts.join(",");
}

function scaleInto(cur: KubeObject, scale: unknown, info: ResourceInfo): KubeObject {
  const replicas = get(scale, "spec", "replicas");
  if (typeof replicas !== "number" || !Number.isInteger(replicas) || replicas < 0) {
    throw new InvalidError("Scale", "autoscaling", meta(cur).name ?? "", [
      {
        type: "FieldValueInvalid",
        field: "spec.replicas",
        message: `Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`,
      },
    ]);
  }
  const next = clone(cur);
  const path = info.custom?.scale?.specReplicasPath;
  if (path) {
    // Sets .spec.a.b = replicas, creating the objects on the way.
    const parts = path.replace(/^\./, "").split(".");
    let at: Record<string, unknown> = next;
    for (const p of parts.slice(0, -1)) {
      if (!isObject(at[p])) at[p] = {};
      at = at[p] as Record<string, unknown>;
    }
    at[parts[parts.length - 1]!] = replicas;
    return next;
  }
  (next.spec as Record<string, unknown>).replicas = replicas;
  return next;
}

/** The resourceVersion a request body demands, if any (a precondition for the write). */
function rvOf(body: unknown): string | undefined {
  const rv = get(body, "metadata", "resourceVersion");
  return typeof rv === "string" && rv !== "" ? rv : undefined;
}

/** The resourceVersion a patch itself names, if any; a patch without one applies to the latest. */
function patchPrecondition(type: BodyType, patchBody: unknown): string | undefined {
  if (type !== "jsonpatch") return rvOf(patchBody);
  if (!Array.isArray(patchBody)) return undefined;
  for (const op of patchBody) {
    if (
      isObject(op) &&
      op.path === "/metadata/resourceVersion" &&
      (op.op === "test" || op.op === "replace")
    ) {
      return typeof op.value === "string" ? op.value : undefined;
    }
  }
  return undefined;
}

/** TokenRequest: a signed token for a service account, optionally bound to a pod. */
async function requestToken(ctx: HandlerContext, r: Request): Promise<void> {
  const { namespace, name } = r.route;
  if (!ctx.tokens) {
    throw new ApiError(
      503,
      "ServiceUnavailable",
      "this apiserver has no --service-account-signing-key-file",
    );
  }
  const body = decodeObject(await readBody(r.req), bodyType(r.req, ["json", "yaml", "protobuf"]));
  checkIdentity(r, body, "TokenRequest", "authentication.k8s.io/v1");
  const spec = isObject(body.spec) ? body.spec : {};
  const audiences = spec.audiences ?? [];
  if (!Array.isArray(audiences) || audiences.some((a) => typeof a !== "string")) {
    throw new InvalidError("TokenRequest", "authentication.k8s.io", name!, [
      {
        type: "FieldValueInvalid",
        field: "spec.audiences",
        message: "Invalid value: must be a list of strings",
      },
    ]);
  }
  const expirationSeconds = spec.expirationSeconds ?? 3600;
  if (
    typeof expirationSeconds !== "number" ||
    !Number.isInteger(expirationSeconds) ||
    expirationSeconds < (ctx.minTokenExpirationSeconds ?? 600)
  ) {
    throw new InvalidError("TokenRequest", "authentication.k8s.io", name!, [
      {
        type: "FieldValueInvalid",
        field: "spec.expirationSeconds",
        message: `Invalid value: ${JSON.stringify(expirationSeconds)}: may not specify a duration less than 10 minutes`,
      },
    ]);
  }
  await ctx.admitTokenRequest?.(r.user, namespace!, name!, spec.boundObjectRef);
  const account = await ctx.registry(r.route.info).get(namespace, name!);
  let pod: { name: string; uid: string } | undefined;
  const bound = spec.boundObjectRef;
  if (isObject(bound) && bound.kind === "Pod" && typeof bound.name === "string") {
    const podInfo = resourceInfo("", "v1", "pods");
    const p = await ctx.registry(podInfo).get(namespace, bound.name);
    if (typeof bound.uid === "string" && bound.uid !== meta(p).uid) {
      throw new ConflictError(
        { kind: "pods", group: "", name: bound.name },
        "the bound object's uid does not match",
      );
    }
    pod = { name: bound.name, uid: meta(p).uid! };
  }
  const { token, expirationTimestamp } = await ctx.tokens.issue({
    namespace: namespace!,
    serviceAccount: { name: name!, uid: meta(account).uid! },
    pod,
    audiences: audiences as string[],
    expirationSeconds,
  });
  sendJson(r.res, 201, {
    kind: "TokenRequest",
    apiVersion: "authentication.k8s.io/v1",
    metadata: { name, namespace, creationTimestamp: null },
    spec: {
      ...spec,
      audiences: (audiences as string[]).length ? audiences : ctx.tokens.apiAudiences,
      expirationSeconds,
    },
    status: { token, expirationTimestamp },
  });
}
