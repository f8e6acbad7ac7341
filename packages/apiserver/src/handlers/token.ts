// POST serviceaccounts/{name}/token: TokenRequest, a signed token for a service account.
import { resourceInfo } from "@skiff/api";
import { ConflictError, InvalidError, NotConfiguredError } from "../errors.js";
import { isObject, meta } from "../objects.js";
import { bodyType, decodeObject, readBody, sendJson } from "../request.js";
import type { RequestContext } from "./context.js";
import { checkIdentity } from "./respond.js";

/** TokenRequest: a signed token for a service account, optionally bound to a pod. */
export async function requestToken(r: RequestContext): Promise<void> {
  const { namespace, name } = r.route;
  if (!r.ctx.tokens) {
    throw new NotConfiguredError("this apiserver has no --service-account-signing-key-file");
  }
  const body = decodeObject(await readBody(r.req), bodyType(r.req, ["json", "yaml", "protobuf"]));
  checkIdentity(r, body, "TokenRequest", "authentication.k8s.io/v1");
  const spec = isObject(body.spec) ? body.spec : {};
  const audiences = spec.audiences ?? [];
  if (!Array.isArray(audiences) || audiences.some((a) => typeof a !== "string")) {
    throw new InvalidError("TokenRequest", "authentication.k8s.io", name!, [
      {
        type: "FieldValueInvalid",
        field: "spec.audiences",
        message: "Invalid value: must be a list of strings",
      },
    ]);
  }
  const expirationSeconds = spec.expirationSeconds ?? 3600;
  if (
    typeof expirationSeconds !== "number" ||
    !Number.isInteger(expirationSeconds) ||
    expirationSeconds < (r.ctx.minTokenExpirationSeconds ?? 600)
  ) {
    throw new InvalidError("TokenRequest", "authentication.k8s.io", name!, [
      {
        type: "FieldValueInvalid",
        field: "spec.expirationSeconds",
        message: `Invalid value: ${JSON.stringify(expirationSeconds)}: may not specify a duration less than 10 minutes`,
      },
    ]);
  }
  await r.ctx.admitTokenRequest?.(r.user, namespace!, name!, spec.boundObjectRef);
  const account = await r.ctx.registry(r.route.info).get(namespace, name!);
  let pod: { name: string; uid: string } | undefined;
  const bound = spec.boundObjectRef;
  if (isObject(bound) && bound.kind === "Pod" && typeof bound.name === "string") {
    const podInfo = resourceInfo("", "v1", "pods");
    const p = await r.ctx.registry(podInfo).get(namespace, bound.name);
    if (typeof bound.uid === "string" && bound.uid !== meta(p).uid) {
      throw new ConflictError(
        { kind: "pods", group: "", name: bound.name },
        "the bound object's uid does not match",
      );
    }
    pod = { name: bound.name, uid: meta(p).uid! };
  }
  const { token, expirationTimestamp } = await r.ctx.tokens.issue({
    namespace: namespace!,
    serviceAccount: { name: name!, uid: meta(account).uid! },
    pod,
    audiences: audiences as string[],
    expirationSeconds,
  });
  sendJson(r.res, 201, {
    kind: "TokenRequest",
    apiVersion: "authentication.k8s.io/v1",
    metadata: { name, namespace, creationTimestamp: null },
    spec: {
      ...spec,
      audiences: (audiences as string[]).length ? audiences : r.ctx.tokens.apiAudiences,
      expirationSeconds,
    },
    status: { token, expirationTimestamp },
  });
}
