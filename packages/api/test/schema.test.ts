import { test } from "node:test";
import assert from "node:assert/strict";
import { listSchemaFor, schemaFor } from "../src/schema.js";
import { resources } from "../src/resources.js";

const PACKAGE: Record<string, string> = {
  "": "io.k8s.api.core.v1",
  apps: "io.k8s.api.apps.v1",
  batch: "io.k8s.api.batch.v1",
  "coordination.k8s.io": "io.k8s.api.coordination.v1",
  "discovery.k8s.io": "io.k8s.api.discovery.v1",
  "storage.k8s.io": "io.k8s.api.storage.v1",
  policy: "io.k8s.api.policy.v1",
  "scheduling.k8s.io": "io.k8s.api.scheduling.v1",
  autoscaling: "io.k8s.api.autoscaling.v2",
  "admissionregistration.k8s.io": "io.k8s.api.admissionregistration.v1",
  "apiextensions.k8s.io": "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1",
  "rbac.authorization.k8s.io": "io.k8s.api.rbac.v1",
  "networking.k8s.io": "io.k8s.api.networking.v1",
};

test("every served resource has a schema named like Kubernetes' and a List schema", () => {
  for (const r of resources) {
    const schema = schemaFor(r);
    assert.equal(schema.$id, `${PACKAGE[r.group]}.${r.kind}`);
    assert.ok(schema.properties.metadata, r.kind);
    const list = listSchemaFor(r);
    assert.equal(list.$id, `${PACKAGE[r.group]}.${r.listKind}`);
    assert.equal(listSchemaFor(r), list, "list schemas are built once");
  }
});

test("asking for a kind without a schema is a programming error", () => {
  assert.throws(() => schemaFor({ kind: "Widget" }), /no schema for kind Widget/);
});
