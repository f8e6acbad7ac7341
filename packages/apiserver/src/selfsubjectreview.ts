// SelfSubjectReview (authentication.k8s.io): a create-only, never-stored resource that tells
// the caller who the apiserver thinks they are — what `kubectl auth whoami` asks for.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { UserInfo } from "./auth.js";
import { MethodNotAllowedError } from "./errors.js";
import { bodyType, decodeObject, readBody, sendJson } from "./request.js";

const GROUP = "authentication.k8s.io";
/** v1 is Kubernetes 1.28+; kubectl 1.26–1.27 ask for v1beta1 or v1alpha1 first. */
export const SELF_SUBJECT_REVIEW_VERSIONS = ["v1", "v1beta1", "v1alpha1"];

/** Whether the path segments name selfsubjectreviews. */
export function isSelfSubjectReview(segments: string[]): boolean {
  return (
    segments.length === 4 &&
    segments[0] === "apis" &&
    segments[1] === GROUP &&
    SELF_SUBJECT_REVIEW_VERSIONS.includes(segments[2]!) &&
    segments[3] === "selfsubjectreviews"
  );
}

export async function serveSelfSubjectReview(
  segments: string[],
  req: IncomingMessage,
  res: ServerResponse,
  user: UserInfo,
): Promise<void> {
  if (req.method !== "POST")
    throw new MethodNotAllowedError(req.method ?? "", "selfsubjectreviews");
  const body = await readBody(req);
  // The body carries nothing the review uses, but it must be a well-formed object.
  if (body.length) decodeObject(body, bodyType(req, ["json", "yaml", "protobuf"]));
  const userInfo: Record<string, unknown> = { username: user.name, groups: user.groups };
  if (user.uid) userInfo.uid = user.uid;
  sendJson(res, 201, {
    kind: "SelfSubjectReview",
    apiVersion: `${GROUP}/${segments[2]}`,
    metadata: { creationTimestamp: null },
    status: { userInfo },
  });
}
