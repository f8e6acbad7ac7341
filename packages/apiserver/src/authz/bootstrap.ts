// The default roles and bindings Kubernetes bootstraps (facts from its bootstrap policy),
// plus Skiff's own components' roles. The apiserver reconciles them at start: a missing one is
// created, and one annotated autoupdate=true gets missing rules and subjects added back.
import type { PolicyRule } from "@skiff/api";
import {
  CONTROLLER_NAMESPACE,
  CONTROLLER_ROLE_PREFIX,
  CONTROLLER_ROLES,
} from "./controller-roles.js";

export const AUTOUPDATE = "rbac.authorization.kubernetes.io/autoupdate";
const BOOTSTRAP_LABELS = { "kubernetes.io/bootstrapping": "rbac-defaults" };
export const RBAC_GROUP = "rbac.authorization.k8s.io";

const READ = ["get", "list", "watch"];
const WRITE = ["create", "delete", "deletecollection", "patch", "update"];
const EVENTS: PolicyRule = {
  verbs: ["create", "patch", "update"],
  apiGroups: ["", "events.k8s.io"],
  resources: ["events"],
};
const REVIEWS: PolicyRule[] = [
  { verbs: ["create"], apiGroups: ["authentication.k8s.io"], resources: ["tokenreviews"] },
  { verbs: ["create"], apiGroups: ["authorization.k8s.io"], resources: ["subjectaccessreviews"] },
];
const rule = (verbs: string[], apiGroups: string[], resources: string[]): PolicyRule => ({
  verbs,
  apiGroups,
  resources,
});
const urls = (verbs: string[], nonResourceURLs: string[]): PolicyRule => ({
  verbs,
  nonResourceURLs,
});
const leader = (name: string): PolicyRule[] => [
  rule(["create"], ["coordination.k8s.io"], ["leases"]),
  { ...rule(["get", "update"], ["coordination.k8s.io"], ["leases"]), resourceNames: [name] },
];

export interface BootstrapClusterRole {
  name: string;
  /** Set for the Roles Kubernetes bootstraps in kube-system. */
  namespace?: string;
  labels?: Record<string, string>;
  rules?: PolicyRule[];
  aggregateTo?: string;
}

const aggregate = (to: string) => ({ [`rbac.authorization.k8s.io/aggregate-to-${to}`]: "true" });

export const CLUSTER_ROLES: BootstrapClusterRole[] = [
  {
    name: "cluster-admin",
    rules: [rule(["*"], ["*"], ["*"]), urls(["*"], ["*"])],
  },
  { name: "admin", aggregateTo: "admin" },
  { name: "edit", aggregateTo: "edit", labels: aggregate("admin") },
  { name: "view", aggregateTo: "view", labels: aggregate("edit") },
  {
    name: "system:aggregate-to-admin",
    labels: aggregate("admin"),
    rules: [
      rule(["create"], ["authorization.k8s.io"], ["localsubjectaccessreviews"]),
      rule([...WRITE, ...READ], [RBAC_GROUP], ["rolebindings", "roles"]),
    ],
  },
  {
    name: "system:aggregate-to-edit",
    labels: aggregate("edit"),
    rules: [
      rule(
        READ,
        [""],
        ["pods/attach", "pods/exec", "pods/portforward", "pods/proxy", "secrets", "services/proxy"],
      ),
      rule(["impersonate"], [""], ["serviceaccounts"]),
      rule(WRITE, [""], ["pods", "pods/attach", "pods/exec", "pods/portforward", "pods/proxy"]),
      rule(["create"], [""], ["pods/eviction"]),
      rule(
        WRITE,
        [""],
        [
          "configmaps",
          "events",
          "persistentvolumeclaims",
          "replicationcontrollers",
          "replicationcontrollers/scale",
          "secrets",
          "serviceaccounts",
          "services",
          "services/proxy",
        ],
      ),
      rule(["create"], [""], ["serviceaccounts/token"]),
      rule(
        WRITE,
        ["apps"],
        [
          "daemonsets",
          "deployments",
          "deployments/rollback",
          "deployments/scale",
          "replicasets",
          "replicasets/scale",
          "statefulsets",
          "statefulsets/scale",
        ],
      ),
      rule(WRITE, ["autoscaling"], ["horizontalpodautoscalers"]),
      rule(WRITE, ["batch"], ["cronjobs", "jobs"]),
      rule(WRITE, ["policy"], ["poddisruptionbudgets"]),
      rule(WRITE, ["networking.k8s.io"], ["ingresses", "networkpolicies"]),
      rule([...WRITE, "get", "list", "watch"], ["coordination.k8s.io"], ["leases"]),
    ],
  },
  {
    name: "system:aggregate-to-view",
    labels: aggregate("view"),
    rules: [
      rule(
        READ,
        [""],
        [
          "configmaps",
          "endpoints",
          "persistentvolumeclaims",
          "persistentvolumeclaims/status",
          "pods",
          "replicationcontrollers",
          "replicationcontrollers/scale",
          "serviceaccounts",
          "services",
          "services/status",
        ],
      ),
      rule(
        READ,
        [""],
        [
          "bindings",
          "events",
          "limitranges",
          "namespaces/status",
          "pods/log",
          "pods/status",
          "replicationcontrollers/status",
          "resourcequotas",
          "resourcequotas/status",
        ],
      ),
      rule(READ, [""], ["namespaces"]),
      rule(READ, ["discovery.k8s.io"], ["endpointslices"]),
      rule(
        READ,
        ["apps"],
        [
          "controllerrevisions",
          "daemonsets",
          "daemonsets/status",
          "deployments",
          "deployments/scale",
          "deployments/status",
          "replicasets",
          "replicasets/scale",
          "replicasets/status",
          "statefulsets",
          "statefulsets/scale",
          "statefulsets/status",
        ],
      ),
      rule(READ, ["autoscaling"], ["horizontalpodautoscalers", "horizontalpodautoscalers/status"]),
      rule(READ, ["batch"], ["cronjobs", "cronjobs/status", "jobs", "jobs/status"]),
      rule(READ, ["policy"], ["poddisruptionbudgets", "poddisruptionbudgets/status"]),
      rule(READ, ["networking.k8s.io"], ["ingresses", "ingresses/status", "networkpolicies"]),
    ],
  },
  {
    name: "system:basic-user",
    rules: [
      rule(
        ["create"],
        ["authorization.k8s.io"],
        ["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
      ),
      rule(["create"], ["authentication.k8s.io"], ["selfsubjectreviews"]),
    ],
  },
  {
    name: "system:discovery",
    rules: [
      urls(
        ["get"],
        [
          "/api",
          "/api/*",
          "/apis",
          "/apis/*",
          "/healthz",
          "/livez",
          "/openapi",
          "/openapi/*",
          "/readyz",
          "/version",
          "/version/",
        ],
      ),
    ],
  },
  {
    name: "system:public-info-viewer",
    rules: [urls(["get"], ["/healthz", "/livez", "/readyz", "/version", "/version/"])],
  },
  {
    name: "system:monitoring",
    rules: [
      urls(
        ["get"],
        [
          "/healthz",
          "/healthz/*",
          "/livez",
          "/livez/*",
          "/metrics",
          "/metrics/slis",
          "/readyz",
          "/readyz/*",
        ],
      ),
    ],
  },
  { name: "system:auth-delegator", rules: REVIEWS },
  {
    name: "system:kube-scheduler",
    rules: [
      EVENTS,
      ...leader("kube-scheduler"),
      rule(READ, [""], ["nodes"]),
      rule(["delete", "get", "list", "watch"], [""], ["pods"]),
      rule(["create"], [""], ["bindings", "pods/binding"]),
      rule(["patch", "update"], [""], ["pods/status"]),
      rule(READ, [""], ["replicationcontrollers", "services"]),
      rule(READ, ["apps", "extensions"], ["replicasets"]),
      rule(READ, ["apps"], ["statefulsets"]),
      rule(READ, ["policy"], ["poddisruptionbudgets"]),
      rule(READ, [""], ["persistentvolumeclaims", "persistentvolumes"]),
      ...REVIEWS,
      rule(READ, ["storage.k8s.io"], ["csinodes"]),
      rule(READ, [""], ["namespaces"]),
      rule(READ, ["storage.k8s.io"], ["csidrivers"]),
      rule(READ, ["storage.k8s.io"], ["csistoragecapacities"]),
    ],
  },
  {
    name: "system:volume-scheduler",
    rules: [
      rule(["get", "list", "patch", "update", "watch"], [""], ["persistentvolumes"]),
      rule(READ, ["storage.k8s.io"], ["storageclasses"]),
      rule(["get", "list", "patch", "update", "watch"], [""], ["persistentvolumeclaims"]),
    ],
  },
  {
    name: "system:kube-controller-manager",
    rules: [
      EVENTS,
      ...leader("kube-controller-manager"),
      rule(["create"], [""], ["secrets", "serviceaccounts"]),
      rule(["delete"], [""], ["secrets"]),
      rule(["get"], [""], ["configmaps", "namespaces", "secrets", "serviceaccounts"]),
      rule(["update"], [""], ["secrets", "serviceaccounts"]),
      ...REVIEWS,
      rule(["list", "watch"], ["*"], ["*"]),
      rule(["create"], [""], ["serviceaccounts/token"]),
    ],
  },
  {
    // With --use-service-account-credentials (make up, compose and make deploy) each
    // controller runs as its own ServiceAccount with its system:controller:<account> role.
    // Without it, as in Kubernetes, every controller runs as system:kube-controller-manager,
    // which then needs what its controllers write: this role holds it (the garbage collector
    // and namespace deleter reach every kind, as Kubernetes' generic-garbage-collector and
    // namespace-controller roles do; the others create the kinds they own).
    name: "system:skiff:controller-manager-controllers",
    rules: [
      rule(["get", "list", "watch", "patch", "update", "delete", "deletecollection"], ["*"], ["*"]),
      rule(
        ["create"],
        [""],
        [
          "pods",
          "endpoints",
          "serviceaccounts",
          "configmaps",
          "secrets",
          "persistentvolumes",
          "persistentvolumeclaims",
          "pods/eviction",
          "pods/binding",
        ],
      ),
      rule(["create"], ["apps"], ["replicasets", "controllerrevisions"]),
      rule(["create"], ["batch"], ["jobs"]),
      rule(["create"], ["discovery.k8s.io"], ["endpointslices"]),
      rule(["create"], ["storage.k8s.io"], ["storageclasses"]),
      // The aggregation controller writes aggregated ClusterRoles' rules.
      rule(["escalate"], [RBAC_GROUP], ["clusterroles"]),
    ],
  },
  {
    name: "system:node",
    rules: [
      ...REVIEWS,
      rule(["create"], ["authorization.k8s.io"], ["localsubjectaccessreviews"]),
      rule(READ, [""], ["services"]),
      rule(["create", "get", "list", "watch"], [""], ["nodes"]),
      rule(["patch", "update"], [""], ["nodes/status"]),
      rule(["patch", "update"], [""], ["nodes"]),
      rule(["create", "patch", "update"], [""], ["events"]),
      rule(READ, [""], ["pods"]),
      rule(["create", "delete"], [""], ["pods"]),
      rule(["patch", "update"], [""], ["pods/status"]),
      rule(["create"], [""], ["pods/eviction"]),
      rule(READ, [""], ["configmaps", "secrets"]),
      rule(["get"], [""], ["persistentvolumeclaims", "persistentvolumes"]),
      rule(["get"], [""], ["endpoints"]),
      rule(["create", "delete", "get", "patch", "update"], ["coordination.k8s.io"], ["leases"]),
      rule(["create"], [""], ["serviceaccounts/token"]),
      rule(["get", "patch", "update"], [""], ["persistentvolumeclaims/status"]),
    ],
  },
  {
    name: "system:node-proxier",
    rules: [
      rule(["list", "watch"], [""], ["endpoints", "services"]),
      rule(READ, [""], ["nodes"]),
      EVENTS,
      rule(["list", "watch"], ["discovery.k8s.io"], ["endpointslices"]),
    ],
  },
  {
    // skiff-net (flannel's role): reads the nodes' pod CIDRs and writes its own node's
    // annotations (flannel's ClusterRole grants the same on nodes and nodes/status); and
    // (calico-node's role) reads pods, namespaces and NetworkPolicies to enforce them.
    name: "system:skiff-net",
    rules: [
      rule(READ, [""], ["nodes"]),
      rule(["patch"], [""], ["nodes", "nodes/status"]),
      rule(READ, [""], ["pods", "namespaces"]),
      rule(READ, ["networking.k8s.io"], ["networkpolicies"]),
    ],
  },
  {
    // metrics-server's role for metrics.k8s.io (Skiff serves that group itself), aggregated
    // into view, edit and admin as metrics-server's manifest does.
    name: "system:aggregated-metrics-reader",
    labels: { ...aggregate("view"), ...aggregate("edit"), ...aggregate("admin") },
    rules: [rule(READ, ["metrics.k8s.io"], ["pods", "nodes"])],
  },
  {
    name: "system:kubelet-api-admin",
    rules: [
      rule(READ, [""], ["nodes"]),
      rule(["proxy"], [""], ["nodes"]),
      rule(["*"], [""], ["nodes/log", "nodes/metrics", "nodes/proxy", "nodes/stats"]),
    ],
  },
  {
    name: "system:service-account-issuer-discovery",
    rules: [urls(["get"], ["/.well-known/openid-configuration", "/openid/v1/jwks"])],
  },
  ...Object.entries(CONTROLLER_ROLES).map(([account, rules]) => ({
    name: CONTROLLER_ROLE_PREFIX + account,
    rules,
  })),
];

/** The Roles Kubernetes bootstraps in kube-system (its namespace policy). */
export const NAMESPACE_ROLES: BootstrapClusterRole[] = [
  {
    name: "extension-apiserver-authentication-reader",
    namespace: "kube-system",
    rules: [
      {
        ...rule(READ, [""], ["configmaps"]),
        resourceNames: ["extension-apiserver-authentication"],
      },
    ],
  },
  {
    name: "system::leader-locking-kube-controller-manager",
    namespace: "kube-system",
    rules: [
      rule(["watch"], [""], ["configmaps"]),
      {
        ...rule(["get", "update"], [""], ["configmaps"]),
        resourceNames: ["kube-controller-manager"],
      },
      rule(["get", "watch", "list", "create", "update"], ["coordination.k8s.io"], ["leases"]),
    ],
  },
  {
    name: "system::leader-locking-kube-scheduler",
    namespace: "kube-system",
    rules: [
      rule(["watch"], [""], ["configmaps"]),
      { ...rule(["get", "update"], [""], ["configmaps"]), resourceNames: ["kube-scheduler"] },
    ],
  },
];

export interface BootstrapBinding {
  name: string;
  role: string;
  /** Set for RoleBindings (to the Role of that name in the same namespace). */
  namespace?: string;
  users?: string[];
  groups?: string[];
  /** ServiceAccounts as `namespace/name`. */
  serviceAccounts?: string[];
}

export const CLUSTER_ROLE_BINDINGS: BootstrapBinding[] = [
  { name: "cluster-admin", role: "cluster-admin", groups: ["system:masters"] },
  { name: "system:basic-user", role: "system:basic-user", groups: ["system:authenticated"] },
  { name: "system:discovery", role: "system:discovery", groups: ["system:authenticated"] },
  {
    name: "system:public-info-viewer",
    role: "system:public-info-viewer",
    groups: ["system:authenticated", "system:unauthenticated"],
  },
  { name: "system:monitoring", role: "system:monitoring", groups: ["system:monitoring"] },
  {
    name: "system:kube-scheduler",
    role: "system:kube-scheduler",
    users: ["system:kube-scheduler"],
  },
  {
    name: "system:volume-scheduler",
    role: "system:volume-scheduler",
    users: ["system:kube-scheduler"],
  },
  {
    name: "system:kube-controller-manager",
    role: "system:kube-controller-manager",
    users: ["system:kube-controller-manager"],
  },
  {
    name: "system:skiff:controller-manager-controllers",
    role: "system:skiff:controller-manager-controllers",
    users: ["system:kube-controller-manager"],
  },
  { name: "system:node", role: "system:node" },
  { name: "system:node-proxier", role: "system:node-proxier", users: ["system:kube-proxy"] },
  { name: "system:skiff-net", role: "system:skiff-net", users: ["system:skiff-net"] },
  {
    name: "system:kube-apiserver-kubelet-client",
    role: "system:kubelet-api-admin",
    users: ["kube-apiserver-kubelet-client"],
  },
  {
    name: "system:service-account-issuer-discovery",
    role: "system:service-account-issuer-discovery",
    groups: ["system:serviceaccounts"],
  },
  ...Object.keys(CONTROLLER_ROLES).map((account) => ({
    name: CONTROLLER_ROLE_PREFIX + account,
    role: CONTROLLER_ROLE_PREFIX + account,
    serviceAccounts: [`${CONTROLLER_NAMESPACE}/${account}`],
  })),
];

/** The RoleBindings Kubernetes bootstraps in kube-system. */
export const NAMESPACE_ROLE_BINDINGS: BootstrapBinding[] = [
  {
    name: "system::extension-apiserver-authentication-reader",
    role: "extension-apiserver-authentication-reader",
    namespace: "kube-system",
    users: ["system:kube-controller-manager", "system:kube-scheduler"],
  },
  {
    name: "system::leader-locking-kube-controller-manager",
    role: "system::leader-locking-kube-controller-manager",
    namespace: "kube-system",
    users: ["system:kube-controller-manager"],
    serviceAccounts: [
      "kube-system/kube-controller-manager",
      "kube-system/leader-election-controller",
    ],
  },
  {
    name: "system::leader-locking-kube-scheduler",
    role: "system::leader-locking-kube-scheduler",
    namespace: "kube-system",
    users: ["system:kube-scheduler"],
    serviceAccounts: ["kube-system/kube-scheduler"],
  },
];

export function clusterRoleObject(r: BootstrapClusterRole): Record<string, unknown> {
  const obj: Record<string, unknown> = {
    apiVersion: `${RBAC_GROUP}/v1`,
    kind: r.namespace ? "Role" : "ClusterRole",
    metadata: {
      name: r.name,
      ...(r.namespace ? { namespace: r.namespace } : {}),
      labels: { ...BOOTSTRAP_LABELS, ...r.labels },
      annotations: { [AUTOUPDATE]: "true" },
    },
    ...(r.rules ? { rules: r.rules } : {}),
  };
  if (r.aggregateTo)
    obj.aggregationRule = { clusterRoleSelectors: [{ matchLabels: aggregate(r.aggregateTo) }] };
  return obj;
}

export function clusterRoleBindingObject(b: BootstrapBinding): Record<string, unknown> {
  const subjects = [
    ...(b.groups ?? []).map((name) => ({ kind: "Group", apiGroup: RBAC_GROUP, name })),
    ...(b.users ?? []).map((name) => ({ kind: "User", apiGroup: RBAC_GROUP, name })),
    ...(b.serviceAccounts ?? []).map((sa) => {
      const [namespace, name] = sa.split("/");
      return { kind: "ServiceAccount", name, namespace };
    }),
  ];
  return {
    apiVersion: `${RBAC_GROUP}/v1`,
    kind: b.namespace ? "RoleBinding" : "ClusterRoleBinding",
    metadata: {
      name: b.name,
      ...(b.namespace ? { namespace: b.namespace } : {}),
      labels: { ...BOOTSTRAP_LABELS },
      annotations: { [AUTOUPDATE]: "true" },
    },
    roleRef: { apiGroup: RBAC_GROUP, kind: b.namespace ? "Role" : "ClusterRole", name: b.role },
    ...(subjects.length ? { subjects } : {}),
  };
}
