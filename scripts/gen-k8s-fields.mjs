#!/usr/bin/env node
// Writes packages/api/test/k8s-1.31-fields.json: the fields Kubernetes 1.31 has for each
// kind Skiff serves (or is about to serve), as OpenAPI-style definitions: type name ->
// JSON field name -> field type. The source is Kubernetes' own API types at the 1.31
// release: kubernetes/api, kubernetes/apimachinery and kubernetes/apiextensions-apiserver
// at v0.31.0 (the staging repositories published with v1.31.0; the OpenAPI document
// `api/openapi-spec` of kubernetes/kubernetes is generated from these same types, field
// by field, through their json tags). Only facts are taken: names, JSON shapes, merge
// markers (of lists; retainKeys and replace on structs; atomic maps and structs), enum
// values, and the fields the 1.31 sources document as alpha (feature-gated, off by
// default). The result is checked against kubernetes/api's own round-trip fixtures
// (testdata/HEAD, an object of each kind with every field set) before it is written.
//
// Usage: node scripts/gen-k8s-fields.mjs <kubernetes/api> <kubernetes/apimachinery> <kubernetes/apiextensions-apiserver>
// (each a checkout of the v0.31.0 tag), then `npx prettier --write` on the output.
import { readFileSync, readdirSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";

const [apiDir, machineryDir, extDir] = process.argv.slice(2);
if (!apiDir || !machineryDir || !extDir) {
  console.error(
    "usage: gen-k8s-fields.mjs <kubernetes/api> <kubernetes/apimachinery> <kubernetes/apiextensions-apiserver>",
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
    const said = /\balpha\b|\(Alpha\)/i.test(f.doc) && !/alphanumeric/.test(f.doc);
    if ((said && !NOT_ALPHA[key]) || ALPHA[key]) {
      const gate = ALPHA[key] ?? /(\w+) feature/.exec(f.doc)?.[1] ?? "";
      alpha[key] = gate;
    }
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

const out = {
  source:
    "Kubernetes 1.31 API types: kubernetes/api, kubernetes/apimachinery and kubernetes/apiextensions-apiserver at v0.31.0 (the types api/openapi-spec is generated from). Generated by scripts/gen-k8s-fields.mjs; do not edit.",
  types:
    "a type is a definition name, string, boolean, int32, int64, double, byte (base64), date-time, duration, quantity, int-or-string, object (any JSON object), any; []T is a list of T, {}T a map from string to T",
  kinds,
  alpha: Object.fromEntries(Object.entries(alpha).sort()),
  lists: Object.fromEntries(Object.entries(lists).sort()),
  fields: Object.fromEntries(Object.entries(fieldMarkers).sort()),
  atomicTypes: atomicTypes.sort(),
  enums: Object.fromEntries(Object.entries(enums).sort()),
  definitions: Object.fromEntries(Object.entries(definitions).sort(([a], [b]) => (a < b ? -1 : 1))),
};
const target = new URL("../packages/api/test/k8s-1.31-fields.json", import.meta.url);
writeFileSync(target, JSON.stringify(out, null, 1) + "\n");
console.log(
  `${Object.keys(kinds).length} kinds, ${Object.keys(definitions).length} definitions, ${Object.keys(alpha).length} alpha fields written to ${target.pathname}`,
);
