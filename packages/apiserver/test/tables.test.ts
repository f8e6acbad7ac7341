import { test } from "node:test";
import assert from "node:assert/strict";
import { findResource } from "@skiff/api";
import type { ResourceInfo } from "@skiff/api";
import { tableColumns, toTable } from "../src/tables.js";
import type { Table } from "../src/tables.js";

const now = new Date("2024-06-01T12:00:00Z");
const ago = (seconds: number) => new Date(now.getTime() - seconds * 1000).toISOString();

function info(group: string, resource: string): ResourceInfo {
  const r = findResource(group, "v1", resource);
  assert.ok(r, resource);
  return r;
}

function columns(group: string, resource: string): [string, number][] {
  return tableColumns(info(group, resource)).map((c) => [c.name, c.priority]);
}

function cells(group: string, resource: string, obj: object): unknown[] {
  const table = toTable(info(group, resource), [obj], { now });
  assert.equal(table.rows.length, 1);
  return table.rows[0]!.cells;
}

/** The cells of one row by column name, as kubectl -o wide lines them up. */
function byName(group: string, resource: string, obj: object): Record<string, unknown> {
  const row = cells(group, resource, obj);
  return Object.fromEntries(tableColumns(info(group, resource)).map((c, i) => [c.name, row[i]]));
}

test("a pod table has kubectl's columns with the wide ones at priority 1", () => {
  assert.deepEqual(columns("", "pods"), [
    ["Name", 0],
    ["Ready", 0],
    ["Status", 0],
    ["Restarts", 0],
    ["Age", 0],
    ["IP", 1],
    ["Node", 1],
    ["Nominated Node", 1],
    ["Readiness Gates", 1],
  ]);
  const first = tableColumns(info("", "pods"))[0]!;
  assert.deepEqual(first, {
    ...first,
    name: "Name",
    type: "string",
    format: "name",
  });
});

test("a running pod shows READY 1/1, Running, its IP and node", () => {
  const pod = {
    metadata: {
      name: "web-1",
      namespace: "default",
      creationTimestamp: ago(300),
    },
    spec: { nodeName: "n1", containers: [{ name: "nginx", image: "nginx" }] },
    status: {
      phase: "Running",
      podIP: "10.244.0.5",
      podIPs: [{ ip: "10.244.0.5" }],
      conditions: [{ type: "Ready", status: "True" }],
      containerStatuses: [
        {
          name: "nginx",
          ready: true,
          restartCount: 0,
          state: { running: { startedAt: ago(290) } },
        },
      ],
    },
  };
  assert.deepEqual(cells("", "pods", pod), [
    "web-1",
    "1/1",
    "Running",
    "0",
    "5m",
    "10.244.0.5",
    "n1",
    "<none>",
    "<none>",
  ]);
});

test("a crash-looping container shows CrashLoopBackOff and when it last restarted", () => {
  const pod = {
    metadata: { name: "bad", creationTimestamp: ago(3600) },
    spec: { containers: [{ name: "app", image: "busybox" }] },
    status: {
      phase: "Running",
      containerStatuses: [
        {
          name: "app",
          ready: false,
          restartCount: 2,
          state: {
            waiting: { reason: "CrashLoopBackOff", message: "back-off 20s" },
          },
          lastState: {
            terminated: { exitCode: 1, reason: "Error", finishedAt: ago(300) },
          },
        },
      ],
    },
  };
  const row = byName("", "pods", pod);
  assert.equal(row["Ready"], "0/1");
  assert.equal(row["Status"], "CrashLoopBackOff");
  assert.equal(row["Restarts"], "2 (5m ago)");
  assert.equal(row["IP"], "<none>");
  assert.equal(row["Node"], "<none>");
});

test("a finished pod shows Completed and is marked completed for clients", () => {
  const pod = {
    metadata: { name: "job-x", creationTimestamp: ago(60) },
    spec: { containers: [{ name: "c", image: "busybox" }] },
    status: {
      phase: "Succeeded",
      containerStatuses: [
        {
          name: "c",
          ready: false,
          restartCount: 0,
          state: { terminated: { exitCode: 0, reason: "Completed" } },
        },
      ],
    },
  };
  const table = toTable(info("", "pods"), [pod], { now });
  assert.equal(table.rows[0]!.cells[2], "Completed");
  assert.deepEqual(table.rows[0]!.conditions?.[0]?.type, "Completed");
  // Without a reason the exit code is shown.
  const failed = structuredClone(pod);
  failed.status.phase = "Failed";
  failed.status.containerStatuses[0]!.state.terminated = {
    exitCode: 3,
    reason: "",
  };
  assert.equal(byName("", "pods", failed)["Status"], "ExitCode:3");
});

test("a pod being deleted shows Terminating, unless it already finished", () => {
  const pod = {
    metadata: {
      name: "p",
      creationTimestamp: ago(60),
      deletionTimestamp: now.toISOString(),
    },
    spec: { containers: [{ name: "c", image: "x" }] },
    status: {
      phase: "Running",
      containerStatuses: [{ name: "c", ready: true, state: { running: {} } }],
    },
  };
  assert.equal(byName("", "pods", pod)["Status"], "Terminating");
  const done = { ...pod, status: { phase: "Succeeded" } };
  assert.equal(byName("", "pods", done)["Status"], "Succeeded");
});

test("pod status while starting: Pending, ContainerCreating, init containers", () => {
  const base = {
    metadata: { name: "p", creationTimestamp: ago(5) },
    spec: { containers: [{ name: "c", image: "x" }] },
  };
  assert.equal(byName("", "pods", { ...base, status: { phase: "Pending" } })["Status"], "Pending");
  assert.equal(
    byName("", "pods", {
      ...base,
      status: {
        phase: "Pending",
        containerStatuses: [
          {
            name: "c",
            ready: false,
            state: { waiting: { reason: "ContainerCreating" } },
          },
        ],
      },
    })["Status"],
    "ContainerCreating",
  );
  const withInit = {
    metadata: base.metadata,
    spec: {
      initContainers: [{ name: "init", image: "x" }],
      containers: [{ name: "c", image: "x" }],
    },
  };
  assert.equal(
    byName("", "pods", {
      ...withInit,
      status: {
        phase: "Pending",
        initContainerStatuses: [{ name: "init", ready: false, state: { running: {} } }],
        containerStatuses: [
          {
            name: "c",
            ready: false,
            state: { waiting: { reason: "PodInitializing" } },
          },
        ],
      },
    })["Status"],
    "Init:0/1",
  );
  assert.equal(
    byName("", "pods", {
      ...withInit,
      status: {
        phase: "Pending",
        initContainerStatuses: [
          {
            name: "init",
            state: { terminated: { exitCode: 1, reason: "Error" } },
          },
        ],
      },
    })["Status"],
    "Init:Error",
  );
  assert.equal(
    byName("", "pods", {
      ...base,
      status: { phase: "Failed", reason: "Evicted" },
    })["Status"],
    "Evicted",
  );
});

test("nodes show Ready/NotReady, SchedulingDisabled and roles", () => {
  assert.deepEqual(columns("", "nodes"), [
    ["Name", 0],
    ["Status", 0],
    ["Roles", 0],
    ["Age", 0],
    ["Version", 0],
    ["Internal-IP", 1],
    ["External-IP", 1],
    ["OS-Image", 1],
    ["Kernel-Version", 1],
    ["Container-Runtime", 1],
  ]);
  const node = {
    metadata: {
      name: "n1",
      creationTimestamp: ago(2 * 86400 + 3 * 3600),
      labels: {
        "node-role.kubernetes.io/control-plane": "",
        "kubernetes.io/role": "worker",
      },
    },
    spec: { unschedulable: true },
    status: {
      conditions: [{ type: "Ready", status: "True" }],
      addresses: [
        { type: "InternalIP", address: "10.0.0.1" },
        { type: "Hostname", address: "n1" },
      ],
      nodeInfo: {
        kubeletVersion: "v1.31.0-skiff",
        osImage: "Debian",
        kernelVersion: "6.1",
        containerRuntimeVersion: "docker://24.0",
      },
    },
  };
  assert.deepEqual(cells("", "nodes", node), [
    "n1",
    "Ready,SchedulingDisabled",
    "control-plane,worker",
    "2d3h",
    "v1.31.0-skiff",
    "10.0.0.1",
    "<none>",
    "Debian",
    "6.1",
    "docker://24.0",
  ]);
  const notReady = {
    metadata: { name: "n2" },
    status: { conditions: [{ type: "Ready", status: "Unknown" }] },
  };
  assert.deepEqual(cells("", "nodes", notReady).slice(0, 4), [
    "n2",
    "NotReady",
    "<none>",
    "<unknown>",
  ]);
  assert.equal(cells("", "nodes", { metadata: { name: "n3" } })[1], "Unknown");
});

test("services show type, cluster IP, ports with node ports, and the selector when wide", () => {
  assert.deepEqual(columns("", "services"), [
    ["Name", 0],
    ["Type", 0],
    ["Cluster-IP", 0],
    ["External-IP", 0],
    ["Port(s)", 0],
    ["Age", 0],
    ["Selector", 1],
  ]);
  const svc = {
    metadata: { name: "web", creationTimestamp: ago(10) },
    spec: {
      type: "NodePort",
      clusterIP: "10.96.0.10",
      clusterIPs: ["10.96.0.10"],
      selector: { tier: "fe", app: "web" },
      ports: [
        { port: 80, targetPort: 8080, nodePort: 30080, protocol: "TCP" },
        { port: 53, protocol: "UDP" },
      ],
    },
  };
  assert.deepEqual(cells("", "services", svc), [
    "web",
    "NodePort",
    "10.96.0.10",
    "<none>",
    "80:30080/TCP,53/UDP",
    "10s",
    "app=web,tier=fe",
  ]);
  const lb = {
    metadata: { name: "lb" },
    spec: {
      type: "LoadBalancer",
      clusterIPs: ["10.96.0.11"],
      ports: [{ port: 443, protocol: "TCP" }],
    },
  };
  assert.equal(byName("", "services", lb)["External-IP"], "<pending>");
  const headless = {
    metadata: { name: "h" },
    spec: { type: "ClusterIP", clusterIP: "None", clusterIPs: ["None"] },
  };
  assert.deepEqual(cells("", "services", headless).slice(2, 5), ["None", "<none>", "<none>"]);
  assert.equal(byName("", "services", headless)["Selector"], "<none>");
});

test("endpoints and endpoint slices list up to three addresses", () => {
  assert.deepEqual(columns("", "endpoints"), [
    ["Name", 0],
    ["Endpoints", 0],
    ["Age", 0],
  ]);
  const ep = {
    metadata: { name: "web" },
    subsets: [
      {
        addresses: [{ ip: "10.0.0.1" }, { ip: "10.0.0.2" }],
        ports: [{ port: 80 }, { port: 443 }],
      },
    ],
  };
  assert.equal(cells("", "endpoints", ep)[1], "10.0.0.1:80,10.0.0.2:80,10.0.0.1:443 + 1 more...");
  assert.equal(cells("", "endpoints", { metadata: { name: "none" } })[1], "<none>");

  assert.deepEqual(columns("discovery.k8s.io", "endpointslices"), [
    ["Name", 0],
    ["AddressType", 0],
    ["Ports", 0],
    ["Endpoints", 0],
    ["Age", 0],
  ]);
  const slice = {
    metadata: { name: "web-abc" },
    addressType: "IPv4",
    ports: [{ name: "http", port: 80 }],
    endpoints: [{ addresses: ["10.0.0.1"] }, { addresses: ["10.0.0.2"] }],
  };
  assert.deepEqual(cells("discovery.k8s.io", "endpointslices", slice).slice(0, 4), [
    "web-abc",
    "IPv4",
    "80",
    "10.0.0.1,10.0.0.2",
  ]);
  assert.deepEqual(
    cells("discovery.k8s.io", "endpointslices", {
      metadata: { name: "e" },
      addressType: "IPv4",
    }).slice(2, 4),
    ["<unset>", "<unset>"],
  );
});

test("namespaces, configmaps, secrets, service accounts and leases", () => {
  assert.deepEqual(columns("", "namespaces"), [
    ["Name", 0],
    ["Status", 0],
    ["Age", 0],
  ]);
  assert.deepEqual(
    cells("", "namespaces", {
      metadata: { name: "default", creationTimestamp: ago(86400) },
      status: { phase: "Active" },
    }),
    ["default", "Active", "24h"],
  );
  assert.deepEqual(columns("", "configmaps"), [
    ["Name", 0],
    ["Data", 0],
    ["Age", 0],
  ]);
  assert.deepEqual(
    cells("", "configmaps", {
      metadata: { name: "cm" },
      data: { a: "1", b: "2" },
      binaryData: { c: "AA==" },
    }),
    ["cm", 3, "<unknown>"],
  );
  assert.deepEqual(columns("", "secrets"), [
    ["Name", 0],
    ["Type", 0],
    ["Data", 0],
    ["Age", 0],
  ]);
  assert.deepEqual(
    cells("", "secrets", {
      metadata: { name: "s" },
      type: "Opaque",
      data: { k: "dg==" },
    }).slice(0, 3),
    ["s", "Opaque", 1],
  );
  assert.deepEqual(columns("", "serviceaccounts"), [
    ["Name", 0],
    ["Secrets", 0],
    ["Age", 0],
  ]);
  assert.deepEqual(cells("", "serviceaccounts", { metadata: { name: "default" } }).slice(0, 2), [
    "default",
    0,
  ]);
  assert.deepEqual(columns("coordination.k8s.io", "leases"), [
    ["Name", 0],
    ["Holder", 0],
    ["Age", 0],
  ]);
  assert.deepEqual(
    cells("coordination.k8s.io", "leases", {
      metadata: { name: "n1" },
      spec: { holderIdentity: "n1" },
    }).slice(0, 2),
    ["n1", "n1"],
  );
});

test("events show last seen, type, reason, object and message", () => {
  assert.deepEqual(columns("", "events"), [
    ["Last Seen", 0],
    ["Type", 0],
    ["Reason", 0],
    ["Object", 0],
    ["Subobject", 1],
    ["Source", 1],
    ["Message", 0],
    ["First Seen", 1],
    ["Count", 1],
    ["Name", 1],
  ]);
  assert.equal(tableColumns(info("", "events")).find((c) => c.name === "Name")?.format, "name");
  const ev = {
    metadata: { name: "web-1.17a", namespace: "default" },
    involvedObject: {
      kind: "Pod",
      name: "web-1",
      fieldPath: "spec.containers{nginx}",
    },
    reason: "Pulled",
    message: 'Successfully pulled image "nginx"\n',
    type: "Normal",
    source: { component: "kubelet", host: "n1" },
    firstTimestamp: ago(600),
    lastTimestamp: ago(30),
    count: 4,
  };
  assert.deepEqual(cells("", "events", ev), [
    "30s",
    "Normal",
    "Pulled",
    "pod/web-1",
    "spec.containers{nginx}",
    "kubelet, n1",
    'Successfully pulled image "nginx"',
    "10m",
    4,
    "web-1.17a",
  ]);
  const single = {
    metadata: { name: "e" },
    involvedObject: { kind: "Node" },
    eventTime: ago(5),
    reportingComponent: "scheduler",
  };
  const row = byName("", "events", single);
  assert.equal(row["Last Seen"], "5s");
  assert.equal(row["Object"], "node");
  assert.equal(row["Source"], "scheduler");
  assert.equal(row["Count"], 1);
});

const template = {
  metadata: { labels: { app: "web" } },
  spec: {
    containers: [
      { name: "nginx", image: "nginx:1.27" },
      { name: "sidecar", image: "busybox" },
    ],
  },
};

test("deployments show READY as ready/desired and counts as integers", () => {
  assert.deepEqual(columns("apps", "deployments"), [
    ["Name", 0],
    ["Ready", 0],
    ["Up-to-date", 0],
    ["Available", 0],
    ["Age", 0],
    ["Containers", 1],
    ["Images", 1],
    ["Selector", 1],
  ]);
  const d = {
    metadata: { name: "web", creationTimestamp: ago(45) },
    spec: { replicas: 3, selector: { matchLabels: { app: "web" } }, template },
    status: {
      replicas: 3,
      updatedReplicas: 3,
      readyReplicas: 2,
      availableReplicas: 2,
    },
  };
  assert.deepEqual(cells("apps", "deployments", d), [
    "web",
    "2/3",
    3,
    2,
    "45s",
    "nginx,sidecar",
    "nginx:1.27,busybox",
    "app=web",
  ]);
  assert.deepEqual(
    cells("apps", "deployments", {
      metadata: { name: "new" },
      spec: { replicas: 1, template },
    }).slice(1, 4),
    ["0/1", 0, 0],
  );
});

test("replicasets and daemonsets show their counts and selectors", () => {
  assert.deepEqual(columns("apps", "replicasets"), [
    ["Name", 0],
    ["Desired", 0],
    ["Current", 0],
    ["Ready", 0],
    ["Age", 0],
    ["Containers", 1],
    ["Images", 1],
    ["Selector", 1],
  ]);
  const rs = {
    metadata: { name: "web-5d4f" },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: "web", "pod-template-hash": "5d4f" } },
      template,
    },
    status: { replicas: 2, readyReplicas: 1 },
  };
  assert.deepEqual(cells("apps", "replicasets", rs), [
    "web-5d4f",
    2,
    2,
    1,
    "<unknown>",
    "nginx,sidecar",
    "nginx:1.27,busybox",
    "app=web,pod-template-hash=5d4f",
  ]);
  assert.equal(
    byName("apps", "replicasets", {
      metadata: { name: "x" },
      spec: { selector: {} },
    })["Selector"],
    "<none>",
  );

  assert.deepEqual(columns("apps", "daemonsets"), [
    ["Name", 0],
    ["Desired", 0],
    ["Current", 0],
    ["Ready", 0],
    ["Up-to-date", 0],
    ["Available", 0],
    ["Node Selector", 0],
    ["Age", 0],
    ["Containers", 1],
    ["Images", 1],
    ["Selector", 1],
  ]);
  const ds = {
    metadata: { name: "proxy" },
    spec: {
      selector: { matchLabels: { app: "proxy" } },
      template: {
        spec: {
          nodeSelector: { "kubernetes.io/os": "linux" },
          containers: [{ name: "p", image: "proxy" }],
        },
      },
    },
    status: {
      desiredNumberScheduled: 3,
      currentNumberScheduled: 3,
      numberReady: 2,
      updatedNumberScheduled: 3,
      numberAvailable: 2,
    },
  };
  assert.deepEqual(cells("apps", "daemonsets", ds), [
    "proxy",
    3,
    3,
    2,
    3,
    2,
    "kubernetes.io/os=linux",
    "<unknown>",
    "p",
    "proxy",
    "app=proxy",
  ]);
});

test("jobs show status, completions and duration", () => {
  assert.deepEqual(columns("batch", "jobs"), [
    ["Name", 0],
    ["Status", 0],
    ["Completions", 0],
    ["Duration", 0],
    ["Age", 0],
    ["Containers", 1],
    ["Images", 1],
    ["Selector", 1],
  ]);
  const job = {
    metadata: { name: "pi", creationTimestamp: ago(120) },
    spec: {
      completions: 1,
      parallelism: 1,
      selector: { matchLabels: { "batch.kubernetes.io/controller-uid": "u1" } },
      template,
    },
    status: {
      startTime: ago(118),
      completionTime: ago(100),
      succeeded: 1,
      conditions: [{ type: "Complete", status: "True" }],
    },
  };
  assert.deepEqual(cells("batch", "jobs", job).slice(0, 5), ["pi", "Complete", "1/1", "18s", "2m"]);
  const running = {
    metadata: { name: "r" },
    spec: { parallelism: 3 },
    status: { startTime: ago(7) },
  };
  assert.deepEqual(cells("batch", "jobs", running).slice(1, 4), ["Running", "0/1 of 3", "7s"]);
  const suspended = {
    metadata: { name: "s" },
    spec: { completions: 5, suspend: true },
    status: { conditions: [{ type: "Suspended", status: "True" }] },
  };
  assert.deepEqual(cells("batch", "jobs", suspended).slice(1, 4), ["Suspended", "0/5", ""]);
  const failed = {
    metadata: { name: "f" },
    spec: {},
    status: { conditions: [{ type: "Failed", status: "True" }] },
  };
  assert.equal(cells("batch", "jobs", failed)[1], "Failed");
});

test("rows carry PartialObjectMetadata by default, the object on request, or nothing", () => {
  const pods = info("", "pods");
  const pod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: "p",
      namespace: "default",
      labels: { app: "web" },
      uid: "u",
    },
    spec: {},
  };
  const table: Table = toTable(pods, [pod], { resourceVersion: "103", now });
  assert.equal(table.kind, "Table");
  assert.equal(table.apiVersion, "meta.k8s.io/v1");
  assert.deepEqual(table.metadata, { resourceVersion: "103" });
  assert.deepEqual(table.rows[0]!.object, {
    kind: "PartialObjectMetadata",
    apiVersion: "meta.k8s.io/v1",
    metadata: {
      name: "p",
      namespace: "default",
      labels: { app: "web" },
      uid: "u",
    },
  });
  assert.deepEqual(toTable(pods, [pod], { includeObject: "Object" }).rows[0]!.object, pod);
  assert.equal("object" in toTable(pods, [pod], { includeObject: "None" }).rows[0]!, false);
  const paged = toTable(pods, [], {
    resourceVersion: "7",
    continue: "tok",
    remainingItemCount: 4,
    noHeaders: true,
  });
  assert.deepEqual(paged.metadata, {
    resourceVersion: "7",
    continue: "tok",
    remainingItemCount: 4,
  });
  assert.deepEqual(paged.columnDefinitions, []);
  assert.deepEqual(paged.rows, []);
  // The table survives a JSON round trip unchanged (what goes on the wire).
  assert.deepEqual(JSON.parse(JSON.stringify(table)), table);
});
