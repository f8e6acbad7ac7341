// The REST client: HTTPS requests to the apiserver with keep-alive connections, a
// client-side rate limit, and typed per-resource clients (list, get, create, update,
// patch, delete, watch and the subresources).
//
// Contract:
// - `request` resolves to the decoded JSON of a 2xx answer and otherwise throws an ApiError
//   built from the Status body (any other body becomes a clear ApiError too); a request
//   that gets no answer throws a ConnectionError. The one retry here is client-go's: a 429
//   with a Retry-After (priority and fairness had no seat) is sent again after that wait.
// - Every request, watches included, first waits on a token bucket (qps 50, burst 100 by
//   default; `qps: -1` disables it), so one process cannot flood the apiserver.
// - Watches use their own connections (one each, closed with the watch), so long-running
//   watches never hold up requests.
// - Requests share a small keep-alive pool per server and TLS identity (clients of one process
//   with the same server, CA and client certificate share it, as client-go's transports are
//   shared by TLS config; a client can name a pool of its own, `pool`): at most `maxSockets` (default 10) at once, at most 2 kept idle (Go's
//   DefaultMaxIdleConnsPerHost), each idle one closed after 15 s — before the apiserver's 30 s
//   idle timeout, so a request never lands on a socket the server is closing. HTTP/1.1 has one
//   request per socket, so a burst of parallel requests queues here instead of opening a
//   socket (and a TLS session the apiserver has to keep) per request.
// - Paths follow Kubernetes: /api/v1/... for the core group, /apis/{group}/{version}/...
//   otherwise, /namespaces/{ns}/ before the resource when it is namespaced.
import http from "node:http";
import https from "node:https";
import { createSecureContext, type SecureContext } from "node:tls";
import type { IncomingMessage } from "node:http";
import {
  apiVersionOf,
  isObject,
  type ResourceInfo,
  type Scale as ApiScale,
} from "@skiff/api/light";
import { ApiError, ConnectionError, apiErrorFromResponse } from "./errors.js";
import type { ClientConfig } from "./kubeconfig.js";
import { TokenBucket } from "./ratelimit.js";
import { isKubeObject, type KubeList, type KubeObject } from "./types.js";
import { Watch } from "./watch.js";

export type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  query?: Query;
  /** An object is sent as JSON; a string or Buffer as is. */
  body?: unknown;
  contentType?: string;
  accept?: string;
  signal?: AbortSignal;
}

export interface RestClientOptions {
  /** Most connections open at once to the server for ordinary requests (default 10). */
  maxSockets?: number;
  /**
   * The request connection pool this client uses: clients of one process with the same server,
   * TLS identity, pool name and `maxSockets` share their connections (default "default"). A
   * heartbeat or leader-election client names its own, so that its requests never queue
   * behind a burst of other requests (HTTP/1.1 sends one request per socket at a time).
   */
  pool?: string;
  userAgent?: string;
  /** Fail a (non-watch) request that has no answer after this long (default 60 s; 0: never). */
  timeoutMs?: number;
}

const jsonType = "application/json";

/** Idle request sockets kept per server (Go's http.DefaultMaxIdleConnsPerHost). */
export const maxFreeSockets = 2;
/** An idle request socket is closed after this long: shorter than the apiserver's idle timeout. */
export const freeSocketTimeoutMs = 15_000;

// Request agents shared by the clients of this process that talk to the same server with the
// same TLS identity and pool size; closed when the last of them closes.
const sharedAgents = new Map<string, { agent: http.Agent; users: number }>();

function agentKey(config: ClientConfig, maxSockets: number, pool: string): string {
  return JSON.stringify([
    pool,
    config.server,
    config.ca ?? "",
    config.cert ?? "",
    config.key ?? "",
    config.tlsServerName ?? "",
    Boolean(config.insecure),
    maxSockets,
  ]);
}

/** The CA and client identity of a client config as one TLS context; a clear error if unusable. */
function tlsContext(config: ClientConfig): SecureContext {
  try {
    return createSecureContext({
      ...(config.ca ? { ca: config.ca } : {}),
      ...(config.cert && config.key ? { cert: config.cert, key: config.key } : {}),
    });
  } catch (err) {
    throw new Error(
      `the CA or client certificate for ${config.server} cannot be used: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

export class RestClient {
  readonly config: ClientConfig;
  private readonly base: URL;
  private readonly agent: http.Agent;
  private readonly agentKey: string;
  private closed = false;
  private readonly watchAgent: http.Agent;
  private readonly limiter: TokenBucket | undefined;
  private readonly userAgent: string;
  private readonly timeoutMs: number;

  constructor(config: ClientConfig, opts: RestClientOptions = {}) {
    this.config = config;
    this.base = new URL(config.server);
    const secure = this.base.protocol === "https:";
    // One TLS context (CA, client certificate and key) for every connection of this client,
    // rather than the PEM texts as agent options: Node's agent then builds each connection's
    // context from them again, and names its socket pools by their concatenation (kilobytes
    // of string built and hashed on every request).
    const hasIdentity = config.ca !== undefined || (config.cert && config.key);
    const tlsOptions: https.AgentOptions = {
      keepAlive: true,
      ...(secure && hasIdentity ? { secureContext: tlsContext(config) } : {}),
      ...(config.tlsServerName ? { servername: config.tlsServerName } : {}),
      rejectUnauthorized: !config.insecure,
    };
    const Agent = secure ? https.Agent : http.Agent;
    const maxSockets = opts.maxSockets ?? 10;
    this.agentKey = agentKey(config, maxSockets, opts.pool ?? "default");
    let shared = sharedAgents.get(this.agentKey);
    if (!shared) {
      shared = {
        agent: new Agent({
          ...tlsOptions,
          maxSockets,
          maxFreeSockets,
          // The agent applies this to idle sockets only: a request's own timeout (below)
          // replaces it while the request is in flight.
          timeout: freeSocketTimeoutMs,
          scheduling: "lifo",
        }),
        users: 0,
      };
      sharedAgents.set(this.agentKey, shared);
    }
    shared.users++;
    this.agent = shared.agent;
    this.watchAgent = new Agent({ ...tlsOptions, keepAlive: false });
    const qps = config.qps ?? 50;
    this.limiter = qps < 0 ? undefined : new TokenBucket(qps === 0 ? 50 : qps, config.burst ?? 100);
    this.userAgent = opts.userAgent ?? `skiff-client/0.1.0 (node ${process.version})`;
    this.timeoutMs = opts.timeoutMs ?? 60_000;
  }

  /** A typed client for one resource; pick the namespace with `.namespace(ns)`. */
  resource<T extends KubeObject = KubeObject>(info: ResourceInfo): ResourceClient<T> {
    return new ResourceClient<T>(this, info, undefined);
  }

  /** Sends a request and returns the decoded JSON answer (undefined for an empty body). */
  async request(method: string, path: string, opts: RequestOptions = {}): Promise<unknown> {
    const text = await this.requestText(method, path, { accept: jsonType, ...opts });
    if (text === "") return undefined;
    try {
      return JSON.parse(text);
    } catch {
      throw new ApiError({
        kind: "Status",
        apiVersion: "v1",
        code: 500,
        reason: "InternalError",
        message: `the server answered ${method} ${path} with a body that is not JSON: ${text.slice(0, 120)}`,
      });
    }
  }

  /** Sends a request and returns the raw text of a 2xx answer (pod logs). */
  async requestText(method: string, path: string, opts: RequestOptions = {}): Promise<string> {
    const res = await this.send(method, path, opts, false);
    const text = await readBody(res);
    if (!ok(res)) throw apiErrorFromResponse(res.statusCode ?? 500, text, method, path);
    return text;
  }

  /** Opens a streaming request (watch, follow logs); resolves to the body once the answer is 2xx. */
  async stream(method: string, path: string, opts: RequestOptions = {}): Promise<IncomingMessage> {
    const res = await this.send(method, path, { accept: jsonType, ...opts }, true);
    if (!ok(res))
      throw apiErrorFromResponse(res.statusCode ?? 500, await readBody(res), method, path);
    return res;
  }

  /**
   * Closes this client's watch connections, and the shared request connections once no other
   * client of this process uses them.
   */
  close(): void {
    this.watchAgent.destroy();
    if (this.closed) return;
    this.closed = true;
    const shared = sharedAgents.get(this.agentKey);
    if (shared && shared.agent === this.agent && --shared.users === 0) {
      sharedAgents.delete(this.agentKey);
      this.agent.destroy();
    }
  }

  /**
   * Sends the request, again when the apiserver answers 429 with a Retry-After (priority and
   * fairness turned it away before doing anything): after that many seconds, at most
   * MAX_RETRIES times, as client-go does. Other answers are the caller's.
   */
  private async send(
    method: string,
    path: string,
    opts: RequestOptions,
    streaming: boolean,
  ): Promise<IncomingMessage> {
    for (let attempt = 0; ; attempt++) {
      const res = await this.sendOnce(method, path, opts, streaming);
      const wait = Number(res.headers["retry-after"]);
      if (res.statusCode !== 429 || !(wait >= 0) || attempt >= MAX_RETRIES) return res;
      res.resume();
      await new Promise((r) => setTimeout(r, Math.min(wait, MAX_RETRY_AFTER_SECONDS) * 1000));
      if (opts.signal?.aborted) return res;
    }
  }

  private async sendOnce(
    method: string,
    path: string,
    opts: RequestOptions,
    streaming: boolean,
  ): Promise<IncomingMessage> {
    await this.limiter?.wait();
    const url = new URL(this.base.pathname.replace(/\/$/, "") + path, this.base);
    for (const [k, v] of Object.entries(opts.query ?? {})) {
      if (v !== undefined) url.searchParams.set(k, String(v));
    }
    const headers: Record<string, string> = {
      "User-Agent": this.userAgent,
      Accept: opts.accept ?? jsonType,
    };
    if (this.config.token) headers.Authorization = `Bearer ${this.config.token}`;
    let payload: string | Buffer | undefined;
    if (opts.body !== undefined) {
      payload =
        typeof opts.body === "string" || Buffer.isBuffer(opts.body)
          ? opts.body
          : JSON.stringify(opts.body);
      headers["Content-Type"] = opts.contentType ?? jsonType;
      headers["Content-Length"] = String(Buffer.byteLength(payload));
    }
    const request = url.protocol === "https:" ? https.request : http.request;
    return new Promise<IncomingMessage>((resolve, reject) => {
      const req = request(url, {
        method,
        headers,
        agent: streaming ? this.watchAgent : this.agent,
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
      req.on("response", resolve);
      req.on("error", (e: NodeJS.ErrnoException) => {
        reject(
          e.name === "AbortError"
            ? e
            : new ConnectionError(`${method} ${url.origin}${url.pathname}: ${e.message}`, {
                cause: e,
              }),
        );
      });
      if (!streaming && this.timeoutMs > 0) {
        req.setTimeout(this.timeoutMs, () =>
          req.destroy(new Error(`no answer within ${this.timeoutMs} ms`)),
        );
      }
      req.end(payload);
    });
  }
}

/** client-go's maxRetries, and a cap on how long one Retry-After may make a request wait. */
const MAX_RETRIES = 10;
const MAX_RETRY_AFTER_SECONDS = 10;

function ok(res: IncomingMessage): boolean {
  const code = res.statusCode ?? 0;
  return code >= 200 && code < 300;
}

async function readBody(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

// ---- typed resource clients ---------------------------------------------------------------

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
}

export interface WatchOptions {
  resourceVersion?: string;
  labelSelector?: string;
  fieldSelector?: string;
  allowWatchBookmarks?: boolean;
  timeoutSeconds?: number;
}

export interface WriteOptions {
  fieldManager?: string;
  dryRun?: boolean;
}

export type PatchType = "merge" | "json" | "strategic" | "apply";

const patchContentTypes: Record<PatchType, string> = {
  merge: "application/merge-patch+json",
  json: "application/json-patch+json",
  strategic: "application/strategic-merge-patch+json",
  apply: "application/apply-patch+yaml", // JSON is YAML, so the body is sent as JSON
};

export interface PatchOptions extends WriteOptions {
  /** Server-side apply: take fields owned by other managers. */
  force?: boolean;
  subresource?: string;
}

export interface DeleteOptions {
  propagationPolicy?: "Foreground" | "Background" | "Orphan";
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
}

/** An autoscaling/v1 Scale: @skiff/api's kind with the client's metadata; the apiserver always sets spec. */
export type Scale = KubeObject &
  Omit<ApiScale, "metadata" | "spec"> & { spec: NonNullable<ApiScale["spec"]> };

export interface LogOptions {
  container?: string;
  previous?: boolean;
  tailLines?: number;
  sinceSeconds?: number;
  timestamps?: boolean;
  limitBytes?: number;
}

/** A client for one resource in one namespace (or all namespaces / cluster-scoped). */
export class ResourceClient<T extends KubeObject = KubeObject> {
  constructor(
    readonly rest: RestClient,
    readonly info: ResourceInfo,
    /** undefined: all namespaces (or a cluster-scoped resource). */
    readonly ns: string | undefined,
  ) {}

  /** The same resource in namespace `ns`. */
  namespace(ns: string): ResourceClient<T> {
    if (!this.info.namespaced) throw new Error(`${this.info.resource} is not namespaced`);
    return new ResourceClient<T>(this.rest, this.info, ns);
  }

  /** The same resource across all namespaces (lists and watches), or cluster-scoped. */
  all(): ResourceClient<T> {
    return new ResourceClient<T>(this.rest, this.info, undefined);
  }

  /** The URL path of the collection, an object, or an object's subresource. */
  path(name?: string, subresource?: string, ns: string | undefined = this.ns): string {
    const { group, version, resource, namespaced } = this.info;
    let p = group === "" ? `/api/${version}` : `/apis/${group}/${version}`;
    if (namespaced && ns) p += `/namespaces/${encodeURIComponent(ns)}`;
    p += `/${resource}`;
    if (name !== undefined) {
      if (name === "") throw new Error(`a ${this.info.kind} name is required`);
      if (namespaced && !ns)
        throw new Error(`${resource} is namespaced: choose a namespace with .namespace(ns)`);
      p += `/${encodeURIComponent(name)}`;
    }
    if (subresource) p += `/${subresource}`;
    return p;
  }

  private objectPath(obj: KubeObject, subresource?: string): string {
    return this.path(obj.metadata.name ?? "", subresource, this.ns ?? obj.metadata.namespace);
  }

  private withTypeMeta(obj: T): T {
    return { apiVersion: apiVersionOf(this.info), kind: this.info.kind, ...obj };
  }

  private expectObject(v: unknown, what: string): T {
    if (!isKubeObject(v))
      throw new Error(`${what}: the server's answer is not a ${this.info.kind}`);
    return v as T;
  }

  async list(opts: ListOptions = {}): Promise<KubeList<T>> {
    const v = await this.rest.request("GET", this.path(), { query: { ...opts } });
    if (!isObject(v) || !isObject(v.metadata) || !(Array.isArray(v.items) || v.items === null)) {
      throw new Error(
        `list ${this.info.resource}: the server's answer is not a ${this.info.listKind}`,
      );
    }
    const items: unknown[] = v.items ?? [];
    if (!items.every(isKubeObject))
      throw new Error(`list ${this.info.resource}: an item has no metadata`);
    // Like get's answer, each item is taken to be the T this client was made for.
    return { ...v, metadata: v.metadata, items: items as T[] };
  }

  async get(name: string): Promise<T> {
    return this.expectObject(
      await this.rest.request("GET", this.path(name)),
      `get ${this.info.resource}/${name}`,
    );
  }

  async create(obj: T, opts: WriteOptions = {}): Promise<T> {
    const ns = this.ns ?? obj.metadata.namespace;
    if (this.info.namespaced && !ns)
      throw new Error(
        `${this.info.resource} is namespaced: choose a namespace with .namespace(ns)`,
      );
    const v = await this.rest.request("POST", this.path(undefined, undefined, ns), {
      body: this.withTypeMeta(obj),
      query: writeQuery(opts),
    });
    return this.expectObject(v, `create ${this.info.resource}`);
  }

  /** PUT; carries metadata.resourceVersion, so a stale object gets 409 Conflict. */
  async update(obj: T, opts: WriteOptions = {}): Promise<T> {
    const v = await this.rest.request("PUT", this.objectPath(obj), {
      body: this.withTypeMeta(obj),
      query: writeQuery(opts),
    });
    return this.expectObject(v, `update ${this.info.resource}`);
  }

  /** PUT to the status subresource: only .status changes. */
  async updateStatus(obj: T, opts: WriteOptions = {}): Promise<T> {
    const v = await this.rest.request("PUT", this.objectPath(obj, "status"), {
      body: this.withTypeMeta(obj),
      query: writeQuery(opts),
    });
    return this.expectObject(v, `update ${this.info.resource} status`);
  }

  async patch(name: string, patch: unknown, type: PatchType, opts: PatchOptions = {}): Promise<T> {
    if (type === "apply" && !opts.fieldManager)
      throw new Error("server-side apply needs a fieldManager");
    const v = await this.rest.request("PATCH", this.path(name, opts.subresource), {
      body: patch,
      contentType: patchContentTypes[type],
      query: { ...writeQuery(opts), force: opts.force },
    });
    return this.expectObject(v, `patch ${this.info.resource}/${name}`);
  }

  /**
   * Deletes an object. Resolves to the object when the server kept it for a while
   * (graceful deletion, finalizers), else to undefined.
   */
  async delete(name: string, opts: DeleteOptions = {}): Promise<T | undefined> {
    const v = await this.rest.request("DELETE", this.path(name), { body: deleteBody(opts) });
    return isKubeObject(v) && (v as { kind?: unknown }).kind !== "Status" ? (v as T) : undefined;
  }

  /** Deletes every object the selectors match in this namespace. */
  async deleteCollection(
    opts: DeleteOptions & Pick<ListOptions, "labelSelector" | "fieldSelector"> = {},
  ): Promise<void> {
    const { labelSelector, fieldSelector, ...rest } = opts;
    await this.rest.request("DELETE", this.path(), {
      body: deleteBody(rest),
      query: { labelSelector, fieldSelector },
    });
  }

  /** Starts a watch; iterate the result with `for await`, end it with `stop()`. */
  watch(opts: WatchOptions = {}): Watch<T> {
    const query: Query = { ...opts, watch: true };
    return new Watch<T>((signal) => this.rest.stream("GET", this.path(), { query, signal }));
  }

  async getScale(name: string): Promise<Scale> {
    const v = await this.rest.request("GET", this.path(name, "scale"));
    if (!isKubeObject(v))
      throw new Error(`get ${this.info.resource}/${name}/scale: the answer is not a Scale`);
    return v as Scale;
  }

  async updateScale(name: string, scale: Scale): Promise<Scale> {
    const body = { apiVersion: "autoscaling/v1", kind: "Scale", ...scale };
    const v = await this.rest.request("PUT", this.path(name, "scale"), { body });
    if (!isKubeObject(v))
      throw new Error(`update ${this.info.resource}/${name}/scale: the answer is not a Scale`);
    return v as Scale;
  }

  /** Binds a pod to a node: POST pods/{name}/binding with a v1 Binding (what the scheduler does). */
  async bind(podName: string, nodeName: string, opts: { uid?: string } = {}): Promise<void> {
    const body = {
      apiVersion: "v1",
      kind: "Binding",
      metadata: { name: podName, namespace: this.ns, ...(opts.uid ? { uid: opts.uid } : {}) },
      target: { apiVersion: "v1", kind: "Node", name: nodeName },
    };
    await this.rest.request("POST", this.path(podName, "binding"), { body });
  }

  /** A pod's container log as text. */
  async logs(podName: string, opts: LogOptions = {}): Promise<string> {
    return this.rest.requestText("GET", this.path(podName, "log"), {
      query: { ...opts },
      accept: "text/plain, */*",
    });
  }
}

function writeQuery(opts: WriteOptions): Query {
  return { fieldManager: opts.fieldManager, dryRun: opts.dryRun ? "All" : undefined };
}

function deleteBody(opts: DeleteOptions): Record<string, unknown> {
  return {
    apiVersion: "v1",
    kind: "DeleteOptions",
    ...(opts.propagationPolicy ? { propagationPolicy: opts.propagationPolicy } : {}),
    ...(opts.gracePeriodSeconds !== undefined
      ? { gracePeriodSeconds: opts.gracePeriodSeconds }
      : {}),
    ...(opts.preconditions ? { preconditions: opts.preconditions } : {}),
    ...(opts.dryRun ? { dryRun: ["All"] } : {}),
  };
}
