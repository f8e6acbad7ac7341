// `delete`: by -f, by names, by -l or --all; --cascade picks the propagation policy and
// --wait (default) waits until the objects are gone.
import { isNotFound } from "@skiff/client";
import { readManifests } from "../apply.js";
import { CommandError, durationMs, errorLine, sleep, str, strings, type Ctx } from "../context.js";
import { kindPrefix, qualifiedResource, resourcePath, type ApiResource } from "../discovery.js";
import { listObjects, metaOf, namespaceFor, resolveTargets, selectorQuery } from "../targets.js";
import { placeObject } from "./apply.js";

function propagation(cascade: string): "Background" | "Foreground" | "Orphan" {
  switch (cascade) {
    case "background":
    case "true":
      return "Background";
    case "foreground":
      return "Foreground";
    case "orphan":
    case "false":
      return "Orphan";
    default:
      throw new CommandError(
        `error: invalid cascade value (${cascade}). Must be "background", "foreground", or "orphan".`,
      );
  }
}

interface Victim {
  resource: ApiResource;
  namespace: string | undefined;
  name: string;
}

export async function del(ctx: Ctx): Promise<number> {
  const policy = propagation(str(ctx.args.cascade) ?? "background");
  const positional = strings(ctx.args.resources);
  const victims: Victim[] = [];
  if (Array.isArray(ctx.args.filename) && ctx.args.filename.length > 0) {
    for (const obj of await readManifests(ctx)) {
      const { resource, namespace, name } = await placeObject(ctx, obj);
      victims.push({ resource, namespace, name });
    }
  } else {
    const selecting = ctx.args.selector !== undefined || ctx.args.all === true;
    for (const { resource, names } of await resolveTargets(ctx, positional)) {
      if (names.length > 0) {
        for (const name of names)
          victims.push({ resource, namespace: namespaceFor(ctx, resource, false), name });
      } else if (selecting) {
        const { items } = await listObjects(
          ctx,
          resource,
          namespaceFor(ctx, resource, true),
          selectorQuery(ctx),
        );
        for (const item of items) {
          const m = metaOf(item);
          victims.push({ resource, namespace: m.namespace, name: m.name });
        }
      } else {
        throw new CommandError("error: resource(s) were provided, but no name was specified");
      }
    }
    if (victims.length === 0 && selecting) {
      ctx.err(
        ctx.allNamespaces
          ? "No resources found\n"
          : `No resources found in ${ctx.namespace} namespace.\n`,
      );
      return 0;
    }
  }
  let failed = 0;
  const deleted: Victim[] = [];
  for (const v of victims) {
    try {
      await ctx.rest.request("DELETE", resourcePath(v.resource, v.namespace, v.name), {
        body: {
          apiVersion: "v1",
          kind: "DeleteOptions",
          propagationPolicy: policy,
          ...(typeof ctx.args.gracePeriod === "number" && ctx.args.gracePeriod >= 0
            ? { gracePeriodSeconds: ctx.args.gracePeriod }
            : {}),
        },
      });
      ctx.out(`${kindPrefix(v.resource)} "${v.name}" deleted\n`);
      deleted.push(v);
    } catch (e) {
      if (isNotFound(e) && ctx.args.ignoreNotFound === true) continue;
      failed++;
      ctx.err(
        isNotFound(e)
          ? `Error from server (NotFound): ${qualifiedResource(v.resource)} "${v.name}" not found\n`
          : errorLine(e) + "\n",
      );
    }
  }
  if (ctx.args.wait !== false && policy !== "Orphan") {
    const deadline = Date.now() + durationMs(ctx.args.timeout, 300_000);
    for (const v of deleted) {
      for (;;) {
        try {
          await ctx.rest.request("GET", resourcePath(v.resource, v.namespace, v.name));
        } catch (e) {
          if (isNotFound(e)) break;
          throw e;
        }
        if (Date.now() > deadline)
          throw new CommandError(
            `error: timed out waiting for the condition on ${kindPrefix(v.resource)}/${v.name}`,
          );
        await sleep(250, ctx.io.signal);
      }
    }
  }
  return failed > 0 ? 1 : 0;
}
