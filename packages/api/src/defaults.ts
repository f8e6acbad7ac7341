// Kubernetes 1.31 defaulting. Fixed defaults live in the schemas (`default`); the ones
// that depend on other fields are the per-type functions below, keyed by the schema's
// name like Kubernetes' SetDefaults_<Type>. Parents are defaulted before their children.
import type { TSchema } from "@sinclair/typebox";
import type { ResourceInfo } from "./resources.js";
import { classify, isObject, schemaFor } from "./schema.js";
import { defaultCustom } from "./apiextensions/custom.js";
import { defaultCRD } from "./apiextensions/crd.js";
import { defaultPolicyTypes } from "./validation/networkpolicy.js";

type Obj = Record<string, unknown>;

/** Fills in what Kubernetes would default in a resource of this kind (mutates obj). */
export function applyDefaults(info: Pick<ResourceInfo, "kind" | "custom">, obj: Obj): void {
  if (info.custom) return defaultCustom(info, obj);
  if (info.kind === "CustomResourceDefinition") defaultCRD(obj);
  defaultWithSchema(schemaFor(info), obj);
}

/** Same, for any schema (Scale, DeleteOptions, a PodTemplateSpec...). */
export function defaultWithSchema(schema: TSchema, value: unknown): void {
  if (!mayDefault(schema)) return;
  const node = classify(schema);
  if (node.is === "struct" && isObject(value)) {
    for (const [name, prop] of node.defaulted) {
      if (isUnset(value[name], prop.default)) value[name] = structuredClone(prop.default);
    }
    hookOf(schema)?.(value);
    // The fields the object has (a handful) rather than all its kind could have (a PodSpec's
    // forty): only objects and arrays have anything inside to default.
    for (const name in value) {
      const v = value[name];
      if (typeof v === "object" && v !== null && Object.hasOwn(node.properties, name)) {
        defaultWithSchema(node.properties[name]!, v);
      }
    }
  } else if (node.is === "array" && Array.isArray(value)) {
    for (const item of value) defaultWithSchema(node.items, item);
  } else if (node.is === "map" && isObject(value)) {
    for (const v of Object.values(value)) defaultWithSchema(node.values, v);
  }
}

function hookOf(schema: TSchema): ((o: Obj) => void) | undefined {
  const id = schema.$id;
  return typeof id === "string" && Object.hasOwn(hooks, id) ? hooks[id] : undefined;
}

// Whether anything at or below a schema has a default or a SetDefaults hook, worked out once
// per schema: most of an object (its metadata, a container's resources and env) has none, and
// is not walked for every write.
const defaultable = new WeakMap<TSchema, boolean>();

function mayDefault(schema: TSchema): boolean {
  let known = defaultable.get(schema);
  if (known === undefined) {
    defaultable.set(schema, true); // a schema inside itself: assume so while looking
    known = findsDefaults(schema);
    defaultable.set(schema, known);
  }
  return known;
}

function findsDefaults(schema: TSchema): boolean {
  const node = classify(schema);
  switch (node.is) {
    case "struct":
      return (
        node.defaulted.length > 0 ||
        hookOf(schema) !== undefined ||
        node.entries.some(([, prop]) => mayDefault(prop))
      );
    case "array":
      return mayDefault(node.items);
    case "map":
      return mayDefault(node.values);
    default:
      return false;
  }
}

// Go's zero values mean "unset" for strings: "" gets the default like a missing field.
function isUnset(v: unknown, dflt: unknown): boolean {
  return v === undefined || v === null || (v === "" && dflt !== "");
}

function obj(parent: Obj, key: string): Obj {
  const v = parent[key];
  if (isObject(v)) return v;
  const created: Obj = {};
  parent[key] = created;
  return created;
}

function rec(v: unknown): Obj {
  return isObject(v) ? v : {};
}

function list(v: unknown): Obj[] {
  return Array.isArray(v) ? v.filter(isObject) : [];
}

function unset(v: unknown): boolean {
  return v === undefined || v === null || v === "";
}

/** The tag of an image reference: "latest" when it names neither tag nor digest. */
export function imageTag(image: string): string {
  const at = image.indexOf("@");
  const name = at >= 0 ? image.slice(0, at) : image;
  const lastPart = name.slice(name.lastIndexOf("/") + 1);
  const colon = lastPart.indexOf(":");
  if (colon >= 0) return lastPart.slice(colon + 1);
  return at >= 0 ? "" : "latest";
}

const CORE = "io.k8s.api.core.v1";

const hooks: Record<string, (o: Obj) => void> = {
  // SetDefaults_ReplicationController: the selector and the object's labels come from the
  // template's labels when unset.
  [`${CORE}.ReplicationController`]: (rc) => {
    const labels = isObject(rc.spec) ? rec(rec(rc.spec.template).metadata).labels : undefined;
    if (!isObject(labels) || !isObject(rc.spec)) return;
    if (!isObject(rc.spec.selector) || Object.keys(rc.spec.selector).length === 0)
      rc.spec.selector = { ...labels };
    const meta = obj(rc, "metadata");
    if (!isObject(meta.labels) || Object.keys(meta.labels).length === 0)
      meta.labels = { ...labels };
  },
  ["io.k8s.api.networking.v1.NetworkPolicySpec"]: defaultPolicyTypes,
  // SetDefaults_Subject (rbac/v1): a User's or Group's apiGroup is RBAC's.
  ["io.k8s.api.rbac.v1.Subject"]: (subject) => {
    if (subject.apiGroup !== undefined && subject.apiGroup !== "") return;
    if (subject.kind === "User" || subject.kind === "Group")
      subject.apiGroup = "rbac.authorization.k8s.io";
  },
  // SetDefaults_HorizontalPodAutoscaler (autoscaling/v2): no metrics means cpu at 80%.
  ["io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerSpec"]: (spec) => {
    if (list(spec.metrics).length === 0 && spec.metrics === undefined) {
      spec.metrics = [
        {
          type: "Resource",
          resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 80 } },
        },
      ];
    }
  },
  [`${CORE}.Pod`]: (pod) => {
    const spec = pod.spec;
    if (!isObject(spec)) return;
    // Pods only, not templates: Kubernetes' SetDefaults_Pod and the ServiceAccount
    // admission plugin.
    spec.enableServiceLinks ??= true;
    if (unset(spec.serviceAccountName) && unset(spec.serviceAccount)) {
      spec.serviceAccountName = "default";
    }
    for (const c of [...list(spec.containers), ...list(spec.initContainers)]) {
      // A limit without a request requests the limit.
      const resources = isObject(c.resources) ? c.resources : undefined;
      const limits = resources?.limits;
      if (resources && isObject(limits)) {
        const requests = obj(resources, "requests");
        for (const [name, q] of Object.entries(limits)) requests[name] ??= q;
      }
      if (spec.hostNetwork === true) {
        for (const p of list(c.ports))
          if (unset(p.hostPort) || p.hostPort === 0) p.hostPort = p.containerPort;
      }
    }
  },

  [`${CORE}.PodSpec`]: (spec) => {
    // v1 keeps the deprecated serviceAccount in step with serviceAccountName.
    if (unset(spec.serviceAccountName) && !unset(spec.serviceAccount)) {
      spec.serviceAccountName = spec.serviceAccount;
    }
    if (!unset(spec.serviceAccountName)) spec.serviceAccount = spec.serviceAccountName;
  },

  [`${CORE}.Container`]: defaultPullPolicy,
  [`${CORE}.EphemeralContainer`]: defaultPullPolicy,

  [`${CORE}.Probe`]: (probe) => {
    // These are plain ints in Go, so 0 means unset there.
    const fixed = {
      timeoutSeconds: 1,
      periodSeconds: 10,
      successThreshold: 1,
      failureThreshold: 3,
    };
    for (const [k, v] of Object.entries(fixed)) if (probe[k] === 0) probe[k] = v;
  },

  [`${CORE}.Secret`]: (secret) => {
    // stringData is write-only: v1 folds it into data (base64), where it wins.
    const stringData = secret.stringData;
    if (!isObject(stringData)) return;
    const data = obj(secret, "data");
    for (const [k, v] of Object.entries(stringData)) {
      if (typeof v === "string") data[k] = Buffer.from(v, "utf8").toString("base64");
    }
    delete secret.stringData;
  },

  [`${CORE}.Volume`]: (v) => {
    // A volume naming no source at all is an emptyDir.
    if (Object.keys(v).every((k) => k === "name")) v.emptyDir = {};
  },

  [`${CORE}.ServiceSpec`]: (spec) => {
    const type = spec.type;
    for (const p of list(spec.ports)) {
      if (unset(p.targetPort) || p.targetPort === 0) p.targetPort = p.port;
    }
    if ((type === "NodePort" || type === "LoadBalancer") && unset(spec.externalTrafficPolicy)) {
      spec.externalTrafficPolicy = "Cluster";
    }
    if (spec.sessionAffinity === "ClientIP") {
      const clientIP = obj(obj(spec, "sessionAffinityConfig"), "clientIP");
      clientIP.timeoutSeconds ??= 10800;
    }
    if (type === "LoadBalancer") spec.allocateLoadBalancerNodePorts ??= true;
    if (type === "ExternalName") return;
    spec.internalTrafficPolicy ??= "Cluster";
    // What the service registry settles on a single-stack cluster.
    const clusterIPs = Array.isArray(spec.clusterIPs) ? spec.clusterIPs : [];
    if (!unset(spec.clusterIP) && clusterIPs.length === 0) spec.clusterIPs = [spec.clusterIP];
    if (unset(spec.clusterIP) && typeof clusterIPs[0] === "string") spec.clusterIP = clusterIPs[0];
    spec.ipFamilyPolicy ??= "SingleStack";
    if (!Array.isArray(spec.ipFamilies) || spec.ipFamilies.length === 0) {
      const ip = spec.clusterIP;
      spec.ipFamilies = [typeof ip === "string" && ip.includes(":") ? "IPv6" : "IPv4"];
    }
  },

  [`${CORE}.NodeStatus`]: (status) => {
    if (status.allocatable === undefined && isObject(status.capacity)) {
      status.allocatable = { ...status.capacity };
    }
  },

  [`${CORE}.Namespace`]: (ns) => {
    const meta = isObject(ns.metadata) ? ns.metadata : undefined;
    const name = meta?.name;
    if (meta && typeof name === "string" && name !== "") {
      obj(meta, "labels")["kubernetes.io/metadata.name"] = name;
    }
    // The registry gives a new namespace the "kubernetes" finalizer. Never put it back on
    // a namespace being deleted: the namespace controller removes it to finish deletion.
    const spec = obj(ns, "spec");
    const terminating =
      meta?.deletionTimestamp != null || (isObject(ns.status) && ns.status.phase === "Terminating");
    if (spec.finalizers === undefined && !terminating) spec.finalizers = ["kubernetes"];
  },

  ["io.k8s.api.apps.v1.DeploymentStrategy"]: (s) => {
    if (unset(s.type)) s.type = "RollingUpdate";
    if (s.type !== "RollingUpdate") return;
    const ru = obj(s, "rollingUpdate");
    ru.maxUnavailable ??= "25%";
    ru.maxSurge ??= "25%";
  },

  ["io.k8s.api.apps.v1.DaemonSetUpdateStrategy"]: (s) => {
    if (unset(s.type)) s.type = "RollingUpdate";
    if (s.type !== "RollingUpdate") return;
    const ru = obj(s, "rollingUpdate");
    ru.maxUnavailable ??= 1;
    ru.maxSurge ??= 0;
  },

  ["io.k8s.api.apps.v1.StatefulSetUpdateStrategy"]: (s) => {
    // An unset strategy becomes RollingUpdate with partition 0; a RollingUpdate that
    // names rollingUpdate gets partition 0 when it leaves it out.
    if (unset(s.type)) {
      s.type = "RollingUpdate";
      obj(s, "rollingUpdate");
    }
    if (s.type === "RollingUpdate" && isObject(s.rollingUpdate)) s.rollingUpdate.partition ??= 0;
  },

  [`${CORE}.LimitRangeItem`]: (item) => {
    // Containers without a limit get the max; without a request, the default limit, else
    // the min (Kubernetes' SetDefaults_LimitRangeItem).
    if (item.type !== "Container") return;
    const max = isObject(item.max) ? item.max : {};
    const min = isObject(item.min) ? item.min : {};
    const dflt = obj(item, "default");
    for (const [r, v] of Object.entries(max)) dflt[r] ??= v;
    const request = obj(item, "defaultRequest");
    for (const [r, v] of Object.entries(dflt)) request[r] ??= v;
    for (const [r, v] of Object.entries(min)) request[r] ??= v;
    if (Object.keys(dflt).length === 0) delete item.default;
    if (Object.keys(request).length === 0) delete item.defaultRequest;
  },

  ["io.k8s.api.batch.v1.Job"]: (job) => {
    // batch/v1 (unlike apps/v1) labels the Job with its template's labels when it has none.
    const meta = obj(job, "metadata");
    const spec = isObject(job.spec) ? job.spec : undefined;
    const template = spec && isObject(spec.template) ? spec.template : undefined;
    const templateLabels =
      template && isObject(template.metadata) ? template.metadata.labels : undefined;
    const labels = meta.labels;
    if (isObject(templateLabels) && (!isObject(labels) || Object.keys(labels).length === 0)) {
      meta.labels = { ...templateLabels };
    }
  },

  ["io.k8s.api.batch.v1.JobSpec"]: (spec) => {
    if (spec.completions == null && spec.parallelism == null) spec.completions = 1;
    spec.parallelism ??= 1;
    spec.backoffLimit ??= spec.backoffLimitPerIndex != null ? 2147483647 : 6;
    spec.podReplacementPolicy ??= spec.podFailurePolicy != null ? "Failed" : "TerminatingOrFailed";
  },
};

function defaultPullPolicy(c: Obj): void {
  if (unset(c.imagePullPolicy) && typeof c.image === "string") {
    c.imagePullPolicy = imageTag(c.image) === "latest" ? "Always" : "IfNotPresent";
  }
}
