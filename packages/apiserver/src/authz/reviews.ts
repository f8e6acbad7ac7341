// authorization.k8s.io/v1 reviews: create-only, never stored. SubjectAccessReview asks about
// any user, LocalSubjectAccessReview about any user in one namespace, SelfSubjectAccessReview
// about the caller (`kubectl auth can-i`), SelfSubjectRulesReview lists the caller's rules in
// a namespace (`kubectl auth can-i --list`).
import type { IncomingMessage, ServerResponse } from "node:http";
import type { UserInfo } from "../auth.js";
import { BadRequestError, InvalidError, MethodNotAllowedError } from "../errors.js";
import { bodyType, decodeObject, readBody, sendJson } from "../request.js";
import { nonResourceAttributes, type Attributes } from "./attributes.js";
import type { Authorization } from "./index.js";

const GROUP = "authorization.k8s.io";
const KINDS: Record<string, string> = {
  subjectaccessreviews: "SubjectAccessReview",
  localsubjectaccessreviews: "LocalSubjectAccessReview",
  selfsubjectaccessreviews: "SelfSubjectAccessReview",
  selfsubjectrulesreviews: "SelfSubjectRulesReview",
};

type Obj = Record<string, unknown>;

/** The review a path names: { resource, namespace } or undefined for other paths. */
export function reviewRoute(
  segments: string[],
): { resource: string; namespace: string } | undefined {
  if (segments[0] !== "apis" || segments[1] !== GROUP || segments[2] !== "v1") return undefined;
  const rest = segments.slice(3);
  if (rest.length === 1 && KINDS[rest[0]!] && rest[0] !== "localsubjectaccessreviews")
    return { resource: rest[0]!, namespace: "" };
  if (rest.length === 3 && rest[0] === "namespaces" && rest[2] === "localsubjectaccessreviews")
    return { resource: rest[2], namespace: rest[1]! };
  return undefined;
}

function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}

function attributesOf(user: UserInfo, spec: Obj): Attributes {
  const ra = spec.resourceAttributes as Obj | undefined;
  const nra = spec.nonResourceAttributes as Obj | undefined;
  if (ra) {
    return {
      user,
      verb: str(ra.verb),
      resourceRequest: true,
      path: "",
      apiGroup: str(ra.group),
      apiVersion: str(ra.version),
      namespace: str(ra.namespace),
      resource: str(ra.resource),
      subresource: str(ra.subresource),
      name: str(ra.name),
    };
  }
  return nonResourceAttributes(user, str(nra?.verb), str(nra?.path));
}

export async function serveReview(
  authz: Authorization,
  route: { resource: string; namespace: string },
  req: IncomingMessage,
  res: ServerResponse,
  caller: UserInfo,
): Promise<void> {
  if (req.method !== "POST") throw new MethodNotAllowedError(req.method ?? "", route.resource);
  const kind = KINDS[route.resource]!;
  const body = decodeObject(await readBody(req), bodyType(req, ["json", "yaml", "protobuf"]));
  const spec = (body.spec ?? {}) as Obj;
  const out: Obj = {
    kind,
    apiVersion: `${GROUP}/v1`,
    metadata: {
      creationTimestamp: null,
      ...(route.namespace ? { namespace: route.namespace } : {}),
    },
    spec,
  };
  if (kind === "SelfSubjectRulesReview") {
    const namespace = str(spec.namespace);
    const { rules, errors } = await authz.rulesFor(caller, namespace);
    const resourceRules = rules
      .filter((r) => !r.nonResourceURLs?.length)
      .map((r) => ({ ...r, verbs: r.verbs ?? [] }));
    const nonResourceRules = rules
      .filter((r) => r.nonResourceURLs?.length)
      .map((r) => ({ verbs: r.verbs, nonResourceURLs: r.nonResourceURLs }));
    out.status = {
      resourceRules,
      nonResourceRules,
      incomplete: errors.length > 0 || !authz.modes.includes("RBAC"),
      ...(errors.length ? { evaluationError: errors.join(", ") } : {}),
    };
    sendJson(res, 201, out);
    return;
  }
  let user = caller;
  if (kind === "SubjectAccessReview" || kind === "LocalSubjectAccessReview") {
    if (!str(spec.user) && !Array.isArray(spec.groups))
      throw new InvalidError(kind, GROUP, "", [
        {
          type: "FieldValueRequired",
          field: "spec.user",
          message: "Required value: at least one of user or group must be specified",
        },
      ]);
    const groups = Array.isArray(spec.groups)
      ? spec.groups.filter((g) => typeof g === "string")
      : [];
    user = { name: str(spec.user), uid: str(spec.uid) || undefined, groups: groups as string[] };
  }
  if (!spec.resourceAttributes === !spec.nonResourceAttributes)
    throw new InvalidError(kind, GROUP, "", [
      {
        type: "FieldValueRequired",
        field: "spec.resourceAttributes",
        message:
          "Required value: exactly one of nonResourceAttributes or resourceAttributes must be specified",
      },
    ]);
  const attrs = attributesOf(user, spec);
  if (kind === "LocalSubjectAccessReview" && attrs.namespace !== route.namespace)
    throw new BadRequestError(
      `spec.resourceAttributes.namespace must match namespace: ${route.namespace}`,
    );
  const d = await authz.authorize(attrs);
  out.status = {
    allowed: d.decision === "allow",
    ...(d.decision === "deny" ? { denied: true } : {}),
    ...(d.reason ? { reason: d.reason } : {}),
  };
  sendJson(res, 201, out);
}
