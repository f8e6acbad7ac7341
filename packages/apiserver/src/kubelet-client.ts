// The apiserver as a client of the kubelets: its client certificate (apiserver-kubelet-client),
// where a node's kubelet listens, and JSON reads of the kubelet's API (/stats/summary).
import { existsSync, readFileSync } from "node:fs";
import https from "node:https";
import { dirname, join } from "node:path";
import { UnavailableError } from "./errors.js";
import type { KubeObject } from "./objects.js";

export interface KubeletClientOptions {
  /** --kubelet-client-certificate / --kubelet-client-key. */
  certFile?: string;
  keyFile?: string;
  /**
   * The apiserver's serving cert: without explicit flags, `apiserver-kubelet-client.crt/.key`
   * beside it are used (the layout kubeadm and scripts/make-certs.sh produce).
   */
  tlsCertFile?: string;
}

/** The client certificate the apiserver presents to kubelets. */
export interface KubeletClient {
  cert: Buffer;
  key: Buffer;
}

/** Reads the kubelet client certificate; undefined when none is configured or found. */
export function loadKubeletClient(o: KubeletClientOptions): KubeletClient | undefined {
  let { certFile, keyFile } = o;
  if ((!certFile || !keyFile) && o.tlsCertFile) {
    const dir = dirname(o.tlsCertFile);
    certFile = join(dir, "apiserver-kubelet-client.crt");
    keyFile = join(dir, "apiserver-kubelet-client.key");
  }
  if (certFile && keyFile && existsSync(certFile) && existsSync(keyFile)) {
    return { cert: readFileSync(certFile), key: readFileSync(keyFile) };
  }
  return undefined;
}

/** The kubelet's address: the node's InternalIP and its daemonEndpoints port. */
export function kubeletEndpoint(node: KubeObject): { host: string; port: number } {
  const status = node.status as
    | {
        addresses?: { type: string; address: string }[];
        daemonEndpoints?: { kubeletEndpoint?: { Port?: number } };
      }
    | undefined;
  const name = String(node.metadata.name);
  const host = status?.addresses?.find((a) => a.type === "InternalIP")?.address;
  if (!host) throw new UnavailableError(`node ${name} has no InternalIP`);
  return { host, port: status?.daemonEndpoints?.kubeletEndpoint?.Port || 10250 };
}

/**
 * GETs a kubelet's JSON API path (`/stats/summary`) with the kubelet client certificate,
 * giving up after `timeoutMs`. Throws when the kubelet cannot be reached or answers non-200.
 */
export async function kubeletJson(
  client: KubeletClient | undefined,
  node: KubeObject,
  path: string,
  timeoutMs: number,
): Promise<unknown> {
  if (!client) throw new Error("no kubelet client certificate is configured");
  const { host, port } = kubeletEndpoint(node);
  return new Promise((resolve, reject) => {
    const req = https.get(
      { host, port, path, cert: client.cert, key: client.key, rejectUnauthorized: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => {
          if (res.statusCode !== 200) {
            reject(new Error(`kubelet at ${host}:${port} answered ${res.statusCode}`));
            return;
          }
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString()));
          } catch (err) {
            reject(err as Error);
          }
        });
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on("error", reject);
  });
}
