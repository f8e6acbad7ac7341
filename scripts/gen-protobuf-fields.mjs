#!/usr/bin/env node
// Writes packages/api/src/protobuf-fields.ts: the protobuf field numbers and types of the
// Kubernetes messages Skiff serves, read from Kubernetes' generated.proto files (the wire
// format's published facts) and types.go (which embedded fields JSON inlines).
// Usage: node scripts/gen-protobuf-fields.mjs <kubernetes/api checkout> <kubernetes/apimachinery checkout>
//   <kubernetes/apiextensions-apiserver checkout>
// (all at v0.33.0: field numbers never change, and 1.33 has every field the schemas accept).
import { readFileSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";

const [apiDir, machineryDir, extensionsDir] = process.argv.slice(2);
if (!apiDir || !machineryDir || !extensionsDir) {
  console.error(
    "usage: gen-protobuf-fields.mjs <kubernetes/api dir> <kubernetes/apimachinery dir> <kubernetes/apiextensions-apiserver dir>",
  );
  process.exit(2);
}
const packages = [
  [apiDir, "core/v1"],
  [apiDir, "apps/v1"],
  [apiDir, "batch/v1"],
  [apiDir, "coordination/v1"],
  [apiDir, "discovery/v1"],
  [apiDir, "autoscaling/v1"],
  [apiDir, "autoscaling/v2"],
  [apiDir, "storage/v1"],
  [apiDir, "scheduling/v1"],
  [apiDir, "authentication/v1"],
  [apiDir, "policy/v1"],
  [apiDir, "rbac/v1"],
  [apiDir, "authorization/v1"],
  [apiDir, "admissionregistration/v1"],
  [apiDir, "networking/v1"],
  [apiDir, "flowcontrol/v1"],
  [extensionsDir, "pkg/apis/apiextensions/v1"],
  [machineryDir, "pkg/apis/meta/v1"],
  [machineryDir, "pkg/api/resource"],
  [machineryDir, "pkg/util/intstr"],
  [machineryDir, "pkg/runtime"],
];
// The messages requests and responses carry; everything they reach is included.
const ROOTS = [
  "k8s.io.api.core.v1.Namespace",
  "k8s.io.api.core.v1.Pod",
  "k8s.io.api.core.v1.Node",
  "k8s.io.api.core.v1.Service",
  "k8s.io.api.core.v1.Endpoints",
  "k8s.io.api.core.v1.ConfigMap",
  "k8s.io.api.core.v1.Secret",
  "k8s.io.api.core.v1.ServiceAccount",
  "k8s.io.api.core.v1.Event",
  "k8s.io.api.core.v1.Binding",
  "k8s.io.api.core.v1.PersistentVolume",
  "k8s.io.api.core.v1.PersistentVolumeClaim",
  "k8s.io.api.core.v1.ResourceQuota",
  "k8s.io.api.core.v1.LimitRange",
  "k8s.io.api.core.v1.ReplicationController",
  "k8s.io.api.apps.v1.StatefulSet",
  "k8s.io.api.apps.v1.ControllerRevision",
  "k8s.io.api.batch.v1.CronJob",
  "k8s.io.api.storage.v1.StorageClass",
  "k8s.io.api.policy.v1.PodDisruptionBudget",
  "k8s.io.api.scheduling.v1.PriorityClass",
  "k8s.io.api.autoscaling.v2.HorizontalPodAutoscaler",
  "k8s.io.api.autoscaling.v1.HorizontalPodAutoscaler",
  "k8s.io.api.apps.v1.Deployment",
  "k8s.io.api.apps.v1.ReplicaSet",
  "k8s.io.api.apps.v1.DaemonSet",
  "k8s.io.api.batch.v1.Job",
  "k8s.io.api.coordination.v1.Lease",
  "k8s.io.api.discovery.v1.EndpointSlice",
  "k8s.io.api.autoscaling.v1.Scale",
  "k8s.io.api.authentication.v1.TokenRequest",
  "k8s.io.api.authentication.v1.SelfSubjectReview",
  "k8s.io.api.policy.v1.Eviction",
  "k8s.io.api.rbac.v1.Role",
  "k8s.io.api.rbac.v1.ClusterRole",
  "k8s.io.api.rbac.v1.RoleBinding",
  "k8s.io.api.rbac.v1.ClusterRoleBinding",
  "k8s.io.api.authorization.v1.SubjectAccessReview",
  "k8s.io.api.authorization.v1.SelfSubjectAccessReview",
  "k8s.io.api.authorization.v1.LocalSubjectAccessReview",
  "k8s.io.api.authorization.v1.SelfSubjectRulesReview",
  "k8s.io.api.admissionregistration.v1.MutatingWebhookConfiguration",
  "k8s.io.api.admissionregistration.v1.ValidatingWebhookConfiguration",
  "k8s.io.api.admissionregistration.v1.ValidatingAdmissionPolicy",
  "k8s.io.api.admissionregistration.v1.ValidatingAdmissionPolicyBinding",
  "k8s.io.api.networking.v1.Ingress",
  "k8s.io.api.networking.v1.IngressClass",
  "k8s.io.api.flowcontrol.v1.FlowSchema",
  "k8s.io.api.flowcontrol.v1.PriorityLevelConfiguration",
  "k8s.io.api.networking.v1.NetworkPolicy",
  "k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition",
  "k8s.io.apimachinery.pkg.apis.meta.v1.Status",
  "k8s.io.apimachinery.pkg.apis.meta.v1.DeleteOptions",
  "k8s.io.apimachinery.pkg.apis.meta.v1.WatchEvent",
  "k8s.io.apimachinery.pkg.runtime.Unknown",
];
const LISTS = [
  "Namespace",
  "Pod",
  "Node",
  "Service",
  "Endpoints",
  "ConfigMap",
  "Secret",
  "ServiceAccount",
  "Event",
  "PersistentVolume",
  "PersistentVolumeClaim",
  "ResourceQuota",
  "LimitRange",
  "ReplicationController",
]
  .map((k) => `k8s.io.api.core.v1.${k}List`)
  .concat(
    ["Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "ControllerRevision"].map(
      (k) => `k8s.io.api.apps.v1.${k}List`,
    ),
  )
  .concat([
    "k8s.io.api.batch.v1.CronJobList",
    "k8s.io.api.storage.v1.StorageClassList",
    "k8s.io.api.policy.v1.PodDisruptionBudgetList",
    "k8s.io.api.scheduling.v1.PriorityClassList",
    "k8s.io.api.autoscaling.v2.HorizontalPodAutoscalerList",
    "k8s.io.api.batch.v1.JobList",
    "k8s.io.api.coordination.v1.LeaseList",
    "k8s.io.api.discovery.v1.EndpointSliceList",
    "k8s.io.api.rbac.v1.RoleList",
    "k8s.io.api.rbac.v1.ClusterRoleList",
    "k8s.io.api.rbac.v1.RoleBindingList",
    "k8s.io.api.rbac.v1.ClusterRoleBindingList",
    "k8s.io.api.admissionregistration.v1.MutatingWebhookConfigurationList",
    "k8s.io.api.admissionregistration.v1.ValidatingWebhookConfigurationList",
    "k8s.io.api.admissionregistration.v1.ValidatingAdmissionPolicyList",
    "k8s.io.api.admissionregistration.v1.ValidatingAdmissionPolicyBindingList",
    "k8s.io.api.networking.v1.IngressList",
    "k8s.io.api.networking.v1.IngressClassList",
    "k8s.io.api.flowcontrol.v1.FlowSchemaList",
    "k8s.io.api.flowcontrol.v1.PriorityLevelConfigurationList",
    "k8s.io.api.networking.v1.NetworkPolicyList",
    "k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinitionList",
  ]);

const messages = new Map();
for (const [root, dir] of packages) {
  const text = readFileSync(join(root, dir, "generated.proto"), "utf8");
  const pkg = /^package ([\w.]+);/m.exec(text)[1];
  // Which Go fields JSON inlines, and JSON names that differ from proto names.
  const inline = new Set();
  const rename = new Map();
  // Value (non-pointer) fields that JSON omits when zero: protobuf still carries their zero.
  const omitZero = new Set();
  for (const file of ["types.go", "types_jsonschema.go"]) {
    const p = join(root, dir, file);
    if (!existsSync(p)) continue;
    let struct = "";
    for (const line of readFileSync(p, "utf8").split("\n")) {
      const s = /^type (\w+) struct/.exec(line);
      if (s) struct = s[1];
      const tag = /`json:"([^"]*)".*protobuf:"[^"]*?(?:name=(\w+)|")/.exec(line);
      if (!tag) continue;
      // An embedded struct's tag names no field (EphemeralContainerCommon): the proto field
      // is the Go type's name, lower camel case.
      const embedded = /^\s*(\w+)\s+`/.exec(line)?.[1];
      const protoName =
        tag[2] ?? (embedded ? embedded[0].toLowerCase() + embedded.slice(1) : undefined);
      if (!protoName) continue;
      const jsonTag = tag[1].split(",")[0];
      const goType = /^\s*\w+\s+(\S+)\s+`/.exec(line)?.[1] ?? "";
      if (tag[1].split(",").includes("omitempty") && !/^[*[]|^map/.test(goType))
        omitZero.add(`${struct}.${protoName}`);
      if (tag[1].split(",").includes("inline") && jsonTag === "")
        inline.add(`${struct}.${protoName}`);
      else if (jsonTag && jsonTag !== "-" && jsonTag !== protoName)
        rename.set(`${struct}.${protoName}`, jsonTag);
    }
  }
  let current;
  for (const raw of text.split("\n")) {
    const line = raw.replace(/\/\/.*$/, "").trim();
    const m = /^message (\w+) \{$/.exec(line);
    if (m) {
      current = { name: m[1], fields: [] };
      messages.set(`${pkg}.${m[1]}`, current);
      continue;
    }
    if (line === "}") continue;
    const f = /^(optional|repeated) ([\w.]+) (\w+) = (\d+);$/.exec(line);
    const mp = /^map<(\w+), ([\w.]+)> (\w+) = (\d+);$/.exec(line);
    if (!current || (!f && !mp)) continue;
    const [type, name, num, mode] = f
      ? [f[2], f[3], Number(f[4]), f[1] === "repeated" ? "repeated" : ""]
      : [mp[2], mp[3], Number(mp[4]), "map"];
    if (mp && mp[1] !== "string") throw new Error(`map key ${mp[1]} in ${current.name}`);
    const scalar = /^(string|bytes|bool|int32|int64|double|float|uint32|uint64)$/.test(type);
    const bare = type.replace(/^\./, "");
    const full = scalar ? bare : bare.includes(".") ? bare : `${pkg}.${bare}`;
    const key = `${current.name}.${name}`;
    current.fields.push({
      name,
      json: rename.get(key) ?? name,
      num,
      type: full,
      mode: inline.has(key) ? "inline" : mode,
      omitZero: omitZero.has(key),
    });
  }
}

const out = new Map();
const visit = (name) => {
  if (out.has(name)) return;
  const m = messages.get(name);
  if (!m) throw new Error(`unknown message ${name}`);
  out.set(name, m);
  for (const f of m.fields) if (messages.has(f.type)) visit(f.type);
};
for (const r of [...ROOTS, ...LISTS]) visit(r);

const lines = [
  "// Generated by scripts/gen-protobuf-fields.mjs from Kubernetes' generated.proto files",
  "// (kubernetes/api, apimachinery and apiextensions-apiserver v0.33.0). Do not edit: regenerate.",
  "//",
  "// message -> JSON field name -> [field number, type, mode]. A type is a scalar",
  '// (string, bytes, bool, int32, int64, double) or another message; mode is "repeated",',
  '// "map" (string keys) or "inline" (JSON flattens the embedded message into its parent);',
  "// a fourth element 1 marks a value field that JSON omits when zero (protobuf carries it).",
  'export type ProtoFieldMode = "" | "repeated" | "map" | "inline";',
  "export type ProtoField = readonly [number, string, ProtoFieldMode, 1?];",
  "",
  "export const protobufMessages: Record<string, Record<string, ProtoField>> = {",
];
for (const [name, m] of [...out].sort(([a], [b]) => (a < b ? -1 : 1))) {
  lines.push(`  "${name}": {`);
  for (const f of m.fields)
    lines.push(
      `    ${/^\w+$/.test(f.json) ? f.json : JSON.stringify(f.json)}: [${f.num}, "${f.type}", "${f.mode}"${f.omitZero ? ", 1" : ""}],`,
    );
  lines.push("  },");
}
lines.push("};", "");
const target = new URL("../packages/api/src/protobuf-fields.ts", import.meta.url);
writeFileSync(target, lines.join("\n"));
console.log(`${out.size} messages written to ${target.pathname}`);
