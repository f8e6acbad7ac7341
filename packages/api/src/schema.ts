// The one schema per kind that everything else derives from: schemaFor(info) for the
// apiserver, the List schemas, and a small classifier the walkers (defaults, validation,
// pruning, OpenAPI) share so that they read schemas the same way.
import type { TObject, TSchema } from "@sinclair/typebox";
import type { ResourceInfo } from "./resources.js";
import { listSchemaOf } from "./schemas/meta.js";
import * as core from "./schemas/core.js";
import * as apps from "./schemas/apps.js";
import * as batch from "./schemas/batch.js";
import * as other from "./schemas/other.js";
import * as storage from "./schemas/storage.js";
import * as policy from "./schemas/policy.js";
import * as quota from "./schemas/quota.js";
import * as autoscaling from "./schemas/autoscaling.js";
import * as rbac from "./schemas/rbac.js";
import * as admissionregistration from "./schemas/admissionregistration.js";
import * as apiextensions from "./schemas/apiextensions.js";
import * as replicationcontroller from "./schemas/replicationcontroller.js";
import * as admissionpolicy from "./schemas/admissionpolicy.js";
import * as ingress from "./schemas/ingress.js";
import * as flowcontrol from "./schemas/flowcontrol.js";
import * as networkpolicy from "./schemas/networkpolicy.js";

export * from "./schemas/meta.js";
export * from "./schemas/core.js";
export * from "./schemas/apps.js";
export * from "./schemas/batch.js";
export * from "./schemas/other.js";
export * from "./schemas/storage.js";
export * from "./schemas/policy.js";
export * from "./schemas/quota.js";
export * from "./schemas/autoscaling.js";
export * from "./schemas/rbac.js";
export * from "./schemas/admissionregistration.js";
export * from "./schemas/apiextensions.js";
export * from "./schemas/replicationcontroller.js";
export * from "./schemas/admissionpolicy.js";
export * from "./schemas/ingress.js";
export * from "./schemas/flowcontrol.js";
export * from "./schemas/networkpolicy.js";

/** Schemas of the kinds served as resources, by kind. */
const kindSchemas: Record<string, TObject> = {
  Namespace: core.NamespaceSchema,
  Pod: core.PodSchema,
  Node: core.NodeSchema,
  Service: core.ServiceSchema,
  Endpoints: core.EndpointsSchema,
  ConfigMap: core.ConfigMapSchema,
  Secret: core.SecretSchema,
  ServiceAccount: core.ServiceAccountSchema,
  Event: core.EventSchema,
  Deployment: apps.DeploymentSchema,
  ReplicaSet: apps.ReplicaSetSchema,
  DaemonSet: apps.DaemonSetSchema,
  StatefulSet: apps.StatefulSetSchema,
  ControllerRevision: apps.ControllerRevisionSchema,
  PersistentVolumeClaim: storage.PersistentVolumeClaimSchema,
  PersistentVolume: storage.PersistentVolumeSchema,
  StorageClass: storage.StorageClassSchema,
  PodDisruptionBudget: policy.PodDisruptionBudgetSchema,
  PriorityClass: quota.PriorityClassSchema,
  ResourceQuota: quota.ResourceQuotaSchema,
  LimitRange: quota.LimitRangeSchema,
  Job: batch.JobSchema,
  CronJob: batch.CronJobSchema,
  Lease: other.LeaseSchema,
  EndpointSlice: other.EndpointSliceSchema,
  HorizontalPodAutoscaler: autoscaling.HorizontalPodAutoscalerSchema,
  Role: rbac.RoleSchema,
  ClusterRole: rbac.ClusterRoleSchema,
  RoleBinding: rbac.RoleBindingSchema,
  ClusterRoleBinding: rbac.ClusterRoleBindingSchema,
  MutatingWebhookConfiguration: admissionregistration.MutatingWebhookConfigurationSchema,
  ValidatingWebhookConfiguration: admissionregistration.ValidatingWebhookConfigurationSchema,
  CustomResourceDefinition: apiextensions.CustomResourceDefinitionSchema,
  ReplicationController: replicationcontroller.ReplicationControllerSchema,
  ValidatingAdmissionPolicy: admissionpolicy.ValidatingAdmissionPolicySchema,
  ValidatingAdmissionPolicyBinding: admissionpolicy.ValidatingAdmissionPolicyBindingSchema,
  Ingress: ingress.IngressSchema,
  IngressClass: ingress.IngressClassSchema,
  FlowSchema: flowcontrol.FlowSchemaSchema,
  PriorityLevelConfiguration: flowcontrol.PriorityLevelConfigurationSchema,
  NetworkPolicy: networkpolicy.NetworkPolicySchema,
};

const listSchemas = new Map<string, TObject>();

/** The schema of a resource's kind. Throws for a kind without one (a programming error). */
export function schemaFor(info: Pick<ResourceInfo, "kind">): TObject {
  const schema = kindSchemas[info.kind];
  if (!schema) throw new Error(`no schema for kind ${info.kind}`);
  return schema;
}

/** The schema of a resource's List kind (PodList, ...), named as Kubernetes names it. */
export function listSchemaFor(info: Pick<ResourceInfo, "kind">): TObject {
  const item = schemaFor(info);
  let list = listSchemas.get(info.kind);
  if (!list) {
    list = listSchemaOf(`${item.$id ?? info.kind}List`, item);
    listSchemas.set(info.kind, list);
  }
  return list;
}

// ---- reading schemas ----------------------------------------------------------------

/** How a walker sees one schema node. */
export type SchemaNode =
  | {
      is: "struct";
      properties: Record<string, TSchema>;
      /** Object.entries(properties), once. */
      entries: [string, TSchema][];
      /** The entries whose schema has a `default`. */
      defaulted: [string, TSchema][];
    }
  | { is: "map"; values: TSchema }
  | { is: "array"; items: TSchema }
  | { is: "scalar"; types: ScalarType[] }
  | { is: "any" };

export type ScalarType = "string" | "integer" | "number" | "boolean";

// Schemas are constants: each is classified once (validation, defaulting and pruning walk
// them for every write).
const classified = new WeakMap<TSchema, SchemaNode>();

export function classify(schema: TSchema): SchemaNode {
  let node = classified.get(schema);
  if (!node) classified.set(schema, (node = classifyOnce(schema)));
  return node;
}

function classifyOnce(schema: TSchema): SchemaNode {
  if (Array.isArray(schema.anyOf)) {
    const types = (schema.anyOf as TSchema[]).map((s) => s.type as ScalarType);
    return { is: "scalar", types };
  }
  switch (schema.type) {
    case "object": {
      if (schema.properties) {
        const properties = schema.properties as Record<string, TSchema>;
        const entries = Object.entries(properties);
        const defaulted = entries.filter(([, prop]) => "default" in prop);
        return { is: "struct", properties, entries, defaulted };
      }
      const pattern = schema.patternProperties as Record<string, TSchema> | undefined;
      const values = pattern ? Object.values(pattern)[0] : undefined;
      if (values && !schema["x-kubernetes-preserve-unknown-fields"]) return { is: "map", values };
      return { is: "any" };
    }
    case "array":
      return { is: "array", items: schema.items as TSchema };
    case "string":
    case "integer":
    case "number":
    case "boolean":
      return { is: "scalar", types: [schema.type] };
    default:
      return { is: "any" };
  }
}

export { isObject } from "./guards.js";

/** Appends a struct field to a path: "spec" + "replicas" -> "spec.replicas". */
export function child(path: string, name: string): string {
  return path ? `${path}.${name}` : name;
}

/** Appends a list index or map key to a path: "spec.containers[0]", "limits[cpu]". */
export function index(path: string, i: number | string): string {
  return `${path}[${i}]`;
}
