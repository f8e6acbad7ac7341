import { test } from "node:test";
import assert from "node:assert/strict";
import { PatchError, serverSideApply, trackUpdate } from "../src/patch/index.js";

const kind = { group: "apps", kind: "Deployment" };
const apiVersion = "apps/v1";
const t0 = "2024-06-01T12:00:00Z";
const t1 = "2024-06-01T12:05:00Z";

interface Entry {
  manager: string;
  operation: string;
  apiVersion: string;
  time?: string;
  fieldsType: string;
  fieldsV1: Record<string, unknown>;
}
interface Deployment {
  metadata: {
    name: string;
    labels?: Record<string, string>;
    managedFields?: Entry[];
    resourceVersion?: string;
  };
  spec: {
    replicas?: number;
    selector?: unknown;
    template: {
      metadata?: unknown;
      spec: { containers: { name: string; image?: string; ports?: unknown[] }[] };
    };
  };
  status?: unknown;
}

function config(opts: { replicas?: number; image?: string; labels?: Record<string, string> } = {}) {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "nginx", namespace: "default", labels: opts.labels ?? { app: "nginx" } },
    spec: {
      ...(opts.replicas === undefined ? {} : { replicas: opts.replicas }),
      selector: { matchLabels: { app: "nginx" } },
      template: {
        metadata: { labels: { app: "nginx" } },
        spec: {
          containers: [
            { name: "nginx", image: opts.image ?? "nginx:1.25", ports: [{ containerPort: 80 }] },
          ],
        },
      },
    },
  };
}

function apply(
  live: object | undefined,
  applied: object,
  manager: string,
  force = false,
  now = t0,
): Deployment {
  return serverSideApply({
    live,
    applied,
    manager,
    force,
    apiVersion,
    now,
    kind,
  }) as unknown as Deployment;
}

function entry(obj: Deployment, manager: string): Entry | undefined {
  return obj.metadata.managedFields?.find((e) => e.manager === manager);
}

function conflict(fn: () => unknown): PatchError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof PatchError, String(err));
    assert.equal(err.code, 409);
    assert.equal(err.reason, "Conflict");
    return err;
  }
  assert.fail("expected a 409 Conflict");
}

test("an apply to a missing object creates it and records the manager's fields", () => {
  const applied = config({ replicas: 2 });
  const before = structuredClone(applied);
  const obj = apply(undefined, applied, "kubectl");
  assert.equal(obj.spec.replicas, 2);
  assert.equal(obj.spec.template.spec.containers[0]?.image, "nginx:1.25");
  assert.deepEqual(obj.metadata.managedFields, [
    {
      manager: "kubectl",
      operation: "Apply",
      apiVersion: "apps/v1",
      time: t0,
      fieldsType: "FieldsV1",
      fieldsV1: {
        "f:metadata": { "f:labels": { "f:app": {} } },
        "f:spec": {
          "f:replicas": {},
          "f:selector": {},
          "f:template": {
            "f:metadata": { "f:labels": { "f:app": {} } },
            "f:spec": {
              "f:containers": {
                'k:{"name":"nginx"}': {
                  ".": {},
                  "f:image": {},
                  "f:name": {},
                  "f:ports": {
                    'k:{"containerPort":80,"protocol":"TCP"}': { ".": {}, "f:containerPort": {} },
                  },
                },
              },
            },
          },
        },
      },
    },
  ]);
  assert.deepEqual(applied, before, "the applied configuration is not changed");
});

test("a second apply by the same manager that leaves out a label removes it", () => {
  const first = apply(undefined, config({ labels: { app: "nginx", tier: "web" } }), "kubectl");
  const second = apply(first, config({ labels: { app: "nginx" } }), "kubectl", false, t1);
  assert.deepEqual(second.metadata.labels, { app: "nginx" });
  assert.deepEqual(entry(second, "kubectl")?.fieldsV1["f:metadata"] as object, {
    "f:labels": { "f:app": {} },
  });
  assert.equal(entry(second, "kubectl")?.time, t1);
});

test("a field left out of the apply stays when another manager also owns it", () => {
  const first = apply(undefined, config({ labels: { app: "nginx", tier: "web" } }), "kubectl");
  const shared = apply(
    first,
    { apiVersion, kind: "Deployment", metadata: { name: "nginx", labels: { tier: "web" } } },
    "helm",
  );
  const second = apply(shared, config({ labels: { app: "nginx" } }), "kubectl");
  assert.deepEqual(second.metadata.labels, { app: "nginx", tier: "web" });
});

test("an apply by another manager that changes an owned field is refused with 409 naming the field", () => {
  const live = apply(undefined, config({ replicas: 2 }), "kubectl");
  const err = conflict(() => apply(live, config({ replicas: 5 }), "autoscaler-config"));
  assert.equal(
    err.message,
    'Apply failed with 1 conflict: conflict with "kubectl": .spec.replicas',
  );
  assert.deepEqual(err.causes, [
    { type: "FieldManagerConflict", message: 'conflict with "kubectl"', field: ".spec.replicas" },
  ]);
});

test("several conflicts are listed by manager, with list elements named by key", () => {
  const live = apply(undefined, config({ replicas: 2 }), "kubectl");
  const err = conflict(() => apply(live, config({ replicas: 5, image: "nginx:1.27" }), "other"));
  assert.equal(
    err.message,
    'Apply failed with 2 conflicts: conflicts with "kubectl":\n- .spec.replicas\n- .spec.template.spec.containers[name="nginx"].image',
  );
  assert.equal(err.causes?.length, 2);
});

test("a forced apply takes ownership of the conflicting fields", () => {
  const live = apply(undefined, config({ replicas: 2 }), "kubectl");
  const forced = apply(
    live,
    { apiVersion, kind: "Deployment", metadata: { name: "nginx" }, spec: { replicas: 5 } },
    "hpa",
    true,
  );
  assert.equal(forced.spec.replicas, 5);
  assert.deepEqual(entry(forced, "hpa")?.fieldsV1, { "f:spec": { "f:replicas": {} } });
  const kubectlSpec = entry(forced, "kubectl")?.fieldsV1["f:spec"] as Record<string, unknown>;
  assert.equal(kubectlSpec["f:replicas"], undefined, "kubectl no longer owns replicas");
  // ...so kubectl applying without replicas does not remove them, and applying them again conflicts.
  const again = apply(forced, config(), "kubectl");
  assert.equal(again.spec.replicas, 5);
  conflict(() => apply(again, config({ replicas: 2 }), "kubectl"));
});

test("applying the same value another manager set is not a conflict: both own it", () => {
  const live = apply(undefined, config({ replicas: 2 }), "kubectl");
  const shared = apply(
    live,
    { apiVersion, kind: "Deployment", metadata: { name: "nginx" }, spec: { replicas: 2 } },
    "other",
  );
  assert.deepEqual(entry(shared, "other")?.fieldsV1, { "f:spec": { "f:replicas": {} } });
  assert.ok(
    (entry(shared, "kubectl")?.fieldsV1["f:spec"] as Record<string, unknown>)["f:replicas"],
  );
  // Once one of them stops applying it, the value stays: the other still holds it.
  const after = apply(
    shared,
    { apiVersion, kind: "Deployment", metadata: { name: "nginx" } },
    "other",
  );
  assert.equal(after.spec.replicas, 2);
});

test("a field set by an ordinary update conflicts with a later apply by someone else", () => {
  const created = trackUpdate({
    old: undefined,
    updated: config({ replicas: 2 }),
    manager: "kubectl-client-side-apply",
    operation: "Update",
    apiVersion,
    now: t0,
    kind,
  }) as unknown as Deployment;
  assert.equal(entry(created, "kubectl-client-side-apply")?.operation, "Update");
  const err = conflict(() => apply(created, config({ replicas: 3 }), "kubectl"));
  assert.equal(
    err.message,
    'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas',
  );
  assert.deepEqual(err.causes, [
    {
      type: "FieldManagerConflict",
      message: 'conflict with "kubectl-client-side-apply" using apps/v1',
      field: ".spec.replicas",
    },
  ]);
});

test("an update takes the fields it changes from their applier, and removed fields leave every manager", () => {
  const live = apply(
    undefined,
    config({ replicas: 2, labels: { app: "nginx", tier: "web" } }),
    "kubectl",
  );
  const updated = structuredClone(live);
  updated.spec.replicas = 4;
  delete updated.metadata.labels?.tier;
  const result = trackUpdate({
    old: live,
    updated,
    manager: "kubectl-scale",
    operation: "Update",
    apiVersion,
    now: t1,
    kind,
  }) as unknown as Deployment;
  assert.deepEqual(entry(result, "kubectl-scale")?.fieldsV1, { "f:spec": { "f:replicas": {} } });
  const kubectl = entry(result, "kubectl")?.fieldsV1 as Record<string, Record<string, unknown>>;
  assert.equal(kubectl["f:spec"]?.["f:replicas"], undefined);
  assert.deepEqual(kubectl["f:metadata"], { "f:labels": { "f:app": {} } });
  // kubectl re-applying its old replicas now conflicts with the scaler.
  const err = conflict(() =>
    apply(result, config({ replicas: 2, labels: { app: "nginx", tier: "web" } }), "kubectl"),
  );
  assert.match(err.message, /conflict with "kubectl-scale" using apps\/v1: \.spec\.replicas/);
});

test("an update that changes nothing leaves managedFields as they were", () => {
  const live = apply(undefined, config({ replicas: 2 }), "kubectl");
  const same = trackUpdate({
    old: live,
    updated: structuredClone(live),
    manager: "someone",
    operation: "Update",
    apiVersion,
    now: t1,
    kind,
  });
  assert.deepEqual(same, live);
});

test("apply ignores status and server-set metadata", () => {
  const live = apply(undefined, config(), "kubectl");
  const withStatus = { ...live, status: { replicas: 1 } };
  const applied = {
    ...config(),
    metadata: { ...config().metadata, resourceVersion: "999", uid: "forged" },
    status: { replicas: 7 },
  };
  const result = apply(withStatus, applied, "kubectl");
  assert.deepEqual(result.status, { replicas: 1 });
  assert.equal(result.metadata.resourceVersion, undefined);
  const fields = entry(result, "kubectl")?.fieldsV1 ?? {};
  assert.equal(fields["f:status"], undefined);
  assert.deepEqual(Object.keys(fields["f:metadata"] as object), ["f:labels"]);
});

test("containers merge by name: another manager's container survives the first manager's re-apply", () => {
  const live = apply(undefined, config(), "kubectl");
  const sidecar = {
    apiVersion,
    kind: "Deployment",
    metadata: { name: "nginx" },
    spec: { template: { spec: { containers: [{ name: "sidecar", image: "envoy" }] } } },
  };
  const both = apply(live, sidecar, "mesh");
  assert.deepEqual(
    both.spec.template.spec.containers.map((c) => c.name),
    ["nginx", "sidecar"],
  );
  const again = apply(both, config({ image: "nginx:1.26" }), "kubectl");
  assert.deepEqual(
    again.spec.template.spec.containers.map((c) => [c.name, c.image]),
    [
      ["nginx", "nginx:1.26"],
      ["sidecar", "envoy"],
    ],
  );
  // The mesh dropping its container removes it.
  const gone = apply(
    again,
    { apiVersion, kind: "Deployment", metadata: { name: "nginx" } },
    "mesh",
  );
  assert.deepEqual(
    gone.spec.template.spec.containers.map((c) => c.name),
    ["nginx"],
  );
  assert.equal(entry(gone, "mesh"), undefined, "a manager that owns nothing has no entry");
});

test("an object nobody tracked yet belongs to before-first-apply", () => {
  const untracked = {
    ...config({ replicas: 2 }),
    metadata: { name: "nginx", namespace: "default", labels: { app: "nginx" } },
  };
  const err = conflict(() => apply(untracked, config({ replicas: 3 }), "kubectl"));
  assert.match(err.message, /"before-first-apply" using apps\/v1: \.spec\.replicas/);
});

test("an apply configuration with a list element missing its key, or carrying managedFields, is refused", () => {
  const noName = {
    apiVersion,
    kind: "Deployment",
    metadata: { name: "nginx" },
    spec: { template: { spec: { containers: [{ image: "x" }] } } },
  };
  assert.throws(
    () => apply(undefined, noName, "kubectl"),
    (e: unknown) => e instanceof PatchError && e.code === 422,
  );
  const dup = {
    ...noName,
    spec: { template: { spec: { containers: [{ name: "a" }, { name: "a" }] } } },
  };
  assert.throws(
    () => apply(undefined, dup, "kubectl"),
    (e: unknown) => e instanceof PatchError && e.code === 422 && /duplicate/.test(e.message),
  );
  const withFields = {
    ...config(),
    metadata: { name: "nginx", managedFields: [{ manager: "x" }] },
  };
  assert.throws(
    () => apply(undefined, withFields, "kubectl"),
    (e: unknown) => e instanceof PatchError && e.code === 400,
  );
});

test("re-applying an unchanged configuration keeps the entry's time", () => {
  const live = apply(undefined, config(), "kubectl");
  const again = apply(live, config(), "kubectl", false, t1);
  assert.deepEqual(again, live);
});

test("managedFields naming __proto__ cannot reach Object.prototype", () => {
  const live = JSON.parse(
    '{"metadata":{"name":"n","managedFields":[{"manager":"x","operation":"Apply","apiVersion":"apps/v1","fieldsType":"FieldsV1","fieldsV1":{"f:__proto__":{"f:toString":{}}}}]},"spec":{}}',
  ) as object;
  const result = apply(
    live,
    { apiVersion, kind: "Deployment", metadata: { name: "n" }, spec: { replicas: 1 } },
    "x",
  );
  assert.equal(typeof Object.prototype.toString, "function");
  assert.equal(({} as Record<string, unknown>)["."], undefined);
  assert.equal(result.spec.replicas, 1);
});

test("an ownerReference is owned as one value (its struct is atomic in Kubernetes)", () => {
  const owner = { apiVersion: "v1", kind: "ConfigMap", name: "owner", uid: "u1" };
  const withOwner = (ref: object) => {
    const c = config();
    return { ...c, metadata: { ...c.metadata, ownerReferences: [ref] } };
  };
  const live = apply(undefined, withOwner(owner), "kubectl");
  const metadata = entry(live, "kubectl")?.fieldsV1["f:metadata"] as Record<string, unknown>;
  assert.deepEqual(metadata["f:ownerReferences"], { 'k:{"uid":"u1"}': {} });
  // Another manager changing one field of the reference conflicts on the whole reference.
  const err = conflict(() => apply(live, withOwner({ ...owner, controller: true }), "other"));
  assert.match(err.message, /\.metadata\.ownerReferences\[uid="u1"\]$/);
});
