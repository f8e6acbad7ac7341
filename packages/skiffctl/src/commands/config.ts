// `config view|use-context|get-contexts|current-context`: reads (and for use-context
// writes) the kubeconfig files kubectl would use.
import { isObject } from "@skiff/api";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { kubeconfigPaths } from "@skiff/client";
import { parse, stringify } from "yaml";
import { str, type Ctx } from "../context.js";
import { CommandError } from "../errors.js";
import { alignRows, toJson, toYaml } from "../printers.js";

type Obj = Record<string, unknown>;

interface Loaded {
  file: string;
  doc: Obj;
}

function loadFiles(ctx: Ctx): Loaded[] {
  const kubeconfig = str(ctx.args.kubeconfig);
  const { paths, explicit } = kubeconfigPaths({
    ...(kubeconfig ? { kubeconfig } : {}),
    env: ctx.env,
  });
  const out: Loaded[] = [];
  for (const file of paths) {
    if (!explicit && !existsSync(file)) continue;
    let doc: unknown;
    try {
      doc = parse(readFileSync(file, "utf8"));
    } catch (e) {
      throw new CommandError(
        `error: cannot read kubeconfig ${file}: ${(e as Error).message.split("\n")[0]}`,
      );
    }
    out.push({ file, doc: isObject(doc) ? doc : {} });
  }
  return out;
}

/** Merges the files as kubectl does: the first definition of each name wins. */
function merge(files: Loaded[]): Obj {
  const merged: Obj = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [],
    contexts: [],
    users: [],
    preferences: {},
  };
  let current = "";
  for (const { doc } of files) {
    if (!current && typeof doc["current-context"] === "string") current = doc["current-context"];
    for (const key of ["clusters", "contexts", "users"]) {
      const into = merged[key] as Obj[];
      for (const e of Array.isArray(doc[key]) ? (doc[key] as unknown[]).filter(isObject) : []) {
        if (!into.some((x) => x.name === e.name)) into.push(structuredClone(e));
      }
    }
  }
  merged["current-context"] = current;
  return merged;
}

function redact(config: Obj): void {
  for (const key of ["clusters", "users"]) {
    for (const e of config[key] as Obj[]) {
      const body = e[key === "clusters" ? "cluster" : "user"];
      if (!isObject(body)) continue;
      for (const f of Object.keys(body)) {
        if (f.endsWith("-data")) body[f] = "DATA+OMITTED";
        if (f === "token") body[f] = "REDACTED";
      }
    }
  }
}

export async function config(ctx: Ctx): Promise<void> {
  const action = str(ctx.args.action);
  const files = loadFiles(ctx);
  if (files.length === 0 && action !== "view")
    throw new CommandError("error: no kubeconfig found; set --kubeconfig or $KUBECONFIG");
  const merged = merge(files);
  const current = String(merged["current-context"] ?? "");
  const contexts = merged.contexts as Obj[];
  switch (action) {
    case "view": {
      if (ctx.args.minify === true) {
        const ctxName = str(ctx.args.context) ?? current;
        const c = contexts.find((x) => x.name === ctxName);
        const body = isObject(c?.context) ? c.context : {};
        merged.contexts = c ? [c] : [];
        merged.clusters = (merged.clusters as Obj[]).filter((x) => x.name === body.cluster);
        merged.users = (merged.users as Obj[]).filter((x) => x.name === body.user);
        merged["current-context"] = ctxName;
      }
      if (ctx.args.raw !== true) redact(merged);
      if (str(ctx.args.output) === "json") ctx.out(toJson(merged));
      else ctx.out(toYaml(merged));
      return;
    }
    case "current-context":
      if (!current) throw new CommandError("error: current-context is not set");
      ctx.out(current + "\n");
      return;
    case "get-contexts": {
      const name = str(ctx.args.name);
      const shown = name ? contexts.filter((c) => c.name === name) : contexts;
      if (name && shown.length === 0) throw new CommandError(`error: context ${name} not found`);
      if (str(ctx.args.output) === "name") {
        for (const c of shown) ctx.out(`${String(c.name)}\n`);
        return;
      }
      const rows = [["CURRENT", "NAME", "CLUSTER", "AUTHINFO", "NAMESPACE"]];
      for (const c of shown) {
        const body = isObject(c.context) ? c.context : {};
        rows.push([
          c.name === current ? "*" : "",
          String(c.name),
          String(body.cluster ?? ""),
          String(body.user ?? ""),
          String(body.namespace ?? ""),
        ]);
      }
      ctx.out(alignRows(rows));
      return;
    }
    case "use-context": {
      const name = str(ctx.args.name);
      if (!name) throw new CommandError("error: empty context names are not allowed");
      if (!contexts.some((c) => c.name === name))
        throw new CommandError(`error: no context exists with the name: "${name}"`);
      // kubectl writes current-context to the file that sets it, else the first file.
      const target = files.find((f) => typeof f.doc["current-context"] === "string") ?? files[0]!;
      target.doc["current-context"] = name;
      writeFileSync(target.file, stringify(target.doc, { indentSeq: false, lineWidth: 0 }));
      ctx.out(`Switched to context "${name}".\n`);
      return;
    }
    case "set-context": {
      const name = ctx.args.current === true ? current : str(ctx.args.name);
      if (!name)
        throw new CommandError("error: you must specify a non-empty context name or --current");
      const hasContext = (f: Loaded): boolean =>
        Array.isArray(f.doc.contexts) &&
        (f.doc.contexts as unknown[]).some((c) => isObject(c) && c.name === name);
      const owner = files.find(hasContext) ?? files[0]!;
      const list = Array.isArray(owner.doc.contexts)
        ? (owner.doc.contexts as unknown[]).filter(isObject)
        : [];
      let entry = list.find((c) => c.name === name);
      const existed = entry !== undefined;
      if (!entry) list.push((entry = { name, context: {} }));
      const body = isObject(entry.context) ? entry.context : (entry.context = {});
      for (const field of ["namespace", "cluster", "user"] as const) {
        const v = str(ctx.args[field]);
        if (v !== undefined) body[field] = v;
      }
      owner.doc.contexts = list;
      writeFileSync(owner.file, stringify(owner.doc, { indentSeq: false, lineWidth: 0 }));
      ctx.out(`Context "${name}" ${existed ? "modified" : "created"}.\n`);
      return;
    }
    default:
      throw new CommandError(
        `error: unknown config action "${action ?? ""}": use view, use-context, get-contexts, current-context or set-context`,
      );
  }
}
