// Compatibility with the official Kubernetes Python client (Debian's python3-kubernetes):
// it spells booleans as Python does (watch=True), so this also checks that query
// parameters are read as Kubernetes reads them.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { spawnJsonLines, startApiserver, type TestApiserver } from "@skiff/testing";

const script = fileURLToPath(new URL("./fixtures/python-client.py", import.meta.url));
const informerScript = fileURLToPath(new URL("./fixtures/python-informer.py", import.meta.url));
// Debian's interpreter, which has python3-kubernetes (a pyenv python3 on PATH may not).
const python = "/usr/bin/python3";

let api: TestApiserver;
before(async () => {
  api = await startApiserver();
});
after(async () => {
  await api?.stop();
});

function runPython(namespace: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    execFile(python, [script, api.kubeconfig, namespace], { timeout: 60_000 }, (err, out, e) => {
      if (err) reject(new Error(`python client failed: ${e}\n${out}`));
      else resolve(JSON.parse(out) as Record<string, unknown>);
    });
  });
}

test("the Python client lists, watches, creates, replaces, patches and deletes, and sees Kubernetes errors", async () => {
  const out = await runPython("py-client");
  assert.deepEqual(out.created, { name: "one", data: { a: "1" }, hasTimestamp: true });
  assert.deepEqual(out.listed, ["one"]);
  assert.deepEqual(out.listedNone, []);
  assert.deepEqual(out.replaced, { a: "1", b: "2" });
  assert.deepEqual(out.patched, { a: "1", b: "2", c: "3" });
  assert.deepEqual(out.jsonPatched, { b: "2", c: "3" });
  assert.deepEqual(out.deployment, { replicas: 2, strategy: "RollingUpdate" });
  assert.deepEqual(out.deploymentsAll, ["web"]);
  assert.deepEqual(out.events, [
    ["ADDED", "two", "1"],
    ["MODIFIED", "two", "2"],
    ["DELETED", "two", "2"],
  ]);
  const err = (k: string) => out[k] as Record<string, unknown>;
  assert.equal(err("conflict").status, 409);
  assert.equal(err("conflict").statusReason, "Conflict");
  assert.equal(err("duplicate").status, 409);
  assert.equal(err("duplicate").reason, "Conflict");
  assert.equal(err("duplicate").statusReason, "AlreadyExists");
  assert.equal(err("missing").status, 404);
  assert.equal(err("missing").reason, "Not Found");
  assert.equal(err("missing").statusReason, "NotFound");
  assert.equal(err("missing").message, 'configmaps "nope" not found');
  assert.equal(err("invalid").status, 422);
  assert.equal(err("invalid").statusReason, "Invalid");
  assert.match(String(err("invalid").message), /metadata\.name/);
  assert.equal(err("afterDelete").status, 404);
  assert.equal(err("deleteMissing").status, 404);
  assert.equal(err("deleteMissing").statusReason, "NotFound");
  assert.equal(err("expired").status, 410);
  assert.match(String(err("expired").reason), /^Expired: /);
});

test("boolean query parameters are read as Go's strconv.ParseBool, integers as ParseInt", async () => {
  for (const spelling of ["1", "t", "T", "TRUE", "true", "True"]) {
    const r = await api.request(
      "GET",
      `/api/v1/namespaces/default/configmaps?watch=${spelling}&timeoutSeconds=%2B1`,
    );
    assert.equal(r.status, 200, spelling);
    assert.equal(r.headers["transfer-encoding"], "chunked", `watch=${spelling} is a watch`);
  }
  for (const spelling of ["0", "f", "F", "FALSE", "false", "False"]) {
    const r = await api.request("GET", `/api/v1/namespaces/default/configmaps?watch=${spelling}`);
    assert.equal(r.status, 200, spelling);
    assert.equal(r.json.kind, "ConfigMapList", `watch=${spelling} is a list`);
  }
  const bad = await api.request("GET", "/api/v1/namespaces/default/configmaps?watch=yes");
  assert.equal(bad.status, 400);
  assert.equal(bad.json.message, 'invalid value for query parameter watch: "yes" is not a boolean');
  const badInt = await api.request("GET", "/api/v1/namespaces/default/configmaps?limit=1.5");
  assert.equal(badInt.status, 400);
  assert.match(badInt.json.message, /limit: "1.5" is not an integer/);
  const unknown = await api.request(
    "GET",
    "/api/v1/namespaces/default/configmaps?pretty=True&nosuchparameter=1&limit=%2B2",
  );
  assert.equal(unknown.status, 200, "unknown parameters are ignored");
  assert.equal(unknown.json.kind, "ConfigMapList");
});

test("a Python informer (list + watch + re-watch) stays in sync through an apiserver restart with writes while it is down", async () => {
  const ns = "py-informer";
  await api.request("POST", "/api/v1/namespaces", { metadata: { name: ns } });
  const cms = `/api/v1/namespaces/${ns}/configmaps`;
  await api.request("POST", cms, { metadata: { name: "before" }, data: { v: "0" } });
  const informer = spawnJsonLines<{ event: string; state: Record<string, string> }>(python, [
    informerScript,
    api.kubeconfig,
    ns,
  ]);
  const stateIs = (want: Record<string, string>, what: string) =>
    informer.waitFor(
      (l) => JSON.stringify(l.state) === JSON.stringify(want),
      20_000,
      what,
      Math.max(0, informer.lines.length - 1),
    );
  try {
    await stateIs({ before: "0" }, "the initial list");
    await api.request("POST", cms, { metadata: { name: "a" }, data: { v: "1" } });
    await stateIs({ before: "0", a: "1" }, "a watch event");
    // While the apiserver the informer watches is down, writes land through another one on
    // the same etcd; the informer must catch up once its apiserver is back.
    const other = await startApiserver({ etcdEndpoints: api.etcdEndpoints });
    try {
      await api.restart(async () => {
        const merge = { contentType: "application/merge-patch+json" };
        await other.request("PATCH", `${cms}/a`, { data: { v: "2" } }, merge);
        await other.request("POST", cms, { metadata: { name: "b" }, data: { v: "1" } });
        await other.request("DELETE", `${cms}/before`);
      });
    } finally {
      await other.stop();
    }
    await stateIs({ a: "2", b: "1" }, "the changes made while the apiserver was down");
    await api.request("POST", cms, { metadata: { name: "c" }, data: { v: "1" } });
    await stateIs({ a: "2", b: "1", c: "1" }, "a change made after the restart");
    assert.ok(
      informer.lines.some((s) => s.event === "reconnecting" || s.event === "relisted"),
      "the restart broke the stream and the informer watched again",
    );
  } finally {
    await informer.stop();
  }
});
