// The rest of Kubernetes 1.31's API (issue 23), end to end on the journey's cluster (a `make up`
// cluster) with the real kubectl: a ReplicationController scaled; a ValidatingAdmissionPolicy
// refusing a Deployment with too many replicas, with its message; `kubectl debug` into a running
// pod (an ephemeral container sharing the target's process namespace, non-interactive and with
// stdin attached); NetworkPolicy default-deny and an allow rule between pods on the node.
// Called from journey.test.ts: two clusters on one host would share its KUBE-* chains.
import assert from "node:assert/strict";
import type { Kubectl } from "../dns-checks.js";
import { eventually } from "../lib.js";
import type { KubectlResult } from "./workloads.js";

const NS = "api131";
const IMAGE = "skiff.local/busybox:1.36";

const setup = `
apiVersion: v1
kind: Namespace
metadata: {name: ${NS}}
---
apiVersion: v1
kind: ReplicationController
metadata: {name: rc-web, namespace: ${NS}}
spec:
  replicas: 1
  selector: {app: rc-web}
  template:
    metadata: {labels: {app: rc-web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers: [{name: c, image: ${IMAGE}, command: ["sleep", "3600"]}]
---
apiVersion: v1
kind: Pod
metadata: {name: target, namespace: ${NS}}
spec:
  terminationGracePeriodSeconds: 1
  containers: [{name: app, image: ${IMAGE}, command: ["sleep", "3601"]}]
---
apiVersion: v1
kind: Pod
metadata: {name: srv, namespace: ${NS}, labels: {app: srv}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: web
    image: ${IMAGE}
    command: ["sh", "-c", "mkdir -p /www && echo hello > /www/index.html && exec httpd -f -p 8080 -h /www"]
    ports: [{name: http, containerPort: 8080}]
    readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}
---
apiVersion: v1
kind: Pod
metadata: {name: friend, namespace: ${NS}, labels: {role: client}}
spec:
  terminationGracePeriodSeconds: 1
  containers: [{name: c, image: ${IMAGE}, command: ["sleep", "3600"]}]
---
apiVersion: v1
kind: Pod
metadata: {name: stranger, namespace: ${NS}}
spec:
  terminationGracePeriodSeconds: 1
  containers: [{name: c, image: ${IMAGE}, command: ["sleep", "3600"]}]
`;

const admissionPolicy = `
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: replica-limit}
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
    - apiGroups: [apps]
      apiVersions: [v1]
      operations: [CREATE, UPDATE]
      resources: [deployments]
  validations:
  - expression: "object.spec.replicas <= 5"
    messageExpression: "'replicas must be at most 5, got ' + string(object.spec.replicas)"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: replica-limit-binding}
spec:
  policyName: replica-limit
  validationActions: [Deny]
  matchResources:
    namespaceSelector:
      matchLabels: {kubernetes.io/metadata.name: ${NS}}
`;

const denyIngress = `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-srv, namespace: ${NS}}
spec:
  podSelector: {matchLabels: {app: srv}}
  policyTypes: [Ingress]
`;

const allowClients = `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-clients, namespace: ${NS}}
spec:
  podSelector: {matchLabels: {app: srv}}
  ingress:
  - from: [{podSelector: {matchLabels: {role: client}}}]
    ports: [{protocol: TCP, port: http}]
`;

export async function checkApi131(kubectl: Kubectl, run: KubectlResult): Promise<void> {
  const ok = async (args: string[], input?: string) => {
    const r = await run(args, input);
    assert.equal(r.code, 0, `kubectl ${args.join(" ")}: ${r.err}`);
    return r.out;
  };
  await ok(["apply", "-f", "-"], setup);

  // --- ReplicationController: scaled with kubectl scale, shown by kubectl get rc ---
  await kubectl("-n", NS, "scale", "rc/rc-web", "--replicas=3");
  await eventually(
    "the RC's three pods to be ready",
    async () =>
      (await kubectl("-n", NS, "get", "rc", "rc-web", "-o", "jsonpath={.status.readyReplicas}")) ===
      "3",
    120_000,
  );
  assert.match(await kubectl("-n", NS, "get", "rc"), /^rc-web\s+3\s+3\s+3\s+\S+$/m);
  const rcPods = JSON.parse(
    await kubectl("-n", NS, "get", "pods", "-l", "app=rc-web", "-o", "json"),
  );
  assert.equal(rcPods.items.length, 3);
  for (const p of rcPods.items)
    assert.deepEqual(
      p.metadata.ownerReferences.map((o: { kind: string; name: string }) => `${o.kind}/${o.name}`),
      ["ReplicationController/rc-web"],
    );

  // --- ValidatingAdmissionPolicy: a Deployment over the limit is refused with the message ---
  await ok(["apply", "-f", "-"], admissionPolicy);
  try {
    let refused = { code: 0, out: "", err: "" };
    await eventually(
      "the admission policy to refuse an oversized Deployment",
      async () => {
        refused = await run([
          "-n",
          NS,
          "create",
          "deployment",
          "big",
          `--image=${IMAGE}`,
          "--replicas=10",
        ]);
        if (refused.code === 0) await kubectl("-n", NS, "delete", "deployment", "big");
        return refused.code !== 0;
      },
      30_000,
    );
    assert.match(
      refused.err,
      /deployments\.apps "big" is forbidden: ValidatingAdmissionPolicy 'replica-limit' with binding 'replica-limit-binding' denied request: replicas must be at most 5, got 10/,
    );
    await kubectl("-n", NS, "create", "deployment", "small", `--image=${IMAGE}`, "--replicas=2");
    // An update is matched as a create is (the scale subresource is not: the rule names
    // only deployments, as in Kubernetes).
    const updated = await run([
      "-n",
      NS,
      "patch",
      "deployment",
      "small",
      "-p",
      '{"spec":{"replicas":6}}',
    ]);
    assert.match(updated.err, /denied request: replicas must be at most 5, got 6/);
  } finally {
    await kubectl("delete", "validatingadmissionpolicybinding", "replica-limit-binding");
    await kubectl("delete", "validatingadmissionpolicy", "replica-limit");
  }

  // --- kubectl debug: an ephemeral container in the target container's process namespace ---
  await kubectl("-n", NS, "wait", "--for=condition=Ready", "pod/target", "--timeout=120s");
  await kubectl(
    "-n",
    NS,
    "debug",
    "pod/target",
    `--image=${IMAGE}`,
    "--target=app",
    "-c",
    "dbg1",
    "--",
    "ps",
  );
  await eventually(
    "the debug container's ps to show the target's process",
    async () => (await run(["-n", NS, "logs", "target", "-c", "dbg1"])).out.includes("sleep 3601"),
    60_000,
  );
  const attached = await ok(
    [
      "-n",
      NS,
      "debug",
      "-i",
      "pod/target",
      `--image=${IMAGE}`,
      "--target=app",
      "-c",
      "dbg2",
      "--",
      "sh",
    ],
    "ps\nexit\n",
  );
  assert.match(attached, /sleep 3601/, "the attached shell saw the target's process");
  const statuses = JSON.parse(await kubectl("-n", NS, "get", "pod", "target", "-o", "json")).status
    .ephemeralContainerStatuses as { name: string }[];
  assert.deepEqual(statuses.map((s) => s.name).sort(), ["dbg1", "dbg2"]);
  const changed = await run([
    "-n",
    NS,
    "patch",
    "pod",
    "target",
    "--type=json",
    "-p",
    '[{"op":"remove","path":"/spec/ephemeralContainers/0"}]',
  ]);
  assert.notEqual(changed.code, 0, "ephemeral containers are not removed by a pod update");

  // --- NetworkPolicy: default-deny ingress on one pod, then an allow rule for clients ---
  await kubectl(
    "-n",
    NS,
    "wait",
    "--for=condition=Ready",
    "pod/srv",
    "pod/friend",
    "pod/stranger",
    "--timeout=120s",
  );
  const ip = await kubectl("-n", NS, "get", "pod", "srv", "-o", "jsonpath={.status.podIP}");
  const fetch = async (from: string) =>
    (
      await run([
        "-n",
        NS,
        "exec",
        from,
        "--",
        "timeout",
        "3",
        "wget",
        "-qO-",
        `http://${ip}:8080/`,
      ])
    ).out.trim() === "hello";
  assert.ok(await fetch("stranger"), "without a policy every pod reaches the server");
  await ok(["apply", "-f", "-"], denyIngress);
  await eventually(
    "default-deny to stop both clients",
    async () => !(await fetch("friend")) && !(await fetch("stranger")),
    30_000,
  );
  await ok(["apply", "-f", "-"], allowClients);
  await eventually("the allow rule to let the client in", () => fetch("friend"), 30_000);
  assert.equal(await fetch("stranger"), false, "a pod the rule does not select is still refused");
  await kubectl("-n", NS, "delete", "networkpolicy", "deny-srv", "allow-clients");
  await eventually(
    "traffic to be allowed again once the policies are gone",
    () => fetch("stranger"),
    30_000,
  );

  await kubectl("delete", "namespace", NS, "--wait=false");
}
