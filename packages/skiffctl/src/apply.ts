// Manifests and client-side apply: reads -f files, directories and stdin (multi-document
// YAML or JSON, List kinds unwrapped) and computes kubectl's three-way strategic merge patch
// from the last-applied configuration, the new manifest and the live object.
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { CommandError, type Ctx } from "./context.js";
import { sortKeys } from "./printers.js";

export const lastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration";

export type Obj = Record<string, unknown>;

function isRecord(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

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
    if (!isRecord(v)) throw new CommandError(`error: error parsing ${source}: not an object`);
    if (typeof v.kind === "string" && v.kind.endsWith("List") && Array.isArray(v.items)) {
      out.push(...v.items.filter(isRecord));
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
  if (isRecord(a) && isRecord(b)) {
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
    if (isRecord(m) && isRecord(c)) {
      const sub = threeWayPatch(isRecord(o) ? o : undefined, m, c, here);
      if (Object.keys(sub).length > 0) patch[key] = sub;
      continue;
    }
    const mergeKey = mergeKeyFor(here);
    if (mergeKey && Array.isArray(m) && Array.isArray(c) && m.every(isRecord)) {
      const sub = listPatch(
        Array.isArray(o) ? o.filter(isRecord) : [],
        m,
        c.filter(isRecord),
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
  const meta = isRecord(copy.metadata) ? copy.metadata : {};
  // Like kubectl: an empty annotations map stays, keys are sorted (Go's map order).
  const annotations = isRecord(meta.annotations) ? meta.annotations : {};
  delete annotations[lastAppliedAnnotation];
  meta.annotations = annotations;
  copy.metadata = meta;
  return JSON.stringify(sortKeys(copy));
}

/** The manifest with its last-applied annotation set, as apply sends it. */
export function withLastApplied(obj: Obj): Obj {
  const copy = structuredClone(obj);
  const meta = isRecord(copy.metadata) ? copy.metadata : (copy.metadata = {});
  const annotations = isRecord(meta.annotations) ? meta.annotations : (meta.annotations = {});
  annotations[lastAppliedAnnotation] = lastAppliedOf(obj) + "\n";
  return copy;
}
