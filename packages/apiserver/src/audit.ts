// The audit log (kube-apiserver's --audit-policy-file and --audit-log-path): every request
// is matched against an audit.k8s.io/v1 Policy, whose first matching rule gives its level
// (None, Metadata, Request, RequestResponse); at each stage the policy does not omit
// (RequestReceived, ResponseStarted for watches, ResponseComplete) one audit.k8s.io/v1
// Event is written as a JSON line.
import { randomUUID } from "node:crypto";
import { createWriteStream, mkdirSync, readFileSync } from "node:fs";
import { basename, dirname, extname } from "node:path";
import type { Writable } from "node:stream";
import { currentRequest } from "./request-scope.js";
import { createStream } from "rotating-file-stream";
import type { IncomingMessage, ServerResponse } from "node:http";
import { parse as parseYaml } from "yaml";
import { isObject, rfc3339Micro } from "@skiff/api";
import type { UserInfo } from "./auth.js";
import { parseRoute } from "./handlers/router.js";
import { isWatch } from "./query.js";
import { requestBodies } from "./request.js";

export type AuditLevel = "None" | "Metadata" | "Request" | "RequestResponse";
export type AuditStage = "RequestReceived" | "ResponseStarted" | "ResponseComplete" | "Panic";
const LEVELS: AuditLevel[] = ["None", "Metadata", "Request", "RequestResponse"];
const STAGES: AuditStage[] = ["RequestReceived", "ResponseStarted", "ResponseComplete", "Panic"];

/** What the policy matches a request on: Kubernetes' request attributes. */
export interface RequestAttributes {
  /** get, list, watch, create, update, patch, delete, deletecollection; or the lowercase method. */
  verb: string;
  path: string;
  resource?: {
    group: string;
    version: string;
    resource: string;
    subresource?: string;
    namespace?: string;
    name?: string;
  };
}

interface GroupResources {
  group?: string;
  resources?: string[];
  resourceNames?: string[];
}

interface PolicyRule {
  level: AuditLevel;
  users?: string[];
  userGroups?: string[];
  verbs?: string[];
  resources?: GroupResources[];
  namespaces?: string[];
  nonResourceURLs?: string[];
  omitStages?: AuditStage[];
}

export interface AuditPolicy {
  rules: PolicyRule[];
  omitStages: AuditStage[];
}

export class AuditPolicyError extends Error {}

type Obj = Record<string, unknown>;

function strings(v: unknown, where: string): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((s) => typeof s !== "string"))
    throw new AuditPolicyError(`${where}: must be a list of strings`);
  return v as string[];
}

function stages(v: unknown, where: string): AuditStage[] {
  const list = strings(v, where) ?? [];
  for (const s of list)
    if (!STAGES.includes(s as AuditStage))
      throw new AuditPolicyError(`${where}: unknown stage "${s}" (${STAGES.join(", ")})`);
  return list as AuditStage[];
}

/** Parses an audit Policy (YAML or JSON); throws AuditPolicyError naming the field. */
export function parseAuditPolicy(text: string, file = "audit policy"): AuditPolicy {
  const doc: unknown = parseYaml(text);
  if (!isObject(doc) || doc.kind !== "Policy" || doc.apiVersion !== "audit.k8s.io/v1")
    throw new AuditPolicyError(`${file}: want kind Policy, apiVersion audit.k8s.io/v1`);
  if (!Array.isArray(doc.rules)) throw new AuditPolicyError(`${file}: rules: must be a list`);
  const rules = doc.rules.map((r: unknown, i): PolicyRule => {
    const at = `${file}: rules[${i}]`;
    if (!isObject(r)) throw new AuditPolicyError(`${at}: must be an object`);
    if (!LEVELS.includes(r.level as AuditLevel))
      throw new AuditPolicyError(`${at}.level: must be one of ${LEVELS.join(", ")}`);
    const resources = r.resources === undefined ? undefined : r.resources;
    if (resources !== undefined && !Array.isArray(resources))
      throw new AuditPolicyError(`${at}.resources: must be a list`);
    const rule: PolicyRule = {
      level: r.level as AuditLevel,
      users: strings(r.users, `${at}.users`),
      userGroups: strings(r.userGroups, `${at}.userGroups`),
      verbs: strings(r.verbs, `${at}.verbs`),
      namespaces: strings(r.namespaces, `${at}.namespaces`),
      nonResourceURLs: strings(r.nonResourceURLs, `${at}.nonResourceURLs`),
      omitStages: stages(r.omitStages, `${at}.omitStages`),
      resources: resources?.map((g: unknown, j): GroupResources => {
        if (!isObject(g)) throw new AuditPolicyError(`${at}.resources[${j}]: must be an object`);
        return {
          group: typeof g.group === "string" ? g.group : undefined,
          resources: strings(g.resources, `${at}.resources[${j}].resources`),
          resourceNames: strings(g.resourceNames, `${at}.resources[${j}].resourceNames`),
        };
      }),
    };
    if ((rule.resources || rule.namespaces) && rule.nonResourceURLs)
      throw new AuditPolicyError(
        `${at}: rules cannot apply to both regular resources and non-resource URLs`,
      );
    return rule;
  });
  return { rules, omitStages: stages(doc.omitStages, `${file}: omitStages`) };
}

function resourceMatches(rule: PolicyRule, r: NonNullable<RequestAttributes["resource"]>): boolean {
  if (rule.namespaces && !rule.namespaces.includes(r.namespace ?? "")) return false;
  if (!rule.resources) return true;
  const full = r.subresource ? `${r.resource}/${r.subresource}` : r.resource;
  return rule.resources.some((g) => {
    if ((g.group ?? "") !== r.group && g.group !== "*") return false;
    if (g.resources?.length) {
      const hit = g.resources.some(
        (p) =>
          p === "*" ||
          p === full ||
          (p === `${r.resource}/*` && r.subresource) ||
          (p.startsWith("*/") && r.subresource && p.slice(2) === r.subresource),
      );
      if (!hit) return false;
    }
    if (g.resourceNames?.length && !g.resourceNames.includes(r.name ?? "")) return false;
    return true;
  });
}

function urlMatches(patterns: string[], path: string): boolean {
  return patterns.some((p) => (p.endsWith("*") ? path.startsWith(p.slice(0, -1)) : p === path));
}

/** The rule for a request, as Kubernetes evaluates a Policy: the first one that matches. */
export function matchRule(
  policy: AuditPolicy,
  user: UserInfo,
  attrs: RequestAttributes,
): PolicyRule | undefined {
  return policy.rules.find((rule) => {
    if (rule.users && !rule.users.includes(user.name)) return false;
    if (rule.userGroups && !user.groups.some((g) => rule.userGroups!.includes(g))) return false;
    if (rule.verbs && !rule.verbs.includes(attrs.verb)) return false;
    if (attrs.resource) {
      if (rule.nonResourceURLs) return false;
      return resourceMatches(rule, attrs.resource);
    }
    if (rule.resources || rule.namespaces) return false;
    return rule.nonResourceURLs ? urlMatches(rule.nonResourceURLs, attrs.path) : true;
  });
}

const VERBS: Record<string, string> = {
  POST: "create",
  PUT: "update",
  PATCH: "patch",
  DELETE: "delete",
};

/** Kubernetes' request attributes for a path: resource requests get a resource and verb. */
export function requestAttributes(
  method: string,
  path: string,
  segments: string[],
  query: URLSearchParams,
): RequestAttributes {
  const nonResource = { verb: method.toLowerCase(), path };
  const core = segments[0] === "api";
  if (!core && segments[0] !== "apis") return nonResource;
  if (segments.length <= (core ? 2 : 3)) return nonResource; // discovery
  const group = core ? "" : segments[1]!;
  const version = core ? segments[1]! : segments[2]!;
  let route;
  try {
    route = parseRoute(group, version, segments.slice(core ? 2 : 3));
  } catch {
    const resource = segments[core ? 2 : 3]!;
    return { verb: nonResource.verb, path, resource: { group, version, resource } };
  }
  let verb = VERBS[method] ?? "get";
  const watch = isWatch(query);
  if (method === "GET" || method === "HEAD") verb = watch ? "watch" : route.name ? "get" : "list";
  if (method === "DELETE" && !route.name) verb = "deletecollection";
  return {
    verb,
    path,
    resource: {
      group,
      version,
      resource: route.info.resource,
      ...(route.subresource ? { subresource: route.subresource } : {}),
      ...(route.namespace ? { namespace: route.namespace } : {}),
      ...(route.name ? { name: route.name } : {}),
    },
  };
}

/** An audit Event's UserInfo. */
function auditUser(u: UserInfo): Record<string, unknown> {
  return {
    username: u.name,
    ...(u.uid ? { uid: u.uid } : {}),
    groups: u.groups,
    ...(u.extra ? { extra: u.extra } : {}),
  };
}

function parseJson(b: Buffer | undefined): unknown {
  if (!b?.length) return undefined;
  try {
    return JSON.parse(b.toString()) as unknown;
  } catch {
    return undefined;
  }
}

const MAX_RESPONSE_CAPTURE = 1 << 20;

/**
 * The object the current request carries: its name completes the audit events' objectRef
 * when the URL has none (a create), as Kubernetes' LogRequestObject does.
 */
export function noteAuditObject(metadata: { name?: string } | undefined): void {
  currentRequest()?.audit?.noteObject(metadata?.name);
}

/** Annotations for the current request's audit events (admission policies add theirs). */
export function addAuditAnnotations(annotations: Record<string, string>): void {
  currentRequest()?.audit?.annotate(annotations);
}

/** One request being audited: emits its stages' events. */
export class AuditRecord {
  private readonly id = randomUUID();
  private readonly annotations: Record<string, string> = {};
  private readonly received = new Date();
  private readonly chunks: Buffer[] = [];
  private captured = 0;
  private impersonated: UserInfo | undefined;
  private objectName: string | undefined;

  constructor(
    private readonly log: AuditLog,
    private readonly level: AuditLevel,
    private readonly omit: Set<AuditStage>,
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly user: UserInfo,
    private readonly attrs: RequestAttributes,
  ) {
    res.setHeader("Audit-Id", this.id);
    this.emit("RequestReceived");
    const watch = attrs.verb === "watch";
    const write = res.write.bind(res) as (...a: unknown[]) => boolean;
    const end = res.end.bind(res) as (...a: unknown[]) => ServerResponse;
    const keep = (chunk: unknown): void => {
      if (watch || chunk === undefined) return;
      // Bodies are kept for RequestResponse, and for failures (their Status gives the reason).
      if (this.level !== "RequestResponse" && this.res.statusCode < 400) return;
      if (typeof chunk !== "string" && !Buffer.isBuffer(chunk)) return;
      const b = Buffer.from(chunk);
      this.captured += b.length;
      if (this.captured <= MAX_RESPONSE_CAPTURE) this.chunks.push(b);
    };
    let started = false;
    res.write = ((...a: unknown[]) => {
      if (watch && !started) {
        started = true;
        this.emit("ResponseStarted");
      }
      keep(typeof a[0] === "function" ? undefined : a[0]);
      return write(...a);
    }) as ServerResponse["write"];
    res.end = ((...a: unknown[]) => {
      keep(typeof a[0] === "function" ? undefined : a[0]);
      return end(...a);
    }) as ServerResponse["end"];
  }

  annotate(annotations: Record<string, string>): void {
    Object.assign(this.annotations, annotations);
  }

  /** The name of the object in the request's body, for a request whose URL names none. */
  noteObject(name: string | undefined): void {
    if (name) this.objectName = name;
  }

  /** The request acts as another user (impersonation): later stages record it. */
  impersonate(user: UserInfo): void {
    this.impersonated = user;
  }

  /** The request is done: its ResponseComplete event. */
  complete(code: number): void {
    this.emit("ResponseComplete", code);
  }

  private emit(stage: AuditStage, code?: number): void {
    if (this.omit.has(stage)) return;
    const r = this.attrs.resource;
    const ev: Record<string, unknown> = {
      kind: "Event",
      apiVersion: "audit.k8s.io/v1",
      level: this.level,
      auditID: this.id,
      stage,
      requestURI: this.req.url ?? "/",
      verb: this.attrs.verb,
      user: auditUser(this.user),
      ...(this.impersonated ? { impersonatedUser: auditUser(this.impersonated) } : {}),
      sourceIPs: [this.req.socket.remoteAddress ?? ""],
      ...(this.req.headers["user-agent"] ? { userAgent: this.req.headers["user-agent"] } : {}),
    };
    if (r) {
      ev.objectRef = {
        resource: r.resource,
        ...(r.namespace ? { namespace: r.namespace } : {}),
        ...(r.name || this.objectName ? { name: r.name || this.objectName } : {}),
        ...(r.group ? { apiGroup: r.group } : {}),
        apiVersion: r.version,
        ...(r.subresource ? { subresource: r.subresource } : {}),
      };
    }
    if (code !== undefined || stage === "ResponseStarted") {
      const status: Record<string, unknown> = { metadata: {}, code: code ?? this.res.statusCode };
      if ((code ?? 200) >= 400) {
        status.status = "Failure";
        const body = parseJson(Buffer.concat(this.chunks)) as Obj | undefined;
        if (isObject(body) && body.kind === "Status") {
          if (body.message) status.message = body.message;
          if (body.reason) status.reason = body.reason;
        }
      }
      ev.responseStatus = status;
    }
    if (this.level === "Request" || this.level === "RequestResponse") {
      const body = parseJson(requestBodies.get(this.req));
      if (body !== undefined) ev.requestObject = body;
    }
    if (this.level === "RequestResponse" && stage === "ResponseComplete") {
      const body =
        this.captured <= MAX_RESPONSE_CAPTURE ? parseJson(Buffer.concat(this.chunks)) : undefined;
      if (body !== undefined) ev.responseObject = body;
    }
    if (Object.keys(this.annotations).length) ev.annotations = { ...this.annotations };
    ev.requestReceivedTimestamp = rfc3339Micro(this.received);
    ev.stageTimestamp = rfc3339Micro();
    this.log.write(ev);
  }
}

/** Size rotation of the log file: kube-apiserver's --audit-log-maxsize and --audit-log-maxbackup. */
export interface AuditRotation {
  /** Megabytes a file may reach before it is rotated; 0 or unset: never rotated. */
  maxSizeMB?: number;
  /** Rotated files kept (the oldest go first); 0 or unset: all kept. */
  maxBackups?: number;
}

/**
 * The log file, rotated by size when asked: the current file keeps its name, and a full one
 * is renamed with the time of its rotation as Kubernetes' (lumberjack's) backups are
 * (audit-2026-12-07T08-03-32.123.log). Its directory is made if missing.
 */
function openLog(path: string, rotation: AuditRotation): Writable {
  mkdirSync(dirname(path), { recursive: true });
  const maxSize = rotation.maxSizeMB ?? 0;
  if (maxSize <= 0) return createWriteStream(path, { flags: "a" });
  const ext = extname(path);
  const base = basename(path, ext);
  return createStream(
    (time, index) => {
      if (!time) return basename(path);
      const stamp = new Date(time).toISOString().replace(/Z$/, "").replace(/:/g, "-");
      return `${base}-${stamp}${index && index > 1 ? `-${index}` : ""}${ext}`;
    },
    {
      path: dirname(path),
      size: `${Math.max(1, Math.round(maxSize * 1024 * 1024))}B`,
      ...(rotation.maxBackups ? { maxFiles: rotation.maxBackups } : {}),
      history: `.${basename(path)}.history`,
    },
  );
}

/** The audit backend: a policy and the file its events are appended to. */
export class AuditLog {
  private readonly out: Writable;

  constructor(
    readonly policy: AuditPolicy,
    path: string,
    rotation: AuditRotation = {},
  ) {
    this.out = path === "-" ? process.stdout : openLog(path, rotation);
  }

  static fromFiles(policyFile: string, logPath: string, rotation: AuditRotation = {}): AuditLog {
    return new AuditLog(
      parseAuditPolicy(readFileSync(policyFile, "utf8"), policyFile),
      logPath,
      rotation,
    );
  }

  /** Starts auditing a request; undefined when the policy says None. */
  begin(
    req: IncomingMessage,
    res: ServerResponse,
    user: UserInfo,
    attrs: RequestAttributes,
  ): AuditRecord | undefined {
    const rule = matchRule(this.policy, user, attrs);
    if (!rule || rule.level === "None") return undefined;
    const omit = new Set([...this.policy.omitStages, ...(rule.omitStages ?? [])]);
    return new AuditRecord(this, rule.level, omit, req, res, user, attrs);
  }

  // Lines written in one turn of the event loop go to the file in one write (not one
  // write, and one fs request, per request served).
  private pending: string[] = [];
  private flushScheduled = false;

  write(ev: object): void {
    this.pending.push(JSON.stringify(ev) + "\n");
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.flushScheduled = false;
    if (!this.pending.length) return;
    const text = this.pending.join("");
    this.pending = [];
    this.out.write(text);
  }

  async close(): Promise<void> {
    this.flush();
    if (this.out === process.stdout) return;
    await new Promise<void>((resolve) => this.out.end(() => resolve()));
  }
}
