// /openapi/v2 from the same schemas as v3: JSON, and gnostic protobuf when asked for first,
// which kubectl 1.27 and 1.28 read before every apply.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runKubectl, startApiserver, type TestApiserver } from "@skiff/testing";
import { decodeOpenApiV2 } from "../src/openapi-v2-proto.js";
import { rawRequest } from "./raw-request.js";

let api: TestApiserver;
let dir: string;
before(async () => {
  api = await startApiserver();
  dir = mkdtempSync(join(tmpdir(), "skiff-openapi-v2-"));
});
after(async () => {
  await api?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const PB = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf";

const getBytes = (accept: string) => rawRequest(api, "GET", "/openapi/v2", { accept });

test("/openapi/v2 in JSON declares each kind and its PATCH with fieldValidation", async () => {
  const r = await api.request("GET", "/openapi/v2", undefined, { accept: "application/json" });
  assert.equal(r.status, 200);
  assert.equal(r.json.swagger, "2.0");
  const deployment = r.json.definitions["io.k8s.api.apps.v1.Deployment"];
  assert.deepEqual(deployment["x-kubernetes-group-version-kind"], [
    { group: "apps", version: "v1", kind: "Deployment" },
  ]);
  assert.equal(deployment.properties.spec.$ref, "#/definitions/io.k8s.api.apps.v1.DeploymentSpec");
  const patch = r.json.paths["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"].patch;
  assert.ok(patch.parameters.some((p: { name: string }) => p.name === "fieldValidation"));
  assert.ok(patch.consumes.includes("application/strategic-merge-patch+json"));
  const body = patch.parameters.find((p: { in: string }) => p.in === "body");
  assert.equal(body.schema.$ref, "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.Patch");
  // Containers merge by name, as kubectl's strategic merge patches need.
  const podSpec = r.json.definitions["io.k8s.api.core.v1.PodSpec"];
  assert.equal(podSpec.properties.containers["x-kubernetes-patch-merge-key"], "name");
});

test("/openapi/v2 in protobuf when asked first carries the same paths and definitions", async () => {
  const json = (await api.request("GET", "/openapi/v2", undefined, { accept: "application/json" }))
    .json;
  const pb = await getBytes(`${PB}, application/json`);
  assert.equal(pb.type, "application/octet-stream");
  const doc = decodeOpenApiV2(pb.body);
  assert.equal(doc.swagger, "2.0");
  const names = (
    doc.definitions as { additionalProperties: { name: string }[] }
  ).additionalProperties.map((d) => d.name);
  assert.deepEqual(names, Object.keys(json.definitions));
  const paths = (doc.paths as { path: { name: string }[] }).path.map((p) => p.name);
  assert.deepEqual(paths, Object.keys(json.paths));
  // The protobuf's first bytes are field 1 (swagger, a string): tag 0x0a, length 3, "2.0".
  assert.deepEqual([...pb.body.subarray(0, 5)], [0x0a, 3, 0x32, 0x2e, 0x30]);
  const jsonFirst = await getBytes(`application/json, ${PB}`);
  assert.equal(jsonFirst.type, "application/json");
});

for (const version of ["1.27", "1.28"]) {
  test(`kubectl ${version} apply creates and then updates a deployment`, async () => {
    const file = join(dir, `web-${version}.yaml`);
    const manifest = (image: string) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: web-${version.replace(".", "-")}, labels: {app: web}}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: ${image}}]
`;
    const run = (args: string[]) =>
      runKubectl(version, args, {
        kubeconfig: api.kubeconfig,
        cacheDir: join(dir, `cache-${version}`),
      });
    const name = `web-${version.replace(".", "-")}`;
    writeFileSync(file, manifest("busybox:1.36"));
    let r = await run(["apply", "-f", file]);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, `deployment.apps/${name} created\n`);
    writeFileSync(file, manifest("busybox:1.37"));
    r = await run(["apply", "-f", file]);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, `deployment.apps/${name} configured\n`);
    r = await run([
      "get",
      "deployment",
      name,
      "-o",
      "jsonpath={.spec.template.spec.containers[*].image}",
    ]);
    assert.equal(r.out, "busybox:1.37");
    // Switching to Recreate drops the defaulted rollingUpdate: kubectl reads retainKeys on
    // spec.strategy from /openapi/v2 and sends $retainKeys.
    writeFileSync(
      file,
      manifest("busybox:1.37").replace(
        "  replicas: 1\n",
        "  replicas: 1\n  strategy: {type: Recreate}\n",
      ),
    );
    r = await run(["apply", "-f", file]);
    assert.equal(r.code, 0, r.err);
    r = await run(["get", "deployment", name, "-o", "jsonpath={.spec.strategy}"]);
    assert.deepEqual(JSON.parse(r.out), { type: "Recreate" });
  });
}
