// Compatibility with a client nobody here wrote: @kubernetes/client-node (CRUD and an
// informer that must stay exactly in sync through many changes and an apiserver restart).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as k8s from "@kubernetes/client-node";
import { startApiserver, type TestApiserver } from "@skiff/testing";

let api: TestApiserver;
let kc: k8s.KubeConfig;
let core: k8s.CoreV1Api;
before(async () => {
  api = await startApiserver();
  kc = new k8s.KubeConfig();
  kc.loadFromFile(api.kubeconfig);
  core = kc.makeApiClient(k8s.CoreV1Api);
});
after(async () => {
  await api?.stop();
});

test("client-node creates, reads, replaces, patches and deletes, and sees Kubernetes errors", async () => {
  await core.createNamespace({ body: { metadata: { name: "cn-crud" } } });
  const created = await core.createNamespacedConfigMap({
    namespace: "cn-crud",
    body: { metadata: { name: "one" }, data: { a: "1" } },
  });
  assert.ok(created.metadata?.uid);
  const read = await core.readNamespacedConfigMap({ name: "one", namespace: "cn-crud" });
  assert.deepEqual(read.data, { a: "1" });
  read.data = { a: "2" };
  const replaced = await core.replaceNamespacedConfigMap({
    name: "one",
    namespace: "cn-crud",
    body: read,
  });
  assert.deepEqual(replaced.data, { a: "2" });
  const list = await core.listNamespacedConfigMap({ namespace: "cn-crud" });
  assert.deepEqual(
    list.items.map((i) => i.metadata?.name),
    ["one"],
  );
  await assert.rejects(
    core.createNamespacedConfigMap({ namespace: "cn-crud", body: { metadata: { name: "one" } } }),
    (err: unknown) => (err as { code?: number }).code === 409,
  );
  await assert.rejects(
    core.replaceNamespacedConfigMap({ name: "one", namespace: "cn-crud", body: created }),
    (err: unknown) => (err as { code?: number }).code === 409,
  );
  await core.deleteNamespacedConfigMap({ name: "one", namespace: "cn-crud" });
  await assert.rejects(
    core.readNamespacedConfigMap({ name: "one", namespace: "cn-crud" }),
    (err: unknown) => (err as { code?: number }).code === 404,
  );
});

/** The server's view: name → data.v for every configmap in the namespace. */
async function serverView(ns: string): Promise<Map<string, string>> {
  const list = await core.listNamespacedConfigMap({ namespace: ns });
  return new Map(list.items.map((i) => [i.metadata!.name!, i.data?.v ?? ""]));
}

function informerView(
  informer: k8s.Informer<k8s.V1ConfigMap> & k8s.ObjectCache<k8s.V1ConfigMap>,
): Map<string, string> {
  return new Map(informer.list().map((i) => [i.metadata!.name!, i.data?.v ?? ""]));
}

async function eventually(
  check: () => Promise<boolean> | boolean,
  ms: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test("a client-node informer stays exactly in sync through 1,000 changes and an apiserver restart", async () => {
  const ns = "cn-informer";
  await core.createNamespace({ body: { metadata: { name: ns } } });
  const informer = k8s.makeInformer(kc, `/api/v1/namespaces/${ns}/configmaps`, () =>
    core.listNamespacedConfigMap({ namespace: ns }),
  );
  let stopped = false;
  // client-node leaves restarting to the caller when a watch fails.
  informer.on("error", () => {
    if (!stopped) setTimeout(() => void informer.start().catch(() => {}), 300);
  });
  /** Values the informer was told about by an update event (not a relist's add). */
  const updates: string[] = [];
  informer.on("update", (cm) => updates.push(`${cm.metadata?.name}=${cm.data?.v}`));
  await informer.start();
  try {
    const names = Array.from({ length: 50 }, (_, i) => `cm-${i}`);
    const sorted = (m: Map<string, string>): string => JSON.stringify([...m].sort());
    // Round r does one thing to all 50 names: create (r%3 = 0), patch (1) or delete (2),
    // so every write must succeed, and the state after round 19 or 25 (a patch round) holds
    // all 50 with values written in that round.
    const step = async (i: number): Promise<void> => {
      const name = names[i % names.length]!;
      const round = Math.floor(i / names.length);
      if (round % 3 === 2) {
        await core.deleteNamespacedConfigMap({ name, namespace: ns });
        return;
      }
      const written =
        round % 3 === 0
          ? await core.createNamespacedConfigMap({
              namespace: ns,
              body: { metadata: { name }, data: { v: `${i}` } },
            })
          : await core.patchNamespacedConfigMap(
              { name, namespace: ns, body: { data: { v: `${i}` } } },
              k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
            );
      assert.equal(written.data?.v, `${i}`, `write ${i} to ${name}`);
    };
    const rounds = async (from: number, to: number): Promise<void> => {
      // 10 at a time; 10 divides 50, so one batch never touches a name twice.
      for (let i = from * 50; i < to * 50; i += 10)
        await Promise.all(Array.from({ length: 10 }, (_, j) => step(i + j)));
    };
    await rounds(0, 20); // 1,000 changes
    const want = await serverView(ns);
    assert.equal(want.size, 50);
    assert.equal(new Set(want.values()).size, 50, "each holds its last patch");
    await eventually(
      () => sorted(informerView(informer)) === sorted(want),
      10_000,
      "informer to match after 1,000 changes",
    );

    await api.restart();
    await rounds(20, 26); // delete, create, patch, delete, create, patch
    const after = await serverView(ns);
    assert.equal(after.size, 50);
    await eventually(
      () => sorted(informerView(informer)) === sorted(after),
      15_000,
      "informer to match after the restart",
    );
    // A change made once the informer has caught up must arrive as a watch event.
    updates.length = 0;
    await core.patchNamespacedConfigMap(
      { name: "cm-7", namespace: ns, body: { data: { v: "last" } } },
      k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
    );
    await eventually(
      () => updates.includes("cm-7=last"),
      5_000,
      "the informer's watch to deliver a change made after the restart",
    );
    assert.equal(informerView(informer).get("cm-7"), "last");
  } finally {
    stopped = true;
    await informer.stop();
  }
});
