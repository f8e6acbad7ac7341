// `create -f` and `apply -f`: client-side with the last-applied annotation and kubectl's
// three-way strategic merge patch (last-applied, new manifest, live object), or --server-side.
import { isObject } from "@skiff/api";
import { isNotFound } from "@skiff/client";
import { placeObject, readManifests, type Obj } from "../manifests.js";
import { sortKeys } from "../printers.js";
import { str, type Ctx } from "../context.js";
import { CommandError, errorLine } from "../errors.js";
import { kindPrefix, resourcePath } from "../discovery.js";

export const lastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration";

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
    const name = isObject(created) && isObject(created.metadata) ? created.metadata.name : "";
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
      if (isObject(v)) live = v;
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
      isObject(live.metadata) && isObject(live.metadata.annotations)
        ? live.metadata.annotations
        : {};
    const lastApplied = annotations[lastAppliedAnnotation];
    let original: Obj | undefined;
    if (typeof lastApplied === "string") {
      try {
        const parsed: unknown = JSON.parse(lastApplied);
        if (isObject(parsed)) original = parsed;
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

// ---- three-way strategic merge patch ------------------------------------------------------

/**
 * Lists that merge by a key in a strategic merge patch (Kubernetes' patchMergeKey tags),
 * by the field's path with list positions left out. Other lists are replaced whole.
 */
const mergeKeys: [RegExp, string][] = [
  [/(^|\.)(containers|initContainers|ephemeralContainers)$/, "name"],
  [/(containers|initContainers|ephemeralContainers)\.ports$/, "containerPort"],
  [/(containers|initContainers|ephemeralContainers)\.env$/, "name"],
  [/(containers|initContainers|ephemeralContainers)\.volumeMounts$/, "mountPath"],
  [/(containers|initContainers|ephemeralContainers)\.volumeDevices$/, "devicePath"],
  [/(^|\.)spec(\.template\.spec)?\.volumes$/, "name"],
  [/(^|\.)imagePullSecrets$/, "name"],
  [/(^|\.)hostAliases$/, "ip"],
  [/^spec\.ports$/, "port"],
  [/(^|\.)metadata\.ownerReferences$/, "uid"],
  [/(^|\.)status\.conditions$/, "type"],
];

function mergeKeyFor(path: string): string | undefined {
  return mergeKeys.find(([re]) => re.test(path))?.[1];
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => k in b && deepEqual(a[k], b[k]));
  }
  return false;
}

const join2 = (path: string, key: string): string => (path ? `${path}.${key}` : key);

/**
 * The patch that turns `current` into `modified` while deleting only what `original` (the
 * last-applied configuration) had and `modified` dropped. Fields set by others are kept.
 */
export function threeWayPatch(
  original: Obj | undefined,
  modified: Obj,
  current: Obj,
  path = "",
): Obj {
  const patch: Obj = {};
  for (const [key, m] of Object.entries(modified)) {
    const c = current[key];
    const o = original?.[key];
    const here = join2(path, key);
    if (isObject(m) && isObject(c)) {
      const sub = threeWayPatch(isObject(o) ? o : undefined, m, c, here);
      if (Object.keys(sub).length > 0) patch[key] = sub;
      continue;
    }
    const mergeKey = mergeKeyFor(here);
    if (mergeKey && Array.isArray(m) && Array.isArray(c) && m.every(isObject)) {
      const sub = listPatch(
        Array.isArray(o) ? o.filter(isObject) : [],
        m,
        c.filter(isObject),
        mergeKey,
        here,
      );
      if (sub) {
        patch[`$setElementOrder/${key}`] = m.map((e) => ({ [mergeKey]: e[mergeKey] }));
        patch[key] = sub;
      }
      continue;
    }
    if (!deepEqual(m, c)) patch[key] = m;
  }
  for (const key of Object.keys(original ?? {})) {
    if (!(key in modified) && key in current) patch[key] = null;
  }
  return patch;
}

function listPatch(
  original: Obj[],
  modified: Obj[],
  current: Obj[],
  key: string,
  path: string,
): Obj[] | undefined {
  const out: Obj[] = [];
  const find = (list: Obj[], e: Obj): Obj | undefined =>
    list.find((x) => deepEqual(x[key], e[key]));
  for (const m of modified) {
    const c = find(current, m);
    if (!c) {
      out.push(m);
      continue;
    }
    const sub = threeWayPatch(find(original, m), m, c, path);
    if (Object.keys(sub).length > 0) out.push({ [key]: m[key], ...sub });
  }
  for (const o of original) {
    if (!find(modified, o) && find(current, o)) out.push({ [key]: o[key], $patch: "delete" });
  }
  const order = (list: Obj[]): string => JSON.stringify(list.map((e) => e[key]));
  const sameOrder = order(modified) === order(current.filter((c) => find(modified, c)));
  return out.length > 0 || !sameOrder ? out : undefined;
}

/** The manifest as kubectl stores it in the last-applied annotation (without that annotation). */
export function lastAppliedOf(obj: Obj): string {
  const copy = structuredClone(obj);
  const meta = isObject(copy.metadata) ? copy.metadata : {};
  // Like kubectl: an empty annotations map stays, keys are sorted (Go's map order).
  const annotations = isObject(meta.annotations) ? meta.annotations : {};
  delete annotations[lastAppliedAnnotation];
  meta.annotations = annotations;
  copy.metadata = meta;
  return JSON.stringify(sortKeys(copy));
}

/** The manifest with its last-applied annotation set, as apply sends it. */
export function withLastApplied(obj: Obj): Obj {
  const copy = structuredClone(obj);
  const meta = isObject(copy.metadata) ? copy.metadata : (copy.metadata = {});
  const annotations = isObject(meta.annotations) ? meta.annotations : (meta.annotations = {});
  annotations[lastAppliedAnnotation] = lastAppliedOf(obj) + "\n";
  return copy;
}
