// Starts a real etcd and a real skiff-apiserver (in this process) on free loopback ports,
// with freshly made certificates and an admin kubeconfig, for integration tests.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { request as httpsRequest, Agent } from "node:https";
import { ApiServer } from "@skiff/apiserver";
import { pino } from "pino";
import { startEtcd, freePort } from "./etcd.js";

const repoRoot = new URL("../../../", import.meta.url).pathname;

let certDir: string | undefined;
/** Makes (once per process) a CA, serving and client certificates. */
export function testCerts(): string {
  if (!certDir) {
    certDir = mkdtempSync(join(tmpdir(), "skiff-certs-"));
    execFileSync("bash", [join(repoRoot, "scripts/make-certs.sh"), certDir], { stdio: "ignore" });
    process.once("exit", () => rmSync(certDir!, { recursive: true, force: true }));
  }
  return certDir;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** The body parsed as JSON (undefined when it is not JSON). */
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export interface TestApiserver {
  url: string;
  port: number;
  server: ApiServer;
  etcdEndpoints: string[];
  kubeconfig: string;
  certDir: string;
  /** A raw HTTPS request as the admin (or with `auth: "none"` anonymously, or a bearer token). */
  request(
    method: string,
    path: string,
    body?: unknown,
    opts?: RequestOptions,
  ): Promise<HttpResponse>;
  /**
   * A kubeconfig for a client certificate with this user (CN) and groups (O), signed by the
   * test CA: how a test runs a component as its own, least-privileged identity
   * (`system:node:NAME` in `system:nodes` for a kubelet, `system:kube-scheduler`, ...).
   */
  kubeconfigFor(user: string, groups?: string[]): string;
  /**
   * Stops and starts the apiserver (not etcd) on the same port; `whileDown` runs between the
   * two (for example writes through another apiserver on the same etcd).
   */
  restart(whileDown?: () => Promise<void>): Promise<void>;
  stop(): Promise<void>;
}

export interface RequestOptions {
  contentType?: string;
  accept?: string;
  auth?: "admin" | "none" | { token: string };
  rawBody?: string | Buffer;
  /** Send the body with no Content-Type header (kubectl does so for PUT .../scale). */
  noContentType?: boolean;
  headers?: Record<string, string>;
}

export interface StartApiserverOptions {
  etcdEndpoints?: string[];
  /** TLS files for https:// etcdEndpoints (the apiserver's --etcd-cafile/certfile/keyfile). */
  etcdTls?: { caFile?: string; certFile?: string; keyFile?: string };
  tokenAuthFile?: string;
  bookmarkIntervalMs?: number;
  eventTtlSeconds?: number;
  /** metrics.k8s.io's scrape interval (default 15 s). */
  metricResolutionMs?: number;
  /** --authorization-mode (default Node, RBAC). */
  authorizationModes?: ("AlwaysAllow" | "AlwaysDeny" | "Node" | "RBAC")[];
  /**
   * Run the ServiceAccount admission plugin. Off by default, as in Kubernetes' integration
   * test servers: with no controller-manager nobody makes the `default` accounts.
   */
  serviceAccountAdmission?: boolean;
  /** TEST ONLY: TokenRequest's shortest lifetime in seconds (Kubernetes' 600 by default). */
  serviceAccountMinTokenExpirationSeconds?: number;
  /** kube-apiserver's --encryption-provider-config. */
  encryptionProviderConfig?: string;
  /** kube-apiserver's --audit-policy-file and --audit-log-path. */
  auditPolicyFile?: string;
  auditLogPath?: string;
  /** --audit-log-maxsize (MB; fractions allowed here) and --audit-log-maxbackup. */
  auditLogMaxSizeMB?: number;
  auditLogMaxBackups?: number;
  /** --max-requests-inflight and --max-mutating-requests-inflight: the seats of priority and fairness. */
  maxRequestsInflight?: number;
  maxMutatingRequestsInflight?: number;
}

export async function startApiserver(opts: StartApiserverOptions = {}): Promise<TestApiserver> {
  const certs = testCerts();
  const etcd = opts.etcdEndpoints ? undefined : await startEtcd();
  const etcdEndpoints = opts.etcdEndpoints ?? etcd!.endpoints;
  const port = await freePort();
  const url = `https://127.0.0.1:${port}`;
  const kubeDir = mkdtempSync(join(tmpdir(), "skiff-kubeconfig-"));
  execFileSync("bash", [join(repoRoot, "scripts/make-certs.sh"), certs, url], { stdio: "ignore" });
  const kubeconfig = join(kubeDir, "admin.kubeconfig");
  execFileSync("cp", [join(certs, "admin.kubeconfig"), kubeconfig]);
  const make = (): ApiServer =>
    new ApiServer({
      etcdServers: etcdEndpoints,
      etcdTls: opts.etcdTls,
      bindAddress: "127.0.0.1",
      securePort: port,
      tlsCertFile: join(certs, "apiserver.crt"),
      tlsPrivateKeyFile: join(certs, "apiserver.key"),
      clientCaFile: join(certs, "ca.crt"),
      tokenAuthFile: opts.tokenAuthFile,
      serviceClusterIpRange: "10.96.0.0/12",
      serviceNodePortRange: "30000-32767",
      bookmarkIntervalMs: opts.bookmarkIntervalMs,
      eventTtlSeconds: opts.eventTtlSeconds,
      metricResolutionMs: opts.metricResolutionMs,
      authorizationModes: opts.authorizationModes,
      disableAdmissionPlugins: opts.serviceAccountAdmission ? [] : ["ServiceAccount"],
      encryptionProviderConfig: opts.encryptionProviderConfig,
      auditPolicyFile: opts.auditPolicyFile,
      auditLogPath: opts.auditLogPath,
      auditLogMaxSizeMB: opts.auditLogMaxSizeMB,
      auditLogMaxBackups: opts.auditLogMaxBackups,
      serviceAccountSigningKeyFile: join(certs, "sa.key"),
      serviceAccountMinTokenExpirationSeconds: opts.serviceAccountMinTokenExpirationSeconds,
      maxRequestsInflight: opts.maxRequestsInflight,
      maxMutatingRequestsInflight: opts.maxMutatingRequestsInflight,
      logger: pino({ level: process.env.SKIFF_TEST_LOG ?? "silent" }),
    });
  let server = make();
  try {
    await server.start();
  } catch (err) {
    // Leave nothing running (etcd, the storage client, watch caches), or the test process
    // would hang instead of reporting the failure.
    await server.stop().catch(() => {});
    await etcd?.stop();
    throw err;
  }
  const admin = new Agent({
    ca: readFileSync(join(certs, "ca.crt")),
    cert: readFileSync(join(certs, "admin.crt")),
    key: readFileSync(join(certs, "admin.key")),
    keepAlive: true,
  });
  const anonymous = new Agent({ ca: readFileSync(join(certs, "ca.crt")), keepAlive: true });

  const request = (
    method: string,
    path: string,
    body?: unknown,
    o: RequestOptions = {},
  ): Promise<HttpResponse> =>
    new Promise((resolve, reject) => {
      const data = o.rawBody ?? (body === undefined ? undefined : JSON.stringify(body));
      const headers: Record<string, string> = { ...(o.headers ?? {}) };
      if (data !== undefined) {
        if (!o.noContentType) headers["Content-Type"] = o.contentType ?? "application/json";
        // Node sends DELETE bodies without chunking, so the length must be given.
        headers["Content-Length"] = String(Buffer.byteLength(data));
      }
      if (o.accept) headers.Accept = o.accept;
      if (typeof o.auth === "object") headers.Authorization = `Bearer ${o.auth.token}`;
      const req = httpsRequest(
        `${url}${path}`,
        { method, headers, agent: o.auth === undefined || o.auth === "admin" ? admin : anonymous },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString();
            let json: unknown;
            try {
              json = JSON.parse(text);
            } catch {
              json = undefined;
            }
            resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
          });
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      if (data !== undefined) req.write(data);
      req.end();
    });

  return {
    url,
    port,
    get server() {
      return server;
    },
    etcdEndpoints,
    kubeconfig,
    certDir: certs,
    request,
    kubeconfigFor(user: string, groups: string[] = []) {
      const base = join(kubeDir, user.replace(/[^a-zA-Z0-9-]/g, "_"));
      const subject = groups.map((g) => `/O=${g}`).join("") + `/CN=${user}`;
      const openssl = (args: string[]) => execFileSync("openssl", args, { stdio: "ignore" });
      openssl([
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        `${base}.key`,
        "-out",
        `${base}.csr`,
        "-subj",
        subject,
      ]);
      openssl([
        "x509",
        "-req",
        "-in",
        `${base}.csr`,
        "-CA",
        join(certs, "ca.crt"),
        "-CAkey",
        join(certs, "ca.key"),
        "-CAcreateserial",
        "-days",
        "2",
        "-out",
        `${base}.crt`,
      ]);
      const b64 = (f: string) => readFileSync(f).toString("base64");
      const file = `${base}.kubeconfig`;
      writeFileSync(
        file,
        [
          "apiVersion: v1",
          "kind: Config",
          "clusters:",
          "- name: skiff",
          "  cluster:",
          `    server: ${url}`,
          `    certificate-authority-data: ${b64(join(certs, "ca.crt"))}`,
          "users:",
          "- name: u",
          "  user:",
          `    client-certificate-data: ${b64(`${base}.crt`)}`,
          `    client-key-data: ${b64(`${base}.key`)}`,
          "contexts:",
          "- name: u@skiff",
          "  context: {cluster: skiff, user: u, namespace: default}",
          "current-context: u@skiff",
          "",
        ].join("\n"),
      );
      return file;
    },
    async restart(whileDown?: () => Promise<void>) {
      await server.stop();
      await whileDown?.();
      server = make();
      await server.start();
    },
    async stop() {
      admin.destroy();
      anonymous.destroy();
      await server.stop();
      await etcd?.stop();
      rmSync(kubeDir, { recursive: true, force: true });
    },
  };
}
