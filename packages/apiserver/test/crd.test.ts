// CustomResourceDefinitions end to end: a CRD is served at once and its objects are
// validated, pruned and defaulted from its schema, with the real kubectl (the dispatcher
// picks 1.31) and @kubernetes/client-node against a real etcd and apiserver.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as k8s from "@kubernetes/client-node";
import { crdFixture, kubectlOnPath, startApiserver, type TestApiserver } from "@skiff/testing";

let api: TestApiserver;
let cacheDir: string;
let kc: k8s.KubeConfig;
before(async () => {
  api = await startApiserver();
  cacheDir = mkdtempSync(join(tmpdir(), "skiff-crd-cache-"));
  kc = new k8s.KubeConfig();
  kc.loadFromFile(api.kubeconfig);
});
after(async () => {
  await api?.stop();
  rmSync(cacheDir, { recursive: true, force: true });
});

function kubectl(args: string[], stdin?: string) {
  return kubectlOnPath(args, { kubeconfig: api.kubeconfig, cacheDir, stdin });
}

/** POSTs a Website to a group's v1 in the default namespace, as a raw client would. */
function postWebsite(group: string, name: string, spec: object) {
  return api.request("POST", `/apis/${group}/v1/namespaces/default/websites`, {
    apiVersion: `${group}/v1`,
    kind: "Website",
    metadata: { name },
    spec,
  });
}

/** kubectl patch --type=merge of one Website. */
function mergePatch(group: string, name: string, patch: string, ...more: string[]) {
  return ok(["patch", `websites.${group}`, name, "--type=merge", "-p", patch, ...more]);
}

async function ok(args: string[], stdin?: string): Promise<string> {
  const r = await kubectl(args, stdin);
  assert.equal(r.code, 0, `kubectl ${args.join(" ")} failed:\n${r.stderr}\n${r.stdout}`);
  return r.stdout;
}

const crd = (group: string, opts: { scope?: string } = {}) => `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: websites.${group}
spec:
  group: ${group}
  scope: ${opts.scope ?? "Namespaced"}
  names:
    plural: websites
    singular: website
    kind: Website
    shortNames: [ws]
    categories: [all, web]
  versions:
  - name: v1beta1
    served: true
    storage: false
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
  - name: v1
    served: true
    storage: true
    subresources:
      status: {}
      scale:
        specReplicasPath: .spec.replicas
        statusReplicasPath: .status.replicas
        labelSelectorPath: .status.selector
    additionalPrinterColumns:
    - {name: Domain, type: string, jsonPath: .spec.domain}
    - {name: Replicas, type: integer, jsonPath: .spec.replicas}
    - {name: Tier, type: string, jsonPath: .spec.tier, priority: 1}
    - {name: Age, type: date, jsonPath: .metadata.creationTimestamp}
    selectableFields:
    - jsonPath: .spec.tier
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [domain]
            x-kubernetes-validations:
            - rule: "self.replicas <= self.maxReplicas"
              message: "replicas must not exceed maxReplicas"
            properties:
              domain:
                type: string
                pattern: '^[a-z0-9.-]+$'
                description: The domain the website is served at.
              replicas: {type: integer, minimum: 0, default: 1}
              maxReplicas: {type: integer, default: 10}
              tier: {type: string, enum: [free, pro], default: free}
              image: {type: string, maxLength: 40}
              ports:
                type: array
                maxItems: 2
                items: {type: integer}
          status:
            type: object
            properties:
              replicas: {type: integer}
              selector: {type: string}
`;

const website = (group: string, name: string, spec: string) => `
apiVersion: ${group}/v1
kind: Website
metadata: {name: ${name}}
spec: ${spec}
`;

async function establish(group: string, scope?: string): Promise<void> {
  await ok(["apply", "-f", "-"], crd(group, { scope }));
  const started = Date.now();
  for (;;) {
    const res = await api.request(
      "GET",
      `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/websites.${group}`,
    );
    const conds = (res.json?.status?.conditions ?? []) as { type: string; status: string }[];
    if (conds.some((c) => c.type === "Established" && c.status === "True")) break;
    assert.ok(Date.now() - started < 1000, "the CRD was not Established within a second");
    await new Promise((r) => setTimeout(r, 50));
  }
}

test("a CRD is served within a second, with names accepted, discovery and printer columns", async () => {
  const started = Date.now();
  await establish("one.example.com");
  const crdObj = await api.request(
    "GET",
    "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/websites.one.example.com",
  );
  assert.ok(Date.now() - started < 5000);
  const conditions = crdObj.json.status.conditions as { type: string; reason: string }[];
  assert.deepEqual(
    conditions.map((c) => [c.type, c.reason]),
    [
      ["NamesAccepted", "NoConflicts"],
      ["Established", "InitialNamesAccepted"],
    ],
  );
  assert.deepEqual(crdObj.json.status.storedVersions, ["v1"]);
  assert.equal(crdObj.json.status.acceptedNames.listKind, "WebsiteList");

  const resources = await ok(["api-resources", "--api-group=one.example.com"]);
  assert.match(resources, /^websites\s+ws\s+one\.example\.com\/v1\s+true\s+Website$/m);
  const group = await api.request("GET", "/apis/one.example.com");
  assert.deepEqual(
    group.json.versions.map((v: { version: string }) => v.version),
    ["v1", "v1beta1"],
  );
  assert.equal(group.json.preferredVersion.version, "v1");

  await ok(["apply", "-f", "-"], website("one.example.com", "blog", "{domain: blog.example.com}"));
  const table = await ok(["get", "websites.one.example.com", "-o", "wide"]);
  assert.match(table, /^NAME\s+DOMAIN\s+REPLICAS\s+TIER\s+AGE$/m);
  assert.match(table, /^blog\s+blog\.example\.com\s+1\s+free\s+\d+s$/m);
  const all = await ok(["get", "all"]);
  assert.match(all, /website\.one\.example\.com\/blog/);
  // The v1beta1 endpoint serves the same object with its own apiVersion (conversion None).
  const beta = await api.request(
    "GET",
    "/apis/one.example.com/v1beta1/namespaces/default/websites/blog",
  );
  assert.equal(beta.json.apiVersion, "one.example.com/v1beta1");
  assert.equal(beta.json.spec.domain, "blog.example.com");
});

test("invalid custom objects are refused with field paths; unknown fields are pruned; defaults are set", async () => {
  await establish("two.example.com");
  const bad = website(
    "two.example.com",
    "bad",
    `{domain: "Bad Domain", replicas: -1, tier: gold, image: "${"x".repeat(41)}", ports: [1, 2, 3]}`,
  );
  const r = await kubectl(["create", "-f", "-"], bad);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /The Website "bad" is invalid/);
  assert.match(
    r.stderr,
    /spec\.domain: Invalid value: "Bad Domain": spec\.domain in body should match '\^\[a-z0-9\.-\]\+\$'/,
  );
  assert.match(
    r.stderr,
    /spec\.replicas: Invalid value: -1: spec\.replicas in body should be greater than or equal to 0/,
  );
  assert.match(r.stderr, /spec\.tier: Unsupported value: "gold": supported values: "free", "pro"/);
  assert.match(r.stderr, /spec\.image: Too long: may not be longer than 40/);
  assert.match(r.stderr, /spec\.ports: Too many: 3: must have at most 2 items/);

  const missing = await postWebsite("two.example.com", "nodomain", { replicas: "two" });
  assert.equal(missing.status, 422);
  assert.deepEqual(
    missing.json.details.causes.map((c: { field: string; reason: string }) => [c.field, c.reason]),
    [
      ["spec.domain", "FieldValueRequired"],
      ["spec.replicas", "FieldValueTypeInvalid"],
    ],
  );

  // The CEL rule, with its message, on the object at the rule's place.
  const cel = await kubectl(
    ["create", "-f", "-"],
    website("two.example.com", "cel", "{domain: a.com, replicas: 5, maxReplicas: 3}"),
  );
  assert.match(cel.stderr, /spec: Invalid value: "object": replicas must not exceed maxReplicas/);

  // kubectl's strict field validation names unknown fields; without it they are pruned.
  const strict = await kubectl(
    ["create", "-f", "-"],
    website("two.example.com", "extra", "{domain: a.com, colour: red}"),
  );
  assert.match(strict.stderr, /strict decoding error: unknown field "spec.colour"/);
  await ok(
    ["create", "--validate=false", "-f", "-"],
    website("two.example.com", "extra", "{domain: a.com, colour: red}"),
  );
  const stored = JSON.parse(await ok(["get", "websites.two.example.com", "extra", "-o", "json"]));
  assert.deepEqual(stored.spec, { domain: "a.com", replicas: 1, maxReplicas: 10, tier: "free" });
  assert.equal(stored.status, undefined);

  // Strategic merge patch is refused for custom resources, as Kubernetes does.
  const smp = await api.request(
    "PATCH",
    "/apis/two.example.com/v1/namespaces/default/websites/extra",
    { spec: { replicas: 2 } },
    { contentType: "application/strategic-merge-patch+json" },
  );
  assert.equal(smp.status, 415);
});

test("status and scale subresources, kubectl scale, field selectors and a client-node informer", async () => {
  await establish("three.example.com");
  const objects = kc.makeApiClient(k8s.CustomObjectsApi);
  const seen: string[] = [];
  const informer = k8s.makeInformer(
    kc,
    "/apis/three.example.com/v1/namespaces/default/websites",
    () =>
      objects.listNamespacedCustomObject({
        group: "three.example.com",
        version: "v1",
        namespace: "default",
        plural: "websites",
      }) as never,
  );
  informer.on("add", (o: k8s.KubernetesObject) => seen.push(`add ${o.metadata?.name}`));
  informer.on("update", (o: k8s.KubernetesObject) =>
    seen.push(
      `update ${o.metadata?.name} ${(o as { spec?: { replicas?: number } }).spec?.replicas}`,
    ),
  );
  await informer.start();
  try {
    await objects.createNamespacedCustomObject({
      group: "three.example.com",
      version: "v1",
      namespace: "default",
      plural: "websites",
      body: {
        apiVersion: "three.example.com/v1",
        kind: "Website",
        metadata: { name: "shop" },
        spec: { domain: "shop.example.com", replicas: 2, tier: "pro" },
        status: { replicas: 99 },
      },
    });
    // status is ignored on the main resource; spec is ignored on /status.
    await mergePatch(
      "three.example.com",
      "shop",
      '{"status":{"replicas":2,"selector":"app=shop"},"spec":{"replicas":7}}',
      "--subresource=status",
    );
    await mergePatch("three.example.com", "shop", '{"status":{"replicas":50}}');
    let obj = JSON.parse(await ok(["get", "websites.three.example.com", "shop", "-o", "json"]));
    assert.equal(obj.spec.replicas, 2);
    assert.deepEqual(obj.status, { replicas: 2, selector: "app=shop" });

    await ok(["scale", "websites.three.example.com", "shop", "--replicas=4"]);
    obj = JSON.parse(await ok(["get", "websites.three.example.com", "shop", "-o", "json"]));
    assert.equal(obj.spec.replicas, 4);
    assert.equal(obj.metadata.generation, 2);
    const scale = await api.request(
      "GET",
      "/apis/three.example.com/v1/namespaces/default/websites/shop/scale",
    );
    assert.deepEqual(scale.json.spec, { replicas: 4 });
    assert.deepEqual(scale.json.status, { replicas: 2, selector: "app=shop" });

    assert.match(
      await ok(["get", "websites.three.example.com", "--field-selector", "spec.tier=pro"]),
      /^shop\s/m,
    );
    const none = await kubectl([
      "get",
      "websites.three.example.com",
      "--field-selector",
      "spec.tier=free",
    ]);
    assert.match(none.stderr, /No resources found/);
    const unsupported = await kubectl([
      "get",
      "websites.three.example.com",
      "--field-selector",
      "spec.domain=x",
    ]);
    assert.match(unsupported.stderr, /field label not supported: spec\.domain/);

    const deadline = Date.now() + 5000;
    while (!seen.includes("update shop 4") && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    assert.ok(seen.includes("add shop"), seen.join(","));
    assert.ok(seen.includes("update shop 4"), seen.join(","));
  } finally {
    await informer.stop();
  }
});

test("kubectl explain reads a custom resource's schema from OpenAPI v3", async () => {
  await establish("four.example.com");
  const out = await ok(["explain", "websites.spec.domain", "--api-version=four.example.com/v1"]);
  assert.match(out, /GROUP:\s+four\.example\.com/);
  assert.match(out, /KIND:\s+Website/);
  assert.match(out, /FIELD: domain <string>/);
  assert.match(out, /The domain the website is served at\./);
  const tier = await ok(["explain", "websites.spec.tier", "--api-version=four.example.com/v1"]);
  assert.match(tier, /ENUM:\s+free\s+pro/);
  // A later apply of a changed manifest is a merge patch (the document offers no SMP).
  await ok(["apply", "-f", "-"], website("four.example.com", "a", "{domain: a.com}"));
  await ok(["apply", "-f", "-"], website("four.example.com", "a", "{domain: b.com}"));
  let got = JSON.parse(await ok(["get", "websites.four.example.com", "a", "-o", "json"]));
  assert.equal(got.spec.domain, "b.com");
  // Server-side apply: a second manager changing the field conflicts, as in Kubernetes.
  const conflict = await kubectl(
    ["apply", "--server-side", "-f", "-"],
    website("four.example.com", "a", "{domain: c.com}"),
  );
  assert.match(conflict.stderr, /conflict with "kubectl-client-side-apply"/);
  await ok(
    ["apply", "--server-side", "-f", "-"],
    website("four.example.com", "b", "{domain: c.com}"),
  );
  await ok(
    ["apply", "--server-side", "-f", "-"],
    website("four.example.com", "b", "{domain: d.com}"),
  );
  got = JSON.parse(await ok(["get", "websites.four.example.com", "b", "-o", "json"]));
  assert.deepEqual(got.spec, { domain: "d.com", replicas: 1, maxReplicas: 10, tier: "free" });
});

test("a non-structural CRD is refused with Kubernetes' messages and field paths", async () => {
  const r = await kubectl(
    ["apply", "-f", "-"],
    `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: things.five.example.com}
spec:
  group: five.example.com
  scope: Namespaced
  names: {plural: things, kind: Thing}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            properties:
              list: {type: array}
              odd:
                type: string
                anyOf: [{type: string}]
              rule:
                type: string
                x-kubernetes-validations: [{rule: "self ++ 1"}]
`,
  );
  assert.notEqual(r.code, 0);
  const p = "spec.versions\\[0\\].schema.openAPIV3Schema.properties\\[spec\\]";
  assert.match(
    r.stderr,
    new RegExp(`${p}.type: Required value: must not be empty for specified object fields`),
  );
  assert.match(
    r.stderr,
    new RegExp(`${p}.properties\\[list\\].items: Required value: must be specified`),
  );
  assert.match(
    r.stderr,
    new RegExp(
      `${p}.properties\\[odd\\].anyOf\\[0\\].type: Forbidden: must be empty to be structural`,
    ),
  );
  assert.match(
    r.stderr,
    new RegExp(
      `${p}.properties\\[rule\\].x-kubernetes-validations\\[0\\].rule: Invalid value: "self \\+\\+ 1": compilation failed`,
    ),
  );
  const name = await kubectl(
    ["apply", "-f", "-"],
    crd("six.example.com").replace("name: websites.six.example.com", "name: sites.six.example.com"),
  );
  assert.match(
    name.stderr,
    /metadata.name: Invalid value: "sites.six.example.com": must be spec.names.plural\+"."\+spec.group/,
  );
});

test("a cluster-scoped CRD; deleting a CRD deletes its objects first, then stops serving", async () => {
  await establish("seven.example.com", "Cluster");
  await ok(["apply", "-f", "-"], website("seven.example.com", "global", "{domain: g.com}"));
  assert.match(await ok(["get", "websites.seven.example.com"]), /^global\s/m);

  await establish("eight.example.com");
  await ok(["create", "namespace", "crd-team"]);
  await ok(["apply", "-f", "-"], website("eight.example.com", "one", "{domain: a.com}"));
  await ok(
    ["apply", "-n", "crd-team", "-f", "-"],
    website("eight.example.com", "two", "{domain: b.com}"),
  );
  // A finalizer keeps one object (and so the CRD) until it is removed.
  await mergePatch("eight.example.com", "one", '{"metadata":{"finalizers":["example.com/hold"]}}');
  await ok(["delete", "crd", "websites.eight.example.com", "--wait=false"]);
  const started = Date.now();
  let crdObj;
  for (;;) {
    crdObj = await api.request(
      "GET",
      "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/websites.eight.example.com",
    );
    const left = await api.request("GET", "/apis/eight.example.com/v1/websites");
    if (left.json.items.length === 1 && left.json.items[0].metadata.deletionTimestamp) break;
    assert.ok(Date.now() - started < 5000, JSON.stringify(left.json));
    await new Promise((r) => setTimeout(r, 100));
  }
  const terminating = crdObj.json.status.conditions.find(
    (c: { type: string }) => c.type === "Terminating",
  );
  assert.equal(terminating.status, "True");
  const create = await postWebsite("eight.example.com", "late", { domain: "late.com" });
  assert.equal(create.status, 405);

  await mergePatch("eight.example.com", "one", '{"metadata":{"finalizers":null}}');
  for (;;) {
    const gone = await api.request(
      "GET",
      "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/websites.eight.example.com",
    );
    if (gone.status === 404) break;
    assert.ok(Date.now() - started < 10_000, "the CRD was not deleted");
    await new Promise((r) => setTimeout(r, 100));
  }
  const after = await api.request("GET", "/apis/eight.example.com/v1/websites");
  assert.equal(after.status, 404);
  // Recreated, the CRD starts empty: its objects were deleted from etcd, not hidden.
  await establish("eight.example.com");
  const list = await api.request("GET", "/apis/eight.example.com/v1/websites");
  assert.deepEqual(list.json.items, []);
});

test("server-side apply merges a custom list by its x-kubernetes-list-map-keys", async () => {
  const created = await api.request(
    "POST",
    "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
    crdFixture({
      group: "nine.example.com",
      plural: "routers",
      kind: "Router",
      schema: {
        type: "object",
        properties: {
          spec: {
            type: "object",
            properties: {
              routes: {
                type: "array",
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["path"],
                items: {
                  type: "object",
                  required: ["path"],
                  properties: { path: { type: "string" }, backend: { type: "string" } },
                },
              },
            },
          },
        },
      },
    }),
  );
  assert.equal(created.status, 201, created.text);
  const url = "/apis/nine.example.com/v1/namespaces/default/routers/r";
  const apply = (manager: string, routes: object[]) =>
    api.request(
      "PATCH",
      `${url}?fieldManager=${manager}`,
      {
        apiVersion: "nine.example.com/v1",
        kind: "Router",
        metadata: { name: "r" },
        spec: { routes },
      },
      { contentType: "application/apply-patch+yaml" },
    );
  const started = Date.now();
  let first = await apply("alice", [{ path: "/a", backend: "svc-a" }]);
  while (first.status === 404 && Date.now() - started < 1000) {
    await new Promise((r) => setTimeout(r, 50));
    first = await apply("alice", [{ path: "/a", backend: "svc-a" }]);
  }
  assert.equal(first.status, 201, first.text);
  const second = await apply("bob", [{ path: "/b", backend: "svc-b" }]);
  assert.equal(second.status, 200, second.text);
  assert.deepEqual(second.json.spec.routes, [
    { path: "/a", backend: "svc-a" },
    { path: "/b", backend: "svc-b" },
  ]);
  // A duplicate key is refused.
  const dup = await apply("carol", [
    { path: "/c", backend: "x" },
    { path: "/c", backend: "y" },
  ]);
  assert.ok(dup.status === 422 || dup.status === 400, dup.text);
});

test("deprecated versions warn, name conflicts are reported, and CRDs are served again after a restart", async () => {
  const deprecated = crdFixture({ group: "ten.example.com", plural: "lamps", kind: "Lamp" });
  const version = (deprecated.spec as { versions: Record<string, unknown>[] }).versions[0]!;
  version.deprecated = true;
  const made = await api.request(
    "POST",
    "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
    deprecated,
  );
  assert.equal(made.status, 201, made.text);
  await waitFor(
    async () => (await api.request("GET", "/apis/ten.example.com/v1/lamps")).status === 200,
  );
  const got = await kubectl(["get", "lamps.ten.example.com"]);
  assert.match(got.stderr, /Warning: ten\.example\.com\/v1 Lamp is deprecated/);

  // Another CRD of the group may not take the kind Lamp.
  const clash = crdFixture({ group: "ten.example.com", plural: "bulbs", kind: "Lamp" });
  (clash.spec as { names: Record<string, string> }).names.singular = "bulb";
  await api.request("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", clash);
  await waitFor(async () => {
    const crd = await api.request(
      "GET",
      "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/bulbs.ten.example.com",
    );
    const names = (crd.json.status?.conditions ?? []).find(
      (c: { type: string }) => c.type === "NamesAccepted",
    );
    return names?.status === "False" && names.reason === "KindConflict";
  });
  assert.equal((await api.request("GET", "/apis/ten.example.com/v1/bulbs")).status, 404);

  await api.restart();
  const lamps = await api.request("GET", "/apis/ten.example.com/v1/lamps");
  assert.equal(lamps.status, 200);
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    assert.ok(Date.now() < deadline, "timed out");
    await new Promise((r) => setTimeout(r, 50));
  }
}
