// Every kind Skiff serves reads the same in protobuf as in JSON: one object of each kind is
// created (as JSON, with the fields a real cluster fills in: timestamps, quantities,
// int-or-strings, conditions, managedFields), then each list is read both ways and compared.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { apiVersionOf, decodeEnvelope, resources, type ResourceInfo } from "@skiff/api";
import { startApiserver, type TestApiserver, crdFixture } from "@skiff/testing";
import { rawRequest } from "./raw-request.js";

let api: TestApiserver;
before(async () => {
  api = await startApiserver();
});
after(async () => {
  await api?.stop();
});

const ns = "kinds";
const podSpec = {
  containers: [
    {
      name: "web",
      image: "busybox:1.36",
      command: ["httpd", "-f"],
      ports: [{ name: "http", containerPort: 8080 }],
      env: [
        { name: "A", value: "1" },
        { name: "POD", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
      ],
      resources: { limits: { cpu: "500m", memory: "64Mi" }, requests: { cpu: "0.1" } },
      readinessProbe: { httpGet: { path: "/", port: "http" }, periodSeconds: 3 },
      volumeMounts: [{ name: "cfg", mountPath: "/cfg" }],
    },
  ],
  volumes: [{ name: "cfg", configMap: { name: "cfg", defaultMode: 420 } }],
  tolerations: [{ key: "k", operator: "Exists", effect: "NoExecute", tolerationSeconds: 30 }],
};
const template = { metadata: { labels: { app: "web" } }, spec: podSpec };
const selector = { matchLabels: { app: "web" } };

const objects: Record<string, Record<string, unknown>> = {
  Pod: { metadata: { name: "p" }, spec: podSpec },
  Node: {
    metadata: { name: "n1", labels: { "kubernetes.io/hostname": "n1" } },
    spec: { podCIDR: "10.244.1.0/24", taints: [{ key: "k", value: "v", effect: "NoSchedule" }] },
  },
  Service: {
    metadata: { name: "svc" },
    spec: { selector: { app: "web" }, ports: [{ name: "http", port: 80, targetPort: "http" }] },
  },
  Endpoints: {
    metadata: { name: "svc" },
    subsets: [{ addresses: [{ ip: "10.244.1.5" }], ports: [{ name: "http", port: 8080 }] }],
  },
  ConfigMap: { metadata: { name: "cfg" }, data: { a: "1" }, binaryData: { b: "AAEC" } },
  Secret: { metadata: { name: "s" }, type: "Opaque", data: { p: "czNjcjN0" } },
  ServiceAccount: { metadata: { name: "robot" }, automountServiceAccountToken: false },
  Event: {
    metadata: { name: "e" },
    involvedObject: { kind: "Pod", name: "p", namespace: ns },
    reason: "Started",
    message: "started",
    type: "Normal",
    count: 2,
    firstTimestamp: "2026-01-02T03:04:05Z",
    lastTimestamp: "2026-01-02T03:04:06Z",
    eventTime: "2026-01-02T03:04:05.123456Z",
    reportingComponent: "kubelet",
    reportingInstance: "n1",
    action: "Start",
    source: { component: "kubelet", host: "n1" },
  },
  Deployment: {
    metadata: { name: "web" },
    spec: {
      replicas: 0,
      selector,
      template,
      strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: "25%", maxUnavailable: 1 } },
    },
  },
  ReplicaSet: { metadata: { name: "web-1" }, spec: { replicas: 2, selector, template } },
  ReplicationController: {
    metadata: { name: "web-rc" },
    spec: { replicas: 2, minReadySeconds: 1, selector: { app: "web" }, template },
  },
  DaemonSet: { metadata: { name: "agent" }, spec: { selector, template } },
  Job: {
    metadata: { name: "once" },
    spec: {
      backoffLimit: 2,
      template: { spec: { ...podSpec, restartPolicy: "Never" } },
    },
  },
  Lease: {
    metadata: { name: "leader" },
    spec: {
      holderIdentity: "a",
      leaseDurationSeconds: 15,
      renewTime: "2026-01-02T03:04:05.000001Z",
      leaseTransitions: 1,
    },
  },
  StatefulSet: {
    metadata: { name: "db" },
    spec: {
      replicas: 0,
      serviceName: "db",
      selector,
      template,
      updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition: 0 } },
      volumeClaimTemplates: [
        {
          metadata: { name: "data" },
          spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
        },
      ],
    },
  },
  ControllerRevision: {
    metadata: { name: "db-1" },
    revision: 1,
    data: { spec: { template: { metadata: { labels: { app: "web" } } } } },
  },
  CronJob: {
    metadata: { name: "nightly" },
    spec: {
      schedule: "0 3 * * *",
      concurrencyPolicy: "Forbid",
      jobTemplate: { spec: { template: { spec: { ...podSpec, restartPolicy: "Never" } } } },
    },
  },
  PersistentVolume: {
    metadata: { name: "pv1" },
    spec: {
      capacity: { storage: "1Gi" },
      accessModes: ["ReadWriteOnce"],
      persistentVolumeReclaimPolicy: "Retain",
      hostPath: { path: "/tmp/pv1" },
    },
  },
  PersistentVolumeClaim: {
    metadata: { name: "claim" },
    spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
  },
  StorageClass: {
    metadata: { name: "slow" },
    provisioner: "example.com/slow",
    reclaimPolicy: "Retain",
    volumeBindingMode: "Immediate",
  },
  PodDisruptionBudget: { metadata: { name: "budget" }, spec: { minAvailable: 1, selector } },
  NetworkPolicy: {
    metadata: { name: "web-policy" },
    spec: {
      podSelector: selector,
      ingress: [
        {
          from: [
            { podSelector: { matchLabels: { role: "client" } }, namespaceSelector: {} },
            { ipBlock: { cidr: "10.0.0.0/8", except: ["10.1.0.0/16"] } },
          ],
          ports: [{ port: "http" }, { protocol: "UDP", port: 9000, endPort: 9010 }],
        },
      ],
      egress: [{ to: [{ namespaceSelector: { matchLabels: { team: "a" } } }] }],
    },
  },
  PriorityClass: { metadata: { name: "high" }, value: 1000, description: "important" },
  Role: {
    metadata: { name: "reader" },
    rules: [{ apiGroups: [""], resources: ["pods"], resourceNames: ["a"], verbs: ["get"] }],
  },
  ClusterRole: {
    metadata: { name: "pb-aggregated", labels: { a: "b" } },
    aggregationRule: { clusterRoleSelectors: [{ matchLabels: { "pb-aggregate": "true" } }] },
    rules: [{ nonResourceURLs: ["/healthz"], verbs: ["get"] }],
  },
  RoleBinding: {
    metadata: { name: "readers" },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "reader" },
    subjects: [{ kind: "ServiceAccount", name: "default", namespace: "default" }],
  },
  ClusterRoleBinding: {
    metadata: { name: "pb-binding" },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "view" },
    subjects: [{ kind: "Group", apiGroup: "rbac.authorization.k8s.io", name: "pb-group" }],
  },
  ResourceQuota: { metadata: { name: "q" }, spec: { hard: { pods: "10", "requests.cpu": "2" } } },
  LimitRange: {
    metadata: { name: "limits" },
    spec: { limits: [{ type: "Container", default: { cpu: "200m" }, max: { cpu: "1" } }] },
  },
  HorizontalPodAutoscaler: {
    metadata: { name: "web" },
    spec: {
      scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "web" },
      minReplicas: 1,
      maxReplicas: 3,
      metrics: [
        {
          type: "Resource",
          resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 50 } },
        },
      ],
    },
  },
  CustomResourceDefinition: (({ apiVersion: _a, kind: _k, ...rest }) => rest)(
    crdFixture({ group: "pb.example.com", plural: "gizmos", kind: "Gizmo" }),
  ),
  EndpointSlice: {
    metadata: { name: "svc-abc", labels: { "kubernetes.io/service-name": "svc" } },
    addressType: "IPv4",
    endpoints: [{ addresses: ["10.244.1.5"], conditions: { ready: true }, nodeName: "n1" }],
    ports: [{ name: "http", port: 8080, protocol: "TCP" }],
  },
  MutatingWebhookConfiguration: {
    metadata: { name: "mutate" },
    webhooks: [
      {
        name: "mutate.example.com",
        clientConfig: { service: { namespace: ns, name: "svc", path: "/m" }, caBundle: "AAEC" },
        rules: [
          { operations: ["CREATE"], apiGroups: [""], apiVersions: ["v1"], resources: ["nothing"] },
        ],
        failurePolicy: "Ignore",
        sideEffects: "None",
        admissionReviewVersions: ["v1"],
        reinvocationPolicy: "IfNeeded",
        objectSelector: { matchLabels: { a: "b" } },
      },
    ],
  },
  ValidatingAdmissionPolicy: {
    metadata: { name: "pb-policy" },
    spec: {
      paramKind: { apiVersion: "v1", kind: "ConfigMap" },
      matchConstraints: {
        resourceRules: [
          {
            operations: ["CREATE"],
            apiGroups: ["apps"],
            apiVersions: ["v1"],
            resources: ["nothing"],
          },
        ],
      },
      variables: [{ name: "r", expression: "object.spec.replicas" }],
      validations: [{ expression: "variables.r < 100", message: "too many", reason: "Forbidden" }],
      auditAnnotations: [{ key: "r", valueExpression: "string(variables.r)" }],
    },
  },
  ValidatingAdmissionPolicyBinding: {
    metadata: { name: "pb-binding" },
    spec: {
      policyName: "pb-policy",
      validationActions: ["Audit"],
      paramRef: { name: "cfg", namespace: ns, parameterNotFoundAction: "Allow" },
    },
  },
  IngressClass: {
    metadata: { name: "pb-class" },
    spec: {
      controller: "example.com/ingress",
      parameters: { apiGroup: "k8s.example.com", kind: "Params", name: "p" },
    },
  },
  Ingress: {
    metadata: { name: "pb-ingress" },
    spec: {
      ingressClassName: "pb-class",
      tls: [{ hosts: ["*.example.com"], secretName: "s" }],
      rules: [
        {
          host: "www.example.com",
          http: {
            paths: [
              {
                path: "/",
                pathType: "Prefix",
                backend: { service: { name: "svc", port: { number: 80 } } },
              },
            ],
          },
        },
      ],
    },
  },
  PriorityLevelConfiguration: {
    metadata: { name: "pb-level" },
    spec: {
      type: "Limited",
      limited: { limitResponse: { type: "Queue", queuing: { queues: 16, handSize: 4 } } },
    },
  },
  FlowSchema: {
    metadata: { name: "pb-flow" },
    spec: {
      priorityLevelConfiguration: { name: "pb-level" },
      distinguisherMethod: { type: "ByUser" },
      rules: [
        {
          subjects: [{ kind: "ServiceAccount", serviceAccount: { namespace: ns, name: "robot" } }],
          resourceRules: [
            { verbs: ["get"], apiGroups: [""], resources: ["pods"], namespaces: [ns] },
          ],
        },
      ],
    },
  },
  ValidatingWebhookConfiguration: {
    metadata: { name: "validate" },
    webhooks: [
      {
        name: "validate.example.com",
        clientConfig: { url: "https://127.0.0.1:1/v" },
        rules: [
          { operations: ["*"], apiGroups: ["apps"], apiVersions: ["*"], resources: ["nothing/*"] },
        ],
        failurePolicy: "Ignore",
        sideEffects: "NoneOnDryRun",
        timeoutSeconds: 5,
        admissionReviewVersions: ["v1", "v1beta1"],
        matchConditions: [{ name: "never", expression: "false" }],
      },
    ],
  },
};

const collection = (info: ResourceInfo) =>
  `/${info.group ? `apis/${info.group}` : "api"}/${info.version}${info.namespaced ? `/namespaces/${ns}` : ""}/${info.resource}`;

/** Strips what protobuf does not carry per item (apiVersion/kind live in the envelope). */
function items(list: { items: Record<string, unknown>[] }) {
  return list.items.map(({ apiVersion: _a, kind: _k, ...rest }) => rest);
}

test("every served kind lists the same in protobuf as in JSON", async () => {
  await api.request("POST", "/api/v1/namespaces", { metadata: { name: ns } });
  for (const info of resources) {
    if (info.kind === "Namespace") continue;
    const body = objects[info.kind];
    assert.ok(body, `a fixture for ${info.kind}`);
    const r = await api.request("POST", collection(info), {
      apiVersion: apiVersionOf(info),
      kind: info.kind,
      ...body,
    });
    assert.equal(r.status, 201, `${info.kind}: ${r.text}`);
  }
  for (const info of resources) {
    // CRDs are served in JSON only here (their JSONSchemaProps has no protobuf table yet);
    // clients that accept JSON too, as kubectl and client-go do, get JSON.
    if (info.kind === "CustomResourceDefinition") continue;
    const json = await api.request("GET", collection(info));
    const pb = await rawRequest(api, "GET", collection(info), {
      accept: "application/vnd.kubernetes.protobuf",
    });
    assert.equal(pb.type, "application/vnd.kubernetes.protobuf", info.kind);
    const decoded = decodeEnvelope(pb.body).object as {
      kind: string;
      metadata: unknown;
      items: Record<string, unknown>[];
    };
    assert.equal(decoded.kind, info.listKind);
    assert.ok(json.json.items.length > 0, `${info.kind} has objects`);
    assert.deepEqual(items(decoded), items(json.json), info.kind);
    assert.deepEqual(decoded.metadata, json.json.metadata, info.kind);
  }
});
