// The workloads real manifests use, end to end on the journey's cluster (a `make up` cluster)
// with the real kubectl: a StatefulSet with storage, ordered and stable through a pod's loss,
// updated with a partition and rolled back; a DaemonSet rolled back; a CronJob keeping its
// history; a PodDisruptionBudget holding a drain; a high-priority pod preempting a low one on
// the full node; a ResourceQuota refusing a pod; a LimitRange filling in defaults.
// Called from journey.test.ts: two clusters on one host would share its KUBE-* chains.
import assert from "node:assert/strict";
import type { Kubectl } from "../dns-checks.js";
import { eventually } from "../lib.js";

/** kubectl that resolves with its exit code and output instead of failing. */
export type KubectlResult = (
  args: string[],
  input?: string,
) => Promise<{ code: number; out: string; err: string }>;

const NS = "workloads";

const statefulSet = `
apiVersion: v1
kind: Namespace
metadata: {name: ${NS}}
---
apiVersion: v1
kind: Service
metadata: {name: db, namespace: ${NS}}
spec:
  clusterIP: None
  selector: {app: db}
  ports: [{name: tcp, port: 9000}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: ${NS}}
spec:
  serviceName: db
  replicas: 3
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: db
        image: skiff.local/busybox:1.36
        # Each start appends a line to the pod's own volume.
        command: ["sh", "-c", "echo \\"$(hostname) $(date +%s)\\" >> /data/log && exec sleep 3600"]
        volumeMounts: [{name: data, mountPath: /data}]
        readinessProbe: {exec: {command: ["test", "-s", "/data/log"]}, periodSeconds: 1}
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 16Mi}}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: tick, namespace: ${NS}}
spec:
  schedule: "* * * * *"
  concurrencyPolicy: Forbid
  successfulJobsHistoryLimit: 1
  failedJobsHistoryLimit: 1
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          terminationGracePeriodSeconds: 1
          containers: [{name: tick, image: skiff.local/busybox:1.36, command: ["true"]}]
`;

const daemonSet = `
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: ${NS}}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      terminationGracePeriodSeconds: 1
      containers: [{name: agent, image: skiff.local/busybox:1.36, command: ["sleep", "3600"]}]
`;

const guarded = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: guarded, namespace: ${NS}}
spec:
  replicas: 2
  selector: {matchLabels: {app: guarded}}
  template:
    metadata: {labels: {app: guarded}}
    spec:
      terminationGracePeriodSeconds: 1
      containers: [{name: app, image: skiff.local/busybox:1.36, command: ["sleep", "3600"]}]
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: guarded, namespace: ${NS}}
spec:
  minAvailable: 2
  selector: {matchLabels: {app: guarded}}
`;

const pod = (name: string, opts: { priorityClass?: string; cpu?: string } = {}) => `
apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: ${NS}}
spec:
  terminationGracePeriodSeconds: 1
  ${opts.priorityClass ? `priorityClassName: ${opts.priorityClass}` : ""}
  containers:
  - name: app
    image: skiff.local/busybox:1.36
    command: ["sleep", "3600"]
    ${opts.cpu ? `resources: {requests: {cpu: ${opts.cpu}}}` : ""}
`;

/** Millicores of a CPU quantity ("2", "1500m", "0.5"). */
function millis(q: string): number {
  return q.endsWith("m") ? Number(q.slice(0, -1)) : Math.round(Number(q) * 1000);
}

const json = async (k: Kubectl, ...args: string[]) => JSON.parse(await k(...args, "-o", "json"));

export async function checkWorkloads(kubectl: Kubectl, apply: KubectlResult): Promise<void> {
  const ok = async (args: string[], input?: string) => {
    const r = await apply(args, input);
    assert.equal(r.code, 0, `kubectl ${args.join(" ")}: ${r.err}`);
    return r.out;
  };
  await ok(["apply", "-f", "-"], statefulSet);

  // --- StatefulSet: ordered start, one claim per ordinal, stable through a pod's loss ---
  await kubectl("-n", NS, "rollout", "status", "sts/db", "--timeout=180s");
  const pods = await json(kubectl, "-n", NS, "get", "pods", "-l", "app=db");
  const byName = new Map<string, { created: number; ready: number; claim: string }>();
  for (const p of pods.items) {
    const ready = p.status.conditions.find((c: { type: string }) => c.type === "Ready");
    const claim = p.spec.volumes.find((v: { name: string }) => v.name === "data");
    byName.set(p.metadata.name, {
      created: Date.parse(p.metadata.creationTimestamp),
      ready: Date.parse(ready.lastTransitionTime),
      claim: claim.persistentVolumeClaim.claimName,
    });
  }
  assert.deepEqual([...byName.keys()].sort(), ["db-0", "db-1", "db-2"]);
  for (const [before, next] of [
    ["db-0", "db-1"],
    ["db-1", "db-2"],
  ] as const) {
    assert.ok(
      byName.get(next)!.created >= byName.get(before)!.ready,
      `${next} was created only once ${before} was Ready (OrderedReady)`,
    );
  }
  for (const [name, p] of byName) assert.equal(p.claim, `data-${name}`);
  const claims = await json(kubectl, "-n", NS, "get", "pvc");
  assert.deepEqual(
    claims.items.map((c: { metadata: { name: string }; status: { phase: string } }) => [
      c.metadata.name,
      c.status.phase,
    ]),
    [
      ["data-db-0", "Bound"],
      ["data-db-1", "Bound"],
      ["data-db-2", "Bound"],
    ],
  );
  const uid1 = (
    await kubectl("-n", NS, "get", "pod", "db-1", "-o", "jsonpath={.metadata.uid}")
  ).trim();
  await kubectl("-n", NS, "delete", "pod", "db-1", "--wait=false");
  await eventually(
    "db-1 to come back Ready as a new pod",
    async () => {
      const p = await json(kubectl, "-n", NS, "get", "pod", "db-1");
      return (
        p.metadata.uid !== uid1 &&
        p.status.conditions?.some(
          (c: { type: string; status: string }) => c.type === "Ready" && c.status === "True",
        )
      );
    },
    90_000,
  );
  const log = (await kubectl("-n", NS, "exec", "db-1", "--", "cat", "/data/log")).trim();
  assert.equal(
    log.split("\n").length,
    2,
    `db-1 found its first start's line on its claim:\n${log}`,
  );
  assert.ok(log.split("\n").every((l) => l.startsWith("db-1 ")));
  assert.equal(
    (await kubectl("-n", NS, "exec", "db-1", "--", "hostname")).trim(),
    "db-1",
    "the pod's hostname is its stable name",
  );

  // --- a rolling update with a partition: only ordinals ≥ 2 move; then rollout undo ---
  const revision = async (name: string) =>
    (
      await kubectl(
        "-n",
        NS,
        "get",
        "pod",
        name,
        "-o",
        "jsonpath={.metadata.labels.controller-revision-hash}",
      )
    ).trim();
  const first = await revision("db-0");
  await kubectl(
    "-n",
    NS,
    "patch",
    "sts",
    "db",
    "--type=merge",
    "-p",
    '{"spec":{"updateStrategy":{"rollingUpdate":{"partition":2}},"template":{"metadata":{"annotations":{"rev":"2"}}}}}',
  );
  const second = await eventually(
    "db-2 on the new revision",
    async () => {
      const s = await json(kubectl, "-n", NS, "get", "sts", "db");
      const now = await revision("db-2").catch(() => "");
      return s.status.updateRevision !== first && now === s.status.updateRevision && now;
    },
    90_000,
  );
  await kubectl("-n", NS, "rollout", "status", "sts/db", "--timeout=90s");
  assert.equal(await revision("db-0"), first, "db-0 stays below the partition");
  assert.equal(await revision("db-1"), first, "db-1 stays below the partition");
  assert.match(await kubectl("-n", NS, "rollout", "history", "sts/db"), /^1\s.*\n2\s/m);
  await kubectl("-n", NS, "rollout", "undo", "sts/db");
  await eventually(
    "db-2 back on the first revision",
    async () => (await revision("db-2").catch(() => "")) === first,
    90_000,
  );
  assert.equal(
    (
      await kubectl(
        "-n",
        NS,
        "get",
        "sts",
        "db",
        "-o",
        "jsonpath={.spec.template.metadata.annotations.rev}",
      )
    ).trim(),
    "",
  );
  assert.notEqual(second, first);

  // --- a DaemonSet updated and rolled back ---
  await ok(["apply", "-f", "-"], daemonSet);
  await kubectl("-n", NS, "rollout", "status", "ds/agent", "--timeout=90s");
  await kubectl("-n", NS, "set", "image", "ds/agent", "agent=skiff.local/busybox:1.36.1");
  await kubectl("-n", NS, "rollout", "status", "ds/agent", "--timeout=90s");
  await kubectl("-n", NS, "rollout", "undo", "ds/agent");
  await kubectl("-n", NS, "rollout", "status", "ds/agent", "--timeout=90s");
  const agentImage = async () =>
    (
      await kubectl(
        "-n",
        NS,
        "get",
        "pods",
        "-l",
        "app=agent",
        "-o",
        "jsonpath={.items[*].spec.containers[0].image}",
      )
    ).trim();
  await eventually(
    "the agent pod back on 1.36",
    async () => (await agentImage()) === "skiff.local/busybox:1.36",
    60_000,
  );

  // --- a PodDisruptionBudget makes a drain wait until the budget allows ---
  await ok(["apply", "-f", "-"], guarded);
  await kubectl("-n", NS, "rollout", "status", "deploy/guarded", "--timeout=90s");
  const node = (await kubectl("get", "nodes", "-o", "jsonpath={.items[0].metadata.name}")).trim();
  await eventually(
    "the budget to count 2 healthy pods",
    async () =>
      (await json(kubectl, "-n", NS, "get", "pdb", "guarded")).status?.currentHealthy === 2,
    30_000,
  );
  const drain = ["drain", node, "--pod-selector=app=guarded", "--ignore-daemonsets"];
  try {
    const held = await apply([...drain, "--timeout=8s"]);
    assert.notEqual(held.code, 0, "the drain cannot finish while the budget forbids evictions");
    assert.match(held.err, /Cannot evict pod as it would violate the pod's disruption budget/);
    // On this one node the evicted pods cannot come back while it is cordoned: the budget
    // must allow both to go.
    await kubectl(
      "-n",
      NS,
      "patch",
      "pdb",
      "guarded",
      "--type=merge",
      "-p",
      '{"spec":{"minAvailable":0}}',
    );
    const drained = await apply([...drain, "--timeout=90s"]);
    assert.equal(drained.code, 0, drained.err);
    assert.match(drained.out, /evicted/);
  } finally {
    await kubectl("uncordon", node);
  }
  await kubectl("-n", NS, "rollout", "status", "deploy/guarded", "--timeout=90s");

  // --- preemption: a high-priority pod takes the place of a low one on the full node ---
  const n = await json(kubectl, "get", "node", node);
  const allocatable = millis(n.status.allocatable.cpu);
  const all = await json(kubectl, "get", "pods", "-A", "--field-selector", `spec.nodeName=${node}`);
  let requested = 0;
  for (const p of all.items) {
    if (p.status.phase === "Succeeded" || p.status.phase === "Failed") continue;
    for (const c of p.spec.containers) requested += millis(c.resources?.requests?.cpu ?? "0");
  }
  const free = allocatable - requested;
  assert.ok(free > 300, `the node has ${free}m cpu free for the preemption check`);
  await ok(
    ["apply", "-f", "-"],
    `apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: workloads-high}
value: 1000000
description: the preemption check's high priority
---` + pod("low", { cpu: `${free - 100}m` }),
  );
  await eventually(
    "the low-priority pod to run",
    async () =>
      (await kubectl("-n", NS, "get", "pod", "low", "-o", "jsonpath={.status.phase}")).trim() ===
      "Running",
    60_000,
  );
  const lowUid = (
    await kubectl("-n", NS, "get", "pod", "low", "-o", "jsonpath={.metadata.uid}")
  ).trim();
  await ok(["apply", "-f", "-"], pod("high", { priorityClass: "workloads-high", cpu: "200m" }));
  await eventually(
    "the high-priority pod to run in the low one's place",
    async () =>
      (await kubectl("-n", NS, "get", "pod", "high", "-o", "jsonpath={.status.phase}")).trim() ===
      "Running",
    90_000,
  );
  const lowNow = await apply(["-n", NS, "get", "pod", "low", "-o", "jsonpath={.metadata.uid}"]);
  assert.ok(
    lowNow.code !== 0 || lowNow.out.trim() !== lowUid,
    "the low-priority pod was preempted",
  );
  const preempted = await kubectl(
    "-n",
    NS,
    "get",
    "events",
    "--field-selector=reason=Preempted",
    "-o",
    "jsonpath={.items[*].message}",
  );
  assert.match(preempted, /Preempted by pod/);
  await kubectl("-n", NS, "delete", "pod", "high", "--wait=false");

  // --- a quota refuses the pod that would exceed it; a LimitRange fills in defaults ---
  const QNS = "workloads-quota";
  await ok(
    ["apply", "-f", "-"],
    `apiVersion: v1
kind: Namespace
metadata: {name: ${QNS}}
---
apiVersion: v1
kind: ResourceQuota
metadata: {name: one-pod, namespace: ${QNS}}
spec:
  hard: {pods: "1"}
---
apiVersion: v1
kind: LimitRange
metadata: {name: defaults, namespace: ${NS}}
spec:
  limits:
  - type: Container
    default: {memory: 64Mi}
    defaultRequest: {memory: 32Mi}
`,
  );
  await eventually(
    "the quota's usage to be counted",
    async () => (await json(kubectl, "-n", QNS, "get", "quota", "one-pod")).status?.hard,
    30_000,
  );
  await ok(["apply", "-f", "-"], pod("first").replace(`namespace: ${NS}`, `namespace: ${QNS}`));
  const refused = await apply(
    ["apply", "-f", "-"],
    pod("second").replace(`namespace: ${NS}`, `namespace: ${QNS}`),
  );
  assert.notEqual(refused.code, 0, "the second pod was refused");
  assert.match(
    refused.err,
    /pods "second" is forbidden: exceeded quota: one-pod, requested: pods=1, used: pods=1, limited: pods=1/,
  );
  await kubectl("delete", "namespace", QNS, "--wait=false");
  await ok(["apply", "-f", "-"], pod("defaulted"));
  const resources = await json(kubectl, "-n", NS, "get", "pod", "defaulted");
  assert.deepEqual(resources.spec.containers[0].resources, {
    limits: { memory: "64Mi" },
    requests: { memory: "32Mi" },
  });

  // --- the CronJob has run every minute meanwhile and keeps one successful Job ---
  await eventually(
    "the CronJob's second run to succeed with one Job kept",
    async () => {
      const cj = await json(kubectl, "-n", NS, "get", "cronjob", "tick");
      const jobs = (await json(kubectl, "-n", NS, "get", "jobs")).items.filter(
        (j: { metadata: { ownerReferences?: { name: string }[] } }) =>
          j.metadata.ownerReferences?.some((o) => o.name === "tick"),
      );
      const complete = jobs.filter((j: { status: { succeeded?: number } }) => j.status.succeeded);
      return (
        cj.status.lastSuccessfulTime &&
        Date.parse(cj.status.lastSuccessfulTime) >
          Date.parse(cj.metadata.creationTimestamp) + 60_000 &&
        complete.length === 1
      );
    },
    150_000,
  );

  await kubectl("delete", "namespace", NS, "--timeout=120s");
  await kubectl("delete", "priorityclass", "workloads-high");
}
