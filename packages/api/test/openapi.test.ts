import { test } from "node:test";
import assert from "node:assert/strict";
import { openapiV3Document, openapiV3Root } from "../src/openapi.js";
import { resources } from "../src/resources.js";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- walking a JSON document
type Json = Record<string, any>;

function doc(path: string): Json {
  const d = openapiV3Document(path);
  assert.ok(d, `no document for ${path}`);
  return d as Json;
}

test("the root lists every group/version with a stable hash URL", () => {
  const root = openapiV3Root();
  assert.match(
    root.paths["api/v1"]!.serverRelativeURL,
    /^\/openapi\/v3\/api\/v1\?hash=[0-9A-F]{128}$/,
  );
  assert.match(
    root.paths["apis/apps/v1"]!.serverRelativeURL,
    /^\/openapi\/v3\/apis\/apps\/v1\?hash=/,
  );
  for (const gv of ["apis/batch/v1", "apis/coordination.k8s.io/v1", "apis/discovery.k8s.io/v1"]) {
    assert.ok(root.paths[gv], gv);
  }
  assert.deepEqual(openapiV3Root(), root);
  assert.equal(openapiV3Document("apis/nope/v1"), undefined);
});

test("the deployments PATCH declares fieldValidation and the Deployment GVK, as kubectl requires", () => {
  const d = doc("apis/apps/v1");
  assert.equal(d.openapi, "3.0.0");
  const patch = d.paths["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"].patch;
  assert.deepEqual(patch["x-kubernetes-group-version-kind"], {
    group: "apps",
    version: "v1",
    kind: "Deployment",
  });
  assert.equal(patch["x-kubernetes-action"], "patch");
  assert.ok(patch.parameters.some((p: Json) => p.name === "fieldValidation" && p.in === "query"));
  assert.ok("application/strategic-merge-patch+json" in patch.requestBody.content);
});

test("every PATCH of every document declares fieldValidation", () => {
  for (const key of Object.keys(openapiV3Root().paths)) {
    for (const [path, item] of Object.entries(doc(key).paths as Json)) {
      if (!item.patch) continue;
      assert.ok(
        item.patch.parameters.some((p: Json) => p.name === "fieldValidation"),
        `${key} ${path}`,
      );
    }
  }
});

test("each resource has its collection, item and all-namespaces paths", () => {
  const core = doc("api/v1");
  assert.ok(core.paths["/api/v1/namespaces/{namespace}/pods"].post);
  assert.ok(core.paths["/api/v1/namespaces/{namespace}/pods/{name}"].put);
  assert.equal(core.paths["/api/v1/pods"].get["x-kubernetes-action"], "list");
  assert.ok(core.paths["/api/v1/nodes/{name}"].get);
  assert.equal(core.paths["/api/v1/nodes"].get.operationId, "listCoreV1Node");
  assert.equal(
    core.paths["/api/v1/namespaces/{namespace}/pods/{name}/binding"].post[
      "x-kubernetes-group-version-kind"
    ].kind,
    "Binding",
  );
  const scale =
    doc("apis/apps/v1").paths["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"];
  assert.deepEqual(scale.patch["x-kubernetes-group-version-kind"], {
    group: "autoscaling",
    version: "v1",
    kind: "Scale",
  });
  for (const r of resources) {
    const base = r.group === "" ? `api/${r.version}` : `apis/${r.group}/${r.version}`;
    const item = r.namespaced
      ? `/${base}/namespaces/{namespace}/${r.resource}/{name}`
      : `/${base}/${r.resource}/{name}`;
    assert.ok(doc(base).paths[item], item);
  }
});

test("components are named like Kubernetes' and kinds carry their GVK", () => {
  const schemas = doc("apis/apps/v1").components.schemas;
  assert.deepEqual(schemas["io.k8s.api.apps.v1.Deployment"]["x-kubernetes-group-version-kind"], [
    { group: "apps", version: "v1", kind: "Deployment" },
  ]);
  assert.equal(
    schemas["io.k8s.api.apps.v1.Deployment"].properties.metadata.$ref,
    "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
  );
  assert.ok(schemas["io.k8s.api.apps.v1.DeploymentList"]);
  assert.ok(schemas["io.k8s.api.core.v1.PodSpec"]);
  // Every $ref points at a component of the same document.
  const refs = JSON.stringify(doc("api/v1")).match(/#\/components\/schemas\/[^"]+/g) ?? [];
  const core = doc("api/v1").components.schemas;
  for (const r of refs) assert.ok(core[r.slice("#/components/schemas/".length)], r);
});

test("lists carry the strategic merge keys kubectl apply needs", () => {
  const s = doc("apis/apps/v1").components.schemas;
  const podSpec = s["io.k8s.api.core.v1.PodSpec"].properties;
  assert.equal(podSpec.containers["x-kubernetes-patch-merge-key"], "name");
  assert.equal(podSpec.containers["x-kubernetes-patch-strategy"], "merge");
  assert.equal(podSpec.volumes["x-kubernetes-patch-strategy"], "merge,retainKeys");
  assert.equal(podSpec.tolerations["x-kubernetes-list-type"], "atomic");
  assert.equal(podSpec.tolerations["x-kubernetes-patch-merge-key"], undefined);
  const container = s["io.k8s.api.core.v1.Container"].properties;
  assert.equal(container.ports["x-kubernetes-patch-merge-key"], "containerPort");
  assert.deepEqual(container.ports["x-kubernetes-list-map-keys"], ["containerPort", "protocol"]);
  assert.equal(container.env["x-kubernetes-patch-merge-key"], "name");
  assert.equal(container.volumeMounts["x-kubernetes-patch-merge-key"], "mountPath");
  assert.equal(
    s["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"].properties.ownerReferences[
      "x-kubernetes-patch-merge-key"
    ],
    "uid",
  );
  assert.equal(
    s["io.k8s.api.apps.v1.DeploymentStatus"].properties.conditions["x-kubernetes-patch-merge-key"],
    "type",
  );
  const svc = doc("api/v1").components.schemas["io.k8s.api.core.v1.ServiceSpec"].properties;
  assert.equal(svc.ports["x-kubernetes-patch-merge-key"], "port");
  const maxSurge = s["io.k8s.api.apps.v1.RollingUpdateDeployment"].properties.maxSurge;
  assert.equal(maxSurge["x-kubernetes-int-or-string"], true);
});

test("a struct's patch strategy sits beside its $ref, and atomic structs say so, as in Kubernetes", () => {
  const s = doc("apis/apps/v1").components.schemas;
  assert.deepEqual(s["io.k8s.api.apps.v1.DeploymentSpec"].properties.strategy, {
    allOf: [{ $ref: "#/components/schemas/io.k8s.api.apps.v1.DeploymentStrategy" }],
    default: {},
    "x-kubernetes-patch-strategy": "retainKeys",
  });
  assert.equal(
    s["io.k8s.api.apps.v1.DeploymentStrategy"]["x-kubernetes-patch-strategy"],
    undefined,
  );
  const meta = "io.k8s.apimachinery.pkg.apis.meta.v1";
  assert.equal(s[`${meta}.LabelSelector`]["x-kubernetes-map-type"], "atomic");
  assert.equal(s[`${meta}.OwnerReference`]["x-kubernetes-map-type"], "atomic");
  const pdb =
    doc("apis/policy/v1").components.schemas["io.k8s.api.policy.v1.PodDisruptionBudgetSpec"];
  assert.equal(pdb.properties.selector["x-kubernetes-patch-strategy"], "replace");
});
