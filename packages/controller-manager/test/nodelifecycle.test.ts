import { test } from "node:test";
import assert from "node:assert/strict";
import { resourceInfo, rfc3339, rfc3339Micro } from "@skiff/api";
import { isNotFound, type KubeObject } from "@skiff/client";
import { NodeLifecycleController, evictionTime } from "../src/controllers/nodelifecycle/index.js";
import type { Node, Pod } from "../src/objects.js";
import {
  create,
  makePod,
  nodesInfo,
  podsInfo,
  startEnv,
  waitFor,
  setPodStatus,
} from "./endpoints-testenv.js";

const leasesInfo = resourceInfo("coordination.k8s.io", "v1", "leases");
const micro = () => rfc3339Micro();

test("a node that stops renewing its lease turns Unknown, is tainted unreachable, and its pods are evicted", async (t) => {
  const env = await startEnv();
  t.after(() => env.stop());
  const nodes = env.client.resource<Node>(nodesInfo);
  const pods = env.client.resource<Pod>(podsInfo).namespace("default");
  const leases = env.client.resource(leasesInfo).namespace("kube-node-lease");
  const now = rfc3339();

  const created = await create(env, nodesInfo, {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name: "n1" },
  } as KubeObject);
  const withStatus = structuredClone(created) as Node;
  withStatus.status = {
    conditions: [
      {
        type: "Ready",
        status: "True",
        reason: "KubeletReady",
        lastHeartbeatTime: now,
        lastTransitionTime: now,
      },
      { type: "MemoryPressure", status: "False", lastHeartbeatTime: now, lastTransitionTime: now },
    ],
  };
  await nodes.updateStatus(withStatus);
  await create(env, leasesInfo, {
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: { name: "n1", namespace: "kube-node-lease" },
    spec: { holderIdentity: "n1", leaseDurationSeconds: 40, renewTime: micro() },
  } as KubeObject);

  // The apiserver's admission gives every pod 300 s tolerations; this one tolerates 1 s.
  await create(env, podsInfo, makePod("patient", {}, [], { nodeName: "n1" }));
  await create(
    env,
    podsInfo,
    makePod("quick", {}, [], {
      nodeName: "n1",
      tolerations: [
        {
          key: "node.kubernetes.io/unreachable",
          operator: "Exists",
          effect: "NoExecute",
          tolerationSeconds: 1,
        },
      ],
    }),
  );
  await setPodStatus(env, "patient", { podIP: "10.244.0.4", ready: true });
  const patient = await pods.get("patient");
  assert.ok(
    patient.spec?.tolerations?.some(
      (x) =>
        x.key === "node.kubernetes.io/unreachable" &&
        x.effect === "NoExecute" &&
        x.tolerationSeconds === 300,
    ),
    "default toleration seconds admission",
  );

  env.run(
    new NodeLifecycleController(env.ctx, { nodeMonitorGracePeriodMs: 5000, nodeEvictionRate: 100 }),
  );

  // While the kubelet renews its lease, nothing happens.
  for (let i = 0; i < 4; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    const lease = await leases.get("n1");
    (lease as KubeObject & { spec: { renewTime: string } }).spec.renewTime = micro();
    await leases.update(lease);
  }
  let n1 = await nodes.get("n1");
  assert.equal(n1.status?.conditions?.find((c) => c.type === "Ready")?.status, "True");
  assert.equal(n1.spec?.taints, undefined);

  // Silence: Unknown, tainted, and the pod that tolerates 1 s is deleted; the other stays.
  n1 = await waitFor("node Unknown and tainted", async () => {
    const n = await nodes.get("n1");
    const taints = (n.spec?.taints ?? []).map((x) => `${x.key}:${x.effect}`).sort();
    return taints.length === 2 ? n : undefined;
  });
  assert.deepEqual(n1.status?.conditions?.map((c) => [c.type, c.status, c.reason]).sort(), [
    ["MemoryPressure", "Unknown", "NodeStatusUnknown"],
    ["Ready", "Unknown", "NodeStatusUnknown"],
  ]);
  assert.deepEqual((n1.spec?.taints ?? []).map((x) => `${x.key}:${x.effect}`).sort(), [
    "node.kubernetes.io/unreachable:NoExecute",
    "node.kubernetes.io/unreachable:NoSchedule",
  ]);
  await waitFor("quick pod evicted", () =>
    pods.get("quick").then(
      (p) => !!p.metadata.deletionTimestamp,
      (e: unknown) => isNotFound(e),
    ),
  );
  const stillThere = await waitFor("patient marked not ready", async () => {
    const p = await pods.get("patient");
    const ready = p.status?.conditions?.find((c) => c.type === "Ready");
    return ready?.status === "False" ? p : undefined;
  });
  assert.equal(stillThere.metadata.deletionTimestamp, undefined, "300 s have not passed");

  // The kubelet comes back: Ready=True again lifts the taints.
  const back = structuredClone(await nodes.get("n1"));
  const stamp = rfc3339();
  back.status!.conditions = back.status!.conditions!.map((c) =>
    c.type === "Ready"
      ? { ...c, status: "True", reason: "KubeletReady", lastHeartbeatTime: stamp }
      : { ...c, status: "False", lastHeartbeatTime: stamp },
  );
  await nodes.updateStatus(back);
  await waitFor("taints removed", async () => (await nodes.get("n1")).spec?.taints === undefined);
});

test("a node whose kubelet reports Ready=False gets the not-ready taints", async (t) => {
  const env = await startEnv();
  t.after(() => env.stop());
  const nodes = env.client.resource<Node>(nodesInfo);
  const created = (await create(env, nodesInfo, {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name: "n2" },
  } as KubeObject)) as Node;
  const now = rfc3339();
  created.status = {
    conditions: [
      { type: "Ready", status: "False", lastHeartbeatTime: now, lastTransitionTime: now },
    ],
  };
  await nodes.updateStatus(created);
  env.run(new NodeLifecycleController(env.ctx, { nodeMonitorGracePeriodMs: 60_000 }));
  const n2 = await waitFor("not-ready taints", async () => {
    const n = await nodes.get("n2");
    return (n.spec?.taints ?? []).length === 2 ? n : undefined;
  });
  assert.deepEqual((n2.spec?.taints ?? []).map((x) => `${x.key}:${x.effect}`).sort(), [
    "node.kubernetes.io/not-ready:NoExecute",
    "node.kubernetes.io/not-ready:NoSchedule",
  ]);
  assert.ok(n2.spec?.taints?.find((x) => x.effect === "NoExecute")?.timeAdded);
});

test("a pod is evicted at once without a matching toleration, later with tolerationSeconds, never with an unbounded one", () => {
  const now = Date.parse("2026-01-01T00:00:10Z");
  const taints = [
    {
      key: "node.kubernetes.io/unreachable",
      effect: "NoExecute",
      timeAdded: "2026-01-01T00:00:00Z",
    },
  ];
  const pod = (tolerations: Record<string, unknown>[]): Pod =>
    ({ metadata: { name: "p" }, spec: { containers: [], tolerations } }) as Pod;
  assert.equal(evictionTime(pod([]), taints, now), now);
  assert.equal(
    evictionTime(
      pod([
        {
          key: "node.kubernetes.io/unreachable",
          operator: "Exists",
          effect: "NoExecute",
          tolerationSeconds: 30,
        },
      ]),
      taints,
      now,
    ),
    Date.parse("2026-01-01T00:00:30Z"),
  );
  assert.equal(evictionTime(pod([{ operator: "Exists" }]), taints, now), undefined);
  assert.equal(
    evictionTime(pod([{ key: "other", operator: "Exists", effect: "NoExecute" }]), taints, now),
    now,
    "a toleration for another taint does not help",
  );
});
