// ValidatingAdmissionPolicy on a real etcd + apiserver, driven by the real kubectl: a
// policy refusing Deployments with too many replicas (its message, Deny and Warn), params
// from a ConfigMap, auditAnnotations in the audit log, and CEL compiled at create.
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { eventually } from "@skiff/testing";
import { useKubectlEnv } from "./kubectl-env.js";

const env = useKubectlEnv("vap", (dir) => {
  const auditPolicyFile = join(dir, "policy.yaml");
  writeFileSync(
    auditPolicyFile,
    `apiVersion: audit.k8s.io/v1
kind: Policy
rules:
- level: Metadata
  resources: [{group: "apps", resources: ["deployments"]}]
- level: None
`,
  );
  return { auditPolicyFile, auditLogPath: join(dir, "audit.log") };
});
const { kubectl, ok } = env;

const policy = `
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: replica-limit
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
    - apiGroups: ["apps"]
      apiVersions: ["v1"]
      operations: ["CREATE", "UPDATE"]
      resources: ["deployments"]
  variables:
  - name: replicas
    expression: "object.spec.replicas"
  validations:
  - expression: "variables.replicas <= 5"
    messageExpression: "'replicas ' + string(variables.replicas) + ' exceeds the limit of 5'"
  auditAnnotations:
  - key: replicas
    valueExpression: "string(object.spec.replicas)"
`;

const binding = (name: string, actions: string, namespace: string) => `
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: ${name}
spec:
  policyName: replica-limit
  validationActions: ${actions}
  matchResources:
    namespaceSelector:
      matchLabels:
        kubernetes.io/metadata.name: ${namespace}
`;

test("a ValidatingAdmissionPolicy refuses a Deployment with too many replicas with its message, warns where bound with Warn, and annotates the audit log", async () => {
  await ok(["apply", "-f", "-"], policy);
  await ok(["apply", "-f", "-"], binding("replica-limit-deny", "[Deny]", "default"));
  await ok(["create", "namespace", "lenient"]);
  await ok(["apply", "-f", "-"], binding("replica-limit-warn", "[Warn, Audit]", "lenient"));

  const refused = await kubectl(["create", "deployment", "web", "--image=nginx", "--replicas=7"]);
  assert.notEqual(refused.code, 0);
  assert.match(
    refused.stderr,
    /deployments\.apps "web" is forbidden: ValidatingAdmissionPolicy 'replica-limit' with binding 'replica-limit-deny' denied request: replicas 7 exceeds the limit of 5/,
  );
  await ok(["create", "deployment", "web", "--image=nginx", "--replicas=3"]);
  const scaled = await kubectl(["scale", "deployment", "web", "--replicas=6"]);
  // Scale is a subresource the policy's rules do not name: allowed.
  assert.equal(scaled.code, 0, scaled.stderr);
  const patched = await kubectl([
    "patch",
    "deployment",
    "web",
    "--type=merge",
    "-p",
    '{"spec":{"replicas":9}}',
  ]);
  assert.match(patched.stderr, /denied request: replicas 9 exceeds the limit of 5/);

  const warned = await kubectl([
    "-n",
    "lenient",
    "create",
    "deployment",
    "big",
    "--image=nginx",
    "--replicas=8",
  ]);
  assert.equal(warned.code, 0, warned.stderr);
  assert.match(
    warned.stderr,
    /Warning: Validation failed for ValidatingAdmissionPolicy 'replica-limit' with binding 'replica-limit-warn': replicas 8 exceeds the limit of 5/,
  );
  // The audit log is written after the answer (batched, as Kubernetes' buffered backend).
  const created = await eventually(async () => {
    const found = readFileSync(join(env.dir, "audit.log"), "utf8")
      .trim()
      .split("\n")
      .map(
        (l) =>
          JSON.parse(l) as {
            stage: string;
            objectRef?: { name?: string; namespace?: string };
            annotations?: Record<string, string>;
          },
      )
      .filter((e) => e.stage === "ResponseComplete" && e.objectRef?.namespace === "lenient")
      .find((e) => e.annotations?.["replica-limit/replicas"] === "8");
    assert.ok(found, "an audit event with the policy's auditAnnotation");
    return found;
  }, 5_000);
  assert.deepEqual(
    JSON.parse(created.annotations!["validation.policy.admission.k8s.io/validation_failure"]!),
    [
      {
        message: "replicas 8 exceeds the limit of 5",
        policy: "replica-limit",
        binding: "replica-limit-warn",
        expressionIndex: 0,
        validationActions: ["Warn", "Audit"],
      },
    ],
  );
  assert.match(
    await ok(["get", "validatingadmissionpolicies"]),
    /^NAME\s+VALIDATIONS\s+PARAMKIND\s+AGE\nreplica-limit\s+1\s+<unset>\s+\S+\n$/,
  );
  assert.match(
    await ok(["get", "validatingadmissionpolicybindings", "replica-limit-deny"]),
    /^NAME\s+POLICYNAME\s+PARAMREF\s+AGE\nreplica-limit-deny\s+replica-limit\s+<unset>\s+\S+\n$/,
  );
  await ok([
    "delete",
    "validatingadmissionpolicybinding",
    "replica-limit-deny",
    "replica-limit-warn",
  ]);
});

test("params come from the ConfigMap a binding names; a missing one denies, and the reason sets the status code", async () => {
  await ok(["create", "namespace", "params"]);
  await ok(
    ["apply", "-f", "-"],
    `
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: max-replicas
spec:
  paramKind: {apiVersion: v1, kind: ConfigMap}
  matchConstraints:
    resourceRules:
    - {apiGroups: ["apps"], apiVersions: ["v1"], operations: ["CREATE"], resources: ["deployments"]}
  matchConditions:
  - name: not-exempt
    expression: "!has(object.metadata.labels) || !('exempt' in object.metadata.labels)"
  validations:
  - expression: "object.spec.replicas <= int(params.data.max)"
    message: too many replicas for this namespace
    reason: Forbidden
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: max-replicas
spec:
  policyName: max-replicas
  validationActions: [Deny]
  paramRef: {name: limits, parameterNotFoundAction: Deny}
  matchResources:
    namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: params}}
`,
  );
  const deployment = (
    name: string,
    replicas: number,
    labels: Record<string, string> = { app: "web" },
  ) => ({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: "params", labels },
    spec: {
      replicas,
      selector: { matchLabels: { app: "web" } },
      template: {
        metadata: { labels: { app: "web" } },
        spec: { containers: [{ name: "web", image: "nginx" }] },
      },
    },
  });
  const post = (d: unknown) =>
    env.api.request("POST", "/apis/apps/v1/namespaces/params/deployments", d);

  const noParams = await post(deployment("a", 1));
  assert.equal(noParams.status, 422);
  assert.match(
    String((noParams.json as { message: string }).message),
    /denied request: no params found for policy binding with `Deny` parameterNotFoundAction/,
  );
  await ok(["-n", "params", "create", "configmap", "limits", "--from-literal=max=2"]);
  assert.equal((await post(deployment("b", 2))).status, 201);
  const tooMany = await post(deployment("c", 3));
  assert.equal(tooMany.status, 403);
  const body = tooMany.json as {
    reason: string;
    message: string;
    details: { causes: { message: string }[] };
  };
  assert.equal(body.reason, "Forbidden");
  assert.equal(
    body.message,
    `deployments.apps "c" is forbidden: ValidatingAdmissionPolicy 'max-replicas' with binding 'max-replicas' denied request: too many replicas for this namespace`,
  );
  assert.equal(
    body.details.causes[0]?.message,
    body.message.replace('deployments.apps "c" is forbidden: ', ""),
  );
  assert.equal(
    (await post(deployment("d", 3, { app: "web", exempt: "yes" }))).status,
    201,
    "matchConditions exempt it",
  );
});

test("a policy whose CEL does not compile is refused at create with the field path", async () => {
  const r = await kubectl(
    ["apply", "-f", "-"],
    `
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: broken
spec:
  matchConstraints:
    resourceRules:
    - {apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE"], resources: ["pods"]}
  validations:
  - expression: "object.spec.replicas <="
  - expression: "objct.spec == null"
    reason: Teapot
`,
  );
  assert.notEqual(r.code, 0);
  assert.match(
    r.stderr,
    /spec\.validations\[0\]\.expression: Invalid value: "object\.spec\.replicas <=": compilation failed: /,
  );
  assert.match(
    r.stderr,
    /spec\.validations\[1\]\.expression: Invalid value: "objct\.spec == null": compilation failed: Unknown variable: objct/,
  );
  assert.match(r.stderr, /spec\.validations\[1\]\.reason: Unsupported value: "Teapot"/);
  const b = await kubectl(
    ["apply", "-f", "-"],
    `
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: broken
spec:
  policyName: broken
  validationActions: [Deny, Warn]
  paramRef: {name: x, selector: {}}
`,
  );
  assert.notEqual(b.code, 0);
  assert.match(
    b.stderr,
    /spec\.paramRef\.name: Forbidden: name and selector are mutually exclusive/,
  );
  assert.match(b.stderr, /spec\.paramRef\.parameterNotFoundAction: Required value/);
  assert.match(
    b.stderr,
    /spec\.validationActions: Invalid value: .*must not contain both Deny and Warn/,
  );
});
