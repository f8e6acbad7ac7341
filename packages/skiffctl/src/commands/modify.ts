// `scale`, `label` and `annotate`: small patches to existing objects.
import { strings, type Ctx } from "../context.js";
import { CommandError } from "../errors.js";
import { kindPrefix, resourcePath } from "../discovery.js";
import { objectsFrom } from "../targets.js";

export async function scale(ctx: Ctx): Promise<void> {
  const replicas = ctx.args.replicas;
  if (typeof replicas !== "number" || !Number.isInteger(replicas) || replicas < 0) {
    throw new CommandError(
      "error: The --replicas=COUNT flag is required, and COUNT must be greater than or equal to 0",
    );
  }
  for (const f of await objectsFrom(ctx, strings(ctx.args.resources))) {
    const path = resourcePath(f.resource, f.namespace, f.name, "scale");
    const current = ctx.args.currentReplicas;
    if (typeof current === "number") {
      const s = (await ctx.rest.request("GET", path)) as { spec?: { replicas?: number } };
      const was = s.spec?.replicas ?? 0;
      if (was !== current)
        throw new CommandError(`error: Expected replicas to be ${current}, was ${was}`);
    }
    await ctx.rest.request("PATCH", path, {
      body: { spec: { replicas } },
      contentType: "application/merge-patch+json",
    });
    ctx.out(`${kindPrefix(f.resource)}/${f.name} scaled\n`);
  }
}

/** Splits `label`/`annotate` arguments into resources and `k=v` / `k-` changes. */
function splitChanges(args: string[]): {
  resources: string[];
  set: Record<string, string>;
  remove: string[];
} {
  const resources: string[] = [];
  const set: Record<string, string> = {};
  const remove: string[] = [];
  for (const a of args) {
    const eq = a.indexOf("=");
    if (eq > 0) set[a.slice(0, eq)] = a.slice(eq + 1);
    else if (a.endsWith("-") && a.length > 1 && resources.length > 0) remove.push(a.slice(0, -1));
    else resources.push(a);
  }
  if (Object.keys(set).length === 0 && remove.length === 0) {
    throw new CommandError("error: at least one label update is required");
  }
  return { resources, set, remove };
}

async function changeMap(ctx: Ctx, field: "labels" | "annotations", verb: string): Promise<void> {
  const { resources, set, remove } = splitChanges(strings(ctx.args.args));
  for (const f of await objectsFrom(ctx, resources)) {
    const path = resourcePath(f.resource, f.namespace, f.name);
    const live = (await ctx.rest.request("GET", path)) as { metadata?: Record<string, unknown> };
    const existing = (live.metadata?.[field] ?? {}) as Record<string, string>;
    if (ctx.args.overwrite !== true) {
      for (const [k, v] of Object.entries(set)) {
        if (k in existing && existing[k] !== v) {
          throw new CommandError(
            `error: '${k}' already has a value (${existing[k]}), and --overwrite is false`,
          );
        }
      }
    }
    const changes: Record<string, string | null> = { ...set };
    for (const k of remove) changes[k] = null;
    await ctx.rest.request("PATCH", path, {
      body: { metadata: { [field]: changes } },
      contentType: "application/merge-patch+json",
    });
    ctx.out(`${kindPrefix(f.resource)}/${f.name} ${verb}\n`);
  }
}

export function label(ctx: Ctx): Promise<void> {
  return changeMap(ctx, "labels", "labeled");
}

export function annotate(ctx: Ctx): Promise<void> {
  return changeMap(ctx, "annotations", "annotated");
}
