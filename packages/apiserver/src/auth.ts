// Authentication: a client certificate signed by --client-ca-file (CN is the user, O the
// groups) or a bearer token from --token-auth-file (CSV: token,user,uid,"group1,group2").
import { readFileSync } from "node:fs";
import type { IncomingMessage } from "node:http";
import type { TLSSocket } from "node:tls";
import { timingSafeEqual } from "node:crypto";

export interface UserInfo {
  name: string;
  uid?: string;
  groups: string[];
  /** Extra attributes (a service account token's pod name and uid, as Kubernetes'). */
  extra?: Record<string, string[]>;
}

/** Splits one CSV line, honouring double quotes (with "" as an escaped quote). */
export function splitCsvLine(line: string): string[] {
  const out: string[] = [];
  let cur = "";
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      out.push(cur);
      cur = "";
    } else cur += ch;
  }
  out.push(cur);
  return out.map((s) => s.trim());
}

/** Parses a kube-apiserver token file; throws naming the line that is wrong. */
export function parseTokenFile(text: string, path = "token file"): Map<string, UserInfo> {
  const tokens = new Map<string, UserInfo>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith("#")) return;
    const [token, name, uid, groups] = splitCsvLine(line);
    if (!token || !name || !uid)
      throw new Error(`${path}:${i + 1}: want token,user,uid[,"group1,group2"]`);
    tokens.set(token, {
      name,
      uid,
      groups: groups
        ? groups
            .split(",")
            .map((g) => g.trim())
            .filter(Boolean)
        : [],
    });
  });
  return tokens;
}

/** A token a verifier recognizes as its own but refuses, with Kubernetes' reason. */
export interface TokenRejection {
  rejected: string;
}

/**
 * Checks a bearer token: the user, a rejection, or undefined when the token is not this
 * verifier's. `audiences` overrides the apiserver's own (TokenReview's spec).
 */
export type TokenVerifier = (
  token: string,
  audiences?: string[],
) => Promise<UserInfo | TokenRejection | undefined>;

export class Authenticator {
  private readonly tokens: Map<string, UserInfo>;
  private readonly verifiers: TokenVerifier[] = [];

  constructor(opts: { tokenAuthFile?: string }) {
    this.tokens = opts.tokenAuthFile
      ? parseTokenFile(readFileSync(opts.tokenAuthFile, "utf8"), opts.tokenAuthFile)
      : new Map();
  }

  /** Adds another way to accept bearer tokens (e.g. service account JWTs). */
  addTokenVerifier(v: TokenVerifier): void {
    this.verifiers.push(v);
  }

  /** Returns who sent the request, or undefined for an anonymous one. */
  async authenticate(req: IncomingMessage): Promise<UserInfo | undefined> {
    const fromCert = this.certificateUser(req.socket as TLSSocket);
    if (fromCert) return fromCert;
    const header = req.headers.authorization;
    if (header && /^bearer /i.test(header)) return this.authenticateToken(header.slice(7).trim());
    return undefined;
  }

  /** Who a bearer token belongs to, or undefined. */
  async authenticateToken(token: string, audiences?: string[]): Promise<UserInfo | undefined> {
    const review = await this.reviewToken(token, audiences);
    return "user" in review ? review.user : undefined;
  }

  /**
   * Who a bearer token belongs to, or why it is refused in the words of Kubernetes'
   * TokenReview status.error ("[invalid bearer token, service account token has expired]").
   */
  async reviewToken(
    token: string,
    audiences?: string[],
  ): Promise<{ user: UserInfo } | { error: string }> {
    // Static tokens are for the apiserver itself: a review for other audiences skips them.
    let user = audiences ? undefined : this.lookup(token);
    const reasons: string[] = [];
    for (const verify of this.verifiers) {
      if (user) break;
      const answer = await verify(token, audiences);
      if (answer && "rejected" in answer) reasons.push(answer.rejected);
      else user = answer;
    }
    if (user) return { user: { ...user, groups: [...user.groups, "system:authenticated"] } };
    const invalid = "invalid bearer token";
    return { error: reasons.length ? `[${[invalid, ...reasons].join(", ")}]` : invalid };
  }

  // A client certificate belongs to the connection, so it is read once per socket.
  private readonly certUsers = new WeakMap<TLSSocket, UserInfo | null>();

  private certificateUser(socket: TLSSocket): UserInfo | undefined {
    const cached = this.certUsers.get(socket);
    if (cached !== undefined) return cached ?? undefined;
    let user: UserInfo | null = null;
    const cn = socket.authorized ? socket.getPeerCertificate()?.subject?.CN : undefined;
    if (cn) {
      const o = socket.getPeerCertificate().subject.O;
      const groups = o === undefined ? [] : Array.isArray(o) ? o : [o];
      user = { name: Array.isArray(cn) ? cn[0]! : cn, groups: [...groups, "system:authenticated"] };
    }
    this.certUsers.set(socket, user);
    return user ?? undefined;
  }

  private lookup(token: string): UserInfo | undefined {
    const want = Buffer.from(token);
    for (const [t, user] of this.tokens) {
      const have = Buffer.from(t);
      if (have.length === want.length && timingSafeEqual(have, want)) return user;
    }
    return undefined;
  }
}
