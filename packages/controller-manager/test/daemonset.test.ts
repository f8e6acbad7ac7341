import { test } from "node:test";
import assert from "node:assert/strict";
import { resourceInfo } from "@skiff/api";
import type { KubeObject } from "@skiff/client";
import {
  DaemonSetController,
  daemonPodNode,
  maxUnavailable,
  shouldRunOn,
} from "../src/controllers/daemonset/index.js";
import type { DaemonSet, Node, Pod } from "../src/objects.js";
import {
  create,
  nodesInfo,
  podsInfo,
  setPodStatus,
  startEnv,
  waitFor,
  type TestEnv,
} from "./endpoints-testenv.js";

const dsInfo = resourceInfo("apps", "v1", "daemonsets");

function makeNode(
  name: string,
  labels: Record<string, string> = {},
  taints: unknown[] = [],
): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name, labels },
    spec: { taints },
  } as KubeObject;
}

function makeDaemonSet(name: string, podSpec: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: { name, namespace: "default" },
    spec: {
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: "c", image: "agent:1" }], ...podSpec },
      },
    },
  } as KubeObject;
}

async function livePods(env: TestEnv, app: string): Promise<Pod[]> {
  const list = await env.client
    .resource<Pod>(podsInfo)
    .namespace("default")
    .list({ labelSelector: `app=${app}` });
  return list.items.filter((p) => !p.metadata.deletionTimestamp);
}

const nodesOf = (pods: Pod[]) => pods.map((p) => daemonPodNode(p)).sort();

test("a daemonset runs one pod per eligible node, respecting nodeSelector and taints", async (t) => {
  const env = await startEnv();
  t.after(() => env.stop());
  await create(env, nodesInfo, makeNode("n1"));
  await create(
    env,
    nodesInfo,
    makeNode("n2", {}, [{ key: "dedicated", value: "db", effect: "NoSchedule" }]),
  );
  await create(env, nodesInfo, makeNode("n3", { disk: "ssd" }));
  env.run(new DaemonSetController(env.ctx));
  await create(env, dsInfo, makeDaemonSet("agent"));
  await create(env, dsInfo, makeDaemonSet("ssd", { nodeSelector: { disk: "ssd" } }));

  const agents = await waitFor("agent on n1 and n3", async () => {
    const ps = await livePods(env, "agent");
    return nodesOf(ps).join() === "n1,n3" ? ps : undefined;
  });
  // The two daemonsets sync independently: wait for the second one too.
  await waitFor("ssd on n3 only", async () => nodesOf(await livePods(env, "ssd")).join() === "n3");
  const pod = agents[0]!;
  assert.equal(pod.metadata.ownerReferences?.[0]?.kind, "DaemonSet");
  assert.ok(
    pod.spec?.tolerations?.some(
      (x) => x.key === "node.kubernetes.io/unreachable" && x.tolerationSeconds === undefined,
    ),
  );

  for (const p of agents)
    await setPodStatus(env, p.metadata.name!, { podIP: "10.244.0.2", ready: true });
  const ds = env.client.resource<DaemonSet>(dsInfo).namespace("default");
  const status = await waitFor("status counts ready pods", async () => {
    const d = await ds.get("agent");
    return d.status?.numberReady === 2 ? d.status : undefined;
  });
  assert.equal(status.desiredNumberScheduled, 2);
  assert.equal(status.currentNumberScheduled, 2);
  assert.equal(status.updatedNumberScheduled, 2);
  assert.equal(status.numberAvailable, 2);
  assert.equal(status.observedGeneration, 1);

  // Lifting the taint makes n2 eligible.
  const nodes = env.client.resource(nodesInfo);
  const n2 = (await nodes.get("n2")) as KubeObject & { spec: { taints?: unknown[] } };
  n2.spec.taints = [];
  await nodes.update(n2);
  await waitFor(
    "agent on n2 too",
    async () => nodesOf(await livePods(env, "agent")).join() === "n1,n2,n3",
  );
});

test("a template change rolls the daemon pods over, at most maxUnavailable at a time", async (t) => {
  const env = await startEnv();
  t.after(() => env.stop());
  for (const n of ["n1", "n2", "n3"]) await create(env, nodesInfo, makeNode(n));
  env.run(new DaemonSetController(env.ctx));
  await create(env, dsInfo, makeDaemonSet("agent"));
  const ds = env.client.resource<DaemonSet>(dsInfo).namespace("default");
  const ready = async (gen: string) => {
    for (const p of await livePods(env, "agent")) {
      if (p.metadata.labels?.["pod-template-generation"] === gen && p.status?.phase !== "Running") {
        await setPodStatus(env, p.metadata.name!, { podIP: "10.244.0.2", ready: true });
      }
    }
  };
  await waitFor("three pods", async () => (await livePods(env, "agent")).length === 3);
  await ready("1");
  await waitFor("three ready", async () => (await ds.get("agent")).status?.numberReady === 3);

  const d = await ds.get("agent");
  d.spec!.template.spec!.containers[0]!.image = "agent:2";
  await ds.update(d);
  await waitFor(
    "all pods on generation 2",
    async () => {
      const pods = await livePods(env, "agent");
      const old = pods.filter((p) => p.metadata.labels?.["pod-template-generation"] === "1");
      // Never fewer than 2 of 3 nodes covered by a ready pod (maxUnavailable 1).
      const readyCount = pods.filter((p) =>
        p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
      ).length;
      assert.ok(readyCount >= 2, `only ${readyCount} ready`);
      await ready("2");
      const s = (await ds.get("agent")).status;
      return old.length === 0 && s?.updatedNumberScheduled === 3 && s.numberReady === 3;
    },
    30_000,
  );
  assert.deepEqual(nodesOf(await livePods(env, "agent")), ["n1", "n2", "n3"]);
  assert.equal((await ds.get("agent")).status?.observedGeneration, 2);
});

test("daemon pods go where node affinity and tolerations allow; maxUnavailable percentages round up", () => {
  const ds = makeDaemonSet("x", {
    affinity: {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [
            { matchExpressions: [{ key: "zone", operator: "In", values: ["a", "b"] }] },
          ],
        },
      },
    },
    tolerations: [{ key: "gpu", operator: "Exists", effect: "NoSchedule" }],
  }) as DaemonSet;
  const node = (labels: Record<string, string>, taints: { key: string; effect: string }[] = []) =>
    makeNode("n", labels, taints) as Node;
  assert.equal(shouldRunOn(ds, node({ zone: "a" })), true);
  assert.equal(shouldRunOn(ds, node({ zone: "c" })), false);
  assert.equal(shouldRunOn(ds, node({ zone: "b" }, [{ key: "gpu", effect: "NoSchedule" }])), true);
  assert.equal(shouldRunOn(ds, node({ zone: "b" }, [{ key: "db", effect: "NoExecute" }])), false);
  assert.equal(
    shouldRunOn(ds, node({ zone: "b" }, [{ key: "db", effect: "PreferNoSchedule" }])),
    true,
  );
  assert.equal(
    shouldRunOn(
      ds,
      node({ zone: "b" }, [{ key: "node.kubernetes.io/unreachable", effect: "NoExecute" }]),
    ),
    true,
    "daemons tolerate unreachable nodes",
  );
  ds.spec!.updateStrategy = { type: "RollingUpdate", rollingUpdate: { maxUnavailable: "25%" } };
  assert.equal(maxUnavailable(ds, 10), 3);
  assert.equal(maxUnavailable(ds, 1), 1);
});
