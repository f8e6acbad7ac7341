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

/** A stored object (defaulted, with server-set metadata) and a copy to change. */
function stored(i: Parameters<typeof applyDefaults>[0], obj: Obj): { old: Obj; now: Obj } {
  applyDefaults(i, obj);
  Object.assign(obj.metadata as Obj, {
    uid: "u-1",
    creationTimestamp: "2024-01-01T00:00:00Z",
    resourceVersion: "5",
  });
  return { old: obj, now: structuredClone(obj) };
}

function only(errors: FieldError[]): FieldError {
  assert.equal(errors.length, 1, JSON.stringify(errors, null, 1));
  return errors[0]!;
}

test("an unchanged update is valid", () => {
  const { old, now } = stored(deploymentInfo, bareDeployment());
  assert.deepEqual(validate(deploymentInfo, now, old), []);
});

test("metadata name, namespace and uid may not change", () => {
  const { old, now } = stored(podInfo, barePod());
  (now.metadata as Obj).name = "other";
  assert.deepEqual(only(validate(podInfo, now, old)), {
    type: "FieldValueInvalid",
    field: "metadata.name",
    message: 'Invalid value: "other": field is immutable',
  });
  const b = stored(podInfo, barePod());
  (b.now.metadata as Obj).uid = "u-2";
  (b.now.metadata as Obj).creationTimestamp = "2030-01-01T00:00:00Z";
  const errors = validate(podInfo, b.now, b.old).map((e) => e.field);
  assert.deepEqual(errors, ["metadata.uid", "metadata.creationTimestamp"]);
});

test("a pod update may change images but nothing else in the spec", () => {
  const { old, now } = stored(podInfo, barePod());
  (at(now, "spec", "containers", 0) as Obj).image = "busybox:1.37";
  (now.spec as Obj).activeDeadlineSeconds = 60;
  (now.spec as Obj).tolerations = [{ key: "k", operator: "Exists", effect: "NoSchedule" }];
  assert.deepEqual(validate(podInfo, now, old), []);

  const changed = structuredClone(now);
  (at(changed, "spec", "containers", 0) as Obj).command = ["sh"];
  const e = only(validate(podInfo, changed, now));
  assert.equal(e.field, "spec");
  assert.equal(e.type, "FieldValueForbidden");
  assert.match(
    e.message,
    /^Forbidden: pod updates may not change fields other than `spec.containers\[\*\]\.image`/,
  );

  const removed = structuredClone(now);
  (removed.spec as Obj).tolerations = [];
  assert.equal(only(validate(podInfo, removed, now)).field, "spec.tolerations");

  const longer = structuredClone(now);
  (longer.spec as Obj).activeDeadlineSeconds = 120;
  assert.equal(
    only(validate(podInfo, longer, now)).message,
    "Invalid value: 120: must be less than or equal to previous value",
  );
});

test("a deployment's selector is immutable", () => {
  const { old, now } = stored(deploymentInfo, bareDeployment());
  (at(now, "spec", "selector") as Obj).matchLabels = { app: "web", tier: "x" };
  (at(now, "spec", "template", "metadata") as Obj).labels = { app: "web", tier: "x" };
  const e = only(validate(deploymentInfo, now, old));
  assert.equal(e.field, "spec.selector");
  assert.match(e.message, /field is immutable$/);
});

test("a job's template is immutable", () => {
  const job = {
    metadata: { name: "pi", namespace: "default" },
    spec: {
      selector: { matchLabels: { job: "pi" } },
      template: {
        metadata: { labels: { job: "pi" } },
        spec: { restartPolicy: "Never", containers: [{ name: "pi", image: "perl:5" }] },
      },
    },
  };
  const { old, now } = stored(jobInfo, job);
  assert.deepEqual(validate(jobInfo, now, old), []);
  (at(now, "spec", "template", "spec", "containers", 0) as Obj).image = "perl:6";
  assert.equal(only(validate(jobInfo, now, old)).field, "spec.template");
});

test("a service's cluster IP may not change once set, except to or from ExternalName", () => {
  const svc = {
    metadata: { name: "web", namespace: "default" },
    spec: { clusterIP: "10.96.0.10", ports: [{ port: 80 }] },
  };
  const { old, now } = stored(serviceInfo, svc);
  (now.spec as Obj).clusterIP = "10.96.0.11";
  (now.spec as Obj).clusterIPs = ["10.96.0.11"];
  assert.deepEqual(only(validate(serviceInfo, now, old)), {
    type: "FieldValueInvalid",
    field: "spec.clusterIPs[0]",
    message: 'Invalid value: "10.96.0.11": may not change once set',
  });
  const external = structuredClone(old);
  external.spec = { type: "ExternalName", externalName: "example.com" };
  assert.deepEqual(validate(serviceInfo, external, old), []);
});

test("an immutable ConfigMap or Secret keeps its data", () => {
  const cmInfo = info("v1", "ConfigMap");
  const { old, now } = stored(cmInfo, {
    metadata: { name: "c", namespace: "default" },
    immutable: true,
    data: { a: "1" },
  });
  (now.data as Obj).a = "2";
  assert.deepEqual(only(validate(cmInfo, now, old)), {
    type: "FieldValueForbidden",
    field: "data",
    message: "Forbidden: field is immutable when `immutable` is set",
  });
  const secretInfo = info("v1", "Secret");
  const s = stored(secretInfo, {
    metadata: { name: "s", namespace: "default" },
    immutable: true,
    data: { a: "MQ==" },
  });
  (s.now as Obj).immutable = false;
  assert.equal(only(validate(secretInfo, s.now, s.old)).field, "immutable");
});

test("a node's pod CIDR may be set once", () => {
  const nodeInfo = info("v1", "Node");
  const { old, now } = stored(nodeInfo, { metadata: { name: "n1" }, spec: {} });
  (now.spec as Obj).podCIDR = "10.244.1.0/24";
  (now.spec as Obj).podCIDRs = ["10.244.1.0/24"];
  assert.deepEqual(validate(nodeInfo, now, old), []);
  const again = structuredClone(now);
  (again.spec as Obj).podCIDR = "10.244.2.0/24";
  (again.spec as Obj).podCIDRs = ["10.244.2.0/24"];
  assert.equal(
    only(validate(nodeInfo, again, now)).message,
    'Forbidden: node updates may not change podCIDR except from "" to valid',
  );
});
