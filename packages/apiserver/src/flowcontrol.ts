// API Priority and Fairness' bootstrap configuration: the FlowSchemas and
// PriorityLevelConfigurations a Kubernetes 1.31 apiserver creates at start (mandatory and
// suggested), created when missing; the mandatory ones are put back when changed unless
// annotated apf.kubernetes.io/autoupdate-spec: "false", as Kubernetes does. fairness.ts
// enforces them.
import { applyDefaults } from "@skiff/api";
import { ApiError } from "./errors.js";
import { jsonEqual, meta, type KubeObject } from "./objects.js";
import type { Registry } from "./registry.js";

const API_VERSION = "flowcontrol.apiserver.k8s.io/v1";
const AUTO_UPDATE = "apf.kubernetes.io/autoupdate-spec";

type Obj = Record<string, unknown>;

const queued = (shares: number, lendable: number, queues: number, handSize: number) => ({
  type: "Limited",
  limited: {
    nominalConcurrencyShares: shares,
    lendablePercent: lendable,
    limitResponse: { type: "Queue", queuing: { queues, handSize, queueLengthLimit: 50 } },
  },
});

const mandatoryLevels: Record<string, Obj> = {
  exempt: { type: "Exempt", exempt: { nominalConcurrencyShares: 0, lendablePercent: 0 } },
  "catch-all": {
    type: "Limited",
    limited: { nominalConcurrencyShares: 5, lendablePercent: 0, limitResponse: { type: "Reject" } },
  },
};

const suggestedLevels: Record<string, Obj> = {
  "node-high": queued(40, 25, 64, 6),
  system: queued(30, 33, 64, 6),
  "leader-election": queued(10, 0, 16, 4),
  "workload-high": queued(40, 50, 128, 6),
  "workload-low": queued(100, 90, 128, 6),
  "global-default": queued(20, 50, 128, 6),
};

const group = (name: string) => ({ kind: "Group", group: { name } });
const user = (name: string) => ({ kind: "User", user: { name } });
const sa = (namespace: string, name: string) => ({
  kind: "ServiceAccount",
  serviceAccount: { namespace, name },
});
const EVERYONE = [group("system:unauthenticated"), group("system:authenticated")];
const ALL_RESOURCES = {
  verbs: ["*"],
  apiGroups: ["*"],
  resources: ["*"],
  clusterScope: true,
  namespaces: ["*"],
};
const ALL_NON_RESOURCES = { verbs: ["*"], nonResourceURLs: ["*"] };
const everything = (subjects: Obj[]) => [
  { subjects, resourceRules: [ALL_RESOURCES], nonResourceRules: [ALL_NON_RESOURCES] },
];

function flow(level: string, precedence: number, distinguisher: string | undefined, rules: Obj[]) {
  return {
    priorityLevelConfiguration: { name: level },
    matchingPrecedence: precedence,
    ...(distinguisher ? { distinguisherMethod: { type: distinguisher } } : {}),
    rules,
  };
}

const mandatoryFlows: Record<string, Obj> = {
  exempt: flow("exempt", 1, undefined, everything([group("system:masters")])),
  "catch-all": flow("catch-all", 10000, "ByUser", everything(EVERYONE)),
};

const leaderRules = (subjects: Obj[]) => [
  {
    subjects,
    resourceRules: [
      {
        verbs: ["get", "create", "update"],
        apiGroups: ["coordination.k8s.io"],
        resources: ["leases"],
        namespaces: ["*"],
      },
    ],
  },
];

const suggestedFlows: Record<string, Obj> = {
  probes: flow("exempt", 2, undefined, [
    {
      subjects: EVERYONE,
      nonResourceRules: [{ verbs: ["get"], nonResourceURLs: ["/healthz", "/readyz", "/livez"] }],
    },
  ]),
  "system-leader-election": flow(
    "leader-election",
    100,
    "ByUser",
    leaderRules([
      user("system:kube-controller-manager"),
      user("system:kube-scheduler"),
      sa("kube-system", "*"),
    ]),
  ),
  "endpoint-controller": flow("workload-high", 150, "ByUser", [
    {
      subjects: [
        user("system:kube-controller-manager"),
        sa("kube-system", "endpoint-controller"),
        sa("kube-system", "endpointslicemirroring-controller"),
      ],
      resourceRules: [
        {
          verbs: ["get", "create", "update"],
          apiGroups: [""],
          resources: ["endpoints"],
          namespaces: ["*"],
        },
      ],
    },
  ]),
  "workload-leader-election": flow(
    "leader-election",
    200,
    "ByUser",
    leaderRules([sa("kube-system", "*")]),
  ),
  "system-node-high": flow("node-high", 400, "ByUser", [
    {
      subjects: [group("system:nodes")],
      resourceRules: [
        {
          verbs: ["*"],
          apiGroups: [""],
          resources: ["nodes", "nodes/status"],
          clusterScope: true,
        },
        {
          verbs: ["*"],
          apiGroups: ["coordination.k8s.io"],
          resources: ["leases"],
          namespaces: ["*"],
        },
      ],
    },
  ]),
  "system-nodes": flow("system", 500, "ByUser", everything([group("system:nodes")])),
  "kube-controller-manager": flow(
    "workload-high",
    800,
    "ByNamespace",
    everything([user("system:kube-controller-manager")]),
  ),
  "kube-scheduler": flow(
    "workload-high",
    800,
    "ByNamespace",
    everything([user("system:kube-scheduler")]),
  ),
  "kube-system-service-accounts": flow(
    "workload-high",
    900,
    "ByNamespace",
    everything([sa("kube-system", "*")]),
  ),
  "service-accounts": flow(
    "workload-low",
    9000,
    "ByUser",
    everything([group("system:serviceaccounts")]),
  ),
  "global-default": flow("global-default", 9900, "ByUser", everything(EVERYONE)),
};

function object(kind: string, name: string, spec: Obj): KubeObject {
  return {
    apiVersion: API_VERSION,
    kind,
    metadata: { name, annotations: { [AUTO_UPDATE]: "true" } },
    spec: structuredClone(spec),
  };
}

/** The bootstrap objects of one kind, mandatory first. */
export function bootstrapObjects(kind: "FlowSchema" | "PriorityLevelConfiguration") {
  const [mandatory, suggested] =
    kind === "FlowSchema" ? [mandatoryFlows, suggestedFlows] : [mandatoryLevels, suggestedLevels];
  return [
    ...Object.entries(mandatory).map(([n, s]) => ({ object: object(kind, n, s), mandatory: true })),
    ...Object.entries(suggested).map(([n, s]) => ({
      object: object(kind, n, s),
      mandatory: false,
    })),
  ];
}

/** Creates what is missing; restores a mandatory object's spec unless told not to. */
export async function ensureFlowControlBootstrap(levels: Registry, flows: Registry): Promise<void> {
  for (const [registry, kind] of [
    [levels, "PriorityLevelConfiguration"],
    [flows, "FlowSchema"],
  ] as const) {
    for (const { object: want, mandatory } of bootstrapObjects(kind)) {
      const name = meta(want).name!;
      try {
        await registry.create(undefined, structuredClone(want));
        continue;
      } catch (e) {
        if (!(e instanceof ApiError && e.reason === "AlreadyExists")) throw e;
      }
      if (!mandatory) continue;
      await registry.update(
        undefined,
        name,
        (current) => {
          if ((meta(current).annotations ?? {})[AUTO_UPDATE] === "false") return current;
          const next = structuredClone(current);
          const defaulted = structuredClone(want);
          applyDefaults(registry.info, defaulted);
          if (jsonEqual(next.spec, defaulted.spec)) return current;
          next.spec = defaulted.spec;
          return next;
        },
        { skipUnchanged: true },
      );
    }
  }
}
