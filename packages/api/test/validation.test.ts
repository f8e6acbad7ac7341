import { test } from "node:test";
import assert from "node:assert/strict";
import { applyDefaults } from "../src/defaults.js";
import { validate, type FieldError } from "../src/validation.js";
import {
  at,
  bareDeployment,
  barePod,
  deploymentInfo,
  info,
  jobInfo,
  podInfo,
  serviceInfo,
} from "./fixtures.js";

type Obj = Record<string, unknown>;

function defaulted(i: Parameters<typeof applyDefaults>[0], obj: Obj): Obj {
  applyDefaults(i, obj);
  return obj;
}

function errorAt(errors: FieldError[], field: string): FieldError {
  const e = errors.find((x) => x.field === field);
  assert.ok(e, `expected an error at ${field}, got ${JSON.stringify(errors, null, 1)}`);
  return e;
}

const SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

test("a valid deployment, pod and service have no errors", () => {
  assert.deepEqual(validate(deploymentInfo, defaulted(deploymentInfo, bareDeployment())), []);
  assert.deepEqual(validate(podInfo, defaulted(podInfo, barePod())), []);
  const svc = {
    metadata: { name: "web", namespace: "default" },
    spec: { selector: { app: "web" }, ports: [{ port: 80 }] },
  };
  assert.deepEqual(validate(serviceInfo, defaulted(serviceInfo, svc)), []);
});

test("a bad name is refused with Kubernetes' RFC 1123 message", () => {
  const pod = defaulted(podInfo, barePod());
  (pod.metadata as Obj).name = "Foo";
  const e = errorAt(validate(podInfo, pod), "metadata.name");
  assert.equal(e.type, "FieldValueInvalid");
  assert.equal(e.message, `Invalid value: "Foo": ${SUBDOMAIN_MSG}`);
});

test("a name is required unless generateName is given", () => {
  const pod = defaulted(podInfo, barePod());
  delete (pod.metadata as Obj).name;
  const e = errorAt(validate(podInfo, pod), "metadata.name");
  assert.equal(e.type, "FieldValueRequired");
  assert.equal(e.message, "Required value: name or generateName is required");
  (pod.metadata as Obj).generateName = "box-";
  assert.deepEqual(validate(podInfo, pod), []);
});

test("services need DNS-1035 names and namespaces DNS-1123 labels", () => {
  const svc = defaulted(serviceInfo, {
    metadata: { name: "1web", namespace: "default" },
    spec: { ports: [{ port: 80 }] },
  });
  const e = errorAt(validate(serviceInfo, svc), "metadata.name");
  assert.match(e.message, /^Invalid value: "1web": a DNS-1035 label must consist of/);
  const ns = { metadata: { name: "a.b" } };
  const nsInfo = info("v1", "Namespace");
  assert.equal(
    errorAt(validate(nsInfo, defaulted(nsInfo, ns)), "metadata.name").message,
    'Invalid value: "a.b": must not contain dots',
  );
});

test("a cluster-scoped object may not name a namespace, a namespaced one must", () => {
  const nodeInfo = info("v1", "Node");
  const node = { metadata: { name: "n1", namespace: "default" } };
  assert.equal(
    errorAt(validate(nodeInfo, node), "metadata.namespace").message,
    "Forbidden: not allowed on this type",
  );
  const pod = defaulted(podInfo, barePod());
  delete (pod.metadata as Obj).namespace;
  assert.equal(errorAt(validate(podInfo, pod), "metadata.namespace").type, "FieldValueRequired");
});

test("label keys and values are checked like Kubernetes does", () => {
  const pod = defaulted(podInfo, barePod());
  (pod.metadata as Obj).labels = { "bad key!": "ok", app: "-bad-" };
  const errors = validate(podInfo, pod).filter((e) => e.field === "metadata.labels");
  assert.equal(errors.length, 2);
  assert.match(
    errors[0]!.message,
    /^Invalid value: "bad key!": name part must consist of alphanumeric characters, '-', '_' or '\.', and must start and end with an alphanumeric character \(e\.g\. 'MyName', {2}or 'my\.name', {2}or '123-abc'/,
  );
  assert.match(
    errors[1]!.message,
    /^Invalid value: "-bad-": a valid label must be an empty string or consist of/,
  );
  (pod.metadata as Obj).annotations = { "example.com/ok": "x", "a/b/c": "y" };
  assert.match(
    errorAt(validate(podInfo, pod), "metadata.annotations").message,
    /a qualified name must consist of/,
  );
});

test("pod containers: required, unique DNS-label names, images required", () => {
  const pod = defaulted(podInfo, barePod());
  (pod.spec as Obj).containers = [];
  assert.equal(errorAt(validate(podInfo, pod), "spec.containers").message, "Required value");

  const pod2 = barePod();
  (pod2.spec as Obj).containers = [
    { name: "app", image: "nginx" },
    { name: "app" },
    { name: "Web_1", image: "x" },
  ];
  const errors = validate(podInfo, defaulted(podInfo, pod2));
  assert.equal(errorAt(errors, "spec.containers[1].name").message, 'Duplicate value: "app"');
  assert.equal(errorAt(errors, "spec.containers[1].image").message, "Required value");
  assert.match(
    errorAt(errors, "spec.containers[2].name").message,
    /^Invalid value: "Web_1": a lowercase RFC 1123 label must consist of/,
  );
});

test("an unsupported restartPolicy lists the supported values", () => {
  const pod = barePod();
  (pod.spec as Obj).restartPolicy = "Sometimes";
  const e = errorAt(validate(podInfo, defaulted(podInfo, pod)), "spec.restartPolicy");
  assert.equal(e.type, "FieldValueNotSupported");
  assert.equal(
    e.message,
    'Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"',
  );
});

test("ports must be 1-65535 and port names unique", () => {
  const pod = barePod();
  (at(pod, "spec", "containers", 0) as Obj).ports = [
    { containerPort: 70000, name: "web" },
    { containerPort: 81, name: "web", protocol: "HTTP" },
  ];
  const errors = validate(podInfo, defaulted(podInfo, pod));
  assert.equal(
    errorAt(errors, "spec.containers[0].ports[0].containerPort").message,
    "Invalid value: 70000: must be between 1 and 65535, inclusive",
  );
  assert.equal(
    errorAt(errors, "spec.containers[0].ports[1].name").message,
    'Duplicate value: "web"',
  );
  assert.equal(
    errorAt(errors, "spec.containers[0].ports[1].protocol").message,
    'Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"',
  );
});

test("a service with several ports needs port names, and (port, protocol) is unique", () => {
  const svc = defaulted(serviceInfo, {
    metadata: { name: "web", namespace: "default" },
    spec: { ports: [{ port: 80 }, { port: 80, name: "b" }, { port: 0, name: "c" }] },
  });
  const errors = validate(serviceInfo, svc);
  assert.equal(errorAt(errors, "spec.ports[0].name").message, "Required value");
  assert.equal(errorAt(errors, "spec.ports[1]").type, "FieldValueDuplicate");
  assert.equal(
    errorAt(errors, "spec.ports[2].port").message,
    "Invalid value: 0: must be between 1 and 65535, inclusive",
  );
});

test("quantities must parse and requests may not exceed limits", () => {
  const pod = barePod();
  (at(pod, "spec", "containers", 0) as Obj).resources = {
    limits: { cpu: "500m", memory: "lots" },
    requests: { cpu: "1" },
  };
  const errors = validate(podInfo, defaulted(podInfo, pod));
  assert.match(
    errorAt(errors, "spec.containers[0].resources.limits[memory]").message,
    /^Invalid value: "lots": quantities must match the regular expression/,
  );
  assert.equal(
    errorAt(errors, "spec.containers[0].resources.requests[cpu]").message,
    'Invalid value: "1": must be less than or equal to cpu limit of 500m',
  );
});

test("a volume mount must name a pod volume", () => {
  const pod = barePod();
  (at(pod, "spec", "containers", 0) as Obj).volumeMounts = [{ name: "data", mountPath: "/data" }];
  const e = errorAt(
    validate(podInfo, defaulted(podInfo, pod)),
    "spec.containers[0].volumeMounts[0].name",
  );
  assert.equal(e.message, 'Not found: "data"');
});

test("a deployment's selector must match its template labels", () => {
  const d = bareDeployment();
  (at(d, "spec", "selector") as Obj).matchLabels = { app: "other" };
  const e = errorAt(
    validate(deploymentInfo, defaulted(deploymentInfo, d)),
    "spec.template.metadata.labels",
  );
  assert.equal(
    e.message,
    'Invalid value: map[string]string{"app":"web"}: `selector` does not match template `labels`',
  );
});

test("an empty or missing selector is refused", () => {
  const d = bareDeployment();
  (d.spec as Obj).selector = {};
  assert.match(
    errorAt(validate(deploymentInfo, defaulted(deploymentInfo, d)), "spec.selector").message,
    /empty selector is invalid for deployment$/,
  );
  const d2 = bareDeployment();
  delete (d2.spec as Obj).selector;
  assert.equal(
    errorAt(validate(deploymentInfo, defaulted(deploymentInfo, d2)), "spec.selector").message,
    "Required value",
  );
});

test("negative replicas and a rollout that can never progress are refused", () => {
  const d = bareDeployment();
  (d.spec as Obj).replicas = -1;
  (d.spec as Obj).strategy = {
    type: "RollingUpdate",
    rollingUpdate: { maxSurge: 0, maxUnavailable: "0%" },
  };
  const errors = validate(deploymentInfo, defaulted(deploymentInfo, d));
  assert.equal(
    errorAt(errors, "spec.replicas").message,
    "Invalid value: -1: must be greater than or equal to 0",
  );
  assert.equal(
    errorAt(errors, "spec.strategy.rollingUpdate.maxUnavailable").message,
    'Invalid value: "0%": may not be 0 when `maxSurge` is 0',
  );
});

test("workload templates must restart Always; job templates OnFailure or Never", () => {
  const d = bareDeployment();
  (at(d, "spec", "template", "spec") as Obj).restartPolicy = "Never";
  assert.equal(
    errorAt(
      validate(deploymentInfo, defaulted(deploymentInfo, d)),
      "spec.template.spec.restartPolicy",
    ).message,
    'Unsupported value: "Never": supported values: "Always"',
  );
  const job = {
    metadata: { name: "pi", namespace: "default" },
    spec: {
      selector: { matchLabels: { job: "pi" } },
      template: {
        metadata: { labels: { job: "pi" } },
        spec: { containers: [{ name: "pi", image: "perl" }] },
      },
    },
  };
  assert.equal(
    errorAt(validate(jobInfo, defaulted(jobInfo, job)), "spec.template.spec.restartPolicy").message,
    'Unsupported value: "Always": supported values: "OnFailure", "Never"',
  );
});

test("wrong JSON types are named by path before any other check", () => {
  const d = bareDeployment();
  (d.spec as Obj).replicas = "3";
  (at(d, "spec", "template", "spec", "containers", 0) as Obj).ports = { containerPort: 80 };
  const errors = validate(deploymentInfo, d);
  assert.deepEqual(errors, [
    {
      type: "FieldValueTypeInvalid",
      field: "spec.replicas",
      message: 'Invalid value: "string": spec.replicas in body must be of type integer: "string"',
    },
    {
      type: "FieldValueTypeInvalid",
      field: "spec.template.spec.containers[0].ports",
      message:
        'Invalid value: "object": spec.template.spec.containers[0].ports in body must be of type array: "object"',
    },
  ]);
});

test("null means unset, as in manifests printed by kubectl create --dry-run", () => {
  const d = bareDeployment();
  (d.metadata as Obj).creationTimestamp = null;
  (at(d, "spec", "template", "metadata") as Obj).creationTimestamp = null;
  (d as Obj).status = {};
  assert.deepEqual(validate(deploymentInfo, defaulted(deploymentInfo, d)), []);
});

test("int-or-string fields take either, quantities take numbers", () => {
  const d = bareDeployment();
  (d.spec as Obj).strategy = {
    type: "RollingUpdate",
    rollingUpdate: { maxSurge: 1, maxUnavailable: "10%" },
  };
  assert.deepEqual(validate(deploymentInfo, defaulted(deploymentInfo, d)), []);
  (d.spec as Obj).strategy = { type: "RollingUpdate", rollingUpdate: { maxSurge: true } };
  assert.equal(
    errorAt(validate(deploymentInfo, d), "spec.strategy.rollingUpdate.maxSurge").type,
    "FieldValueTypeInvalid",
  );
});

test("environment variable names and sources are checked", () => {
  const pod = barePod();
  (at(pod, "spec", "containers", 0) as Obj).env = [
    { name: "1BAD", value: "x" },
    { name: "X", valueFrom: { fieldRef: { fieldPath: "spec.bogus" } } },
    { name: "L", valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
  ];
  const errors = validate(podInfo, defaulted(podInfo, pod));
  assert.match(
    errorAt(errors, "spec.containers[0].env[0].name").message,
    /a valid environment variable name must consist of/,
  );
  assert.equal(
    errorAt(errors, "spec.containers[0].env[1].valueFrom.fieldRef.fieldPath").type,
    "FieldValueNotSupported",
  );
  assert.ok(!errors.some((e) => e.field.startsWith("spec.containers[0].env[2]")));
});
