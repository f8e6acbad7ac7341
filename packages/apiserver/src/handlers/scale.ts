// The scale subresource: the autoscaling/v1 Scale view of a Deployment, ReplicaSet,
// StatefulSet, ReplicationController or custom resource, read (GET), replaced (PUT) and patched.
import type { ResourceInfo } from "@skiff/api";
import { readJsonPath } from "@skiff/api";
import { BadRequestError, InvalidError } from "../errors.js";
import { clone, get, isObject, meta, type KubeObject } from "../objects.js";
import type { BodyType } from "../request.js";
import type { RequestContext } from "./context.js";
import { admissionOf, admitRequest } from "./admission.js";
import { dryRun, rvOf } from "./params.js";
import { checkIdentity, respond } from "./respond.js";
import { applyPatch, patchErrors, patchPrecondition } from "./patch.js";

const SCALE_KIND = { group: "autoscaling", version: "v1", kind: "Scale" };

// The autoscaling/v1 Scale view of a Deployment, ReplicaSet or ReplicationController, or of
// a custom resource whose CRD names where its replicas and selector live.
export function toScale(obj: KubeObject, info?: ResourceInfo): Record<string, unknown> {
  const m = meta(obj);
  const custom = info?.custom?.scale;
  let replicas: unknown;
  let current: unknown;
  let selector: string | undefined;
  if (custom) {
    replicas = readJsonPath(obj, custom.specReplicasPath);
    current = readJsonPath(obj, custom.statusReplicasPath);
    const sel = custom.labelSelectorPath ? readJsonPath(obj, custom.labelSelectorPath) : undefined;
    selector = typeof sel === "string" && sel ? sel : undefined;
  } else {
    replicas = get(obj, "spec", "replicas");
    current = get(obj, "status", "replicas");
    const sel = get(obj, "spec", "selector");
    // A ReplicationController's selector is a plain label map.
    selector = !isObject(sel)
      ? ""
      : info?.kind === "ReplicationController"
        ? selectorString({ matchLabels: sel })
        : selectorString(sel);
  }
  return {
    kind: "Scale",
    apiVersion: "autoscaling/v1",
    metadata: {
      name: m.name,
      namespace: m.namespace,
      uid: m.uid,
      resourceVersion: m.resourceVersion,
      creationTimestamp: m.creationTimestamp,
    },
    spec: { replicas: typeof replicas === "number" ? replicas : 0 },
    status: {
      replicas: typeof current === "number" ? current : 0,
      ...(selector !== undefined ? { selector } : {}),
    },
  };
}

function selectorString(sel: Record<string, unknown>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries((sel.matchLabels as Record<string, string>) ?? {}))
    parts.push(`${k}=${v}`);
  for (const e of (sel.matchExpressions as Record<string, unknown>[]) ?? []) {
    const values = ((e.values as string[]) ?? []).join(",");
    if (e.operator === "In") parts.push(`${String(e.key)} in (${values})`);
    else if (e.operator === "NotIn") parts.push(`${String(e.key)} notin (${values})`);
    else if (e.operator === "Exists") parts.push(String(e.key));
    else if (e.operator === "DoesNotExist") parts.push(`!${String(e.key)}`);
  }
  return parts.join(",");
}

function scaleInto(cur: KubeObject, scale: unknown, info: ResourceInfo): KubeObject {
  const replicas = get(scale, "spec", "replicas");
  if (typeof replicas !== "number" || !Number.isInteger(replicas) || replicas < 0) {
    throw new InvalidError("Scale", "autoscaling", meta(cur).name ?? "", [
      {
        type: "FieldValueInvalid",
        field: "spec.replicas",
        message: `Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`,
      },
    ]);
  }
  const next = clone(cur);
  const path = info.custom?.scale?.specReplicasPath;
  if (path) {
    // Sets .spec.a.b = replicas, creating the objects on the way.
    const parts = path.replace(/^\./, "").split(".");
    let at: Record<string, unknown> = next;
    for (const p of parts.slice(0, -1)) {
      if (!isObject(at[p])) at[p] = {};
      at = at[p] as Record<string, unknown>;
    }
    at[parts[parts.length - 1]!] = replicas;
    return next;
  }
  (next.spec as Record<string, unknown>).replicas = replicas;
  return next;
}

/** PUT {resource}/{name}/scale: a whole Scale, admitted as an UPDATE of the Scale. */
export async function replaceScale(
  r: RequestContext,
  body: Record<string, unknown>,
): Promise<void> {
  const { info, namespace, name } = r.route;
  checkIdentity(r, body, "Scale", "autoscaling/v1");
  const admission = admissionOf(r, "UpdateOptions");
  const result = await r.ctx
    .registry(info)
    .update(
      namespace,
      name!,
      async (cur) =>
        scaleInto(
          cur,
          await admitRequest(r, "UPDATE", body, SCALE_KIND, admission, toScale(cur, info)),
          info,
        ),
      { precondition: rvOf(body), dryRun: dryRun(r.query) },
    );
  respond(r, 200, toScale(result.object, info), admission.warnings);
}

/** PATCH {resource}/{name}/scale: a merge, JSON or strategic patch of the Scale view. */
export async function patchScale(
  r: RequestContext,
  type: BodyType,
  patchBody: unknown,
): Promise<void> {
  const { info, namespace, name } = r.route;
  if (type === "apply")
    throw new BadRequestError("apply patches are not supported on the scale subresource");
  const admission = admissionOf(r, "UpdateOptions");
  const { object } = await r.ctx.registry(info).update(
    namespace,
    name!,
    async (cur) => {
      const old = toScale(cur, info);
      const scale = patchErrors(() => applyPatch(type, old, patchBody, info));
      if (!isObject(scale)) throw new BadRequestError("the patch did not produce an object");
      return scaleInto(
        cur,
        await admitRequest(r, "UPDATE", scale, SCALE_KIND, admission, old),
        info,
      );
    },
    { dryRun: dryRun(r.query), precondition: patchPrecondition(type, patchBody) },
  );
  respond(r, 200, toScale(object, info), admission.warnings);
}
