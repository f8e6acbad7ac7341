// The decisions of the ReplicaSet, Deployment, Job, DaemonSet and EndpointSlice controllers,
// taken by calling `sync(key)` on informer caches filled with fixtures (sample-controller's
// way): the API calls each sync would make are recorded, not sent. The tests on a real
// apiserver (replicaset.test.ts, deployment.test.ts, ...) cover the wiring.
import { test } from "node:test";
import assert from "node:assert/strict";
import { DaemonSetController } from "../src/controllers/daemonset/index.js";
import { DeploymentController } from "../src/controllers/deployment/index.js";
import {
  EndpointSliceController,
  managedByLabel,
  serviceNameLabel,
} from "../src/controllers/endpointslice/index.js";
import { JobController } from "../src/controllers/job/index.js";
import { ReplicaSetController } from "../src/controllers/replicaset/index.js";
import type {
  BatchJob,
  DaemonSet,
  Deployment,
  EndpointSlice,
  Node,
  Pod,
  ReplicaSet,
  Service,
} from "../src/objects.js";
import { newFixture, type Call } from "./fixture.js";

const template = {
  metadata: { labels: { app: "web" } },
  spec: {
    containers: [{ name: "web", image: "web:1", ports: [{ name: "http", containerPort: 8080 }] }],
  },
};

function replicaSet(replicas: number, extra: Partial<ReplicaSet["metadata"]> = {}): ReplicaSet {
  return {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: { name: "web", namespace: "default", uid: "rs-uid", resourceVersion: "1", ...extra },
    spec: { replicas, selector: { matchLabels: { app: "web" } }, template },
  };
}

function pod(
  name: string,
  opts: {
    owner?: { kind: string; name: string; uid: string };
    node?: string;
    ready?: boolean;
    ip?: string;
  } = {},
): Pod {
  const owner = opts.owner ?? { kind: "ReplicaSet", name: "web", uid: "rs-uid" };
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: "default",
      uid: `${name}-uid`,
      resourceVersion: "1",
      labels: { app: "web" },
      creationTimestamp: "2026-01-01T00:00:00Z",
      ownerReferences: [
        {
          apiVersion: owner.kind === "Job" ? "batch/v1" : "apps/v1",
          ...owner,
          controller: true,
        },
      ],
    },
    spec: { ...(opts.node ? { nodeName: opts.node } : {}), containers: template.spec.containers },
    status: {
      phase: opts.node ? "Running" : "Pending",
      ...(opts.ip ? { podIP: opts.ip } : {}),
      conditions: [
        {
          type: "Ready",
          status: opts.ready ? "True" : "False",
          lastTransitionTime: "2026-01-01T00:00:00Z",
        },
      ],
    },
  };
}

const bodyNames = (calls: Call[]) =>
  calls.map((c) => c.body?.metadata.name ?? c.path.split("/").pop());

test("a ReplicaSet short of pods creates the missing ones from its template, named by the apiserver from generateName", async () => {
  const f = newFixture();
  f.load("apps/replicasets", [replicaSet(3)]);
  f.load("pods", [pod("web-aaaaa", { node: "n1", ready: true })]);
  await new ReplicaSetController(f.ctx).sync("default/web");
  const created = f.made("POST", "pods");
  assert.equal(created.length, 2);
  for (const c of created) {
    assert.equal(c.path, "/api/v1/namespaces/default/pods");
    assert.equal(c.body?.metadata.name, undefined);
    assert.equal(c.body?.metadata.generateName, "web-");
    assert.deepEqual(c.body?.metadata.labels, { app: "web" });
    assert.deepEqual(c.body?.metadata.ownerReferences, [
      {
        apiVersion: "apps/v1",
        kind: "ReplicaSet",
        name: "web",
        uid: "rs-uid",
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
  }
  assert.equal(f.made("DELETE", "pods").length, 0);
});

test("a ReplicaSet with pods to spare deletes the unscheduled and the not-ready ones first", async () => {
  const f = newFixture();
  f.load("apps/replicasets", [replicaSet(1)]);
  f.load("pods", [
    pod("web-ready", { node: "n1", ready: true }),
    pod("web-pending"),
    pod("web-notready", { node: "n1", ready: false }),
  ]);
  await new ReplicaSetController(f.ctx).sync("default/web");
  assert.deepEqual(bodyNames(f.made("DELETE", "pods")).sort(), ["web-notready", "web-pending"]);
  assert.equal(f.made("POST", "pods").length, 0);
});

test("a ReplicaSet being deleted creates no pods, and one with enough pods makes no pod calls", async () => {
  const deleting = newFixture();
  deleting.load("apps/replicasets", [replicaSet(2, { deletionTimestamp: "2026-01-01T00:00:00Z" })]);
  deleting.load("pods", []);
  await new ReplicaSetController(deleting.ctx).sync("default/web");
  assert.equal(deleting.made("POST", "pods").length, 0);

  const steady = newFixture();
  steady.load("apps/replicasets", [replicaSet(1)]);
  steady.load("pods", [pod("web-aaaaa", { node: "n1", ready: true })]);
  await new ReplicaSetController(steady.ctx).sync("default/web");
  assert.equal(steady.made("POST", "pods").length + steady.made("DELETE", "pods").length, 0);
});

test("a new Deployment creates one ReplicaSet named by its template hash, with all replicas and the hash label", async () => {
  const f = newFixture();
  const d: Deployment = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: {
      name: "web",
      namespace: "default",
      uid: "d-uid",
      generation: 1,
      resourceVersion: "1",
      // Already at revision 1 (what the new ReplicaSet gets): no patch of the Deployment,
      // whose answer the recording client could not make up.
      annotations: { "deployment.kubernetes.io/revision": "1" },
    },
    spec: { replicas: 3, selector: { matchLabels: { app: "web" } }, template },
  };
  f.load("apps/deployments", [d]);
  f.load("apps/replicasets", []);
  f.load("pods", []);
  await new DeploymentController(f.ctx).sync("default/web");
  const [created, ...more] = f.made("POST", "replicasets");
  assert.equal(more.length, 0);
  const rs = created?.body as ReplicaSet;
  const hash = rs.metadata.labels?.["pod-template-hash"];
  assert.ok(hash, "the ReplicaSet carries pod-template-hash");
  assert.equal(rs.metadata.name, `web-${hash}`);
  assert.equal(rs.spec?.replicas, 3);
  assert.equal(rs.spec?.template?.metadata?.labels?.["pod-template-hash"], hash);
  assert.deepEqual(rs.metadata.ownerReferences?.[0], {
    apiVersion: "apps/v1",
    kind: "Deployment",
    name: "web",
    uid: "d-uid",
    controller: true,
    blockOwnerDeletion: true,
  });
});

function job(spec: Partial<NonNullable<BatchJob["spec"]>> = {}): BatchJob {
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name: "pi", namespace: "default", uid: "job-uid", resourceVersion: "1" },
    spec: {
      parallelism: 2,
      completions: 4,
      template: { ...template, spec: { ...template.spec, restartPolicy: "Never" } },
      ...spec,
    },
  };
}

test("a Job starts `parallelism` pods labelled with its name, and records its start time", async () => {
  const f = newFixture();
  f.load("batch/jobs", [job()]);
  f.load("pods", []);
  await new JobController(f.ctx).sync("default/pi");
  const created = f.made("POST", "pods");
  assert.equal(created.length, 2);
  for (const c of created) {
    assert.equal(c.body?.metadata.generateName, "pi-");
    assert.equal(c.body?.metadata.labels?.["job-name"], "pi");
    assert.equal(c.body?.metadata.labels?.["batch.kubernetes.io/job-name"], "pi");
    assert.equal(c.body?.metadata.ownerReferences?.[0]?.kind, "Job");
  }
  const status = f.made("PUT", "jobs").at(-1)?.body as BatchJob | undefined;
  assert.match(status?.status?.startTime ?? "", /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
});

test("a Job whose pods all succeeded is marked Complete and starts no more pods", async () => {
  const f = newFixture();
  const owner = { kind: "Job", name: "pi", uid: "job-uid" };
  const done = (name: string): Pod => {
    const p = pod(name, { owner, node: "n1" });
    p.status = { phase: "Succeeded" };
    return p;
  };
  f.load("batch/jobs", [job({ completions: 2 })]);
  f.load("pods", [done("pi-a"), done("pi-b")]);
  await new JobController(f.ctx).sync("default/pi");
  assert.equal(f.made("POST", "pods").length, 0);
  const status = (f.made("PUT", "jobs").at(-1)?.body as BatchJob | undefined)?.status;
  assert.equal(status?.succeeded, 2);
  assert.ok(
    status?.conditions?.some((c) => c.type === "Complete" && c.status === "True"),
    "Complete=True",
  );
});

test("a DaemonSet creates one pod per node it may run on, pinned there by node affinity", async () => {
  const f = newFixture();
  const ds: DaemonSet = {
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: {
      name: "agent",
      namespace: "default",
      uid: "ds-uid",
      generation: 1,
      resourceVersion: "1",
    },
    spec: { selector: { matchLabels: { app: "web" } }, template },
  };
  const node = (name: string, taints?: NonNullable<Node["spec"]>["taints"]): Node => ({
    apiVersion: "v1",
    kind: "Node",
    metadata: { name, resourceVersion: "1" },
    spec: taints ? { taints } : {},
  });
  f.load("apps/daemonsets", [ds]);
  f.load("apps/controllerrevisions", []);
  f.load("nodes", [
    node("n1"),
    node("n2", [{ key: "dedicated", value: "db", effect: "NoSchedule" }]),
  ]);
  f.load("pods", []);
  await new DaemonSetController(f.ctx).sync("default/agent");
  const created = f.made("POST", "pods");
  assert.equal(created.length, 1, "the tainted node gets no daemon");
  const p = created[0]!.body as Pod;
  assert.equal(p.metadata.generateName, "agent-");
  assert.deepEqual(
    p.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution
      ?.nodeSelectorTerms,
    [{ matchFields: [{ key: "metadata.name", operator: "In", values: ["n1"] }] }],
  );
  assert.equal(p.metadata.labels?.["pod-template-generation"], "1");
  assert.equal(p.metadata.ownerReferences?.[0]?.kind, "DaemonSet");
});

test("a Service's ready and not-ready pods land in one EndpointSlice it owns, with the named port resolved", async () => {
  const f = newFixture();
  const svc: Service = {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "web", namespace: "default", uid: "svc-uid", resourceVersion: "1" },
    spec: {
      selector: { app: "web" },
      clusterIP: "10.96.0.10",
      ports: [{ name: "http", port: 80, targetPort: "http", protocol: "TCP" }],
    },
  };
  f.load("services", [svc]);
  f.load("pods", [
    pod("web-a", { node: "n1", ready: true, ip: "10.244.1.2" }),
    pod("web-b", { node: "n2", ready: false, ip: "10.244.2.2" }),
    pod("web-c"), // no IP yet: not an endpoint
  ]);
  await new EndpointSliceController(f.ctx).sync("default/web");
  const [created, ...more] = f.made("POST", "endpointslices");
  assert.equal(more.length, 0);
  const slice = created?.body as EndpointSlice;
  assert.equal(slice.metadata.generateName, "web-");
  assert.equal(slice.metadata.labels?.[serviceNameLabel], "web");
  assert.equal(slice.metadata.labels?.[managedByLabel], "endpointslice-controller.k8s.io");
  assert.equal(slice.metadata.ownerReferences?.[0]?.uid, "svc-uid");
  assert.equal(slice.addressType, "IPv4");
  assert.deepEqual(slice.ports, [{ name: "http", port: 8080, protocol: "TCP" }]);
  assert.deepEqual(
    slice.endpoints.map((e) => [e.addresses[0], e.conditions?.ready, e.nodeName]),
    [
      ["10.244.1.2", true, "n1"],
      ["10.244.2.2", false, "n2"],
    ],
  );
});
