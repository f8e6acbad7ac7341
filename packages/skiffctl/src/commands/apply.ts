// `create -f` and `apply -f` (client-side with the last-applied annotation, or --server-side).
import { isNotFound } from "@skiff/client";
import {
  lastAppliedAnnotation,
  readManifests,
  threeWayPatch,
  withLastApplied,
  type Obj,
} from "../apply.js";
import { CommandError, errorLine, str, type Ctx } from "../context.js";
import { kindPrefix, resourcePath, type ApiResource } from "../discovery.js";

function isRecord(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Finds an object's resource and namespace, and fills metadata.namespace in. */
export async function placeObject(
  ctx: Ctx,
  obj: Obj,
): Promise<{ resource: ApiResource; namespace: string | undefined; name: string }> {
  const resource = await ctx.discovery.forKind(String(obj.apiVersion), String(obj.kind));
  const meta = isRecord(obj.metadata) ? obj.metadata : (obj.metadata = {});
  const name = typeof meta.name === "string" ? meta.name : "";
  if (!resource.namespaced) return { resource, namespace: undefined, name };
  const explicit = str(ctx.args.namespace);
  const own =
    typeof meta.namespace === "string" && meta.namespace !== "" ? meta.namespace : undefined;
  if (explicit && own && explicit !== own) {
    throw new CommandError(
      `error: the namespace from the provided object "${own}" does not match the namespace "${explicit}". You must pass '--namespace=${own}' to perform this operation.`,
    );
  }
  const namespace = own ?? ctx.namespace;
  meta.namespace = namespace;
  return { resource, namespace, name };
}

/** Runs `each` over every manifest; failures are printed and make the exit code 1. */
async function forEachManifest(ctx: Ctx, each: (obj: Obj) => Promise<void>): Promise<number> {
  const objects = await readManifests(ctx);
  let failed = 0;
  for (const obj of objects) {
    try {
      await each(obj);
    } catch (e) {
      failed++;
      ctx.err(errorLine(e) + "\n");
    }
  }
  return failed > 0 ? 1 : 0;
}

export async function create(ctx: Ctx): Promise<number> {
  return forEachManifest(ctx, async (obj) => {
    const { resource, namespace } = await placeObject(ctx, obj);
    const created = await ctx.rest.request("POST", resourcePath(resource, namespace), {
      body: obj,
      query: { fieldManager: "kubectl-create", fieldValidation: "Strict" },
    });
    const name = isRecord(created) && isRecord(created.metadata) ? created.metadata.name : "";
    ctx.out(`${kindPrefix(resource)}/${String(name)} created\n`);
  });
}

export async function apply(ctx: Ctx): Promise<number> {
  const serverSide = ctx.args.serverSide === true;
  return forEachManifest(ctx, async (obj) => {
    const { resource, namespace, name } = await placeObject(ctx, obj);
    if (!name) throw new CommandError("error: resource name may not be empty");
    const path = resourcePath(resource, namespace, name);
    const prefix = `${kindPrefix(resource)}/${name}`;
    if (serverSide) {
      await ctx.rest.request("PATCH", path, {
        body: obj,
        contentType: "application/apply-patch+yaml",
        query: {
          fieldManager: str(ctx.args.fieldManager) ?? "kubectl",
          fieldValidation: "Strict",
          force: ctx.args.forceConflicts === true,
        },
      });
      ctx.out(`${prefix} serverside-applied\n`);
      return;
    }
    let live: Obj | undefined;
    try {
      const v = await ctx.rest.request("GET", path);
      if (isRecord(v)) live = v;
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    const modified = withLastApplied(obj);
    const query = { fieldManager: "kubectl-client-side-apply", fieldValidation: "Strict" };
    if (!live) {
      await ctx.rest.request("POST", resourcePath(resource, namespace), { body: modified, query });
      ctx.out(`${prefix} created\n`);
      return;
    }
    const annotations =
      isRecord(live.metadata) && isRecord(live.metadata.annotations)
        ? live.metadata.annotations
        : {};
    const lastApplied = annotations[lastAppliedAnnotation];
    let original: Obj | undefined;
    if (typeof lastApplied === "string") {
      try {
        const parsed: unknown = JSON.parse(lastApplied);
        if (isRecord(parsed)) original = parsed;
      } catch {
        original = undefined;
      }
    }
    const patch = threeWayPatch(original, modified, live);
    if (Object.keys(patch).length === 0) {
      ctx.out(`${prefix} unchanged\n`);
      return;
    }
    await ctx.rest.request("PATCH", path, {
      body: patch,
      contentType: "application/strategic-merge-patch+json",
      query,
    });
    ctx.out(`${prefix} configured\n`);
  });
}
