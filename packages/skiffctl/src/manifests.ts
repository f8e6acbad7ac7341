// Manifests: reads -f files, directories and stdin (multi-document YAML or JSON, List kinds
// unwrapped) and places each object: its API resource and namespace.
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { isObject } from "@skiff/api";
import { str, type Ctx } from "./context.js";
import type { ApiResource } from "./discovery.js";
import { CommandError } from "./errors.js";

export type Obj = Record<string, unknown>;

async function readStdin(ctx: Ctx): Promise<string> {
  const stdin = ctx.io.stdin;
  if (!stdin) return "";
  const chunks: Buffer[] = [];
  for await (const c of stdin) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(String(c)));
  return Buffer.concat(chunks).toString("utf8");
}

function filesUnder(path: string, recursive: boolean, top: boolean): string[] {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new CommandError(`error: the path "${path}" does not exist`);
  }
  if (!st.isDirectory()) return [path];
  if (!top && !recursive) return [];
  return readdirSync(path)
    .sort()
    .flatMap((name) => {
      const full = join(path, name);
      if (statSync(full).isDirectory()) return recursive ? filesUnder(full, recursive, false) : [];
      return /\.(ya?ml|json)$/.test(name) ? [full] : [];
    });
}

/** Parses manifest text into objects; `List` kinds are unwrapped. */
export function parseManifests(text: string, source: string): Obj[] {
  const out: Obj[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) {
      throw new CommandError(
        `error: error parsing ${source}: ${doc.errors[0]!.message.split("\n")[0]}`,
      );
    }
    const v: unknown = doc.toJS();
    if (v === null || v === undefined) continue;
    if (!isObject(v)) throw new CommandError(`error: error parsing ${source}: not an object`);
    if (typeof v.kind === "string" && v.kind.endsWith("List") && Array.isArray(v.items)) {
      out.push(...v.items.filter(isObject));
      continue;
    }
    if (typeof v.apiVersion !== "string" || typeof v.kind !== "string") {
      throw new CommandError(
        `error: error validating data from ${source}: apiVersion and kind must be set`,
      );
    }
    out.push(v);
  }
  return out;
}

/** Every object named by -f (files, directories, `-` for stdin), in order. */
export async function readManifests(ctx: Ctx): Promise<Obj[]> {
  const names = ctx.args.filename;
  const list = Array.isArray(names) ? names.map(String) : [];
  if (list.length === 0) throw new CommandError("error: must specify one of -f and -k");
  const out: Obj[] = [];
  for (const name of list) {
    if (name === "-") {
      out.push(...parseManifests(await readStdin(ctx), "STDIN"));
      continue;
    }
    for (const file of filesUnder(name, ctx.args.recursive === true, true)) {
      out.push(...parseManifests(readFileSync(file, "utf8"), `"${file}"`));
    }
  }
  if (out.length === 0) throw new CommandError("error: no objects passed to apply");
  return out;
}

/** Finds an object's resource and namespace, and fills metadata.namespace in. */
export async function placeObject(
  ctx: Ctx,
  obj: Obj,
): Promise<{ resource: ApiResource; namespace: string | undefined; name: string }> {
  const resource = await ctx.discovery.forKind(String(obj.apiVersion), String(obj.kind));
  const meta = isObject(obj.metadata) ? obj.metadata : (obj.metadata = {});
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
