// `delete`: by -f, by names, by -l or --all; --cascade picks the propagation policy and
// --wait (default) waits until the objects are gone.
import { isNotFound } from "@skiff/client";
import { durationMs, sleep, str, strings, type Ctx } from "../context.js";
import { CommandError, errorLine } from "../errors.js";
import { kindPrefix, qualifiedResource, resourcePath } from "../discovery.js";
import { objectsFrom, type ObjectRef } from "../targets.js";

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

export async function del(ctx: Ctx): Promise<number> {
  const policy = propagation(str(ctx.args.cascade) ?? "background");
  const positional = strings(ctx.args.resources);
  const victims = await objectsFrom(ctx, positional);
  if (victims.length === 0 && (ctx.args.selector !== undefined || ctx.args.all === true)) {
    ctx.err(
      ctx.allNamespaces
        ? "No resources found\n"
        : `No resources found in ${ctx.namespace} namespace.\n`,
    );
    return 0;
  }
  let failed = 0;
  const deleted: ObjectRef[] = [];
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
