// TokenReview (authentication.k8s.io/v1): a create-only, never-stored review that says whom
// a bearer token belongs to — how a kubelet (or any webhook) authenticates tokens it is
// handed, through the apiserver's own authenticators.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Authenticator } from "./auth.js";
import { InvalidError, MethodNotAllowedError } from "./errors.js";
import { isObject } from "./objects.js";
import { bodyType, decodeObject, readBody, sendJson } from "./request.js";

const GROUP = "authentication.k8s.io";

/** Whether the path segments name tokenreviews. */
export function isTokenReview(segments: string[]): boolean {
  return (
    segments.length === 4 &&
    segments[0] === "apis" &&
    segments[1] === GROUP &&
    segments[2] === "v1" &&
    segments[3] === "tokenreviews"
  );
}

export async function serveTokenReview(
  req: IncomingMessage,
  res: ServerResponse,
  auth: Authenticator,
  apiAudiences: string[],
): Promise<void> {
  if (req.method !== "POST") throw new MethodNotAllowedError(req.method ?? "", "tokenreviews");
  const body = decodeObject(await readBody(req), bodyType(req, ["json", "yaml", "protobuf"]));
  const spec = isObject(body.spec) ? body.spec : {};
  const invalid = (field: string, message: string): InvalidError =>
    new InvalidError("TokenReview", GROUP, "", [{ type: "FieldValueRequired", field, message }]);
  if (typeof spec.token !== "string" || spec.token === "")
    throw invalid("spec.token", "Required value");
  const asked = spec.audiences;
  if (asked !== undefined && (!Array.isArray(asked) || asked.some((a) => typeof a !== "string")))
    throw invalid("spec.audiences", "Invalid value: must be a list of strings");
  const audiences = (asked as string[] | undefined)?.length ? (asked as string[]) : undefined;
  const review = await auth.reviewToken(spec.token, audiences);
  const status: Record<string, unknown> = { authenticated: "user" in review };
  if ("user" in review) {
    const { user } = review;
    const info: Record<string, unknown> = { username: user.name, groups: user.groups };
    if (user.uid) info.uid = user.uid;
    if (user.extra) info.extra = user.extra;
    status.user = info;
    status.audiences = audiences ?? apiAudiences;
  } else {
    status.user = {};
    status.error = review.error;
  }
  sendJson(res, 201, {
    kind: "TokenReview",
    apiVersion: `${GROUP}/v1`,
    metadata: { creationTimestamp: null },
    spec,
    status,
  });
}
