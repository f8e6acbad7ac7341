// The apiserver on a real etcd: create, read, update, delete, list and the rules around them.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Etcd3 } from "etcd3";
import { startApiserver, type TestApiserver } from "@skiff/testing";
import { parseTokenFile } from "../src/auth.js";

// The apiserver reads this token file (--token-auth-file) at start.
const tokenDir = mkdtempSync(join(tmpdir(), "skiff-tokens-"));
const tokenFile = join(tokenDir, "tokens.csv");
const aliceToken = "alice-0123456789abcdef";
writeFileSync(tokenFile, `${aliceToken},alice,uid-alice,"dev,ops"\n`);

let api: TestApiserver;
before(async () => {
  api = await startApiserver({ tokenAuthFile: tokenFile });
});
after(async () => {
  await api?.stop();
  rmSync(tokenDir, { recursive: true, force: true });
});

/**
 * Grants a subject rules cluster-wide through a ClusterRole and ClusterRoleBinding (RBAC is
 * on: a token's user starts with no rights), and waits until the apiserver applies them.
 */
async function grant(
  name: string,
  subject: { kind: string; name: string; namespace?: string },
  rules: object[],
): Promise<void> {
  const rbac = "/apis/rbac.authorization.k8s.io/v1";
  const group = "rbac.authorization.k8s.io";
  const role = await api.request("POST", `${rbac}/clusterroles`, {
    apiVersion: `${group}/v1`,
    kind: "ClusterRole",
    metadata: { name },
    rules,
  });
  assert.equal(role.status, 201, role.text);
  const binding = await api.request("POST", `${rbac}/clusterrolebindings`, {
    apiVersion: `${group}/v1`,
    kind: "ClusterRoleBinding",
    metadata: { name },
    roleRef: { apiGroup: group, kind: "ClusterRole", name },
    subjects: [subject.kind === "ServiceAccount" ? subject : { ...subject, apiGroup: group }],
  });
  assert.equal(binding.status, 201, binding.text);
  for (let i = 0; i < 50; i++) {
    const user =
      subject.kind === "ServiceAccount"
        ? `system:serviceaccount:${subject.namespace}:${subject.name}`
        : subject.kind === "User"
          ? subject.name
          : "someone";
    const groups = subject.kind === "Group" ? [subject.name] : [];
    // The role is in the cache once a review of the role's own rules passes.
    const rule = rules[0] as { verbs: string[]; apiGroups: string[]; resources: string[] };
    const check = await api.request("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", {
      apiVersion: "authorization.k8s.io/v1",
      kind: "SubjectAccessReview",
      spec: {
        user,
        groups,
        resourceAttributes: {
          verb: rule.verbs[0],
          group: rule.apiGroups[0],
          resource: rule.resources[0],
          namespace: "default",
        },
      },
    });
    if ((check.json as { status: { allowed: boolean } }).status.allowed) return;
    await new Promise((res) => setTimeout(res, 100));
  }
  assert.fail(`grant ${name} did not take effect`);
}

const cm = (
  name: string,
  data: Record<string, string> = { a: "1" },
  labels?: Record<string, string>,
) => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name, ...(labels ? { labels } : {}) },
  data,
});

const deployment = (name: string, replicas = 2, image = "skiff.local/busybox:1.36") => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name, labels: { app: name } },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: { containers: [{ name: "web", image, command: ["httpd", "-f", "-p", "8080"] }] },
    },
  },
});

test("a created object gets uid, creationTimestamp and a resourceVersion, and reads back the same", async () => {
  const res = await api.request("POST", "/api/v1/namespaces/default/configmaps", cm("crud-1"));
  assert.equal(res.status, 201, res.text);
  const created = res.json;
  assert.match(created.metadata.uid, /^[0-9a-f-]{36}$/);
  assert.match(created.metadata.creationTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.match(created.metadata.resourceVersion, /^\d+$/);
  assert.equal(created.metadata.namespace, "default");
  const got = await api.request("GET", "/api/v1/namespaces/default/configmaps/crud-1");
  assert.equal(got.status, 200);
  assert.deepEqual(got.json.data, { a: "1" });
  assert.equal(got.json.metadata.resourceVersion, created.metadata.resourceVersion);
});

test("creating an existing name is refused with 409 AlreadyExists", async () => {
  await api.request("POST", "/api/v1/namespaces/default/configmaps", cm("crud-dup"));
  const res = await api.request("POST", "/api/v1/namespaces/default/configmaps", cm("crud-dup"));
  assert.equal(res.status, 409);
  assert.equal(res.json.kind, "Status");
  assert.equal(res.json.reason, "AlreadyExists");
  assert.equal(res.json.message, 'configmaps "crud-dup" already exists');
});

test("a stale update is refused with 409 Conflict", async () => {
  const created = (
    await api.request("POST", "/api/v1/namespaces/default/configmaps", cm("crud-stale"))
  ).json;
  const first = await api.request("PUT", "/api/v1/namespaces/default/configmaps/crud-stale", {
    ...created,
    data: { a: "2" },
  });
  assert.equal(first.status, 200, first.text);
  assert.notEqual(first.json.metadata.resourceVersion, created.metadata.resourceVersion);
  const stale = await api.request("PUT", "/api/v1/namespaces/default/configmaps/crud-stale", {
    ...created,
    data: { a: "3" },
  });
  assert.equal(stale.status, 409);
  assert.equal(stale.json.reason, "Conflict");
  const now = await api.request("GET", "/api/v1/namespaces/default/configmaps/crud-stale");
  assert.deepEqual(now.json.data, { a: "2" });
});

test("generateName makes a unique name with a random suffix", async () => {
  const body = { apiVersion: "v1", kind: "ConfigMap", metadata: { generateName: "gen-" } };
  const a = await api.request("POST", "/api/v1/namespaces/default/configmaps", body);
  const b = await api.request("POST", "/api/v1/namespaces/default/configmaps", body);
  assert.equal(a.status, 201);
  assert.match(a.json.metadata.name, /^gen-[a-z0-9]{5}$/);
  assert.notEqual(a.json.metadata.name, b.json.metadata.name);
});

test("generation is bumped by spec changes only, and status changes only through /status", async () => {
  const created = (
    await api.request("POST", "/apis/apps/v1/namespaces/default/deployments", deployment("gen-d"))
  ).json;
  assert.equal(created.metadata.generation, 1);
  assert.equal(created.spec.strategy.type, "RollingUpdate", "defaults are applied");
  // A label change does not bump generation.
  const labeled = await api.request(
    "PATCH",
    "/apis/apps/v1/namespaces/default/deployments/gen-d",
    { metadata: { labels: { x: "y" } } },
    { contentType: "application/merge-patch+json" },
  );
  assert.equal(labeled.status, 200, labeled.text);
  assert.equal(labeled.json.metadata.generation, 1);
  // A spec change does.
  const scaled = await api.request(
    "PATCH",
    "/apis/apps/v1/namespaces/default/deployments/gen-d",
    { spec: { replicas: 3 } },
    { contentType: "application/merge-patch+json" },
  );
  assert.equal(scaled.json.metadata.generation, 2);
  // Status sent to the main resource is ignored.
  const withStatus = await api.request(
    "PATCH",
    "/apis/apps/v1/namespaces/default/deployments/gen-d",
    { status: { replicas: 7 } },
    { contentType: "application/merge-patch+json" },
  );
  assert.equal(withStatus.json.status.replicas, undefined);
  // Through /status it is written, and spec changes there are ignored.
  const status = await api.request(
    "PATCH",
    "/apis/apps/v1/namespaces/default/deployments/gen-d/status",
    { spec: { replicas: 9 }, status: { replicas: 3, observedGeneration: 2 } },
    { contentType: "application/merge-patch+json" },
  );
  assert.equal(status.status, 200, status.text);
  assert.equal(status.json.status.replicas, 3);
  assert.equal(status.json.spec.replicas, 3);
  assert.equal(status.json.metadata.generation, 2);
});

test("the scale subresource reads and writes replicas as an autoscaling/v1 Scale", async () => {
  await api.request("POST", "/apis/apps/v1/namespaces/default/deployments", deployment("scale-d"));
  const scale = await api.request(
    "GET",
    "/apis/apps/v1/namespaces/default/deployments/scale-d/scale",
  );
  assert.equal(scale.status, 200);
  assert.equal(scale.json.kind, "Scale");
  assert.equal(scale.json.apiVersion, "autoscaling/v1");
  assert.equal(scale.json.spec.replicas, 2);
  assert.equal(scale.json.status.selector, "app=scale-d");
  const patched = await api.request(
    "PATCH",
    "/apis/apps/v1/namespaces/default/deployments/scale-d/scale",
    { spec: { replicas: 5 } },
    { contentType: "application/merge-patch+json" },
  );
  assert.equal(patched.status, 200, patched.text);
  assert.equal(patched.json.spec.replicas, 5);
  // PUT without a Content-Type (as kubectl scale --current-replicas sends it).
  const put = await api.request(
    "PUT",
    "/apis/apps/v1/namespaces/default/deployments/scale-d/scale",
    undefined,
    {
      rawBody: JSON.stringify({ ...patched.json, spec: { replicas: 1 } }),
      noContentType: true,
    },
  );
  assert.equal(put.status, 200, put.text);
  const d = await api.request("GET", "/apis/apps/v1/namespaces/default/deployments/scale-d");
  assert.equal(d.json.spec.replicas, 1);
  const negative = await api.request(
    "PATCH",
    "/apis/apps/v1/namespaces/default/deployments/scale-d/scale",
    { spec: { replicas: -1 } },
    { contentType: "application/merge-patch+json" },
  );
  assert.equal(negative.status, 422);
  assert.equal(negative.json.details.causes[0].field, "spec.replicas");
  // The cause's kind travels as `reason`, as in Kubernetes' JSON (Go's StatusCause.Type).
  assert.equal(negative.json.details.causes[0].reason, "FieldValueInvalid");
  assert.equal(negative.json.details.causes[0].type, undefined);
});

test("LIST pages with limit and continue, and carries the read revision", async () => {
  await api.request("POST", "/api/v1/namespaces", {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name: "paging" },
  });
  for (let i = 0; i < 7; i++) {
    const r = await api.request(
      "POST",
      "/api/v1/namespaces/paging/configmaps",
      cm(`p-${i}`, { i: String(i) }, { batch: i % 2 ? "odd" : "even" }),
    );
    assert.equal(r.status, 201, r.text);
  }
  const names: string[] = [];
  let cont = "";
  let pages = 0;
  do {
    const res = await api.request(
      "GET",
      `/api/v1/namespaces/paging/configmaps?limit=3${cont ? `&continue=${cont}` : ""}`,
    );
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.kind, "ConfigMapList");
    names.push(...res.json.items.map((i: { metadata: { name: string } }) => i.metadata.name));
    cont = res.json.metadata.continue ?? "";
    if (cont) assert.ok(res.json.metadata.remainingItemCount > 0);
    pages++;
  } while (cont);
  assert.equal(pages, 3);
  assert.deepEqual(names, ["p-0", "p-1", "p-2", "p-3", "p-4", "p-5", "p-6"]);
});

test("LIST filters by label selector and field selector", async () => {
  const odd = await api.request(
    "GET",
    "/api/v1/namespaces/paging/configmaps?labelSelector=batch%3Dodd",
  );
  assert.deepEqual(
    odd.json.items.map((i: { metadata: { name: string } }) => i.metadata.name),
    ["p-1", "p-3", "p-5"],
  );
  const set = await api.request(
    "GET",
    "/api/v1/namespaces/paging/configmaps?labelSelector=batch%20in%20(odd),batch!%3Deven",
  );
  assert.equal(set.json.items.length, 3);
  const byName = await api.request("GET", "/api/v1/configmaps?fieldSelector=metadata.name%3Dp-4");
  assert.deepEqual(
    byName.json.items.map((i: { metadata: { namespace: string } }) => i.metadata.namespace),
    ["paging"],
  );
  const notIn = await api.request(
    "GET",
    "/api/v1/namespaces/paging/configmaps?fieldSelector=metadata.name!%3Dp-4&labelSelector=batch%3Deven",
  );
  assert.deepEqual(
    notIn.json.items.map((i: { metadata: { name: string } }) => i.metadata.name),
    ["p-0", "p-2", "p-6"],
  );
  const bad = await api.request(
    "GET",
    "/api/v1/namespaces/paging/configmaps?labelSelector=a%20in%20(b",
  );
  assert.equal(bad.status, 400);
  assert.equal(bad.json.reason, "BadRequest");
  const badField = await api.request(
    "GET",
    "/api/v1/namespaces/paging/configmaps?fieldSelector=spec.nope%3D1",
  );
  assert.equal(badField.status, 400);
  assert.match(badField.json.message, /spec\.nope/);
});

test("LIST at an exact older resourceVersion shows the past", async () => {
  const before = (
    await api.request("POST", "/api/v1/namespaces/default/configmaps", cm("past", { v: "old" }))
  ).json;
  await api.request("PUT", "/api/v1/namespaces/default/configmaps/past", {
    ...before,
    data: { v: "new" },
  });
  const then = await api.request(
    "GET",
    `/api/v1/namespaces/default/configmaps?resourceVersion=${before.metadata.resourceVersion}&resourceVersionMatch=Exact&fieldSelector=metadata.name%3Dpast`,
  );
  assert.equal(then.status, 200, then.text);
  assert.deepEqual(then.json.items[0].data, { v: "old" });
  assert.equal(then.json.metadata.resourceVersion, before.metadata.resourceVersion);
});

test("validation errors are 422 Invalid with one cause per field path", async () => {
  const res = await api.request("POST", "/api/v1/namespaces/default/pods", {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "Bad_Name" },
    spec: { containers: [{ name: "c" }], restartPolicy: "Sometimes" },
  });
  assert.equal(res.status, 422, res.text);
  assert.equal(res.json.reason, "Invalid");
  const fields = res.json.details.causes.map((c: { field: string }) => c.field);
  assert.ok(fields.includes("metadata.name"), fields.join());
  assert.ok(fields.includes("spec.containers[0].image"), fields.join());
  assert.ok(fields.includes("spec.restartPolicy"), fields.join());
});

test("unknown fields: Strict refuses naming them, Warn drops them with a Warning header", async () => {
  const body = { ...cm("unknown-1"), bogus: 1, metadata: { name: "unknown-1", extra: "x" } };
  const strict = await api.request(
    "POST",
    "/api/v1/namespaces/default/configmaps?fieldValidation=Strict",
    body,
  );
  assert.equal(strict.status, 400, strict.text);
  assert.match(strict.json.message, /unknown field "bogus"/);
  assert.match(strict.json.message, /unknown field "metadata.extra"/);
  const warn = await api.request("POST", "/api/v1/namespaces/default/configmaps", body);
  assert.equal(warn.status, 201, warn.text);
  assert.match(String(warn.headers.warning), /unknown field \\"bogus\\"/);
  assert.equal(warn.json.bogus, undefined);
  const stored = await api.request("GET", "/api/v1/namespaces/default/configmaps/unknown-1");
  assert.equal(stored.json.bogus, undefined);
});

test("malformed bodies and requests get a 4xx Status naming the problem", async () => {
  const cases: [string, string, string | undefined, string, number, RegExp][] = [
    [
      "POST",
      "/api/v1/namespaces/default/configmaps",
      "{not json",
      "application/json",
      400,
      /error decoding/,
    ],
    [
      "POST",
      "/api/v1/namespaces/default/configmaps",
      "[1,2]",
      "application/json",
      400,
      /JSON object/,
    ],
    [
      "POST",
      "/api/v1/namespaces/default/configmaps",
      JSON.stringify(cm("x")),
      "application/cbor",
      415,
      /application\/json, application\/yaml, application\/vnd\.kubernetes\.protobuf/,
    ],
    [
      "POST",
      "/api/v1/namespaces/default/configmaps",
      JSON.stringify(cm("x")),
      "application/vnd.kubernetes.protobuf",
      400,
      /^error decoding body: protobuf: the body does not start with the protobuf magic/,
    ],
    [
      "POST",
      "/api/v1/namespaces/default/configmaps",
      JSON.stringify({ ...cm("x"), apiVersion: "apps/v1" }),
      "application/json",
      400,
      /API version/,
    ],
    [
      "POST",
      "/api/v1/namespaces/default/configmaps",
      JSON.stringify({ ...cm("x"), kind: "Secret" }),
      "application/json",
      400,
      /kind/,
    ],
    [
      "POST",
      "/api/v1/namespaces/default/configmaps",
      JSON.stringify({ ...cm("x"), metadata: { name: "x", namespace: "other" } }),
      "application/json",
      400,
      /namespace/,
    ],
    [
      "GET",
      "/api/v1/namespaces/default/widgets",
      undefined,
      "application/json",
      404,
      /could not find/,
    ],
    [
      "GET",
      "/api/v1/namespaces/default/configmaps/none-such",
      undefined,
      "application/json",
      404,
      /configmaps "none-such" not found/,
    ],
    [
      "GET",
      "/api/v1/namespaces/default/configmaps?limit=abc",
      undefined,
      "application/json",
      400,
      /limit/,
    ],
    [
      "GET",
      "/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=abc",
      undefined,
      "application/json",
      400,
      /resource version/,
    ],
    [
      "POST",
      "/api/v1/namespaces/nope/configmaps",
      JSON.stringify(cm("x")),
      "application/json",
      404,
      /namespaces "nope" not found/,
    ],
  ];
  for (const [method, path, body, type, code, message] of cases) {
    const res = await api.request(
      method,
      path,
      undefined,
      body === undefined ? {} : { rawBody: body, contentType: type },
    );
    assert.equal(res.status, code, `${method} ${path} ${body ?? ""}: ${res.text}`);
    assert.equal(res.json.kind, "Status");
    assert.match(res.json.message, message);
  }
  const big = await api.request("POST", "/api/v1/namespaces/default/configmaps", undefined, {
    rawBody: JSON.stringify(cm("big", { a: "x".repeat(4 * 1024 * 1024) })),
  });
  assert.equal(big.status, 413);
  assert.equal(big.json.reason, "RequestEntityTooLarge");
});

test("anonymous requests get 401 except for health and version; tokens from the token file work", async () => {
  const anon = await api.request("GET", "/api/v1/namespaces", undefined, { auth: "none" });
  assert.equal(anon.status, 401);
  assert.equal(anon.json.reason, "Unauthorized");
  assert.equal((await api.request("GET", "/healthz", undefined, { auth: "none" })).text, "ok");
  assert.equal(
    (await api.request("GET", "/version", undefined, { auth: "none" })).json.minor,
    "31",
  );
  const forbidden = await api.request("GET", "/api/v1/namespaces", undefined, {
    auth: { token: aliceToken },
  });
  assert.equal(forbidden.status, 403, "alice is known but holds no role yet");
  assert.match(forbidden.json.message, /User "alice" cannot list resource "namespaces"/);
  await grant("crud-ops", { kind: "Group", name: "ops" }, [
    { verbs: ["list", "create", "get"], apiGroups: [""], resources: ["namespaces", "configmaps"] },
  ]);
  const good = await api.request("GET", "/api/v1/namespaces", undefined, {
    auth: { token: aliceToken },
  });
  assert.equal(good.status, 200, good.text);
  assert.equal(good.json.kind, "NamespaceList");
  const created = await api.request(
    "POST",
    "/api/v1/namespaces/default/configmaps",
    cm("by-token"),
    {
      auth: { token: aliceToken },
    },
  );
  assert.equal(created.status, 201, created.text);
  // Not in the file: a wrong token, one of the same length, a prefix of the right one.
  for (const token of ["nope", aliceToken.replace(/f$/, "e"), aliceToken.slice(0, -1)]) {
    const bad = await api.request("GET", "/api/v1/namespaces", undefined, { auth: { token } });
    assert.equal(bad.status, 401, token);
    assert.equal(bad.json.reason, "Unauthorized");
  }
});

test("a token file line gives the user, uid and quoted groups; a short line is refused by line number", () => {
  const users = parseTokenFile(`# comment\n\nt1,alice,u1,"dev,ops"\nt2,bob,u2\n`, "tokens.csv");
  assert.deepEqual(users.get("t1"), { name: "alice", uid: "u1", groups: ["dev", "ops"] });
  assert.deepEqual(users.get("t2"), { name: "bob", uid: "u2", groups: [] });
  assert.throws(
    () => parseTokenFile("t1,alice,u1\nt2,bob\n", "tokens.csv"),
    /^Error: tokens\.csv:2: want token,user,uid/,
  );
});

test("deleting a configmap removes it; deleting again is 404", async () => {
  await api.request("POST", "/api/v1/namespaces/default/configmaps", cm("del-1"));
  const del = await api.request("DELETE", "/api/v1/namespaces/default/configmaps/del-1", {
    propagationPolicy: "Background",
  });
  assert.equal(del.status, 200, del.text);
  assert.equal(del.json.metadata.name, "del-1");
  assert.equal(
    (await api.request("GET", "/api/v1/namespaces/default/configmaps/del-1")).status,
    404,
  );
  assert.equal(
    (await api.request("DELETE", "/api/v1/namespaces/default/configmaps/del-1")).status,
    404,
  );
});

test("finalizers hold a deleted object until they are removed", async () => {
  await api.request("POST", "/api/v1/namespaces/default/configmaps", {
    ...cm("fin-1"),
    metadata: { name: "fin-1", finalizers: ["example.com/hold"] },
  });
  const del = await api.request("DELETE", "/api/v1/namespaces/default/configmaps/fin-1");
  assert.equal(del.status, 202);
  const held = await api.request("GET", "/api/v1/namespaces/default/configmaps/fin-1");
  assert.ok(held.json.metadata.deletionTimestamp);
  const added = await api.request(
    "PATCH",
    "/api/v1/namespaces/default/configmaps/fin-1",
    { metadata: { finalizers: ["example.com/hold", "x/y"] } },
    { contentType: "application/merge-patch+json" },
  );
  assert.equal(added.status, 403, added.text);
  const released = await api.request(
    "PATCH",
    "/api/v1/namespaces/default/configmaps/fin-1",
    { metadata: { finalizers: null } },
    { contentType: "application/merge-patch+json" },
  );
  assert.equal(released.status, 200, released.text);
  assert.equal(
    (await api.request("GET", "/api/v1/namespaces/default/configmaps/fin-1")).status,
    404,
  );
});

test("foreground and orphan deletion leave their finalizer for the garbage collector", async () => {
  await api.request("POST", "/apis/apps/v1/namespaces/default/deployments", deployment("fg-d"));
  const fg = await api.request("DELETE", "/apis/apps/v1/namespaces/default/deployments/fg-d", {
    propagationPolicy: "Foreground",
  });
  assert.equal(fg.status, 202, fg.text);
  assert.deepEqual(fg.json.metadata.finalizers, ["foregroundDeletion"]);
  await api.request("POST", "/apis/apps/v1/namespaces/default/deployments", deployment("or-d"));
  const or = await api.request("DELETE", "/apis/apps/v1/namespaces/default/deployments/or-d", {
    propagationPolicy: "Orphan",
  });
  assert.deepEqual(or.json.metadata.finalizers, ["orphan"]);
});

test("a scheduled pod is deleted gracefully; grace 0 removes it at once", async () => {
  const pod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "grace-1" },
    spec: { nodeName: "n1", containers: [{ name: "c", image: "skiff.local/busybox:1.36" }] },
  };
  const created = await api.request("POST", "/api/v1/namespaces/default/pods", pod);
  assert.equal(created.status, 201, created.text);
  assert.equal(created.json.status.phase, "Pending");
  assert.equal(created.json.status.qosClass, "BestEffort");
  const del = await api.request("DELETE", "/api/v1/namespaces/default/pods/grace-1", {
    gracePeriodSeconds: 30,
  });
  assert.equal(del.status, 202);
  assert.equal(del.json.metadata.deletionGracePeriodSeconds, 30);
  assert.equal((await api.request("GET", "/api/v1/namespaces/default/pods/grace-1")).status, 200);
  const now = await api.request("DELETE", "/api/v1/namespaces/default/pods/grace-1", {
    gracePeriodSeconds: 0,
  });
  assert.equal(now.status, 200, now.text);
  assert.equal((await api.request("GET", "/api/v1/namespaces/default/pods/grace-1")).status, 404);
});

test("pods/binding assigns a node once; a second binding is a conflict", async () => {
  const pod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "bind-1" },
    spec: { containers: [{ name: "c", image: "skiff.local/busybox:1.36" }] },
  };
  await api.request("POST", "/api/v1/namespaces/default/pods", pod);
  const binding = {
    apiVersion: "v1",
    kind: "Binding",
    metadata: { name: "bind-1" },
    target: { apiVersion: "v1", kind: "Node", name: "node-a" },
  };
  const res = await api.request("POST", "/api/v1/namespaces/default/pods/bind-1/binding", binding);
  assert.equal(res.status, 201, res.text);
  const got = (await api.request("GET", "/api/v1/namespaces/default/pods/bind-1")).json;
  assert.equal(got.spec.nodeName, "node-a");
  assert.equal(
    got.status.conditions.find((c: { type: string }) => c.type === "PodScheduled").status,
    "True",
  );
  const again = await api.request("POST", "/api/v1/namespaces/default/pods/bind-1/binding", {
    ...binding,
    target: { ...binding.target, name: "node-b" },
  });
  assert.equal(again.status, 409);
  assert.match(again.json.message, /already assigned/);
});

test("a terminating namespace refuses new content", async () => {
  await api.request("POST", "/api/v1/namespaces", {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name: "doomed" },
  });
  const del = await api.request("DELETE", "/api/v1/namespaces/doomed");
  assert.equal(del.status, 202, del.text);
  assert.equal(del.json.status.phase, "Terminating");
  const res = await api.request("POST", "/api/v1/namespaces/doomed/configmaps", cm("late"));
  assert.equal(res.status, 403);
  assert.match(res.json.message, /being terminated/);
});

test("a TokenRequest token authenticates as its service account until the account is gone", async () => {
  await api.request("POST", "/api/v1/namespaces/default/serviceaccounts", {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: { name: "robot" },
  });
  const res = await api.request("POST", "/api/v1/namespaces/default/serviceaccounts/robot/token", {
    apiVersion: "authentication.k8s.io/v1",
    kind: "TokenRequest",
    spec: { expirationSeconds: 3600 },
  });
  assert.equal(res.status, 201, res.text);
  const token = res.json.status.token as string;
  assert.equal(token.split(".").length, 3);
  const claims = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString());
  assert.equal(claims.sub, "system:serviceaccount:default:robot");
  await grant("crud-robot", { kind: "ServiceAccount", name: "robot", namespace: "default" }, [
    { verbs: ["list"], apiGroups: [""], resources: ["configmaps"] },
  ]);
  const asRobot = await api.request("GET", "/api/v1/namespaces/default/configmaps", undefined, {
    auth: { token },
  });
  assert.equal(asRobot.status, 200, asRobot.text);
  const tooShort = await api.request(
    "POST",
    "/api/v1/namespaces/default/serviceaccounts/robot/token",
    {
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenRequest",
      spec: { expirationSeconds: 10 },
    },
  );
  assert.equal(tooShort.status, 422);
  await api.request("DELETE", "/api/v1/namespaces/default/serviceaccounts/robot");
  const afterDelete = await api.request("GET", "/api/v1/namespaces/default/configmaps", undefined, {
    auth: { token },
  });
  assert.equal(afterDelete.status, 401);
  const forged = await api.request("GET", "/api/v1/namespaces/default/configmaps", undefined, {
    auth: { token: token.slice(0, -4) + "AAAA" },
  });
  assert.equal(forged.status, 401);
});

test("/metrics reports requests by verb, resource and code, latency, watches and etcd latency", async () => {
  await api.request("GET", "/api/v1/namespaces/default/configmaps/none-such-for-metrics");
  const res = await api.request("GET", "/metrics");
  assert.equal(res.status, 200);
  assert.match(
    res.text,
    /apiserver_request_total\{verb="GET",group="",resource="configmaps",subresource="",code="404"\} \d+/,
  );
  assert.match(
    res.text,
    /apiserver_request_duration_seconds_bucket\{le="0\.005",verb="POST",group="",resource="configmaps"/,
  );
  assert.match(res.text, /etcd_request_duration_seconds_count\{operation="create"\} \d+/);
  assert.match(res.text, /# TYPE apiserver_longrunning_requests gauge/);
  // What the watch caches hold: the namespaces the server made itself at least, and a history.
  const held = (name: string, resource: string) =>
    Number(
      new RegExp(`^${name}\\{group="",resource="${resource}"\\} (\\d+)`, "m").exec(res.text)?.[1],
    );
  assert.ok(held("apiserver_storage_objects", "namespaces") >= 3, res.text.slice(0, 200));
  assert.ok(held("apiserver_storage_objects", "configmaps") >= 1);
  assert.ok(held("apiserver_watch_cache_history_events", "configmaps") >= 1);
  assert.equal((await api.request("GET", "/metrics", undefined, { auth: "none" })).status, 401);
});

test("concurrent patches without a resourceVersion all apply; a patch naming a stale one is a conflict", async () => {
  await api.request("POST", "/api/v1/namespaces/default/configmaps", cm("busy", {}));
  const results = await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      api.request(
        "PATCH",
        "/api/v1/namespaces/default/configmaps/busy",
        { data: { [`k${i}`]: String(i) } },
        { contentType: "application/merge-patch+json" },
      ),
    ),
  );
  for (const r of results) assert.equal(r.status, 200, r.text);
  const got = await api.request("GET", "/api/v1/namespaces/default/configmaps/busy");
  assert.equal(Object.keys(got.json.data).length, 20);
  const stale = await api.request(
    "PATCH",
    "/api/v1/namespaces/default/configmaps/busy",
    { metadata: { resourceVersion: "1" }, data: { x: "y" } },
    { contentType: "application/merge-patch+json" },
  );
  assert.equal(stale.status, 409);
});

test("namespaces/{name}/finalize clears the finalizers and the terminating namespace disappears", async () => {
  await api.request("POST", "/api/v1/namespaces", {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name: "finalized" },
  });
  await api.request("DELETE", "/api/v1/namespaces/finalized");
  const ns = (await api.request("GET", "/api/v1/namespaces/finalized")).json;
  assert.deepEqual(ns.spec.finalizers, ["kubernetes"]);
  const status = await api.request("GET", "/api/v1/namespaces/finalized/status");
  assert.equal(status.status, 200, status.text);
  // Other changes leave it terminating.
  const labeled = await api.request(
    "PATCH",
    "/api/v1/namespaces/finalized",
    { metadata: { labels: { a: "b" } } },
    { contentType: "application/merge-patch+json" },
  );
  assert.equal(labeled.status, 200, labeled.text);
  assert.equal(
    (await api.request("GET", "/api/v1/namespaces/finalized")).json.status.phase,
    "Terminating",
  );
  const fresh = (await api.request("GET", "/api/v1/namespaces/finalized")).json;
  const res = await api.request("PUT", "/api/v1/namespaces/finalized/finalize", {
    ...fresh,
    spec: { finalizers: [] },
  });
  assert.equal(res.status, 200, res.text);
  assert.equal((await api.request("GET", "/api/v1/namespaces/finalized")).status, 404);
});

test("after etcd compacts past them, a LIST at an old resourceVersion and an old continue token get 410 Expired", async () => {
  await api.request("POST", "/api/v1/namespaces", {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name: "compacted" },
  });
  for (const name of ["c-0", "c-1", "c-2"])
    await api.request("POST", "/api/v1/namespaces/compacted/configmaps", cm(name));
  const path = "/api/v1/namespaces/compacted/configmaps";
  const first = await api.request("GET", `${path}?limit=2`);
  const { resourceVersion: oldRv, continue: oldContinue } = first.json.metadata;
  assert.ok(oldContinue);
  await api.request("POST", path, cm("c-3"));
  // Before compaction, the old revision is still readable: it does not hold c-3.
  const atOld = await api.request("GET", `${path}?resourceVersion=${oldRv}&limit=10`);
  assert.equal(atOld.status, 200, atOld.text);
  assert.equal(atOld.json.items.length, 3);

  const etcd = new Etcd3({ hosts: api.etcdEndpoints });
  try {
    const head = Number((await etcd.kv.range({ key: Buffer.from("/") })).header.revision);
    await etcd.kv.compact({ revision: String(head), physical: true });
  } finally {
    etcd.close();
  }
  const list = await api.request("GET", `${path}?resourceVersion=${oldRv}&limit=10`);
  assert.equal(list.status, 410, list.text);
  assert.equal(list.json.kind, "Status");
  assert.equal(list.json.reason, "Expired");
  assert.equal(list.json.message, "The resourceVersion for the provided list is too old.");
  const next = await api.request("GET", `${path}?limit=2&continue=${oldContinue}`);
  assert.equal(next.status, 410, next.text);
  assert.equal(next.json.reason, "Expired");
  assert.equal(
    next.json.message,
    "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
  );
  // A fresh list still works.
  const fresh = await api.request("GET", path);
  assert.equal(fresh.status, 200, fresh.text);
  assert.equal(fresh.json.items.length, 4);
});
