// skiffctl's cluster-operation verbs on a real apiserver: drain/cordon, wait, expose,
// rollout history and undo (no controllers run, so the tests write what they would).
import { test } from "node:test";
import assert from "node:assert/strict";
import { useApiserver } from "./helpers.js";

const { env, sk, skIn } = useApiserver();

const podOn = (name: string, node: string, ownerKind: string): string => `
apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  ownerReferences: [{apiVersion: apps/v1, kind: ${ownerKind}, name: owner, uid: 11111111-2222-3333-4444-555555555555, controller: true}]
spec:
  nodeName: ${node}
  containers: [{name: c, image: busybox}]
`;

test("drain cordons the node, refuses DaemonSet pods without --ignore-daemonsets, and evicts the rest", async () => {
  await skIn("apiVersion: v1\nkind: Node\nmetadata: {name: worker-1}\n", "create", "-f", "-");
  await skIn(
    podOn("app-1", "worker-1", "ReplicaSet") + "---" + podOn("agent-1", "worker-1", "DaemonSet"),
    "create",
    "-f",
    "-",
  );
  const refused = await sk("drain", "worker-1");
  assert.equal(refused.code, 1);
  assert.equal(refused.stdout, "node/worker-1 cordoned\n");
  assert.match(
    refused.stderr,
    /^error: unable to drain node "worker-1".*--ignore-daemonsets.*default\/agent-1\n$/,
  );
  // Nothing deletes the pod's containers here, so let the evicted pod go at once.
  const drained = sk("drain", "worker-1", "--ignore-daemonsets", "--timeout=60s");
  for (let i = 0; i < 50; i++) {
    const pod = await env.api.request("GET", "/api/v1/namespaces/default/pods/app-1");
    if (pod.status === 404) break;
    if (pod.json.metadata.deletionTimestamp) {
      await env.api.request("DELETE", "/api/v1/namespaces/default/pods/app-1", {
        gracePeriodSeconds: 0,
      });
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const r = await drained;
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stdout,
    "node/worker-1 already cordoned\nevicting pod default/app-1\npod/app-1 evicted\nnode/worker-1 drained\n",
  );
  assert.equal(
    (await env.api.request("GET", "/api/v1/namespaces/default/pods/agent-1")).status,
    200,
  );
  assert.equal((await sk("uncordon", "worker-1")).stdout, "node/worker-1 uncordoned\n");
  const node = (await env.api.request("GET", "/api/v1/nodes/worker-1")).json;
  assert.equal(node.spec.unschedulable, undefined);
});

test("drain waits while a disruption budget refuses the eviction (429) and retries until it allows it", async () => {
  await skIn("apiVersion: v1\nkind: Node\nmetadata: {name: worker-2}\n", "create", "-f", "-");
  await skIn(
    podOn("guarded", "worker-2", "ReplicaSet").replace(
      "name: guarded",
      "name: guarded\n  labels: {app: guarded}",
    ),
    "create",
    "-f",
    "-",
  );
  const podPath = "/api/v1/namespaces/default/pods/guarded";
  const pod = (await env.api.request("GET", podPath)).json;
  pod.status = { phase: "Running", conditions: [{ type: "Ready", status: "True" }] };
  assert.equal((await env.api.request("PUT", `${podPath}/status`, pod)).status, 200);
  const pdbPath = "/apis/policy/v1/namespaces/default/poddisruptionbudgets";
  await env.api.request("POST", pdbPath, {
    metadata: { name: "guard" },
    spec: { minAvailable: 1, selector: { matchLabels: { app: "guarded" } } },
  });
  // No disruption controller runs here: the test writes the status it would.
  const setAllowed = async (n: number) => {
    const pdb = (await env.api.request("GET", `${pdbPath}/guard`)).json;
    pdb.status = {
      observedGeneration: 1,
      disruptionsAllowed: n,
      currentHealthy: 1,
      desiredHealthy: 1 - n,
      expectedPods: 1,
    };
    assert.equal((await env.api.request("PUT", `${pdbPath}/guard/status`, pdb)).status, 200);
  };
  await setAllowed(0);
  const drained = sk("drain", "worker-2", "--timeout=60s");
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal((await env.api.request("GET", podPath)).status, 200, "the budget holds the pod");
  await setAllowed(1);
  for (let i = 0; i < 150; i++) {
    const p = await env.api.request("GET", podPath);
    if (p.status === 404) break;
    if (p.json.metadata.deletionTimestamp)
      await env.api.request("DELETE", podPath, { gracePeriodSeconds: 0 });
    await new Promise((r) => setTimeout(r, 100));
  }
  const r = await drained;
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stderr,
    /^error when evicting pods\/"guarded" -n "default" \(will retry after 5s\): Cannot evict pod as it would violate the pod's disruption budget\.\n/,
  );
  assert.match(r.stdout, /pod\/guarded evicted\nnode\/worker-2 drained\n$/);
});

const deploymentYaml = (name: string, image: string): string => `
apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}}
spec:
  replicas: 1
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      containers: [{name: main, image: "${image}", ports: [{containerPort: 8080}]}]
`;

test("wait --for=condition returns once the condition is true and times out otherwise", async () => {
  await skIn(deploymentYaml("waited", "nginx"), "apply", "-f", "-");
  const timedOut = await sk("wait", "--for=condition=Available", "deploy/waited", "--timeout=1s");
  assert.equal(timedOut.code, 1);
  assert.equal(
    timedOut.stderr,
    "error: timed out waiting for the condition on deployments/waited\n",
  );
  const waiting = sk("wait", "--for=condition=Available", "deploy/waited", "--timeout=30s");
  const path = "/apis/apps/v1/namespaces/default/deployments/waited";
  const d = (await env.api.request("GET", path)).json;
  d.status = {
    conditions: [{ type: "Available", status: "True", reason: "MinimumReplicasAvailable" }],
  };
  assert.equal((await env.api.request("PUT", `${path}/status`, d)).status, 200);
  const r = await waiting;
  assert.deepEqual([r.code, r.stdout], [0, "deployment.apps/waited condition met\n"]);
});

test("expose makes a Service with the deployment's selector and port", async () => {
  await skIn(deploymentYaml("exposed", "nginx"), "apply", "-f", "-");
  const r = await sk("expose", "deployment", "exposed", "--port=80", "--target-port=8080");
  assert.deepEqual([r.code, r.stdout], [0, "service/exposed exposed\n"]);
  const svc = (await env.api.request("GET", "/api/v1/namespaces/default/services/exposed")).json;
  assert.deepEqual(svc.spec.selector, { app: "exposed" });
  assert.equal(svc.spec.ports[0].port, 80);
  assert.equal(svc.spec.ports[0].targetPort, 8080);
});

test("rollout history lists the ReplicaSets' revisions and undo restores the previous template", async () => {
  await skIn(deploymentYaml("hist", "app:v2"), "apply", "-f", "-");
  const d = (await env.api.request("GET", "/apis/apps/v1/namespaces/default/deployments/hist"))
    .json;
  for (const [revision, image, hash] of [
    ["1", "app:v1", "aaa"],
    ["2", "app:v2", "bbb"],
  ] as const) {
    const rs = {
      apiVersion: "apps/v1",
      kind: "ReplicaSet",
      metadata: {
        name: `hist-${hash}`,
        annotations: { "deployment.kubernetes.io/revision": revision },
        ownerReferences: [
          {
            apiVersion: "apps/v1",
            kind: "Deployment",
            name: "hist",
            uid: d.metadata.uid,
            controller: true,
          },
        ],
      },
      spec: {
        replicas: 0,
        selector: { matchLabels: { app: "hist", "pod-template-hash": hash } },
        template: {
          metadata: { labels: { app: "hist", "pod-template-hash": hash } },
          spec: { containers: [{ name: "main", image, ports: [{ containerPort: 8080 }] }] },
        },
      },
    };
    const r = await env.api.request("POST", "/apis/apps/v1/namespaces/default/replicasets", rs);
    assert.equal(r.status, 201, r.text);
  }
  const history = await sk("rollout", "history", "deploy/hist");
  assert.equal(
    history.stdout,
    "deployment.apps/hist \nREVISION   CHANGE-CAUSE\n1          <none>\n2          <none>\n\n",
  );
  const undo = await sk("rollout", "undo", "deploy/hist");
  assert.deepEqual(
    [undo.code, undo.stdout],
    [0, "deployment.apps/hist rolled back\n"],
    undo.stderr,
  );
  const after = (await env.api.request("GET", "/apis/apps/v1/namespaces/default/deployments/hist"))
    .json;
  assert.equal(after.spec.template.spec.containers[0].image, "app:v1");
  assert.deepEqual(after.spec.template.metadata.labels, { app: "hist" });
});
