// One call to an admission webhook: POST an AdmissionReview over HTTPS, verified with the
// configured caBundle, within timeoutSeconds, and read its response.
import { request } from "node:https";
import type { WebhookClientConfig } from "@skiff/api";

/** Where a `service` reference leads: an address to connect to, and the name TLS checks. */
export interface ServiceTarget {
  host: string;
  port: number;
  /** The DNS name the certificate must carry: `<service>.<namespace>.svc`. */
  serverName: string;
}

export type ServiceResolver = (
  namespace: string,
  name: string,
  port: number,
) => Promise<ServiceTarget>;

/** Why a call failed, worded as Kubernetes words it after `failed calling webhook "x": `. */
export class CallError extends Error {}

const MAX_RESPONSE = 3 * 1024 * 1024;

const UNKNOWN_AUTHORITY = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
]);

/** The common network and TLS failures, in the words Go's client (and so Kubernetes) uses. */
function goWords(e: Error, to: { host: string; port: number }): string {
  const code = (e as { code?: string }).code ?? "";
  if (code === "ECONNREFUSED") return `dial tcp ${to.host}:${to.port}: connect: connection refused`;
  if (UNKNOWN_AUTHORITY.has(code))
    return "tls: failed to verify certificate: x509: certificate signed by unknown authority";
  if (code === "ERR_TLS_CERT_ALTNAME_INVALID")
    return `tls: failed to verify certificate: x509: ${e.message}`;
  return e.message;
}

export async function postReview(
  cc: WebhookClientConfig,
  review: unknown,
  timeoutMs: number,
  resolveService: ServiceResolver,
): Promise<unknown> {
  let url: URL;
  let connect: { host: string; port: number; servername?: string };
  if (cc.url) {
    url = new URL(cc.url);
    connect = { host: url.hostname.replace(/^\[|\]$/g, ""), port: Number(url.port || 443) };
  } else if (cc.service) {
    const s = cc.service;
    const target = await resolveService(s.namespace, s.name, s.port ?? 443).catch((e: unknown) => {
      throw new CallError(`failed to call webhook: ${e instanceof Error ? e.message : String(e)}`);
    });
    url = new URL(`https://${target.serverName}:${s.port ?? 443}${s.path ?? ""}`);
    connect = { host: target.host, port: target.port, servername: target.serverName };
  } else {
    throw new CallError("failed to call webhook: neither url nor service is set");
  }
  const body = JSON.stringify(review);
  const ca = cc.caBundle ? Buffer.from(cc.caBundle, "base64") : undefined;
  const shown = `Post "${url.href}"`;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        ...connect,
        // The certificate is checked against the URL's host (or the service's DNS name).
        servername:
          connect.servername ?? (/^[\d.]+$|:/.test(url.hostname) ? undefined : url.hostname),
        path: `${url.pathname}${url.search}`,
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          Accept: "application/json",
          "Content-Length": Buffer.byteLength(body),
        },
        ca,
        agent: false,
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (c: Buffer) => {
          size += c.length;
          if (size > MAX_RESPONSE) {
            req.destroy(new CallError("failed to call webhook: the response is too large"));
            return;
          }
          chunks.push(c);
        });
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString();
          if ((res.statusCode ?? 0) < 200 || (res.statusCode ?? 0) >= 300) {
            reject(
              new CallError(
                `failed to call webhook: the server responded with the status code ${res.statusCode}${text ? `: ${text.slice(0, 512)}` : ""}`,
              ),
            );
            return;
          }
          try {
            resolve(JSON.parse(text));
          } catch {
            reject(new CallError("received invalid webhook response: the body is not JSON"));
          }
        });
        res.on("error", reject);
      },
    );
    const timer = setTimeout(() => {
      req.destroy(new CallError(`failed to call webhook: ${shown}: context deadline exceeded`));
    }, timeoutMs);
    req.on("close", () => clearTimeout(timer));
    req.on("timeout", () =>
      req.destroy(new CallError(`failed to call webhook: ${shown}: context deadline exceeded`)),
    );
    req.on("error", (e: Error) => {
      clearTimeout(timer);
      if (e instanceof CallError) reject(e);
      else reject(new CallError(`failed to call webhook: ${shown}: ${goWords(e, connect)}`));
    });
    req.end(body);
  });
}
