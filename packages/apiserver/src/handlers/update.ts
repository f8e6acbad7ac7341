// PUT and PATCH of an object and of its status and ephemeralcontainers subresources: merge,
// JSON, strategic merge patches and server-side apply, with managed fields tracked.
import { apiVersionOf } from "@skiff/api";
import { BadRequestError, MethodNotAllowedError } from "../errors.js";
import { clone, get, isObject, now, type KubeObject } from "../objects.js";
import { serverSideApply } from "../patch/index.js";
import { boolParam } from "../query.js";
import { bodyType, decode, decodeObject, readBody } from "../request.js";
import type { RequestContext } from "./context.js";
import { admissionOf } from "./admission.js";
import { dryRun, fieldManager, fieldValidation, rvOf, writableSubresource } from "./params.js";
import { checkIdentity, handleUnknownFields, respond } from "./respond.js";
import { patchScale, replaceScale } from "./scale.js";
import { applyPatch, patchErrors, patchPrecondition, trackedUpdate } from "./patch.js";

/** PUT of an object or of its status, ephemeralcontainers, scale or finalize subresource. */
export async function replace(r: RequestContext): Promise<void> {
  const { info, namespace, name, subresource } = r.route;
  const type = bodyType(r.req, ["json", "yaml", "protobuf"]);
  const body = decodeObject(await readBody(r.req), type);
  const reg = r.ctx.registry(info);
  const manager = fieldManager(r.req, r.query, false);
  const dry = dryRun(r.query);
  if (subresource === "scale") return replaceScale(r, body);
  if (subresource === "finalize") {
    checkIdentity(r, body);
    const { object } = await reg.update(
      namespace,
      name!,
      (cur) => {
        const next = clone(cur);
        next.spec = {
          ...((cur.spec as object) ?? {}),
          finalizers: get(body, "spec", "finalizers") ?? [],
        };
        return next;
      },
      { dryRun: dry, precondition: rvOf(body), skipUpdateValidation: true },
    );
    respond(r, 200, object);
    return;
  }
  const written = writableSubresource(subresource);
  if (subresource && !written)
    throw new MethodNotAllowedError("PUT", `${info.resource}/${subresource}`);
  checkIdentity(r, body);
  const obj = body as KubeObject;
  const warnings = handleUnknownFields(r, obj, fieldValidation(r.query));
  const admission = admissionOf(r, "UpdateOptions");
  const { object, created } = await reg.update(
    namespace,
    name!,
    (cur) => trackedUpdate(info, cur, obj, manager),
    {
      subresource: written,
      dryRun: dry,
      precondition: rvOf(obj),
      admission,
    },
  );
  respond(r, created ? 201 : 200, object, [...warnings, ...admission.warnings]);
}

/** PATCH of an object or of its status, ephemeralcontainers or scale subresource. */
export async function patch(r: RequestContext): Promise<void> {
  const { info, namespace, name, subresource } = r.route;
  const type = bodyType(r.req, ["merge", "jsonpatch", "strategic", "apply"]);
  const patchBody = decode(await readBody(r.req), type, "patch");
  const reg = r.ctx.registry(info);
  const dry = dryRun(r.query);
  const mode = fieldValidation(r.query);
  const apiVersion = apiVersionOf(info);
  if (subresource === "scale") return patchScale(r, type, patchBody);
  const status = writableSubresource(subresource);
  if (subresource && !status)
    throw new MethodNotAllowedError("PATCH", `${info.resource}/${subresource}`);
  let warnings: string[] = [];
  // Kubernetes shows webhooks a patch as the update (or create) it performs.
  const admission = admissionOf(r, "UpdateOptions");
  if (type === "apply") {
    if (!isObject(patchBody)) throw new BadRequestError("an apply patch must be an object");
    checkIdentity(r, patchBody);
    const manager = fieldManager(r.req, r.query, true);
    const force = boolParam(r.query, "force");
    warnings = handleUnknownFields(r, patchBody as KubeObject, mode);
    const apply = (live: KubeObject | undefined) =>
      patchErrors(
        () =>
          serverSideApply({
            live,
            applied: patchBody,
            manager,
            force,
            apiVersion,
            now: now(),
            kind: info,
            ignoreStatus: status !== "status",
          }) as KubeObject,
      );
    const { object, created } = await reg.update(namespace, name!, apply, {
      subresource: status,
      dryRun: dry,
      // An apply to the object itself creates it when missing.
      create: status === undefined ? () => apply(undefined) : undefined,
      precondition: rvOf(patchBody),
      admission,
    });
    respond(r, created ? 201 : 200, object, [...warnings, ...admission.warnings]);
    return;
  }
  const manager = fieldManager(r.req, r.query, false);
  const { object } = await reg.update(
    namespace,
    name!,
    (cur) => {
      const next = patchErrors(() => applyPatch(type, cur, patchBody, info));
      if (!isObject(next)) throw new BadRequestError("the patch did not produce an object");
      const obj = next as KubeObject;
      checkIdentity(r, obj);
      warnings = handleUnknownFields(r, obj, mode);
      return trackedUpdate(info, cur, obj, manager);
    },
    {
      subresource: status,
      dryRun: dry,
      precondition: patchPrecondition(type, patchBody),
      admission,
    },
  );
  respond(r, 200, object, [...warnings, ...admission.warnings]);
}
