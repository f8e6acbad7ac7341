#!/usr/bin/env node
// Writes packages/api/test/k8s-1.31-fields.json: the fields Kubernetes 1.31 has for each
// kind Skiff serves (or is about to serve), as OpenAPI-style definitions: type name ->
// JSON field name -> field type. The source is Kubernetes' published OpenAPI document of
// the 1.31 release, `api/openapi-spec/swagger.json` of kubernetes/kubernetes: the kinds
// (by x-kubernetes-group-version-kind), every field reachable from them with its JSON type,
// each list's merge markers (x-kubernetes-list-type, -list-map-keys, -patch-strategy,
// -patch-merge-key), and the fields whose description calls them alpha (feature-gated, off
// by default in 1.31). Only facts are taken; the document itself is not kept in this repo
// (its sha256 is recorded in the output). The merge markers of fields that are not lists
// (retainKeys and replace on structs; atomic maps and structs) come from the Go types below.
//
// Two independent checks must agree before anything is written: the same facts read from
// Kubernetes' Go API types at v0.31.0 (kubernetes/api, kubernetes/apimachinery and
// kubernetes/apiextensions-apiserver, the types the OpenAPI document is generated from,
// through their json tags), and kubernetes/api's round-trip fixtures (testdata/HEAD, an
// object of each kind with every field set). The Go types also give each enum field's
// values, which the OpenAPI v2 document does not carry.
//
// Usage: node scripts/gen-k8s-fields.mjs <swagger.json> <kubernetes/api> <kubernetes/apimachinery> <kubernetes/apiextensions-apiserver>
// (the swagger.json of the release-1.31 branch or a v1.31.x tag; the three repositories each
// a checkout of the v0.31.0 tag), then `npx prettier --write` on the output.
import { readFileSync, readdirSync, writeFileSync, existsSync } from "node:fs";
import { createHash } from "node:crypto";
import { join } from "node:path";

const [specFile, apiDir, machineryDir, extDir] = process.argv.slice(2);
if (!specFile || !apiDir || !machineryDir || !extDir) {
  console.error(
    "usage: gen-k8s-fields.mjs <swagger.json> <kubernetes/api> <kubernetes/apimachinery> <kubernetes/apiextensions-apiserver>",
  );
  process.exit(2);
}

// Go package directory -> the OpenAPI definition prefix Kubernetes publishes its types under.
const packages = {
  meta: [join(machineryDir, "pkg/apis/meta/v1"), "io.k8s.apimachinery.pkg.apis.meta.v1"],
  apiextensions: [
    join(extDir, "pkg/apis/apiextensions/v1"),
    "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1",
  ],
};
for (const g of [
  "core/v1",
  "apps/v1",
  "batch/v1",
  "coordination/v1",
  "discovery/v1",
  "autoscaling/v2",
  "storage/v1",
  "scheduling/v1",
  "policy/v1",
  "rbac/v1",
  "admissionregistration/v1",
  "networking/v1",
  "flowcontrol/v1",
])
  packages[g] = [join(apiDir, g), `io.k8s.api.${g.replace("/", ".")}`];

// The kinds: apiVersion/kind -> [package, Go type]. The last group are kinds other
// branches add (NetworkPolicy, Ingress, ...): listed so the check covers them once served.
const KINDS = {
  "v1/Namespace": "core/v1",
  "v1/Pod": "core/v1",
  "v1/Node": "core/v1",
  "v1/Service": "core/v1",
  "v1/Endpoints": "core/v1",
  "v1/ConfigMap": "core/v1",
  "v1/Secret": "core/v1",
  "v1/ServiceAccount": "core/v1",
  "v1/Event": "core/v1",
  "v1/PersistentVolumeClaim": "core/v1",
  "v1/PersistentVolume": "core/v1",
  "v1/ResourceQuota": "core/v1",
  "v1/LimitRange": "core/v1",
  "v1/ReplicationController": "core/v1",
  "v1/PodTemplate": "core/v1",
  "apps/v1/Deployment": "apps/v1",
  "apps/v1/ReplicaSet": "apps/v1",
  "apps/v1/DaemonSet": "apps/v1",
  "apps/v1/StatefulSet": "apps/v1",
  "apps/v1/ControllerRevision": "apps/v1",
  "batch/v1/Job": "batch/v1",
  "batch/v1/CronJob": "batch/v1",
  "coordination.k8s.io/v1/Lease": "coordination/v1",
  "discovery.k8s.io/v1/EndpointSlice": "discovery/v1",
  "autoscaling/v2/HorizontalPodAutoscaler": "autoscaling/v2",
  "storage.k8s.io/v1/StorageClass": "storage/v1",
  "scheduling.k8s.io/v1/PriorityClass": "scheduling/v1",
  "policy/v1/PodDisruptionBudget": "policy/v1",
  "rbac.authorization.k8s.io/v1/Role": "rbac/v1",
  "rbac.authorization.k8s.io/v1/ClusterRole": "rbac/v1",
  "rbac.authorization.k8s.io/v1/RoleBinding": "rbac/v1",
  "rbac.authorization.k8s.io/v1/ClusterRoleBinding": "rbac/v1",
  "admissionregistration.k8s.io/v1/MutatingWebhookConfiguration": "admissionregistration/v1",
  "admissionregistration.k8s.io/v1/ValidatingWebhookConfiguration": "admissionregistration/v1",
  "admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy": "admissionregistration/v1",
  "admissionregistration.k8s.io/v1/ValidatingAdmissionPolicyBinding": "admissionregistration/v1",
  "apiextensions.k8s.io/v1/CustomResourceDefinition": "apiextensions",
  "networking.k8s.io/v1/NetworkPolicy": "networking/v1",
  "networking.k8s.io/v1/Ingress": "networking/v1",
  "networking.k8s.io/v1/IngressClass": "networking/v1",
  "flowcontrol.apiserver.k8s.io/v1/FlowSchema": "flowcontrol/v1",
  "flowcontrol.apiserver.k8s.io/v1/PriorityLevelConfiguration": "flowcontrol/v1",
};

// Types with a JSON form of their own (custom marshalling), as OpenAPI publishes them.
const LEAVES = {
  "resource.Quantity": "quantity",
  "intstr.IntOrString": "int-or-string",
  "metav1.Time": "date-time",
  "metav1.MicroTime": "date-time",
  "metav1.Duration": "duration",
  "metav1.FieldsV1": "object",
  "runtime.RawExtension": "object",
  "types.UID": "string",
  JSON: "any",
  JSONSchemaPropsOrArray: "any",
  JSONSchemaPropsOrBool: "any",
  JSONSchemaPropsOrStringArray: "any",
};
const GO_SCALARS = {
  string: "string",
  bool: "boolean",
  int32: "int32",
  int64: "int64",
  int: "int64",
  float64: "double",
  "[]byte": "byte",
};
const GO_ALIAS_PREFIX = { metav1: "meta", v1: "core/v1", corev1: "core/v1", apiv1: "core/v1" };

// Fields whose 1.31 comment calls them alpha, but whose feature gate is beta and on by
// default in 1.31 (the comment was not updated when the gate moved on), or beta and off:
// these are served by 1.31 and so by Skiff. Each names its gate and stage in 1.31.
const NOT_ALPHA = {
  "io.k8s.api.core.v1.ServiceSpec.trafficDistribution": "ServiceTrafficDistribution: beta, on",
  "io.k8s.api.core.v1.PodSpec.hostUsers": "UserNamespacesSupport: beta, off; stored, not acted on",
  "io.k8s.api.core.v1.PersistentVolumeClaimSpec.dataSourceRef": "AnyVolumeDataSource: beta, on",
  "io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerSpec.minReplicas":
    "GA; only the value 0 needs the alpha HPAScaleToZero gate",
  "io.k8s.api.autoscaling.v2.MetricSpec.containerResource": "HPAContainerMetrics: GA",
  "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinitionSpec.versions":
    "GA (the comment names versions such as v1alpha1)",
};
// Alpha fields (gate off by default in 1.31) whose comment does not say so.
const ALPHA = {
  "io.k8s.api.core.v1.ContainerStatus.allocatedResourcesStatus": "ResourceHealthStatus",
  "io.k8s.api.core.v1.ContainerStatus.user": "SupplementalGroupsPolicy",
  "io.k8s.api.core.v1.NodeStatus.features": "SupplementalGroupsPolicy",
  "io.k8s.api.core.v1.Volume.image": "ImageVolume",
  "io.k8s.api.core.v1.ResourceRequirements.claims": "DynamicResourceAllocation",
  "io.k8s.api.core.v1.PodStatus.resourceClaimStatuses": "DynamicResourceAllocation",
  "io.k8s.api.core.v1.PodStatus.resize": "InPlacePodVerticalScaling",
  "io.k8s.api.core.v1.ContainerStatus.allocatedResources": "InPlacePodVerticalScaling",
  "io.k8s.api.core.v1.ContainerStatus.resources": "InPlacePodVerticalScaling",
  "io.k8s.api.core.v1.Container.resizePolicy": "InPlacePodVerticalScaling",
  "io.k8s.api.core.v1.EphemeralContainer.resizePolicy": "InPlacePodVerticalScaling",
  "io.k8s.api.batch.v1.JobSpec.managedBy": "JobManagedBy",
  "io.k8s.api.coordination.v1.LeaseSpec.strategy": "CoordinatedLeaderElection",
  "io.k8s.api.coordination.v1.LeaseSpec.preferredHolder": "CoordinatedLeaderElection",
};

/** The feature gate of a field alpha in 1.31 ("" when its documentation names none), or undefined. */
function alphaGate(key, doc) {
  const said = /\balpha\b|\(Alpha\)/i.test(doc) && !/alphanumeric/.test(doc);
  if ((said && !NOT_ALPHA[key]) || ALPHA[key])
    return ALPHA[key] ?? /(\w+) feature/.exec(doc)?.[1] ?? "";
  return undefined;
}

/** Every `type X ...` of one Go package: structs with their fields, and named types. */
function parsePackage(dir) {
  const types = new Map();
  const enumTypes = new Set();
  const consts = new Map();
  const files = readdirSync(dir).filter(
    (f) =>
      f.endsWith(".go") &&
      !f.endsWith("_test.go") &&
      !f.startsWith("zz_") &&
      !f.startsWith("generated"),
  );
  for (const file of files) {
    const lines = readFileSync(join(dir, file), "utf8").split("\n");
    let struct;
    let depth = 0;
    let doc = [];
    let topDoc = [];
    for (const line of lines) {
      if (!struct) {
        if (line.startsWith("//")) topDoc.push(line);
        else if (!line.startsWith("type ")) topDoc = [];
        const c = /^\s+\w+\s+(\w+)\s*=\s*"([^"]*)"/.exec(line);
        if (c) consts.set(c[1], [...(consts.get(c[1]) ?? []), c[2]]);
        const s = /^type (\w+) struct\s*\{\s*(\})?/.exec(line);
        if (s) {
          struct = { name: s[1], fields: [] };
          const atomic = topDoc.some((d) => d.trim() === "// +structType=atomic");
          types.set(s[1], { kind: "struct", fields: struct.fields, atomic });
          if (s[2]) struct = undefined;
          doc = [];
          depth = 1;
          continue;
        }
        const t = /^type (\w+) (.+?)\s*(\/\/.*)?$/.exec(line);
        if (t && !t[2].startsWith("interface")) types.set(t[1], { kind: "named", of: t[2] });
        if (t && topDoc.some((d) => d.trim() === "// +enum")) enumTypes.add(t[1]);
        if (t) topDoc = [];
        continue;
      }
      const trimmed = line.trim();
      if (trimmed.startsWith("//")) {
        doc.push(trimmed.slice(2).trim());
        continue;
      }
      if (trimmed === "}" && depth === 1) {
        struct = undefined;
        continue;
      }
      const tag = /`(.*)`/.exec(trimmed)?.[1] ?? "";
      const json = /json:"([^"]*)"/.exec(tag)?.[1];
      const decl = trimmed.replace(/`.*`/, "").trim().split(/\s+/);
      if (json === undefined || json.split(",")[0] === "-" || decl[0] === "") {
        doc = [];
        continue;
      }
      const [name, ...opts] = json.split(",");
      const goType = decl.length === 1 ? decl[0] : decl[1];
      struct.fields.push({
        tag,
        json: name,
        inline: name === "" && opts.includes("inline"),
        goType,
        doc: doc.join(" "),
      });
      doc = [];
    }
  }
  for (const name of enumTypes) {
    const def = types.get(name);
    if (def?.kind === "named" && consts.has(name)) def.enum = [...new Set(consts.get(name))].sort();
  }
  return types;
}

const parsed = {};
for (const [key, [dir]] of Object.entries(packages)) {
  if (!existsSync(dir)) throw new Error(`missing ${dir}`);
  parsed[key] = parsePackage(dir);
}

const definitions = {};
const alpha = {};
const lists = {};
const fieldMarkers = {};
const atomicTypes = [];
const enums = {};

/** The fixture's name for a Go type used in package `pkg`. */
function typeOf(pkg, goType) {
  let t = goType.replace(/^\*/, "");
  if (t.startsWith("[]") && t !== "[]byte") return `[]${typeOf(pkg, t.slice(2))}`;
  const map = /^map\[[\w.]+\](.+)$/.exec(t);
  if (map) return `{}${typeOf(pkg, map[1])}`;
  if (LEAVES[t]) return LEAVES[t];
  if (GO_SCALARS[t]) return GO_SCALARS[t];
  let p = pkg;
  const q = /^(\w+)\.(\w+)$/.exec(t);
  if (q) {
    p = GO_ALIAS_PREFIX[q[1]];
    if (!p) throw new Error(`unknown package alias in ${t}`);
    t = q[2];
    if (LEAVES[`${q[1]}.${t}`]) return LEAVES[`${q[1]}.${t}`];
  }
  if (LEAVES[t]) return LEAVES[t];
  if (p === "meta" && LEAVES[`metav1.${t}`]) return LEAVES[`metav1.${t}`];
  const def = parsed[p].get(t);
  if (!def) throw new Error(`unknown type ${t} in ${p}`);
  if (def.kind === "named") return typeOf(p, def.of);
  const id = `${packages[p][1]}.${t}`;
  if (!(id in definitions)) {
    definitions[id] = {};
    if (def.atomic) atomicTypes.push(id);
    fill(id, p, def.fields);
  }
  return id;
}

function fill(id, pkg, fields) {
  for (const f of fields) {
    if (f.inline) {
      let t = f.goType.replace(/^\*/, "");
      let p = pkg;
      const q = /^(\w+)\.(\w+)$/.exec(t);
      if (q) [p, t] = [GO_ALIAS_PREFIX[q[1]], q[2]];
      fill(id, p, parsed[p].get(t).fields);
      continue;
    }
    const key = `${id}.${f.json}`;
    const gate = alphaGate(key, f.doc);
    if (gate !== undefined) alpha[key] = gate;
    definitions[id][f.json] = typeOf(pkg, f.goType);
    const values = enumOf(pkg, f.goType);
    if (values) enums[key] = values;
    if (definitions[id][f.json].startsWith("[]")) lists[key] = listMarkers(f);
    else {
      const markers = otherMarkers(f);
      if (markers) fieldMarkers[key] = markers;
    }
  }
}

/** The values of an enum type (a `+enum` string type and its constants), for a field or its items. */
function enumOf(pkg, goType) {
  let t = goType.replace(/^\*/, "").replace(/^\[\]/, "");
  let p = pkg;
  const q = /^(\w+)\.(\w+)$/.exec(t);
  if (q) {
    p = GO_ALIAS_PREFIX[q[1]];
    t = q[2];
  }
  return p ? parsed[p]?.get(t)?.enum : undefined;
}

/** How patches and apply merge a list: its list type, map keys and strategic-merge key. */
function listMarkers(f) {
  const doc = (name) =>
    f.doc
      .split(" ")
      .filter((w) => w.startsWith(`+${name}=`))
      .map((w) => w.slice(name.length + 2));
  const tag = (name) => new RegExp(`${name}:"([^"]*)"`).exec(f.tag)?.[1];
  const out = { listType: doc("listType")[0] ?? "atomic" };
  const keys = doc("listMapKey");
  if (keys.length) out.listMapKeys = keys;
  const strategy = tag("patchStrategy");
  if (strategy) out.patchStrategy = strategy;
  const mergeKey = tag("patchMergeKey");
  if (mergeKey) out.patchMergeKey = mergeKey;
  return out;
}

/**
 * Markers of a field that is not a list: a strategic-merge `patchStrategy` (retainKeys on
 * a struct whose fields exclude one another, e.g. DeploymentStrategy) and `+mapType=atomic`
 * (a map that patches and apply replace whole).
 */
function otherMarkers(f) {
  const out = {};
  const strategy = new RegExp('patchStrategy:"([^"]*)"').exec(f.tag)?.[1];
  if (strategy) out.patchStrategy = strategy;
  if (f.doc.split(" ").includes("+mapType=atomic")) out.mapType = "atomic";
  return Object.keys(out).length ? out : undefined;
}

const kinds = {};
for (const [gvk, pkg] of Object.entries(KINDS)) kinds[gvk] = typeOf(pkg, gvk.split("/").pop());

// Cross-check against kubernetes/api's round-trip fixtures (testdata/HEAD: one object of
// each kind with every field set): each field they set must be known here, and each field
// known here (CRDs aside, which have none there) must be set in one of them.
{
  const testdata = join(apiDir, "testdata/HEAD");
  const seen = new Set();
  const unknown = [];
  const visit = (type, v) => {
    if (v === null || typeof v !== "object") return;
    if (type.startsWith("[]") || type.startsWith("{}")) {
      for (const x of Object.values(v)) visit(type.slice(2), x);
      return;
    }
    const def = definitions[type];
    if (!def || Array.isArray(v)) return;
    for (const [k, x] of Object.entries(v)) {
      if (!(k in def)) {
        unknown.push(`${type}.${k}`);
        continue;
      }
      seen.add(`${type}.${k}`);
      visit(def[k], x);
    }
  };
  for (const [gvk, type] of Object.entries(kinds)) {
    const [version, kind] = gvk.split("/").slice(-2);
    const file = readdirSync(testdata).find((f) => f.endsWith(`.${version}.${kind}.json`));
    if (file) visit(type, JSON.parse(readFileSync(join(testdata, file), "utf8")));
  }
  const unseen = Object.entries(definitions)
    .filter(([t]) => !t.startsWith(packages.apiextensions[1]))
    .flatMap(([t, d]) => Object.keys(d).map((k) => `${t}.${k}`))
    .filter((f) => !seen.has(f));
  if (unknown.length || unseen.length)
    throw new Error(
      `testdata disagrees: unknown ${unknown.join(", ")}; never set ${unseen.join(", ")}`,
    );
}

// The published OpenAPI document: the facts written come from here, and must be the ones the
// Go types gave.
const specText = readFileSync(specFile, "utf8");
const spec = JSON.parse(specText).definitions;
const OPENAPI_LEAVES = {
  "io.k8s.apimachinery.pkg.api.resource.Quantity": "quantity",
  "io.k8s.apimachinery.pkg.util.intstr.IntOrString": "int-or-string",
  "io.k8s.apimachinery.pkg.apis.meta.v1.Time": "date-time",
  "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime": "date-time",
  "io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1": "object",
  "io.k8s.apimachinery.pkg.runtime.RawExtension": "object",
};
const published = { kinds: {}, definitions: {}, alpha: {}, lists: {} };

/** The fixture's name for an OpenAPI property schema. */
function publishedType(p) {
  if (p.$ref) {
    const id = p.$ref.replace("#/definitions/", "");
    if (OPENAPI_LEAVES[id]) return OPENAPI_LEAVES[id];
    const def = spec[id];
    if (!def) throw new Error(`the OpenAPI document has no definition ${id}`);
    if (!def.properties && !def.type) return "any"; // JSON, JSONSchemaPropsOr*
    if (!(id in published.definitions)) {
      published.definitions[id] = {};
      for (const [name, prop] of Object.entries(def.properties ?? {})) {
        const key = `${id}.${name}`;
        published.definitions[id][name] = publishedType(prop);
        const gate = alphaGate(key, prop.description ?? "");
        if (gate !== undefined) published.alpha[key] = gate;
        if (prop.type === "array") {
          const markers = { listType: prop["x-kubernetes-list-type"] ?? "atomic" };
          if (prop["x-kubernetes-list-map-keys"])
            markers.listMapKeys = prop["x-kubernetes-list-map-keys"];
          if (prop["x-kubernetes-patch-strategy"])
            markers.patchStrategy = prop["x-kubernetes-patch-strategy"];
          if (prop["x-kubernetes-patch-merge-key"])
            markers.patchMergeKey = prop["x-kubernetes-patch-merge-key"];
          published.lists[key] = markers;
        }
      }
    }
    return id;
  }
  switch (p.type) {
    case "array":
      return `[]${publishedType(p.items)}`;
    case "object":
      return p.additionalProperties ? `{}${publishedType(p.additionalProperties)}` : "object";
    case "string":
      return p.format === "byte" || p.format === "date-time" ? p.format : "string";
    case "integer":
    case "number":
      return p.format;
    case "boolean":
      return "boolean";
    default:
      return "any";
  }
}

for (const gvk of Object.keys(KINDS)) {
  const [kind, version, group = ""] = gvk.split("/").reverse();
  const id = Object.keys(spec).find((d) =>
    (spec[d]["x-kubernetes-group-version-kind"] ?? []).some(
      (g) => g.group === group && g.version === version && g.kind === kind,
    ),
  );
  if (!id) throw new Error(`the OpenAPI document has no kind ${gvk}`);
  published.kinds[gvk] = publishedType({ $ref: `#/definitions/${id}` });
}

// metav1.Duration is a plain string in the OpenAPI document.
const fromGo = (t) => t.replaceAll("duration", "string");
const disagreements = [];
const same = (what, a, b) => {
  if (JSON.stringify(a) !== JSON.stringify(b))
    disagreements.push(`${what}: Go types ${JSON.stringify(a)}, OpenAPI ${JSON.stringify(b)}`);
};
same("kinds", kinds, published.kinds);
for (const id of new Set([...Object.keys(definitions), ...Object.keys(published.definitions)])) {
  const go = definitions[id] ?? {};
  const openapi = published.definitions[id] ?? {};
  for (const f of new Set([...Object.keys(go), ...Object.keys(openapi)]))
    same(`${id}.${f}`, go[f] && fromGo(go[f]), openapi[f]);
}
for (const key of new Set([...Object.keys(lists), ...Object.keys(published.lists)]))
  same(`${key} merge markers`, lists[key], published.lists[key]);
same("alpha fields", Object.entries(alpha).sort(), Object.entries(published.alpha).sort());
if (disagreements.length)
  throw new Error(`the Go types and the OpenAPI document disagree:\n${disagreements.join("\n")}`);

const sha256 = createHash("sha256").update(specText).digest("hex");
const out = {
  source: `Kubernetes 1.31's published OpenAPI: api/openapi-spec/swagger.json of kubernetes/kubernetes (release-1.31, sha256 ${sha256}), checked against the 1.31 API types it is generated from (kubernetes/api, kubernetes/apimachinery and kubernetes/apiextensions-apiserver at v0.31.0) and kubernetes/api's testdata; enum values from those types. Generated by scripts/gen-k8s-fields.mjs; do not edit.`,
  types:
    "a type is a definition name, string, boolean, int32, int64, double, byte (base64), date-time, quantity, int-or-string, object (any JSON object), any; []T is a list of T, {}T a map from string to T",
  kinds: published.kinds,
  alpha: Object.fromEntries(Object.entries(published.alpha).sort()),
  lists: Object.fromEntries(Object.entries(published.lists).sort()),
  fields: Object.fromEntries(Object.entries(fieldMarkers).sort()),
  atomicTypes: atomicTypes.sort(),
  enums: Object.fromEntries(Object.entries(enums).sort()),
  definitions: Object.fromEntries(
    Object.entries(published.definitions).sort(([a], [b]) => (a < b ? -1 : 1)),
  ),
};
const target = new URL("../packages/api/test/k8s-1.31-fields.json", import.meta.url);
writeFileSync(target, JSON.stringify(out, null, 1) + "\n");
console.log(
  `${Object.keys(out.kinds).length} kinds, ${Object.keys(out.definitions).length} definitions, ${Object.keys(out.alpha).length} alpha fields written to ${target.pathname}`,
);
