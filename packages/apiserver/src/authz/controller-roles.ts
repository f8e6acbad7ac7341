// The controllers' roles Kubernetes bootstraps (system:controller:<account>), each bound to the
// ServiceAccount kube-system/<account> that kube-controller-manager runs that controller as
// under --use-service-account-credentials. The rules are Kubernetes' (its bootstrap policy's
// controller roles), for the controllers Skiff's controller-manager runs; where a Skiff
// controller needs more than Kubernetes' role grants, the extra rule says why.
import type { PolicyRule } from "@skiff/api";

export const CONTROLLER_ROLE_PREFIX = "system:controller:";
export const CONTROLLER_NAMESPACE = "kube-system";

const rule = (verbs: string[], apiGroups: string[], resources: string[]): PolicyRule => ({
  verbs,
  apiGroups,
  resources,
});
const EVENTS = rule(["create", "update", "patch"], ["", "events.k8s.io"], ["events"]);
const READ = ["get", "list", "watch"];

/** Each controller account and the rules of its role, by account name. */
export const CONTROLLER_ROLES: Record<string, PolicyRule[]> = {
  "clusterrole-aggregation-controller": [
    rule(
      ["escalate", "get", "list", "watch", "update", "patch"],
      ["rbac.authorization.k8s.io"],
      ["clusterroles"],
    ),
  ],
  "cronjob-controller": [
    rule(["get", "list", "watch", "update"], ["batch"], ["cronjobs"]),
    rule(["get", "list", "watch", "create", "update", "delete", "patch"], ["batch"], ["jobs"]),
    rule(["update"], ["batch"], ["cronjobs/status"]),
    rule(["update"], ["batch"], ["cronjobs/finalizers"]),
    rule(["list", "watch", "delete"], [""], ["pods"]),
    EVENTS,
  ],
  "daemon-set-controller": [
    rule(READ, ["extensions", "apps"], ["daemonsets"]),
    rule(["update"], ["extensions", "apps"], ["daemonsets/status"]),
    rule(["update"], ["extensions", "apps"], ["daemonsets/finalizers"]),
    rule(["list", "watch"], [""], ["nodes"]),
    rule(["list", "watch", "create", "delete", "patch"], [""], ["pods"]),
    rule(["create"], [""], ["pods/binding"]),
    rule([...READ, "create", "delete", "update", "patch"], ["apps"], ["controllerrevisions"]),
    EVENTS,
  ],
  "deployment-controller": [
    rule([...READ, "update"], ["extensions", "apps"], ["deployments"]),
    rule(["update"], ["extensions", "apps"], ["deployments/status"]),
    rule(["update"], ["extensions", "apps"], ["deployments/finalizers"]),
    rule([...READ, "create", "update", "patch", "delete"], ["apps", "extensions"], ["replicasets"]),
    rule([...READ, "update"], [""], ["pods"]),
    EVENTS,
    // Skiff: the revision annotation is written with a merge patch carrying resourceVersion
    // (a compare-and-swap, as Kubernetes' update is).
    rule(["patch"], ["apps"], ["deployments"]),
  ],
  "disruption-controller": [
    rule(READ, ["extensions", "apps"], ["deployments"]),
    rule(READ, ["apps", "extensions"], ["replicasets"]),
    rule(READ, [""], ["replicationcontrollers"]),
    rule(READ, ["policy"], ["poddisruptionbudgets"]),
    rule(READ, ["apps"], ["statefulsets"]),
    rule(["update"], ["policy"], ["poddisruptionbudgets/status"]),
    rule(["patch", "update"], [""], ["pods/status"]),
    rule(["get"], ["*"], ["*/scale"]),
    EVENTS,
  ],
  "endpoint-controller": [
    rule(READ, [""], ["services", "pods"]),
    rule([...READ, "create", "update", "delete"], [""], ["endpoints"]),
    rule(["create"], [""], ["endpoints/restricted"]),
    EVENTS,
  ],
  "endpointslice-controller": [
    rule(READ, [""], ["services", "pods", "nodes"]),
    rule(["update"], [""], ["services/finalizers"]),
    rule([...READ, "create", "update", "delete"], ["discovery.k8s.io"], ["endpointslices"]),
    EVENTS,
  ],
  "generic-garbage-collector": [rule([...READ, "patch", "update", "delete"], ["*"], ["*"]), EVENTS],
  "horizontal-pod-autoscaler": [
    rule(READ, ["autoscaling"], ["horizontalpodautoscalers"]),
    rule(["update"], ["autoscaling"], ["horizontalpodautoscalers/status"]),
    rule(["get", "update"], ["*"], ["*/scale"]),
    rule(["list", "watch"], [""], ["pods"]),
    rule(["list", "watch"], ["metrics.k8s.io"], ["pods"]),
    rule(READ, ["custom.metrics.k8s.io"], ["*"]),
    rule(READ, ["external.metrics.k8s.io"], ["*"]),
    EVENTS,
  ],
  "job-controller": [
    rule([...READ, "update", "patch"], ["batch"], ["jobs"]),
    rule(["update"], ["batch"], ["jobs/status"]),
    rule(["update"], ["batch"], ["jobs/finalizers"]),
    rule(["list", "watch", "create", "delete", "patch"], [""], ["pods"]),
    EVENTS,
    // Skiff: its job controller also does the ttl-after-finished controller's work.
    rule(["delete"], ["batch"], ["jobs"]),
  ],
  "namespace-controller": [
    rule([...READ, "delete"], [""], ["namespaces"]),
    rule(["update"], [""], ["namespaces/finalize", "namespaces/status"]),
    rule([...READ, "delete", "deletecollection"], ["*"], ["*"]),
  ],
  // Kubernetes runs the node IPAM and node lifecycle controllers as this one account.
  "node-controller": [
    rule([...READ, "update", "delete", "patch"], [""], ["nodes"]),
    rule(["patch", "update"], [""], ["nodes/status"]),
    rule(["patch", "update"], [""], ["pods/status"]),
    rule(["list", "watch", "get", "delete"], [""], ["pods"]),
    EVENTS,
  ],
  "persistent-volume-binder": [
    rule([...READ, "update", "create", "delete"], [""], ["persistentvolumes"]),
    rule(["update"], [""], ["persistentvolumes/status"]),
    rule([...READ, "update"], [""], ["persistentvolumeclaims"]),
    rule(["update"], [""], ["persistentvolumeclaims/status"]),
    rule(["list", "watch", "get", "create", "delete"], [""], ["pods"]),
    rule(READ, ["storage.k8s.io"], ["storageclasses"]),
    // Skiff: the binder is also the built-in local-path provisioner and makes its default
    // StorageClass at start (in Kubernetes an add-on's manifest does).
    rule(["create"], ["storage.k8s.io"], ["storageclasses"]),
    rule(["list", "watch"], [""], ["nodes"]),
    EVENTS,
    rule(["watch"], [""], ["events"]),
    rule(["get"], [""], ["services"]),
  ],
  "pvc-protection-controller": [
    rule([...READ, "update"], [""], ["persistentvolumeclaims"]),
    rule(["list", "watch", "get"], [""], ["pods"]),
    EVENTS,
    // Skiff: its one storage-protection controller also does pv-protection's work.
    rule([...READ, "update"], [""], ["persistentvolumes"]),
  ],
  "pv-protection-controller": [rule([...READ, "update"], [""], ["persistentvolumes"]), EVENTS],
  "replicaset-controller": [
    rule([...READ, "update"], ["apps", "extensions"], ["replicasets"]),
    rule(["update"], ["apps", "extensions"], ["replicasets/status"]),
    rule(["update"], ["apps", "extensions"], ["replicasets/finalizers"]),
    rule(["list", "watch", "patch", "create", "delete"], [""], ["pods"]),
    EVENTS,
  ],
  "replication-controller": [
    rule([...READ, "update"], [""], ["replicationcontrollers"]),
    rule(["update"], [""], ["replicationcontrollers/status"]),
    rule(["update"], [""], ["replicationcontrollers/finalizers"]),
    rule(["list", "watch", "patch", "create", "delete"], [""], ["pods"]),
    EVENTS,
  ],
  "resourcequota-controller": [
    rule(["list", "watch"], ["*"], ["*"]),
    rule(["update"], [""], ["resourcequotas/status"]),
    EVENTS,
  ],
  "root-ca-cert-publisher": [rule(["create", "update"], [""], ["configmaps"]), EVENTS],
  "service-account-controller": [rule(["create"], [""], ["serviceaccounts"]), EVENTS],
  "statefulset-controller": [
    rule(["list", "watch"], [""], ["pods"]),
    rule(READ, ["apps"], ["statefulsets"]),
    rule(["update"], ["apps"], ["statefulsets/status"]),
    rule(["update"], ["apps"], ["statefulsets/finalizers"]),
    rule(["get", "create", "delete", "update", "patch"], [""], ["pods"]),
    rule(
      ["get", "create", "delete", "update", "patch", "list", "watch"],
      ["apps"],
      ["controllerrevisions"],
    ),
    rule(["get", "create", "list", "watch"], [""], ["persistentvolumeclaims"]),
    rule(["update", "delete"], [""], ["persistentvolumeclaims"]),
    rule(["update"], [""], ["pods/finalizers"]),
    EVENTS,
  ],
  "ttl-after-finished-controller": [rule([...READ, "delete"], ["batch"], ["jobs"]), EVENTS],
};
