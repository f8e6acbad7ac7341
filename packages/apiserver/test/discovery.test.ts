// Discovery and identity as kubectl reads them: aggregated discovery (apidiscovery.k8s.io/v2
// with ETags, legacy documents kept) and SelfSubjectReview for `kubectl auth whoami`, with
// the real kubectl of several versions.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runKubectl, startApiserver, type TestApiserver } from "@skiff/testing";

let api: TestApiserver;
let dir: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "skiff-discovery-"));
  const tokens = join(dir, "tokens.csv");
  writeFileSync(tokens, 'secret-token,alice,uid-alice,"dev,ops"\n');
  api = await startApiserver({ tokenAuthFile: tokens });
});
after(async () => {
  await api?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function kubectl(version: string, args: string[], kubeconfig = api.kubeconfig) {
  return runKubectl(version, args, { kubeconfig, cacheDir: mkdtempSync(join(dir, "cache-")) });
}

const AGGREGATED_V2 =
  "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";

test("/apis answers aggregated discovery when asked first, with an ETag that a client can revalidate", async () => {
  const r = await api.request("GET", "/apis", undefined, { accept: AGGREGATED_V2 });
  assert.equal(r.status, 200);
  assert.equal(
    r.headers["content-type"],
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
  );
  assert.equal(r.json.kind, "APIGroupDiscoveryList");
  assert.equal(r.json.apiVersion, "apidiscovery.k8s.io/v2");
  const apps = r.json.items.find((i: { metadata: { name: string } }) => i.metadata.name === "apps");
  const deployments = apps.versions[0].resources.find(
    (x: { resource: string }) => x.resource === "deployments",
  );
  assert.deepEqual(deployments.responseKind, { group: "apps", version: "v1", kind: "Deployment" });
  assert.equal(deployments.scope, "Namespaced");
  assert.deepEqual(deployments.shortNames, ["deploy"]);
  assert.deepEqual(
    deployments.subresources.find((s: { subresource: string }) => s.subresource === "scale")
      .responseKind,
    { group: "autoscaling", version: "v1", kind: "Scale" },
  );
  const etag = r.headers.etag as string;
  assert.match(etag, /^"[0-9a-f]+"$/);
  const again = await api.request("GET", "/apis", undefined, {
    accept: AGGREGATED_V2,
    headers: { "If-None-Match": etag },
  });
  assert.equal(again.status, 304);
  assert.equal(again.text, "");

  const core = await api.request("GET", "/api", undefined, {
    accept: AGGREGATED_V2.replace(/v=v2;/, "v=v2beta1;"),
  });
  assert.equal(core.json.apiVersion, "apidiscovery.k8s.io/v2beta1");
  const coreAgain = await api.request("GET", "/api", undefined, {
    accept: AGGREGATED_V2.replace(/v=v2;/, "v=v2beta1;"),
    headers: { "If-None-Match": core.headers.etag as string },
  });
  assert.equal(coreAgain.status, 304, "the core document revalidates too");
  assert.deepEqual(core.json.items[0].metadata, { creationTimestamp: null });
  assert.ok(
    core.json.items[0].versions[0].resources.some(
      (x: { resource: string; scope: string }) => x.resource === "nodes" && x.scope === "Cluster",
    ),
  );

  const legacy = await api.request("GET", "/apis", undefined, { accept: "application/json" });
  assert.equal(legacy.headers["content-type"], "application/json");
  assert.equal(legacy.json.kind, "APIGroupList");
  assert.ok(legacy.json.groups.some((g: { name: string }) => g.name === "authentication.k8s.io"));
  // The legacy per-version lists stay for clients that do not aggregate.
  const appsV1 = await api.request("GET", "/apis/apps/v1");
  assert.equal(appsV1.json.kind, "APIResourceList");
  assert.ok(
    appsV1.json.resources.some(
      (x: { name: string; namespaced: boolean; kind: string }) =>
        x.name === "deployments" && x.namespaced && x.kind === "Deployment",
    ),
  );
  const coreV1 = await api.request("GET", "/api/v1");
  assert.ok(coreV1.json.resources.some((x: { name: string }) => x.name === "pods/exec"));
});

test("kubectl 1.33 discovers from the aggregated documents alone", async () => {
  const r = await kubectl("1.33", ["api-resources", "-v=6"]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^deployments\s+deploy\s+apps\/v1\s+true\s+Deployment$/m);
  assert.match(
    r.out,
    /^selfsubjectreviews\s+authentication\.k8s\.io\/v1\s+false\s+SelfSubjectReview$/m,
  );
  // Legacy discovery would fetch each group/version's resource list as well.
  const fetched = [...r.err.matchAll(/verb="GET" url="https:\/\/[^/]+([^"?]*)/g)].map((m) => m[1]);
  assert.deepEqual(fetched, ["/api", "/apis"]);
});

for (const version of ["1.27", "1.28", "1.29"]) {
  test(`kubectl ${version} discovers from aggregated v2beta1 documents alone`, async () => {
    const r = await kubectl(version, ["api-resources", "-v=8"]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^deployments\s+deploy\s+apps\/v1\s+true\s+Deployment$/m);
    // These versions know only v2beta1, and are answered in it.
    assert.match(
      r.err,
      /Accept: application\/json;g=apidiscovery\.k8s\.io;v=v2beta1;as=APIGroupDiscoveryList,application\/json\n/,
    );
    assert.match(
      r.err,
      /Content-Type: application\/json;g=apidiscovery\.k8s\.io;v=v2beta1;as=APIGroupDiscoveryList\n/,
    );
    const fetched = [...r.err.matchAll(/GET https:\/\/[^/]+([^ ?]*)/g)].map((m) => m[1]);
    assert.deepEqual(fetched, ["/api", "/apis"]);
  });
}

for (const version of ["1.27", "1.28", "1.31", "1.33"]) {
  test(`kubectl ${version} auth whoami names the certificate's user and groups`, async () => {
    const r = await kubectl(version, ["auth", "whoami"]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^Username\s+kubernetes-admin$/m);
    assert.match(r.out, /^Groups\s+\[system:masters system:authenticated\]$/m);
  });
}

test("kubectl auth whoami names a token's user, uid and groups", async () => {
  // A client certificate would win over the token (as in Kubernetes), so none is configured.
  const kubeconfig = join(dir, "token.kubeconfig");
  writeFileSync(
    kubeconfig,
    JSON.stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [
        {
          name: "skiff",
          cluster: { server: api.url, "certificate-authority": join(api.certDir, "ca.crt") },
        },
      ],
      users: [{ name: "alice", user: { token: "secret-token" } }],
      contexts: [{ name: "alice", context: { cluster: "skiff", user: "alice" } }],
      "current-context": "alice",
    }),
  );
  const r = await kubectl("1.31", ["auth", "whoami", "-o", "json"], kubeconfig);
  assert.equal(r.code, 0, r.err);
  const review = JSON.parse(r.out);
  assert.equal(review.kind, "SelfSubjectReview");
  assert.deepEqual(review.status.userInfo, {
    username: "alice",
    uid: "uid-alice",
    groups: ["dev", "ops", "system:authenticated"],
  });
});

test("a SelfSubjectReview is create-only and needs credentials", async () => {
  const get = await api.request("GET", "/apis/authentication.k8s.io/v1/selfsubjectreviews");
  assert.equal(get.status, 405);
  const anonymous = await api.request(
    "POST",
    "/apis/authentication.k8s.io/v1/selfsubjectreviews",
    { apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" },
    { auth: "none" },
  );
  assert.equal(anonymous.status, 401);
  const bad = await api.request(
    "POST",
    "/apis/authentication.k8s.io/v1/selfsubjectreviews",
    undefined,
    {
      rawBody: "{not json",
    },
  );
  assert.equal(bad.status, 400);
});
