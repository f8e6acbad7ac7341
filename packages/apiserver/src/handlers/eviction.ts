// POST pods/{name}/eviction: a PodDisruptionBudget-respecting delete (rules in ../eviction.ts).
import { resourceInfo } from "@skiff/api";
import { evictPod } from "../eviction.js";
import { isObject } from "../objects.js";
import { bodyType, decodeObject, readBody } from "../request.js";
import type { RequestContext } from "./context.js";
import { admissionOf, admitRequest } from "./admission.js";
import { readDeleteOptions } from "./delete.js";
import { checkIdentity, sendCreated } from "./respond.js";

/** POST pods/{name}/eviction: admits the Eviction, then deletes the pod if its budgets allow. */
export async function evict(r: RequestContext): Promise<void> {
  const { namespace, name } = r.route;
  const body = decodeObject(await readBody(r.req), bodyType(r.req, ["json", "protobuf"]));
  checkIdentity(
    r,
    body,
    "Eviction",
    typeof body.apiVersion === "string" && body.apiVersion === "policy/v1beta1"
      ? "policy/v1beta1"
      : "policy/v1",
  );
  const policyVersion = String(body.apiVersion).split("/")[1] ?? "v1";
  const admitted = await admitRequest(
    r,
    "CREATE",
    body,
    { group: "policy", version: policyVersion, kind: "Eviction" },
    admissionOf(r, "CreateOptions"),
  );
  const deleteOptions = isObject(admitted.deleteOptions) ? admitted.deleteOptions : {};
  const opts = readDeleteOptions(Buffer.from(JSON.stringify(deleteOptions)), new URLSearchParams());
  await evictPod(
    (resource, group) => r.ctx.registry(resourceInfo(group, "v1", resource)),
    namespace!,
    name!,
    opts,
  );
  sendCreated(r);
}
