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
  await informer.start();
  try {
    const names = Array.from({ length: 50 }, (_, i) => `cm-${i}`);
    let changes = 0;
    const step = async (i: number): Promise<void> => {
      const name = names[i % names.length]!;
      const round = Math.floor(i / names.length);
      if (round % 4 === 3) {
        await core.deleteNamespacedConfigMap({ name, namespace: ns }).catch(() => {});
      } else if (round % 4 === 0) {
        await core
          .createNamespacedConfigMap({
            namespace: ns,
            body: { metadata: { name }, data: { v: `${i}` } },
          })
          .catch(() => {});
      } else {
        await core
          .patchNamespacedConfigMap(
            { name, namespace: ns, body: { data: { v: `${i}` } } },
            k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
          )
          .catch(() => {});
      }
      changes++;
    };
    // 1,000 changes, 10 at a time.
    for (let i = 0; i < 1000; i += 10)
      await Promise.all(Array.from({ length: 10 }, (_, j) => step(i + j)));
    assert.equal(changes, 1000);
    const want = await serverView(ns);
    await eventually(
      () => JSON.stringify([...informerView(informer)].sort()) === JSON.stringify([...want].sort()),
      10_000,
      "informer to match after 1,000 changes",
    );

    await api.restart();
    for (let i = 1000; i < 1200; i += 10)
      await Promise.all(Array.from({ length: 10 }, (_, j) => step(i + j)));
    const after = await serverView(ns);
    await eventually(
      () =>
        JSON.stringify([...informerView(informer)].sort()) === JSON.stringify([...after].sort()),
      15_000,
      "informer to match after the restart",
    );
  } finally {
    stopped = true;
    await informer.stop();
  }
});
