// POST pods/{name}/binding: the scheduler's assignment of a pod to a node.
import { InvalidError } from "../errors.js";
import { get, isObject } from "../objects.js";
import { bodyType, decodeObject, readBody } from "../request.js";
import { bindPod } from "../strategies/pod.js";
import type { RequestContext } from "./context.js";
import { admissionOf, admitRequest } from "./admission.js";
import { dryRun } from "./params.js";
import { checkIdentity, sendCreated } from "./respond.js";

/** POST pods/{name}/binding: checks the Binding, admits it, and binds the pod (strategies/pod.ts). */
export async function bind(r: RequestContext): Promise<void> {
  const { namespace, name } = r.route;
  const body = decodeObject(await readBody(r.req), bodyType(r.req, ["json", "yaml", "protobuf"]));
  checkIdentity(r, body, "Binding", "v1");
  await admitRequest(
    r,
    "CREATE",
    body,
    { group: "", version: "v1", kind: "Binding" },
    admissionOf(r, "CreateOptions"),
  );
  const target = body.target;
  const node = isObject(target) ? target.name : undefined;
  if (typeof node !== "string" || node === "") {
    throw new InvalidError("Binding", "", name!, [
      { type: "FieldValueRequired", field: "target.name", message: "Required value" },
    ]);
  }
  const reg = r.ctx.registry(r.route.info);
  await reg.update(namespace, name!, (cur) => bindPod(cur, node, get(body, "metadata", "uid")), {
    dryRun: dryRun(r.query),
    skipUpdateValidation: true,
    withStatus: true,
    mutatesInPlace: true,
    defaulted: true,
  });
  // The binding changes spec and status together, which the main resource alone cannot.
  sendCreated(r);
}
