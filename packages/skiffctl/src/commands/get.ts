// `get`: server-side Tables printed as kubectl prints them, or the objects as
// yaml/json/name/jsonpath; `-w` keeps watching.
import { ApiError, Watch, isNotFound } from "@skiff/client";
import type { KubeObject } from "@skiff/client";
import { str, strings, type Ctx } from "../context.js";
import { CommandError } from "../errors.js";
import { apiVersionOf, kindPrefix, resourcePath, type ApiResource } from "../discovery.js";
import {
  alignRows,
  asTable,
  jsonpath,
  listOf,
  tableCells,
  toJson,
  toYaml,
  type Table,
} from "../printers.js";
import { listObjects, metaOf, namespaceFor, resolveTargets, selectorQuery } from "../targets.js";

export const tableAccept =
  "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";

/** Prints objects in a non-table format (-o yaml|json|name|jsonpath=…). */
export function printObjects(
  ctx: Ctx,
  output: string,
  objects: { resource: ApiResource; object: KubeObject | Record<string, unknown> }[],
  single: boolean,
): void {
  const withType = objects.map(({ resource, object }) => {
    const copy: Record<string, unknown> = {
      ...object,
      apiVersion: object.apiVersion ?? apiVersionOf(resource),
      kind: object.kind ?? resource.kind,
    };
    // kubectl hides managedFields unless --show-managed-fields.
    if (typeof copy.metadata === "object" && copy.metadata !== null) {
      const { managedFields: _, ...meta } = copy.metadata as Record<string, unknown>;
      copy.metadata = meta;
    }
    return copy;
  });
  const data = single && withType.length === 1 ? withType[0] : listOf(withType);
  if (output === "yaml") ctx.out(toYaml(data));
  else if (output === "json") ctx.out(toJson(data));
  else if (output === "name") {
    for (const { resource, object } of objects)
      ctx.out(`${kindPrefix(resource)}/${metaOf(object).name}\n`);
  } else if (output.startsWith("jsonpath=") || output.startsWith("jsonpath:")) {
    ctx.out(jsonpath(output.slice(9), data));
  } else {
    throw new CommandError(
      `error: unable to match a printer suitable for the output format "${output}", allowed formats are: json,jsonpath,name,wide,yaml`,
    );
  }
}

function noResources(ctx: Ctx, anyNamespaced: boolean): void {
  ctx.err(
    ctx.allNamespaces || !anyNamespaced
      ? "No resources found\n"
      : `No resources found in ${ctx.namespace} namespace.\n`,
  );
}

export async function get(ctx: Ctx): Promise<void> {
  const output = str(ctx.args.output) ?? "";
  const tableMode = output === "" || output === "wide";
  const targets = await resolveTargets(ctx, strings(ctx.args.resources));
  const query = selectorQuery(ctx);
  const failures: ApiError[] = [];

  if (ctx.args.watch || ctx.args.watchOnly) {
    if (targets.length !== 1)
      throw new CommandError("error: you may only specify a single resource type");
    return watch(ctx, targets[0]!.resource, targets[0]!.names, tableMode, output);
  }

  const tables: { resource: ApiResource; table: Table }[] = [];
  const objects: { resource: ApiResource; object: Record<string, unknown> }[] = [];
  for (const { resource, names } of targets) {
    const accept = tableMode ? tableAccept : "application/json";
    const answers: unknown[] = [];
    if (names.length === 0) {
      if (tableMode) {
        answers.push(
          await ctx.rest.request("GET", resourcePath(resource, namespaceFor(ctx, resource, true)), {
            accept,
            query: { ...query, limit: 500 },
          }),
        );
      } else {
        const list = await listObjects(ctx, resource, namespaceFor(ctx, resource, true), query);
        answers.push(...list.items);
      }
    } else {
      for (const name of names) {
        try {
          answers.push(
            await ctx.rest.request(
              "GET",
              resourcePath(resource, namespaceFor(ctx, resource, false), name),
              { accept },
            ),
          );
        } catch (e) {
          if (!isNotFound(e)) throw e;
          failures.push(e);
        }
      }
    }
    if (tableMode) {
      const merged = answers.map(asTable).filter((t): t is Table => t !== undefined);
      if (merged.length > 0) {
        tables.push({
          resource,
          table: { ...merged[0]!, rows: merged.flatMap((t) => t.rows) },
        });
      }
    } else {
      for (const a of answers) objects.push({ resource, object: a as Record<string, unknown> });
    }
  }

  if (tableMode) {
    const withKind = targets.length > 1;
    const shown = tables.filter((t) => t.table.rows.length > 0);
    shown.forEach(({ resource, table }, i) => {
      if (i > 0) ctx.out("\n");
      const cells = tableCells(table, {
        wide: output === "wide",
        withNamespace: ctx.allNamespaces && resource.namespaced,
        showLabels: ctx.args.showLabels === true,
        noHeaders: ctx.args.noHeaders === true,
        ...(withKind ? { kindPrefix: kindPrefix(resource) } : {}),
      });
      ctx.out(alignRows(cells));
    });
    if (shown.length === 0 && failures.length === 0)
      noResources(
        ctx,
        targets.some((t) => t.resource.namespaced),
      );
  } else {
    const single = targets.length === 1 && targets[0]!.names.length === 1;
    if (objects.length > 0 || !single) printObjects(ctx, output, objects, single);
    if (objects.length === 0 && failures.length === 0 && output !== "yaml" && output !== "json")
      noResources(
        ctx,
        targets.some((t) => t.resource.namespaced),
      );
  }
  if (failures.length > 0) {
    for (const f of failures.slice(0, -1))
      ctx.err(`Error from server (${f.reason}): ${f.message}\n`);
    throw failures[failures.length - 1];
  }
}

/** `get -w`: the current objects, then one line per change until stopped. */
async function watch(
  ctx: Ctx,
  resource: ApiResource,
  names: string[],
  tableMode: boolean,
  output: string,
): Promise<void> {
  const ns = namespaceFor(ctx, resource, names.length === 0);
  const query: Record<string, string | undefined> = { ...selectorQuery(ctx) };
  if (names.length === 1) query.fieldSelector = `metadata.name=${names[0]}`;
  else if (names.length > 1)
    throw new CommandError(
      "error: watch is only supported on individual resources and resource collections, but 2 resources were found",
    );
  const accept = tableMode ? tableAccept : "application/json";
  const first = await ctx.rest.request("GET", resourcePath(resource, ns), {
    accept,
    query: { ...query, limit: 500 },
  });
  const widths: number[] = [];
  const opts = {
    wide: output === "wide",
    withNamespace: ctx.allNamespaces && resource.namespaced,
    showLabels: ctx.args.showLabels === true,
  };
  let header = ctx.args.noHeaders === true;
  const printTable = (t: Table): void => {
    const cells = tableCells(t, { ...opts, noHeaders: header });
    if (cells.length === 0) return;
    header = true;
    ctx.out(alignRows(cells, widths));
  };
  let resourceVersion = "";
  const firstTable = asTable(first);
  if (firstTable) {
    resourceVersion = firstTable.metadata?.resourceVersion ?? "";
    if (!ctx.args.watchOnly) printTable(firstTable);
    if (firstTable.rows.length === 0 && !ctx.args.watchOnly) noResources(ctx, resource.namespaced);
  } else {
    const list = first as {
      items?: Record<string, unknown>[];
      metadata?: { resourceVersion?: string };
    };
    resourceVersion = list.metadata?.resourceVersion ?? "";
    if (!ctx.args.watchOnly && list.items?.length)
      printObjects(
        ctx,
        output,
        list.items.map((object) => ({ resource, object })),
        false,
      );
  }
  const w = new Watch<KubeObject>((signal) =>
    ctx.rest.stream("GET", resourcePath(resource, ns), {
      accept,
      signal,
      query: { ...query, watch: true, resourceVersion },
    }),
  );
  const stop = (): void => w.stop();
  ctx.io.signal?.addEventListener("abort", stop);
  try {
    for await (const ev of w) {
      if (ev.type === "ERROR") throw new ApiError(ev.object);
      if (ev.type === "BOOKMARK") continue;
      const t = asTable(ev.object);
      if (t) {
        if (t.columnDefinitions.length === 0 && firstTable)
          t.columnDefinitions = firstTable.columnDefinitions;
        printTable(t);
      } else {
        printObjects(ctx, output || "name", [{ resource, object: ev.object }], true);
      }
    }
  } finally {
    ctx.io.signal?.removeEventListener("abort", stop);
  }
}
