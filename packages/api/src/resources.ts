// The resources Skiff serves: one entry per kind, naming its group, version, plural,
// scope and the discovery details kubectl relies on (short names, categories, verbs).

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

export type Subresource =
  | "status"
  | "scale"
  | "binding"
  | "log"
  | "exec"
  | "attach"
  | "portforward"
  | "proxy"
  | "eviction"
  | "token"
  | "ephemeralcontainers";

export interface ResourceInfo {
  group: string; // "" for the core group
  version: string;
  kind: string;
  listKind: string;
  resource: string; // plural, lower case: "pods"
  singular: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  subresources: Subresource[];
  /** Whether the object has a spec whose changes bump metadata.generation. */
  hasSpec: boolean;
  /** Whether PUT/PATCH on the main resource may not change .status (it has a status subresource). */
  hasStatus: boolean;
  /** Set for resources a CustomResourceDefinition defines (served while the CRD exists). */
  custom?: CustomResourceDetail;
}

/** What a CRD says about one served version of its resource (apiextensions/crd.ts fills it). */
export interface CustomResourceDetail {
  /** The CRD's name: "{plural}.{group}". */
  crdName: string;
  crdUid: string;
  /** The version objects are stored at (they are stored with that apiVersion). */
  storageVersion: string;
  schema?: import("./apiextensions/jsonschema.js").JSONSchemaProps;
  printerColumns: PrinterColumn[];
  scale?: { specReplicasPath: string; statusReplicasPath: string; labelSelectorPath?: string };
  /** selectableFields jsonPaths, without the leading dot: "spec.color". */
  selectableFields: string[];
  /** The warning every request to a deprecated version gets (Kubernetes' default when unset). */
  deprecationWarning?: string;
}

export interface PrinterColumn {
  name: string;
  type: string;
  format?: string;
  description?: string;
  priority?: number;
  jsonPath: string;
}

const ALL = ["all"];
const RBAC = "rbac.authorization.k8s.io";

function res(
  group: string,
  version: string,
  kind: string,
  resource: string,
  namespaced: boolean,
  opts: {
    shortNames?: string[];
    categories?: string[];
    subresources?: Subresource[];
    hasSpec?: boolean;
  } = {},
): ResourceInfo {
  const subresources = opts.subresources ?? [];
  return {
    group,
    version,
    kind,
    listKind: `${kind}List`,
    resource,
    singular: kind.toLowerCase(),
    namespaced,
    shortNames: opts.shortNames ?? [],
    categories: opts.categories ?? [],
    subresources,
    hasSpec: opts.hasSpec ?? false,
    hasStatus: subresources.includes("status"),
  };
}

export const resources: readonly ResourceInfo[] = [
  res("", "v1", "Namespace", "namespaces", false, {
    shortNames: ["ns"],
    subresources: ["status"],
    hasSpec: true,
  }),
  res("", "v1", "Pod", "pods", true, {
    shortNames: ["po"],
    categories: ALL,
    subresources: [
      "status",
      "binding",
      "log",
      "exec",
      "attach",
      "portforward",
      "eviction",
      "ephemeralcontainers",
    ],
    hasSpec: true,
  }),
  res("", "v1", "Node", "nodes", false, {
    shortNames: ["no"],
    subresources: ["status", "proxy"],
    hasSpec: true,
  }),
  res("", "v1", "Service", "services", true, {
    shortNames: ["svc"],
    categories: ALL,
    subresources: ["status"],
    hasSpec: true,
  }),
  res("", "v1", "Endpoints", "endpoints", true, { shortNames: ["ep"] }),
  res("", "v1", "ConfigMap", "configmaps", true, { shortNames: ["cm"] }),
  res("", "v1", "Secret", "secrets", true),
  res("", "v1", "ServiceAccount", "serviceaccounts", true, {
    shortNames: ["sa"],
    subresources: ["token"],
  }),
  res("", "v1", "Event", "events", true, { shortNames: ["ev"] }),
  res("apps", "v1", "Deployment", "deployments", true, {
    shortNames: ["deploy"],
    categories: ALL,
    subresources: ["status", "scale"],
    hasSpec: true,
  }),
  res("apps", "v1", "ReplicaSet", "replicasets", true, {
    shortNames: ["rs"],
    categories: ALL,
    subresources: ["status", "scale"],
    hasSpec: true,
  }),
  res("apps", "v1", "DaemonSet", "daemonsets", true, {
    shortNames: ["ds"],
    categories: ALL,
    subresources: ["status"],
    hasSpec: true,
  }),
  res("apps", "v1", "StatefulSet", "statefulsets", true, {
    shortNames: ["sts"],
    categories: ALL,
    subresources: ["status", "scale"],
    hasSpec: true,
  }),
  res("apps", "v1", "ControllerRevision", "controllerrevisions", true),
  res("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", true, {
    shortNames: ["pvc"],
    subresources: ["status"],
    hasSpec: true,
  }),
  res("", "v1", "PersistentVolume", "persistentvolumes", false, {
    shortNames: ["pv"],
    subresources: ["status"],
    hasSpec: true,
  }),
  res("storage.k8s.io", "v1", "StorageClass", "storageclasses", false, { shortNames: ["sc"] }),
  res("batch", "v1", "Job", "jobs", true, {
    categories: ALL,
    subresources: ["status"],
    hasSpec: true,
  }),
  res("batch", "v1", "CronJob", "cronjobs", true, {
    shortNames: ["cj"],
    categories: ALL,
    subresources: ["status"],
    hasSpec: true,
  }),
  res("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", true, {
    shortNames: ["pdb"],
    subresources: ["status"],
    hasSpec: true,
  }),
  res("scheduling.k8s.io", "v1", "PriorityClass", "priorityclasses", false, {
    shortNames: ["pc"],
  }),
  res("", "v1", "ResourceQuota", "resourcequotas", true, {
    shortNames: ["quota"],
    subresources: ["status"],
    hasSpec: true,
  }),
  res("", "v1", "LimitRange", "limitranges", true, { shortNames: ["limits"] }),
  res("coordination.k8s.io", "v1", "Lease", "leases", true, { hasSpec: true }),
  res("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", true),
  res(
    "apiextensions.k8s.io",
    "v1",
    "CustomResourceDefinition",
    "customresourcedefinitions",
    false,
    {
      shortNames: ["crd", "crds"],
      categories: ["api-extensions"],
      subresources: ["status"],
      hasSpec: true,
    },
  ),
  res("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", true, {
    shortNames: ["hpa"],
    categories: ALL,
    subresources: ["status"],
    hasSpec: true,
  }),
  res(RBAC, "v1", "Role", "roles", true),
  res(RBAC, "v1", "ClusterRole", "clusterroles", false),
  res(RBAC, "v1", "RoleBinding", "rolebindings", true),
  res(RBAC, "v1", "ClusterRoleBinding", "clusterrolebindings", false),
  res(
    "admissionregistration.k8s.io",
    "v1",
    "MutatingWebhookConfiguration",
    "mutatingwebhookconfigurations",
    false,
    { categories: ["api-extensions"] },
  ),
  res(
    "admissionregistration.k8s.io",
    "v1",
    "ValidatingWebhookConfiguration",
    "validatingwebhookconfigurations",
    false,
    { categories: ["api-extensions"] },
  ),
  res("", "v1", "ReplicationController", "replicationcontrollers", true, {
    shortNames: ["rc"],
    categories: ALL,
    subresources: ["status", "scale"],
    hasSpec: true,
  }),
  res(
    "admissionregistration.k8s.io",
    "v1",
    "ValidatingAdmissionPolicy",
    "validatingadmissionpolicies",
    false,
    { categories: ["api-extensions"], subresources: ["status"], hasSpec: true },
  ),
  res(
    "admissionregistration.k8s.io",
    "v1",
    "ValidatingAdmissionPolicyBinding",
    "validatingadmissionpolicybindings",
    false,
    { categories: ["api-extensions"], hasSpec: true },
  ),
  res("networking.k8s.io", "v1", "Ingress", "ingresses", true, {
    shortNames: ["ing"],
    subresources: ["status"],
    hasSpec: true,
  }),
  res("networking.k8s.io", "v1", "IngressClass", "ingressclasses", false, { hasSpec: true }),
  res("flowcontrol.apiserver.k8s.io", "v1", "FlowSchema", "flowschemas", false, {
    subresources: ["status"],
    hasSpec: true,
  }),
  res(
    "flowcontrol.apiserver.k8s.io",
    "v1",
    "PriorityLevelConfiguration",
    "prioritylevelconfigurations",
    false,
    { subresources: ["status"], hasSpec: true },
  ),
  res("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", true, {
    shortNames: ["netpol"],
    hasSpec: true,
  }),
];

export function apiVersionOf(info: { group: string; version: string }): string {
  return info.group === "" ? info.version : `${info.group}/${info.version}`;
}

/** Finds a resource by group, version and plural name (as in a URL path). */
export function findResource(
  group: string,
  version: string,
  resource: string,
): ResourceInfo | undefined {
  return resources.find(
    (r) => r.group === group && r.version === version && r.resource === resource,
  );
}

/**
 * The resource a program names in its own code (`resourceInfo("apps", "v1", "deployments")`):
 * one @skiff/api must serve, so a missing one is a programming error and throws.
 */
export function resourceInfo(group: string, version: string, resource: string): ResourceInfo {
  const info = findResource(group, version, resource);
  if (!info)
    throw new Error(`@skiff/api serves no resource ${resource} in ${group || "core"}/${version}`);
  return info;
}

/** Finds a resource by apiVersion ("apps/v1", "v1") and kind. */
export function findResourceByKind(apiVersion: string, kind: string): ResourceInfo | undefined {
  return resources.find((r) => apiVersionOf(r) === apiVersion && r.kind === kind);
}

/** The group/versions served, core first, in the order discovery lists them. */
export function groupVersions(): { group: string; version: string }[] {
  const seen = new Map<string, { group: string; version: string }>();
  for (const r of resources) seen.set(apiVersionOf(r), { group: r.group, version: r.version });
  return [...seen.values()];
}

const METHOD_VERBS: Record<string, string> = {
  POST: "create",
  GET: "get",
  HEAD: "get",
  PUT: "update",
  PATCH: "patch",
  DELETE: "delete",
};

/**
 * A request's authorization verb by its HTTP method, as Kubernetes' request info maps it
 * (POST create, GET and HEAD get, PUT update, PATCH patch, DELETE delete; any other method in
 * lower case). Whether a GET is a list or a watch, or a DELETE a deletecollection, the
 * caller tells from the path and query.
 */
export function verbForMethod(method: string): string {
  return METHOD_VERBS[method.toUpperCase()] ?? method.toLowerCase();
}
