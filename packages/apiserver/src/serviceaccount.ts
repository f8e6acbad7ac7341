// Service account tokens: the TokenRequest API (serviceaccounts/token) issues RS256 JWTs
// shaped like Kubernetes' bound tokens, and the authenticator accepts them as the service
// account's identity while the account (same uid) still exists.
import { readFileSync } from "node:fs";
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  randomUUID,
  type KeyObject,
} from "node:crypto";
import { SignJWT, jwtVerify, errors as joseErrors, type JWTPayload } from "jose";
import { rfc3339 } from "@skiff/api";
import type { TokenRejection, UserInfo } from "./auth.js";

export interface TokenClaims {
  namespace: string;
  serviceAccount: { name: string; uid: string };
  pod?: { name: string; uid: string };
  audiences: string[];
  expirationSeconds: number;
}

export interface ServiceAccountTokensOptions {
  signingKeyFile: string;
  /** Public keys that verify tokens; the signing key's public half is always included. */
  keyFiles?: string[];
  issuer: string;
  /** Audiences this apiserver accepts (kube-apiserver's --api-audiences; default the issuer). */
  apiAudiences?: string[];
}

/** How many verified tokens' claims are kept (each until the token expires). */
const VERIFIED_MAX = 10_000;

export class ServiceAccountTokens {
  /**
   * Claims of tokens whose signature was checked, by a hash of the token: a client sends the
   * same token with every request, and the RSA check and JWT parsing were ~10 % of the
   * apiserver's time under a flood of such requests. Only the signature's verdict is kept —
   * expiry and the bound objects are checked on every request, so a token still stops the
   * moment its account or pod goes (kube-apiserver instead trusts an accepted token for 10 s).
   */
  private readonly verified = new Map<string, JWTPayload>();
  private readonly signingKey: KeyObject;
  private readonly verifyKeys: KeyObject[];
  readonly issuer: string;
  readonly apiAudiences: string[];

  constructor(opts: ServiceAccountTokensOptions) {
    this.signingKey = createPrivateKey(readFileSync(opts.signingKeyFile));
    this.verifyKeys = [
      createPublicKey(this.signingKey),
      ...(opts.keyFiles ?? []).map((f) => createPublicKey(readFileSync(f))),
    ];
    this.issuer = opts.issuer;
    this.apiAudiences = opts.apiAudiences?.length ? opts.apiAudiences : [opts.issuer];
  }

  async issue(c: TokenClaims): Promise<{ token: string; expirationTimestamp: string }> {
    const now = Math.floor(Date.now() / 1000);
    const exp = now + c.expirationSeconds;
    const kubernetes: Record<string, unknown> = {
      namespace: c.namespace,
      serviceaccount: c.serviceAccount,
    };
    if (c.pod) kubernetes.pod = c.pod;
    const token = await new SignJWT({ "kubernetes.io": kubernetes })
      .setProtectedHeader({ alg: "RS256" })
      .setIssuer(this.issuer)
      .setSubject(`system:serviceaccount:${c.namespace}:${c.serviceAccount.name}`)
      .setAudience(c.audiences.length ? c.audiences : this.apiAudiences)
      .setJti(randomUUID())
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(exp)
      .sign(this.signingKey);
    return {
      token,
      expirationTimestamp: rfc3339(exp * 1000),
    };
  }

  /**
   * The identity a token proves; a rejection (Kubernetes' reason) for a token this issuer
   * signed that no longer holds; undefined for a token that is not this issuer's. The bound
   * objects are looked up so that a token outlives neither its account nor its pod (nor
   * re-created ones of the same names): as Kubernetes' validator, a pod whose
   * deletionTimestamp has passed no longer counts.
   */
  async verify(
    token: string,
    objects: BoundObjects,
    audiences: string[] = this.apiAudiences,
  ): Promise<UserInfo | TokenRejection | undefined> {
    if (token.split(".").length !== 3) return undefined;
    const hash = createHash("sha256").update(token).digest("base64");
    const known = this.verified.get(hash);
    if (known) {
      if ((known.exp ?? 0) <= Math.floor(Date.now() / 1000)) {
        this.verified.delete(hash);
        return { rejected: "service account token has expired" };
      }
      return this.validate(known, objects, audiences);
    }
    for (const key of this.verifyKeys) {
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, key, {
          issuer: this.issuer,
          algorithms: ["RS256"],
        }));
      } catch (err) {
        if (err instanceof joseErrors.JWSSignatureVerificationFailed) continue;
        if (err instanceof joseErrors.JWTExpired)
          return { rejected: "service account token has expired" };
        return undefined;
      }
      if (typeof payload.exp === "number") {
        if (this.verified.size >= VERIFIED_MAX) this.verified.clear();
        this.verified.set(hash, payload);
      }
      return this.validate(payload, objects, audiences);
    }
    return undefined;
  }

  private async validate(
    payload: JWTPayload,
    objects: BoundObjects,
    audiences: string[],
  ): Promise<UserInfo | TokenRejection> {
    const tokenAudiences = typeof payload.aud === "string" ? [payload.aud] : (payload.aud ?? []);
    if (!tokenAudiences.some((a) => audiences.includes(a)))
      return {
        rejected: `token audiences ${goStrings(tokenAudiences)} is invalid for the target audiences ${goStrings(audiences)}`,
      };
    const k = payload["kubernetes.io"] as
      | {
          namespace?: string;
          serviceaccount?: { name?: string; uid?: string };
          pod?: { name?: string; uid?: string };
        }
      | undefined;
    const ns = k?.namespace;
    const sa = k?.serviceaccount;
    if (!ns || !sa?.name || !sa.uid)
      return { rejected: "service account token claims could not be validated" };
    const accountUid = await objects.accountUid(ns, sa.name);
    if (accountUid === undefined) return { rejected: `serviceaccount "${sa.name}" not found` };
    if (accountUid !== sa.uid)
      return { rejected: `service account UID (${accountUid}) does not match claim (${sa.uid})` };
    const extra: Record<string, string[]> = {};
    if (k.pod) {
      if (!k.pod.name || !k.pod.uid)
        return { rejected: "service account token claims could not be validated" };
      const pod = await objects.pod(ns, k.pod.name);
      if (!pod) return { rejected: "service account token has been invalidated" };
      if (pod.uid !== k.pod.uid)
        return {
          rejected: `pod UID (${pod.uid}) does not match service account pod ref claim (${k.pod.uid})`,
        };
      if (pod.deletionTimestamp && Date.parse(pod.deletionTimestamp) < Date.now())
        return { rejected: "service account token has been invalidated" };
      extra["authentication.kubernetes.io/pod-name"] = [k.pod.name];
      extra["authentication.kubernetes.io/pod-uid"] = [k.pod.uid];
    }
    if (typeof payload.jti === "string")
      extra["authentication.kubernetes.io/credential-id"] = [`JTI=${payload.jti}`];
    return {
      name: `system:serviceaccount:${ns}:${sa.name}`,
      uid: sa.uid,
      groups: ["system:serviceaccounts", `system:serviceaccounts:${ns}`],
      ...(Object.keys(extra).length ? { extra } : {}),
    };
  }
}

/** A list as Go's %q prints it: ["a" "b"]. */
function goStrings(list: string[]): string {
  return `[${list.map((s) => JSON.stringify(s)).join(" ")}]`;
}

/** How the verifier finds the objects a token is bound to (undefined: gone). */
export interface BoundObjects {
  accountUid(namespace: string, name: string): Promise<string | undefined>;
  pod(
    namespace: string,
    name: string,
  ): Promise<{ uid?: string; deletionTimestamp?: string } | undefined>;
}
