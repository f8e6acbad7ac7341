// Finds and reads client configuration the way kubectl does: a kubeconfig file (or the
// $KUBECONFIG list), or the in-cluster service account.
//
// Contract:
// - `loadKubeconfig({kubeconfig})` reads exactly that file; without it, every file named in
//   $KUBECONFIG (colon-separated; missing files skipped) is merged, the first file to
//   define a cluster, user or context name (or current-context) winning; without
//   $KUBECONFIG, `~/.kube/config` is read.
// - The chosen context is `context` if given, else current-context. Its namespace
//   (default "default") becomes `namespace`, unless `namespace` is given.
// - `*-data` fields are base64 PEM and win over the matching file field; file paths that
//   are relative resolve against the folder of the kubeconfig file that named them.
//   `token` wins over `tokenFile` (read once, at load).
// - Problems throw KubeconfigError, a one-line message naming the file.
import { readFileSync, existsSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, resolve, delimiter } from "node:path";
import { parse } from "yaml";
import { isObject } from "@skiff/api/light";

/** What the REST client needs to reach and authenticate to one apiserver. */
export interface ClientConfig {
  /** https://host:port (http:// also works, e.g. behind a local proxy). */
  server: string;
  /** PEM of the CA that signed the server's certificate. */
  ca?: string;
  /** PEM client certificate and key, for x509 authentication. */
  cert?: string;
  key?: string;
  /** Bearer token. */
  token?: string;
  /** Skip verifying the server's certificate (insecure-skip-tls-verify). */
  insecure?: boolean;
  /** The server name to verify in the certificate, when it differs from the URL host. */
  tlsServerName?: string;
  /** The namespace the context points at; "default" unless set. */
  namespace: string;
  /** Client-side rate limit: requests a second (default 50; -1 disables) and burst (default 100). */
  qps?: number;
  burst?: number;
}

export interface KubeconfigOptions {
  /** An explicit kubeconfig path (kubectl's --kubeconfig). */
  kubeconfig?: string;
  /** Use this context instead of current-context (kubectl's --context). */
  context?: string;
  /** Override the context's namespace (kubectl's --namespace). */
  namespace?: string;
  /** Environment to read KUBECONFIG and HOME from (default process.env). */
  env?: Record<string, string | undefined>;
}

export class KubeconfigError extends Error {
  override readonly name = "KubeconfigError";
}

interface Named {
  name: string;
  file: string; // the file that defined it, for relative paths and messages
  body: Record<string, unknown>;
}

interface Merged {
  files: string[];
  currentContext?: string;
  clusters: Map<string, Named>;
  users: Map<string, Named>;
  contexts: Map<string, Named>;
}

/** The kubeconfig files kubectl would read, in precedence order. */
export function kubeconfigPaths(opts: KubeconfigOptions = {}): {
  paths: string[];
  explicit: boolean;
} {
  const env = opts.env ?? process.env;
  if (opts.kubeconfig) return { paths: [resolve(opts.kubeconfig)], explicit: true };
  const list = env.KUBECONFIG;
  if (list) {
    const paths = list
      .split(delimiter)
      .filter((p) => p !== "")
      .map((p) => resolve(p));
    return { paths: [...new Set(paths)], explicit: false };
  }
  return { paths: [resolve(env.HOME || homedir(), ".kube", "config")], explicit: false };
}

function readYaml(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new KubeconfigError(`cannot read kubeconfig ${file}: ${(e as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    const first = (e as Error).message.split("\n")[0];
    throw new KubeconfigError(`kubeconfig ${file} is not valid YAML: ${first}`);
  }
  if (doc === null || doc === undefined) return {};
  if (!isObject(doc)) throw new KubeconfigError(`kubeconfig ${file} is not a YAML mapping`);
  return doc;
}

function mergeList(
  into: Map<string, Named>,
  list: unknown,
  field: "cluster" | "user" | "context",
  file: string,
  key: string,
): void {
  if (list === undefined || list === null) return;
  if (!Array.isArray(list)) throw new KubeconfigError(`kubeconfig ${file}: ${key} must be a list`);
  for (const entry of list) {
    if (!isObject(entry) || typeof entry.name !== "string") {
      throw new KubeconfigError(`kubeconfig ${file}: every entry of ${key} needs a name`);
    }
    const body = entry[field] ?? {};
    if (!isObject(body))
      throw new KubeconfigError(`kubeconfig ${file}: ${field} "${entry.name}" must be a mapping`);
    if (!into.has(entry.name)) into.set(entry.name, { name: entry.name, file, body });
  }
}

function loadMerged(opts: KubeconfigOptions): Merged {
  const { paths, explicit } = kubeconfigPaths(opts);
  const merged: Merged = { files: [], clusters: new Map(), users: new Map(), contexts: new Map() };
  for (const file of paths) {
    // kubectl insists on an explicit --kubeconfig but skips missing $KUBECONFIG entries.
    if (!explicit && !existsSync(file)) continue;
    const doc = readYaml(file);
    merged.files.push(file);
    const current = doc["current-context"];
    if (merged.currentContext === undefined && typeof current === "string" && current !== "") {
      merged.currentContext = current;
    }
    mergeList(merged.clusters, doc.clusters, "cluster", file, "clusters");
    mergeList(merged.users, doc.users, "user", file, "users");
    mergeList(merged.contexts, doc.contexts, "context", file, "contexts");
  }
  if (merged.files.length === 0) {
    throw new KubeconfigError(
      `no kubeconfig found (looked for ${paths.join(", ")}); set --kubeconfig or $KUBECONFIG`,
    );
  }
  return merged;
}

function str(body: Record<string, unknown>, field: string, where: string): string | undefined {
  const v = body[field];
  if (v === undefined || v === null || v === "") return undefined;
  if (typeof v !== "string") throw new KubeconfigError(`${where}: ${field} must be a string`);
  return v;
}

/** Reads a PEM from `<field>-data` (base64) or from the file named by `<field>`. */
function pem(entry: Named, field: string, where: string): string | undefined {
  const data = str(entry.body, `${field}-data`, where);
  if (data !== undefined) return Buffer.from(data, "base64").toString("utf8");
  const path = str(entry.body, field, where);
  return path === undefined ? undefined : readRelative(entry, path, field, where);
}

function readRelative(entry: Named, path: string, field: string, where: string): string {
  const full = resolve(dirname(entry.file), path);
  try {
    return readFileSync(full, "utf8");
  } catch (e) {
    throw new KubeconfigError(
      `${where}: cannot read ${field} ${full}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
}

/** Loads the client configuration for a kubeconfig context. */
export function loadKubeconfig(opts: KubeconfigOptions = {}): ClientConfig {
  const m = loadMerged(opts);
  const source = m.files.join(":");
  const contextName = opts.context ?? m.currentContext;
  if (!contextName)
    throw new KubeconfigError(`no current-context is set in ${source}; choose a context`);
  const context = m.contexts.get(contextName);
  if (!context) throw new KubeconfigError(`context "${contextName}" not found in ${source}`);

  const clusterName = str(context.body, "cluster", `context "${contextName}" in ${context.file}`);
  if (!clusterName)
    throw new KubeconfigError(`context "${contextName}" in ${context.file} names no cluster`);
  const cluster = m.clusters.get(clusterName);
  if (!cluster)
    throw new KubeconfigError(
      `cluster "${clusterName}" (of context "${contextName}") not found in ${source}`,
    );
  const cw = `cluster "${clusterName}" in ${cluster.file}`;
  const server = str(cluster.body, "server", cw);
  if (!server) throw new KubeconfigError(`${cw} has no server`);
  if (!/^https?:\/\//.test(server))
    throw new KubeconfigError(`${cw}: server "${server}" must start with https:// or http://`);

  const config: ClientConfig = {
    server: server.replace(/\/+$/, ""),
    namespace: opts.namespace || str(context.body, "namespace", "context") || "default",
  };
  const ca = pem(cluster, "certificate-authority", cw);
  if (ca !== undefined) config.ca = ca;
  if (cluster.body["insecure-skip-tls-verify"] === true) config.insecure = true;
  const tlsServerName = str(cluster.body, "tls-server-name", cw);
  if (tlsServerName) config.tlsServerName = tlsServerName;

  const userName = str(context.body, "user", `context "${contextName}"`);
  if (userName) {
    const user = m.users.get(userName);
    if (!user)
      throw new KubeconfigError(
        `user "${userName}" (of context "${contextName}") not found in ${source}`,
      );
    const uw = `user "${userName}" in ${user.file}`;
    const cert = pem(user, "client-certificate", uw);
    const key = pem(user, "client-key", uw);
    if ((cert === undefined) !== (key === undefined)) {
      throw new KubeconfigError(
        `${uw} sets a client certificate without a key, or a key without a certificate`,
      );
    }
    if (cert !== undefined && key !== undefined) Object.assign(config, { cert, key });
    const token = str(user.body, "token", uw);
    const tokenFile = str(user.body, "tokenFile", uw);
    if (token) config.token = token;
    else if (tokenFile) config.token = readRelative(user, tokenFile, "tokenFile", uw).trim();
    if (!config.token && !config.cert && (user.body.exec || user.body["auth-provider"])) {
      throw new KubeconfigError(
        `${uw} uses an exec or auth-provider plugin, which Skiff does not support; use a token or client certificate`,
      );
    }
  }
  return config;
}

export const serviceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount";

/** The configuration a pod gets: its service account token and CA, and the service's address. */
export function inClusterConfig(
  opts: { dir?: string; env?: Record<string, string | undefined> } = {},
): ClientConfig {
  const env = opts.env ?? process.env;
  const dir = opts.dir ?? serviceAccountDir;
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) {
    throw new KubeconfigError(
      "not running in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set",
    );
  }
  const read = (name: string): string => {
    try {
      return readFileSync(resolve(dir, name), "utf8");
    } catch (e) {
      throw new KubeconfigError(
        `cannot read service account ${name} in ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      );
    }
  };
  const hostPart = host.includes(":") ? `[${host}]` : host; // IPv6
  const namespace = existsSync(resolve(dir, "namespace")) ? read("namespace").trim() : "";
  return {
    server: `https://${hostPart}:${port}`,
    token: read("token").trim(),
    ca: read("ca.crt"),
    namespace: namespace || "default",
  };
}

/**
 * kubectl's fallback chain: an explicit or $KUBECONFIG or ~/.kube/config kubeconfig if one
 * exists, else the in-cluster service account.
 */
export function loadClientConfig(opts: KubeconfigOptions = {}): ClientConfig {
  const env = opts.env ?? process.env;
  const { paths, explicit } = kubeconfigPaths(opts);
  if (explicit || paths.some((p) => existsSync(p)) || !env.KUBERNETES_SERVICE_HOST) {
    return loadKubeconfig(opts);
  }
  const config = inClusterConfig({ env });
  return opts.namespace ? { ...config, namespace: opts.namespace } : config;
}
