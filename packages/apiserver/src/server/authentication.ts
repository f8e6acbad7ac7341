// Who a request is from: the client certificate (checked against --client-ca-file), a token
// from --token-auth-file, or a service account token (signed with
// --service-account-signing-key-file, and still bound to a live ServiceAccount and pod).
import { Authenticator } from "../auth.js";
import { meta } from "../objects.js";
import type { Registry } from "../registry.js";
import { ServiceAccountTokens } from "../serviceaccount.js";
import type { ApiServerOptions } from "./options.js";

type AuthenticationOptions = Pick<
  ApiServerOptions,
  | "tokenAuthFile"
  | "serviceAccountSigningKeyFile"
  | "serviceAccountKeyFiles"
  | "serviceAccountIssuer"
>;

/**
 * The authenticator, and the service account token issuer and verifier when a signing key
 * is configured (TokenRequest needs it).
 */
export function authentication(
  opts: AuthenticationOptions,
  registry: (resource: string) => Registry,
): { auth: Authenticator; tokens: ServiceAccountTokens | undefined } {
  const auth = new Authenticator({ tokenAuthFile: opts.tokenAuthFile });
  const tokens = opts.serviceAccountSigningKeyFile
    ? new ServiceAccountTokens({
        signingKeyFile: opts.serviceAccountSigningKeyFile,
        keyFiles: opts.serviceAccountKeyFiles,
        issuer: opts.serviceAccountIssuer ?? "https://kubernetes.default.svc.cluster.local",
      })
    : undefined;
  if (tokens) {
    // The bound objects come from the watch cache (an etcd read for what this server
    // deleted lately), not one etcd read per request that carries a token.
    const read = async (resource: string, ns: string, name: string) => {
      try {
        return meta(await registry(resource).getCached(ns, name));
      } catch {
        return undefined;
      }
    };
    auth.addTokenVerifier((token, audiences) =>
      tokens.verify(
        token,
        {
          accountUid: async (ns, name) => (await read("serviceaccounts", ns, name))?.uid,
          pod: (ns, name) => read("pods", ns, name),
        },
        audiences,
      ),
    );
  }
  return { auth, tokens };
}
