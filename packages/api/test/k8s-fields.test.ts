// Every field Kubernetes 1.31 has for a kind Skiff serves is in Skiff's schema for that
// kind, with the same JSON shape and (for lists) the same merge markers, and no other
// field is; fields 1.31 has only behind an alpha feature gate (off by default) are not,
// so that fieldValidation=Strict refuses them as 1.31 does. The facts come from
// k8s-1.31-fields.json, which scripts/gen-k8s-fields.mjs derives from Kubernetes 1.31's
// published OpenAPI (api/openapi-spec/swagger.json of kubernetes/kubernetes; its sha256 is
// in the file) after checking it against the 1.31 API types, so no network is needed here.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import type { TSchema } from "@sinclair/typebox";
import { resources, apiVersionOf, type ResourceInfo } from "../src/resources.js";
import { classify, schemaFor } from "../src/schema.js";
import { unknownFields } from "../src/prune.js";

interface ListMarkers {
  listType: string;
  listMapKeys?: string[];
  patchStrategy?: string;
  patchMergeKey?: string;
}
interface FieldMarkers {
  patchStrategy?: string;
  mapType?: string;
}
interface Fixture {
  kinds: Record<string, string>;
  alpha: Record<string, string>;
  lists: Record<string, ListMarkers>;
  /** Merge markers of fields that are not lists: retainKeys, replace, atomic maps. */
  fields: Record<string, FieldMarkers>;
  /** Structs that patches and apply treat as one value (`+structType=atomic`). */
  atomicTypes: string[];
  definitions: Record<string, Record<string, string>>;
}
const k8s = JSON.parse(
  readFileSync(new URL("./k8s-1.31-fields.json", import.meta.url), "utf8"),
) as Fixture;

// Alpha fields Skiff serves on purpose, as a 1.31 cluster with the gate turned on would:
// the StatefulSet controller honours maxUnavailable (docs/kubectl.md says so).
const ENABLED_ALPHA = new Set([
  "io.k8s.api.apps.v1.RollingUpdateStatefulSetStrategy.maxUnavailable",
]);

const served = resources.filter((r) => !r.custom);
const keyOf = (r: ResourceInfo) => `${apiVersionOf(r)}/${r.kind}`;

interface Findings {
  /** Fields Skiff has that 1.31 does not (1.31 refuses them under Strict). */
  extra: string[];
  missing: string[];
  wrongType: string[];
  /** Lists, maps and structs that patches or apply would merge otherwise than 1.31 does. */
  wrongMerge: string[];
  alphaAccepted: string[];
  alphaPaths: string[];
}

/** Whether a Skiff scalar schema has the JSON shape of a 1.31 leaf type. */
function sameLeaf(type: string, schema: TSchema): boolean {
  const node = classify(schema);
  if (node.is === "any") return true;
  const types = node.is === "scalar" ? [...node.types].sort().join(",") : node.is;
  switch (type) {
    case "string":
    case "date-time":
      return types === "string";
    case "byte":
      return types === "string" && schema.format === "byte";
    case "boolean":
      return types === "boolean";
    case "int32":
    case "int64":
      return types === "integer" && schema.format === type;
    case "double":
      return types === "number";
    case "quantity":
      return types === "number,string";
    case "int-or-string":
      return types === "integer,string";
    case "object":
      return node.is === "map" || node.is === "struct";
    default:
      return true; // "any"
  }
}

function walk(type: string, schema: TSchema, path: string, seen: string[], out: Findings) {
  const node = classify(schema);
  if (node.is === "any") return; // accepted and kept as is (CRD schemas, raw objects)
  if (type.startsWith("[]")) {
    if (node.is !== "array") out.wrongType.push(`${path} (a list in 1.31)`);
    else walk(type.slice(2), node.items, `${path}[]`, seen, out);
    return;
  }
  if (type.startsWith("{}")) {
    if (node.is !== "map") out.wrongType.push(`${path} (a map in 1.31)`);
    else walk(type.slice(2), node.values, `${path}{}`, seen, out);
    return;
  }
  const def = k8s.definitions[type];
  if (!def) {
    if (!sameLeaf(type, schema)) out.wrongType.push(`${path} (${type} in 1.31)`);
    return;
  }
  if (node.is !== "struct") {
    out.wrongType.push(`${path} (an object in 1.31)`);
    return;
  }
  const atomic = k8s.atomicTypes.includes(type);
  if ((schema["x-kubernetes-map-type"] === "atomic") !== atomic)
    out.wrongMerge.push(`${path || "(the object)"}: ${atomic ? "atomic" : "granular"} (${type})`);
  if (seen.includes(type)) return;
  for (const name of Object.keys(node.properties)) {
    if (!(name in def)) out.extra.push(path ? `${path}.${name}` : name);
  }
  for (const [name, fieldType] of Object.entries(def)) {
    const p = path ? `${path}.${name}` : name;
    const prop = node.properties[name];
    const id = `${type}.${name}`;
    if (id in k8s.alpha && !ENABLED_ALPHA.has(id)) {
      out.alphaPaths.push(p);
      if (prop) out.alphaAccepted.push(`${p} (alpha: ${k8s.alpha[id] || "see 1.31 docs"})`);
      continue;
    }
    if (!prop) {
      out.missing.push(p);
      continue;
    }
    const list = k8s.lists[id];
    if (list) {
      const skiff: ListMarkers = {
        listType: (prop["x-kubernetes-list-type"] as string | undefined) ?? "atomic",
        listMapKeys: prop["x-kubernetes-list-map-keys"] as string[] | undefined,
        patchStrategy: prop["x-kubernetes-patch-strategy"] as string | undefined,
        patchMergeKey: prop["x-kubernetes-patch-merge-key"] as string | undefined,
      };
      const wanted: ListMarkers = {
        listType: list.listType,
        listMapKeys: list.listMapKeys,
        patchStrategy: list.patchStrategy,
        patchMergeKey: list.patchMergeKey,
      };
      if (JSON.stringify(skiff) !== JSON.stringify(wanted))
        out.wrongMerge.push(`${p}: ${JSON.stringify(wanted)}, not ${JSON.stringify(skiff)}`);
    } else {
      const skiff: FieldMarkers = {
        patchStrategy: prop["x-kubernetes-patch-strategy"] as string | undefined,
        mapType: fieldType.startsWith("{}")
          ? (prop["x-kubernetes-map-type"] as string | undefined)
          : undefined,
      };
      const markers = k8s.fields[id];
      const wanted: FieldMarkers = {
        patchStrategy: markers?.patchStrategy,
        mapType: markers?.mapType,
      };
      if (JSON.stringify(skiff) !== JSON.stringify(wanted))
        out.wrongMerge.push(`${p}: ${JSON.stringify(wanted)}, not ${JSON.stringify(skiff)}`);
    }
    walk(fieldType, prop, p, [...seen, type], out);
  }
}

function findingsFor(r: ResourceInfo): Findings {
  const out: Findings = {
    extra: [],
    missing: [],
    wrongMerge: [],
    wrongType: [],
    alphaAccepted: [],
    alphaPaths: [],
  };
  walk(k8s.kinds[keyOf(r)]!, schemaFor(r), "", [], out);
  return out;
}

test("the fixture covers every kind Skiff serves", () => {
  const uncovered = served.map(keyOf).filter((k) => !(k in k8s.kinds));
  assert.deepEqual(uncovered, [], "add these kinds to scripts/gen-k8s-fields.mjs and regenerate");
});

test("every 1.31 field of every served kind is in Skiff's schema, with its JSON type", () => {
  const missing: string[] = [];
  const wrongType: string[] = [];
  for (const r of served) {
    const f = findingsFor(r);
    missing.push(...f.missing.map((p) => `${keyOf(r)} ${p}`));
    wrongType.push(...f.wrongType.map((p) => `${keyOf(r)} ${p}`));
  }
  assert.deepEqual(
    { missing, wrongType },
    { missing: [], wrongType: [] },
    `${missing.length} fields of Kubernetes 1.31 missing, ${wrongType.length} typed unlike it`,
  );
});

test("lists, maps and structs merge in patches and apply as in 1.31 (list type, map keys, strategic-merge key, retainKeys, atomic)", () => {
  const wrong = new Set(
    served.flatMap((r) => findingsFor(r).wrongMerge.map((p) => `${keyOf(r)} ${p}`)),
  );
  assert.deepEqual([...wrong], []);
});

test("Skiff's schemas have no field 1.31 lacks (a newer release's field is refused, as by 1.31)", () => {
  const extra = served.flatMap((r) => findingsFor(r).extra.map((p) => `${keyOf(r)} ${p}`));
  assert.deepEqual(extra, []);
});

/** An object of this kind that sets the field at `path` ("spec.containers[].x"). */
function objectSetting(
  r: ResourceInfo,
  path: string,
): { obj: Record<string, unknown>; at: string } {
  const obj: Record<string, unknown> = { apiVersion: apiVersionOf(r), kind: r.kind };
  let cur: Record<string, unknown> = obj;
  const parts = path.split(".");
  const at: string[] = [];
  parts.forEach((part, i) => {
    const list = part.endsWith("[]");
    const map = part.endsWith("{}");
    const name = list || map ? part.slice(0, -2) : part;
    const last = i === parts.length - 1;
    const inner: Record<string, unknown> = {};
    if (list) cur[name] = [last ? {} : inner];
    else if (map) cur[name] = { k: last ? {} : inner };
    else cur[name] = last ? {} : inner;
    at.push(list ? `${name}[0]` : map ? `${name}[k]` : name);
    cur = inner;
  });
  return { obj, at: at.join(".") };
}

test("fields alpha in 1.31 are not in the schema, so Strict validation refuses them", () => {
  const accepted = served.flatMap((r) =>
    findingsFor(r).alphaAccepted.map((p) => `${keyOf(r)} ${p}`),
  );
  assert.deepEqual(accepted, []);
  let checked = 0;
  for (const r of served) {
    for (const path of findingsFor(r).alphaPaths) {
      const { obj, at } = objectSetting(r, path);
      assert.ok(unknownFields(r, obj).includes(at), `${keyOf(r)} ${at} is not refused`);
      checked++;
    }
  }
  // Pod alone reaches several (resourceClaims, resizePolicy, supplementalGroupsPolicy, ...).
  assert.ok(checked >= 10, `only ${checked} alpha fields reached`);
});
