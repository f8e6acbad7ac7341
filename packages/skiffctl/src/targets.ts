// Turns the positional arguments of get/describe/delete/label… into resources and names:
// `deploy web api`, `deploy,svc`, `all`, or `deploy/web svc/web`.
import { type Ctx } from "./context.js";
import { CommandError } from "./errors.js";
import { resourcePath, type ApiResource } from "./discovery.js";
import { placeObject, readManifests } from "./manifests.js";

export interface Target {
  resource: ApiResource;
  /** Empty: every object (that the selectors match). */
  names: string[];
}

export async function resolveTargets(ctx: Ctx, positional: string[]): Promise<Target[]> {
  if (positional.length === 0) {
    throw new CommandError(
      'error: you must specify the type of resource to get. Use "skiffctl api-resources" for a complete list of supported resources.',
    );
  }
  const out: Target[] = [];
  const add = (resource: ApiResource, names: string[]): void => {
    const same = out.find((t) => t.resource === resource);
    if (same) same.names.push(...names);
    else out.push({ resource, names: [...names] });
  };
  if (positional[0]!.includes("/")) {
    for (const arg of positional) {
      const slash = arg.indexOf("/");
      if (slash <= 0 || slash === arg.length - 1) {
        throw new CommandError(
          `error: there is no need to specify a resource type as a separate argument when passing arguments in resource/name form (e.g. 'skiffctl get resource/<resource_name>' instead of 'skiffctl get resource resource/<resource_name>'`,
        );
      }
      add(await ctx.discovery.resolve(arg.slice(0, slash)), [arg.slice(slash + 1)]);
    }
    return out;
  }
  const [types, ...names] = positional;
  for (const t of types!.split(",").filter((x) => x !== "")) {
    if (t === "all") {
      for (const r of await ctx.discovery.category("all")) add(r, names);
    } else {
      add(await ctx.discovery.resolve(t), names);
    }
  }
  return out;
}

/** The namespace a request for `r` goes to: none for cluster-scoped or -A lists. */
export function namespaceFor(ctx: Ctx, r: ApiResource, listing: boolean): string | undefined {
  if (!r.namespaced) return undefined;
  if (listing && ctx.allNamespaces) return undefined;
  return ctx.namespace;
}

/** Lists every object of a resource (following `continue`), as plain JSON objects. */
export async function listObjects(
  ctx: Ctx,
  r: ApiResource,
  namespace: string | undefined,
  query: Record<string, string | undefined> = {},
): Promise<{ items: Record<string, unknown>[]; resourceVersion: string }> {
  const items: Record<string, unknown>[] = [];
  let cont: string | undefined;
  let resourceVersion: string;
  do {
    const v = await ctx.rest.request("GET", resourcePath(r, namespace), {
      query: { ...query, limit: 500, continue: cont },
    });
    const list = v as {
      items?: unknown;
      metadata?: { continue?: string; resourceVersion?: string };
    };
    for (const item of Array.isArray(list.items) ? list.items : []) {
      if (typeof item === "object" && item !== null) items.push(item as Record<string, unknown>);
    }
    cont = list.metadata?.continue || undefined;
    resourceVersion = list.metadata?.resourceVersion ?? "";
  } while (cont);
  return { items, resourceVersion };
}

/** The `-l` and `--field-selector` query of a list. */
export function selectorQuery(ctx: Ctx): Record<string, string | undefined> {
  const l = ctx.args.selector;
  const f = ctx.args.fieldSelector;
  return {
    labelSelector: typeof l === "string" && l !== "" ? l : undefined,
    fieldSelector: typeof f === "string" && f !== "" ? f : undefined,
  };
}

export function metaOf(obj: unknown): { name: string; namespace?: string; [k: string]: unknown } {
  const m =
    typeof obj === "object" && obj !== null ? (obj as { metadata?: unknown }).metadata : undefined;
  const meta = typeof m === "object" && m !== null ? (m as Record<string, unknown>) : {};
  return {
    ...meta,
    name: typeof meta.name === "string" ? meta.name : "",
    ...(typeof meta.namespace === "string" ? { namespace: meta.namespace } : {}),
  };
}

/** One object a command acts on. */
export interface ObjectRef {
  resource: ApiResource;
  namespace: string | undefined;
  name: string;
}

/** The objects named by resource arguments, -f, -l or --all. */
export async function objectsFrom(ctx: Ctx, positional: string[]): Promise<ObjectRef[]> {
  const out: ObjectRef[] = [];
  if (Array.isArray(ctx.args.filename) && ctx.args.filename.length > 0) {
    for (const obj of await readManifests(ctx)) out.push(await placeObject(ctx, obj));
    return out;
  }
  for (const { resource, names } of await resolveTargets(ctx, positional)) {
    if (names.length > 0) {
      for (const name of names)
        out.push({ resource, namespace: namespaceFor(ctx, resource, false), name });
    } else if (ctx.args.selector !== undefined || ctx.args.all === true) {
      const { items } = await listObjects(
        ctx,
        resource,
        namespaceFor(ctx, resource, true),
        selectorQuery(ctx),
      );
      for (const item of items) {
        const m = metaOf(item);
        out.push({ resource, namespace: m.namespace, name: m.name });
      }
    } else {
      throw new CommandError("error: resource(s) were provided, but no name was specified");
    }
  }
  return out;
}
