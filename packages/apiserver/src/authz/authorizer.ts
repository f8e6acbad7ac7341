// The authorizer chain of --authorization-mode: each mode in order may allow, deny or have no
// opinion; the first allow or deny decides, and a request nobody allows is forbidden.
// Members of system:masters are allowed before the chain, as in Kubernetes.
import type { Attributes } from "./attributes.js";
import { forbiddenMessage } from "./attributes.js";
import { ForbiddenError } from "../errors.js";

export interface Decision {
  decision: "allow" | "deny" | "noopinion";
  reason: string;
}

export interface Authorizer {
  authorize(attrs: Attributes): Promise<Decision>;
}

export const AUTHORIZATION_MODES = ["AlwaysAllow", "AlwaysDeny", "Node", "RBAC"] as const;
export type AuthorizationMode = (typeof AUTHORIZATION_MODES)[number];

/** Parses --authorization-mode; throws a one-line error naming what is wrong. */
export function parseAuthorizationModes(value: string): AuthorizationMode[] {
  const modes = value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (!modes.length) throw new Error("--authorization-mode: at least one mode is required");
  const seen = new Set<string>();
  for (const m of modes) {
    if (!(AUTHORIZATION_MODES as readonly string[]).includes(m))
      throw new Error(
        `--authorization-mode: unknown mode "${m}" (supported: ${AUTHORIZATION_MODES.join(", ")})`,
      );
    if (seen.has(m)) throw new Error(`--authorization-mode: "${m}" is given twice`);
    seen.add(m);
  }
  return modes as AuthorizationMode[];
}

export const SYSTEM_MASTERS = "system:masters";

const always = (decision: Decision["decision"], reason = ""): Authorizer => ({
  authorize: () => Promise.resolve({ decision, reason }),
});
export const alwaysAllow = always("allow");
// As Kubernetes' AlwaysDeny: no opinion (a later mode may still allow), with its reason.
export const alwaysDeny = always("noopinion", "Everything is forbidden.");

export class UnionAuthorizer implements Authorizer {
  constructor(private readonly chain: Authorizer[]) {}

  async authorize(attrs: Attributes): Promise<Decision> {
    if (attrs.user.groups.includes(SYSTEM_MASTERS)) return { decision: "allow", reason: "" };
    const reasons: string[] = [];
    for (const a of this.chain) {
      const d = await a.authorize(attrs);
      if (d.reason) reasons.push(d.reason);
      if (d.decision !== "noopinion") return { decision: d.decision, reason: reasons.join("\n") };
    }
    return { decision: "noopinion", reason: reasons.join("\n") };
  }
}

/** The 403 Kubernetes answers a request its authorizers did not allow. */
export function forbidden(attrs: Attributes, reason: string): ForbiddenError {
  const msg = forbiddenMessage(attrs) + (reason ? `: ${reason}` : "");
  if (!attrs.resourceRequest) return new ForbiddenError(`forbidden: ${msg}`);
  const qualified = attrs.apiGroup ? `${attrs.resource}.${attrs.apiGroup}` : attrs.resource;
  const subject = attrs.name ? `${qualified} "${attrs.name}"` : qualified;
  return new ForbiddenError(`${subject} is forbidden: ${msg}`, {
    name: attrs.name || undefined,
    group: attrs.apiGroup || undefined,
    kind: attrs.resource,
  });
}
