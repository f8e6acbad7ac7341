// What every resource handler is given: the server-wide HandlerContext (registries, webhooks,
// tokens, the kubelet client certificate) and, per request, one RequestContext.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ResourceInfo } from "@skiff/api";
import type { Registry } from "../registry.js";
import type { Query } from "../query.js";
import type { UserInfo } from "../auth.js";
import type { ServiceAccountTokens } from "../serviceaccount.js";
import type { WebhookAdmission } from "../webhooks/dispatch.js";
import type { KubeletClient } from "../kubelet-client.js";

/** What a request path names: the resource, namespace, object name and subresource. */
export interface Route {
  info: ResourceInfo;
  namespace?: string;
  name?: string;
  subresource?: string;
  /** nodes/{name}/proxy/{path}: the path on the node's kubelet. */
  proxyPath?: string;
}

/** What the server shares with every request. */
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
  /** The apiserver-kubelet-client certificate for pods/log, exec, attach, portforward and nodes/proxy. */
  kubeletClient?: KubeletClient;
}

/** One request to a resource, the one argument every handler takes. */
export interface RequestContext {
  /** What the server shares with every request. */
  ctx: HandlerContext;
  req: IncomingMessage;
  res: ServerResponse;
  route: Route;
  query: Query;
  user: UserInfo;
}
