// Printers for storage classes, networking, policy, scheduling, RBAC, admission, flow
// control and coordination kinds.

import type { J, Printer } from "./cells.js";
import { rec, list, text, int, formatLabelSelector, col, NAME, AGE, name, age } from "./cells.js";

const leases: Printer = {
  columns: [
    NAME,
    col("Holder", "holderIdentity contains the identity of the holder of a current lease."),
    AGE,
  ],
  row: (l, now) => ({
    cells: [name(l), text(rec(l["spec"])["holderIdentity"]), age(l, now)],
  }),
};

const storageclasses: Printer = {
  columns: [
    NAME,
    col("Provisioner", "provisioner indicates the type of the provisioner."),
    col(
      "ReclaimPolicy",
      "reclaimPolicy controls the reclaimPolicy for dynamically provisioned PersistentVolumes of this storage class.",
    ),
    col(
      "VolumeBindingMode",
      "volumeBindingMode indicates how PersistentVolumeClaims should be provisioned and bound.",
    ),
    col(
      "AllowVolumeExpansion",
      "allowVolumeExpansion shows whether the storage class allow volume expand.",
    ),
    AGE,
  ],
  row(sc, now) {
    const annotations = rec(rec(sc["metadata"])["annotations"]);
    const isDefault =
      annotations["storageclass.kubernetes.io/is-default-class"] === "true" ||
      annotations["storageclass.beta.kubernetes.io/is-default-class"] === "true";
    return {
      cells: [
        isDefault ? `${name(sc)} (default)` : name(sc),
        text(sc["provisioner"]),
        text(sc["reclaimPolicy"]) || "Delete",
        text(sc["volumeBindingMode"]) || "Immediate",
        sc["allowVolumeExpansion"] === true ? "true" : "false",
        age(sc, now),
      ],
    };
  },
};

// printNetworkPolicy: the description is extensions/v1beta1's, as Kubernetes' printer uses.
const networkpolicies: Printer = {
  columns: [
    NAME,
    col(
      "Pod-Selector",
      "Selects the pods to which this NetworkPolicy object applies.  The array of ingress rules is applied to any pods selected by this field. Multiple network policies can select the same set of pods.  In this case, the ingress rules for each are combined additively. This field is NOT optional and follows standard label selector semantics. An empty podSelector matches all pods in this namespace.",
    ),
    AGE,
  ],
  row: (np, now) => ({
    cells: [name(np), formatLabelSelector(rec(np["spec"])["podSelector"]), age(np, now)],
  }),
};

const poddisruptionbudgets: Printer = {
  columns: [
    NAME,
    col(
      "Min Available",
      'The minimum number of pods that must be available simultaneously. This can be either an integer or a string specifying a percentage, e.g. "28%".',
    ),
    col(
      "Max Unavailable",
      'The maximum number of pods that may be unavailable simultaneously. This can be either an integer or a string specifying a percentage, e.g. "28%".',
    ),
    col("Allowed Disruptions", "Calculated number of pods that may be disrupted at this time.", {
      type: "integer",
    }),
    AGE,
  ],
  row(pdb, now) {
    const spec = rec(pdb["spec"]);
    const show = (v: unknown) => (v === undefined || v === null ? "N/A" : String(v));
    return {
      cells: [
        name(pdb),
        show(spec["minAvailable"]),
        show(spec["maxUnavailable"]),
        int(rec(pdb["status"])["disruptionsAllowed"]),
        age(pdb, now),
      ],
    };
  },
};

const priorityclasses: Printer = {
  columns: [
    NAME,
    col("Value", "value represents the integer value of this priority class.", { type: "integer" }),
    col(
      "Global-Default",
      "globalDefault specifies whether this PriorityClass should be considered as the default priority.",
      { type: "boolean" },
    ),
    AGE,
    col(
      "PreemptionPolicy",
      "preemptionPolicy is the Policy for preempting pods with lower priority.",
    ),
  ],
  row(pc, now) {
    return {
      cells: [
        name(pc),
        int(pc["value"]),
        pc["globalDefault"] === true ? "true" : "false",
        age(pc, now),
        text(pc["preemptionPolicy"]),
      ],
    };
  },
};

// RoleBinding and ClusterRoleBinding: the role they grant and whom (Users, Groups and
// ServiceAccounts are wide columns). Roles print the default Name and Created At.
const bindings: Printer = {
  columns: [
    NAME,
    col("Role", "RoleRef is the reference to the role the binding grants."),
    AGE,
    col("Users", "Users in the binding", { priority: 1 }),
    col("Groups", "Groups in the binding", { priority: 1 }),
    col("ServiceAccounts", "ServiceAccounts in the binding", { priority: 1 }),
  ],
  row(b, now) {
    const ref = rec(b["roleRef"]);
    const subjects = list(b["subjects"]).map(rec);
    const of = (kind: string) =>
      subjects
        .filter((s) => s["kind"] === kind)
        .map((s) =>
          kind === "ServiceAccount"
            ? `${text(s["namespace"])}/${text(s["name"])}`
            : text(s["name"]),
        )
        .join(", ");
    return {
      cells: [
        name(b),
        `${text(ref["kind"])}/${text(ref["name"])}`,
        age(b, now),
        of("User"),
        of("Group"),
        of("ServiceAccount"),
      ],
    };
  },
};

// Mutating and validating webhook configurations print the same columns.
const webhookconfigurations: Printer = {
  columns: [
    NAME,
    col("Webhooks", "Webhooks indicates the number of webhooks in the configuration.", {
      type: "integer",
    }),
    AGE,
  ],
  row: (c, now) => ({ cells: [name(c), list(c["webhooks"]).length, age(c, now)] }),
};

const validatingadmissionpolicies: Printer = {
  columns: [
    NAME,
    col(
      "Validations",
      "Validations indicates the number of validation rules defined in this configuration",
      {
        type: "integer",
      },
    ),
    col("ParamKind", "ParamKind specifies the kind of resources used to parameterize this policy"),
    AGE,
  ],
  row(p, now) {
    const spec = rec(p["spec"]);
    const kind = spec["paramKind"] ? rec(spec["paramKind"]) : undefined;
    const paramKind = kind ? `${text(kind["apiVersion"])}/${text(kind["kind"])}` : "<unset>";
    return { cells: [name(p), list(spec["validations"]).length, paramKind, age(p, now)] };
  },
};

const validatingadmissionpolicybindings: Printer = {
  columns: [
    NAME,
    col(
      "PolicyName",
      "PolicyName indicates the policy definition which the policy binding binded to",
    ),
    col("ParamRef", "ParamRef indicates the param resource which sets the configration param"),
    AGE,
  ],
  row(b, now) {
    const spec = rec(b["spec"]);
    let paramRef = "<unset>";
    if (spec["paramRef"]) {
      const ref = rec(spec["paramRef"]);
      const ns = text(ref["namespace"]);
      paramRef = `${ns || "*"}/${text(ref["name"])}`;
    }
    return { cells: [name(b), text(spec["policyName"]), paramRef, age(b, now)] };
  },
};

/** Rule hosts as Kubernetes prints them: the first 3 named ones, "*" when none is named. */
function ingressHosts(rules: J[]): string {
  const max = 3;
  const hosts = rules
    .slice(0, max)
    .map((r) => text(r["host"]))
    .filter(Boolean);
  if (hosts.length === 0) return "*";
  const more = rules.length > max ? ` + ${rules.length - max} more...` : "";
  return hosts.join(",") + more;
}

const ingresses: Printer = {
  columns: [
    NAME,
    col("Class", "ingressClassName is the name of an IngressClass cluster resource."),
    col("Hosts", "Hosts that incoming requests are matched against."),
    col("Address", "Address is a list containing ingress points for the load-balancer"),
    col("Ports", "Ports of TLS configurations that open"),
    AGE,
  ],
  row(ing, now) {
    const spec = rec(ing["spec"]);
    const addresses = list(rec(rec(ing["status"])["loadBalancer"])["ingress"])
      .map(rec)
      .map((i) => text(i["ip"]) || text(i["hostname"]))
      .filter(Boolean);
    return {
      cells: [
        name(ing),
        text(spec["ingressClassName"]) || "<none>",
        ingressHosts(list(spec["rules"]).map(rec)),
        addresses.join(","),
        list(spec["tls"]).length > 0 ? "80, 443" : "80",
        age(ing, now),
      ],
    };
  },
};

const ingressclasses: Printer = {
  columns: [
    NAME,
    col("Controller", "Controller that is responsible for handling this class"),
    col("Parameters", "A reference to a resource with additional parameters"),
    AGE,
  ],
  row(c, now) {
    const spec = rec(c["spec"]);
    let params = "<none>";
    if (spec["parameters"]) {
      const p = rec(spec["parameters"]);
      const group = text(p["apiGroup"]);
      params = `${text(p["kind"])}${group ? `.${group}` : ""}/${text(p["name"])}`;
    }
    return { cells: [name(c), text(spec["controller"]), params, age(c, now)] };
  },
};

const flowschemas: Printer = {
  columns: [
    NAME,
    col(
      "PriorityLevel",
      "priorityLevelConfiguration should reference a PriorityLevelConfiguration object in the cluster.",
    ),
    col(
      "MatchingPrecedence",
      "matchingPrecedence is used to choose among the FlowSchemas that match a given request.",
      { type: "integer" },
    ),
    col(
      "DistinguisherMethod",
      "distinguisherMethod defines how to compute the flow distinguisher for requests that match this schema.",
    ),
    AGE,
    col(
      "MissingPL",
      "indicates whether the priority level referenced by this FlowSchema is missing",
    ),
  ],
  row(fs, now) {
    const spec = rec(fs["spec"]);
    const dm = spec["distinguisherMethod"] ? text(rec(spec["distinguisherMethod"])["type"]) : "*";
    const dangling = list(rec(fs["status"])["conditions"])
      .map(rec)
      .find((c) => c["type"] === "Dangling");
    return {
      cells: [
        name(fs),
        text(rec(spec["priorityLevelConfiguration"])["name"]),
        int(spec["matchingPrecedence"]),
        dm,
        age(fs, now),
        dangling ? text(dangling["status"]) : "?",
      ],
    };
  },
};

const prioritylevelconfigurations: Printer = {
  columns: [
    NAME,
    col(
      "Type",
      "type indicates whether this priority level is subject to limitation on request execution.",
    ),
    col(
      "NominalConcurrencyShares",
      "nominalConcurrencyShares (NCS) contributes to the computation of the NominalConcurrencyLimit (NominalCL) of this level.",
    ),
    col("Queues", "queues is the number of queues for this priority level."),
    col(
      "HandSize",
      "handSize is a small positive number that configures the shuffle sharding of requests into queues.",
    ),
    col(
      "QueueLengthLimit",
      "queueLengthLimit is the maximum number of requests allowed to be waiting in a given queue of this priority level at a time.",
    ),
    AGE,
  ],
  row(pl, now) {
    const spec = rec(pl["spec"]);
    const cells: (string | number)[] = ["<none>", "<none>", "<none>", "<none>"];
    if (spec["limited"]) {
      const lim = rec(spec["limited"]);
      cells[0] = int(lim["nominalConcurrencyShares"]);
      const q = rec(rec(lim["limitResponse"])["queuing"]);
      if (rec(lim["limitResponse"])["queuing"]) {
        cells[1] = int(q["queues"]);
        cells[2] = int(q["handSize"]);
        cells[3] = int(q["queueLengthLimit"]);
      }
    }
    return { cells: [name(pl), text(spec["type"]), ...cells, age(pl, now)] };
  },
};

/** Printers by "group/resource". */
export const clusterPrinters: Record<string, Printer> = {
  "storage.k8s.io/storageclasses": storageclasses,
  "policy/poddisruptionbudgets": poddisruptionbudgets,
  "scheduling.k8s.io/priorityclasses": priorityclasses,
  "coordination.k8s.io/leases": leases,
  "rbac.authorization.k8s.io/rolebindings": bindings,
  "rbac.authorization.k8s.io/clusterrolebindings": bindings,
  "admissionregistration.k8s.io/mutatingwebhookconfigurations": webhookconfigurations,
  "admissionregistration.k8s.io/validatingwebhookconfigurations": webhookconfigurations,
  "admissionregistration.k8s.io/validatingadmissionpolicies": validatingadmissionpolicies,
  "networking.k8s.io/ingresses": ingresses,
  "networking.k8s.io/ingressclasses": ingressclasses,
  "flowcontrol.apiserver.k8s.io/flowschemas": flowschemas,
  "flowcontrol.apiserver.k8s.io/prioritylevelconfigurations": prioritylevelconfigurations,
  "admissionregistration.k8s.io/validatingadmissionpolicybindings":
    validatingadmissionpolicybindings,
  "networking.k8s.io/networkpolicies": networkpolicies,
};
