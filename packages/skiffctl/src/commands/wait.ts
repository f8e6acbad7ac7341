// `wait --for=condition=X[=value]|delete|jsonpath=…=value`: polls the objects until the
// condition holds or --timeout passes.
import { isNotFound } from "@skiff/client";
import { durationMs, sleep, str, strings, type Ctx } from "../context.js";
import { CommandError } from "../errors.js";
import { kindPrefix, resourcePath, type ApiResource } from "../discovery.js";
import { evalPath } from "../printers.js";
import { listObjects, metaOf, namespaceFor, resolveTargets, selectorQuery } from "../targets.js";

type Obj = Record<string, unknown>;

function conditionHolds(obj: Obj, type: string, want: string): boolean {
  const conds = (((obj.status ?? {}) as Obj).conditions ?? []) as {
    type?: string;
    status?: string;
  }[];
  return conds.some(
    (c) =>
      c.type?.toLowerCase() === type.toLowerCase() &&
      c.status?.toLowerCase() === want.toLowerCase(),
  );
}

export async function wait(ctx: Ctx): Promise<void> {
  const spec = str(ctx.args.for) ?? "";
  const deadline = Date.now() + durationMs(ctx.args.timeout, 30_000);
  let check: (obj: Obj | undefined) => boolean;
  let met = "condition met";
  if (spec === "delete") {
    check = (obj) => obj === undefined;
  } else if (spec.startsWith("condition=")) {
    const [type, value = "true"] = spec.slice(10).split("=", 2);
    check = (obj) => obj !== undefined && conditionHolds(obj, type!, value);
  } else if (spec.startsWith("jsonpath=")) {
    const body = spec.slice(9);
    const eq = body.lastIndexOf("=");
    const expr = (eq < 0 ? body : body.slice(0, eq)).replace(/^\{|\}$/g, "");
    const value = eq < 0 ? undefined : body.slice(eq + 1);
    check = (obj) => {
      if (!obj) return false;
      const got = evalPath(expr, obj);
      return value === undefined ? got.length > 0 : got.some((g) => String(g) === value);
    };
  } else {
    throw new CommandError(`error: unrecognized condition: "${spec}"`);
  }
  if (spec === "delete") met = "deleted";
  const found: { resource: ApiResource; namespace: string | undefined; name: string }[] = [];
  for (const { resource, names } of await resolveTargets(ctx, strings(ctx.args.resources))) {
    if (names.length > 0) {
      for (const name of names)
        found.push({ resource, namespace: namespaceFor(ctx, resource, false), name });
    } else {
      const { items } = await listObjects(
        ctx,
        resource,
        namespaceFor(ctx, resource, true),
        selectorQuery(ctx),
      );
      if (items.length === 0) throw new CommandError("error: no matching resources found");
      for (const item of items) {
        const m = metaOf(item);
        found.push({ resource, namespace: m.namespace, name: m.name });
      }
    }
  }
  for (const f of found) {
    for (;;) {
      let obj: Obj | undefined;
      try {
        obj = (await ctx.rest.request("GET", resourcePath(f.resource, f.namespace, f.name))) as Obj;
      } catch (e) {
        if (!isNotFound(e)) throw e;
        if (spec !== "delete") throw e;
      }
      if (check(obj)) break;
      if (Date.now() > deadline) {
        throw new CommandError(
          `error: timed out waiting for the condition on ${f.resource.name}/${f.name}`,
        );
      }
      await sleep(300, ctx.io.signal);
    }
    ctx.out(`${kindPrefix(f.resource)}/${f.name} ${met}\n`);
  }
}
