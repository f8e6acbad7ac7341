// Who may use the kubelet's HTTPS API, as Kubernetes' kubelet decides it:
//   authentication  a client certificate signed by --client-ca-file (CN user, O groups), or
//                   a bearer token the apiserver vouches for (TokenReview); anyone else is
//                   anonymous and gets 401
//   authorization   --authorization-mode=Webhook asks the apiserver (SubjectAccessReview)
//                   whether the user may <verb> nodes/<subresource> of this node, with the
//                   subresource from the path (stats, metrics, log, spec, else proxy);
//                   AlwaysAllow lets every authenticated user in
// Answers are cached as the kubelet's webhook caches are: authentication 2 min, authorization
// 5 min when allowed and 30 s when denied.
import type { IncomingMessage } from "node:http";
import type { TLSSocket } from "node:tls";
import { verbForMethod } from "@skiff/api";
import { isNotFound, type Logger, type RestClient } from "@skiff/client";

export interface KubeletUser {
  name: string;
  uid?: string;
  groups: string[];
  extra?: Record<string, string[]>;
}

export type AuthorizationMode = "Webhook" | "AlwaysAllow";

/** What a request asks of the node, in Kubernetes' authorization words. */
export interface NodeRequestAttributes {
  verb: string;
  subresource: string;
}

/** The verb and nodes subresource a kubelet request needs (Kubernetes' kubelet mapping). */
export function nodeRequestAttributes(method: string, path: string): NodeRequestAttributes {
  const verb = verbForMethod(method);
  const under = (p: string) => path === p || path.startsWith(`${p}/`);
  let subresource = "proxy";
  if (under("/stats")) subresource = "stats";
  else if (under("/metrics")) subresource = "metrics";
  else if (under("/logs")) subresource = "log";
  else if (under("/spec")) subresource = "spec";
  else if (under("/checkpoint")) subresource = "checkpoint";
  return { verb, subresource };
}

interface Cached<T> {
  value: T;
  until: number;
}

const MAX_CACHE = 1024;

function remember<T>(cache: Map<string, Cached<T>>, key: string, value: T, ttlMs: number): T {
  if (cache.size >= MAX_CACHE) cache.delete(cache.keys().next().value!);
  cache.set(key, { value, until: Date.now() + ttlMs });
  return value;
}

function recall<T>(cache: Map<string, Cached<T>>, key: string): T | undefined {
  const hit = cache.get(key);
  if (!hit) return undefined;
  if (hit.until > Date.now()) return hit.value;
  cache.delete(key);
  return undefined;
}

export interface KubeletAuthOptions {
  client: RestClient;
  nodeName: string;
  authorizationMode?: AuthorizationMode;
  log: Logger;
}

export class KubeletAuth {
  private readonly tokens = new Map<string, Cached<KubeletUser | null>>();
  private readonly decisions = new Map<string, Cached<boolean>>();
  private readonly certUsers = new WeakMap<TLSSocket, KubeletUser | null>();
  private warnedNoReviews = false;

  constructor(private readonly opts: KubeletAuthOptions) {}

  /** Who sent the request, or undefined (anonymous: the caller answers 401). */
  async authenticate(req: IncomingMessage): Promise<KubeletUser | undefined> {
    const fromCert = this.certificateUser(req.socket as TLSSocket);
    if (fromCert) return fromCert;
    const header = req.headers.authorization;
    if (!header || !/^bearer /i.test(header)) return undefined;
    const token = header.slice(7).trim();
    if (!token) return undefined;
    const cached = recall(this.tokens, token);
    if (cached !== undefined) return cached ?? undefined;
    const user = await this.reviewToken(token);
    return remember(this.tokens, token, user, user ? 120_000 : 30_000) ?? undefined;
  }

  /** Whether the user may do what the request asks of this node. */
  async authorize(user: KubeletUser, attrs: NodeRequestAttributes): Promise<boolean> {
    if (this.opts.authorizationMode === "AlwaysAllow") return true;
    const key = JSON.stringify([user.name, user.uid, user.groups, attrs.verb, attrs.subresource]);
    const cached = recall(this.decisions, key);
    if (cached !== undefined) return cached;
    const allowed = await this.review(user, attrs);
    return remember(this.decisions, key, allowed, allowed ? 300_000 : 30_000);
  }

  private certificateUser(socket: TLSSocket): KubeletUser | undefined {
    const known = this.certUsers.get(socket);
    if (known !== undefined) return known ?? undefined;
    let user: KubeletUser | null = null;
    if (socket.authorized) {
      const subject = socket.getPeerCertificate()?.subject;
      const cn = subject?.CN;
      if (cn) {
        const o = subject.O;
        const groups = o === undefined ? [] : Array.isArray(o) ? o : [o];
        user = {
          name: Array.isArray(cn) ? cn[0]! : cn,
          groups: [...groups, "system:authenticated"],
        };
      }
    }
    this.certUsers.set(socket, user);
    return user ?? undefined;
  }

  private async reviewToken(token: string): Promise<KubeletUser | null> {
    const res = (await this.opts.client.request(
      "POST",
      "/apis/authentication.k8s.io/v1/tokenreviews",
      {
        body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenReview", spec: { token } },
      },
    )) as {
      status?: {
        authenticated?: boolean;
        user?: {
          username?: string;
          uid?: string;
          groups?: string[];
          extra?: Record<string, string[]>;
        };
      };
    };
    const s = res.status;
    if (!s?.authenticated || !s.user?.username) return null;
    return {
      name: s.user.username,
      ...(s.user.uid ? { uid: s.user.uid } : {}),
      groups: s.user.groups ?? [],
      ...(s.user.extra ? { extra: s.user.extra } : {}),
    };
  }

  private async review(user: KubeletUser, attrs: NodeRequestAttributes): Promise<boolean> {
    try {
      const res = (await this.opts.client.request(
        "POST",
        "/apis/authorization.k8s.io/v1/subjectaccessreviews",
        {
          body: {
            apiVersion: "authorization.k8s.io/v1",
            kind: "SubjectAccessReview",
            spec: {
              user: user.name,
              groups: user.groups,
              ...(user.uid ? { uid: user.uid } : {}),
              ...(user.extra ? { extra: user.extra } : {}),
              resourceAttributes: {
                verb: attrs.verb,
                resource: "nodes",
                subresource: attrs.subresource,
                name: this.opts.nodeName,
                group: "",
                version: "v1",
              },
            },
          },
        },
      )) as { status?: { allowed?: boolean } };
      return res.status?.allowed === true;
    } catch (err) {
      if (!isNotFound(err)) throw err;
      // An apiserver without the authorization API (an older Skiff): only the cluster's
      // administrators, among them the apiserver's own kubelet client, are let in.
      if (!this.warnedNoReviews) {
        this.warnedNoReviews = true;
        this.opts.log.warn(
          { user: user.name },
          "the apiserver serves no SubjectAccessReview: only system:masters may use the kubelet API",
        );
      }
      return user.groups.includes("system:masters");
    }
  }
}
