// Informers against a real apiserver: the cache follows many concurrent changes, and a
// forced relist (a watch refused with 410 after an apiserver restart) reports the objects
// it missed as DeletedFinalStateUnknown.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startApiserver, type TestApiserver } from "@skiff/testing";
import { resourceInfo } from "@skiff/api";
import {
  RestClient,
  SharedInformer,
  SharedInformerFactory,
  DeletedFinalStateUnknown,
  Watch,
  loadKubeconfig,
  silentLogger,
  type KubeObject,
  type ListerWatcher,
  type WatchOptions,
} from "@skiff/client";

let api: TestApiserver;
let client: RestClient;
before(async () => {
  api = await startApiserver();
  client = new RestClient(loadKubeconfig({ kubeconfig: api.kubeconfig, env: {} }), {});
});
after(async () => {
  client?.close();
  await api?.stop();
});

const configmaps = resourceInfo("", "v1", "configmaps");
const namespaces = resourceInfo("", "v1", "namespaces");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fast = { initialBackoffMs: 100, maxBackoffMs: 500 };

async function until(
  what: string,
  ok: () => boolean | Promise<boolean>,
  ms = 15_000,
): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** The server's view, as key → resourceVersion. */
async function serverState(ns: string): Promise<Map<string, string>> {
  const list = await client.resource(configmaps).namespace(ns).list();
  return new Map(list.items.map((o) => [`${ns}/${o.metadata.name}`, o.metadata.resourceVersion!]));
}

function cacheState(inf: SharedInformer): Map<string, string> {
  return new Map(
    inf.store
      .list()
      .map((o) => [`${o.metadata.namespace}/${o.metadata.name}`, o.metadata.resourceVersion!]),
  );
}

test("an informer's cache follows many concurrent creates, updates and deletes", async () => {
  await client.resource(namespaces).create({ metadata: { name: "churn" } });
  const factory = new SharedInformerFactory(client, { logger: silentLogger });
  const inf = factory.forResource(configmaps, { namespace: "churn" });
  assert.equal(
    factory.forResource(configmaps, { namespace: "churn" }),
    inf,
    "same arguments, same informer",
  );
  assert.notEqual(factory.forResource(configmaps, { namespace: "other" }), inf);

  const lastSeen = new Map<string, string>();
  const order: string[] = [];
  inf.addEventHandler({
    add: (o) => lastSeen.set(o.metadata.name!, o.metadata.resourceVersion!),
    update: (old, o) => {
      // events for one object arrive in order: resourceVersions only grow
      if (Number(o.metadata.resourceVersion) < Number(old.metadata.resourceVersion))
        order.push(`${o.metadata.name} went back`);
      lastSeen.set(o.metadata.name!, o.metadata.resourceVersion!);
    },
    delete: (o) =>
      lastSeen.delete(
        o instanceof DeletedFinalStateUnknown ? o.obj.metadata.name! : o.metadata.name!,
      ),
  });
  const cms = client.resource(configmaps).namespace("churn");
  for (let i = 0; i < 10; i++) await cms.create({ metadata: { name: `pre-${i}` } });
  factory.start();
  assert.equal(await factory.waitForCacheSync(10_000), true);
  assert.equal(inf.store.size, 10);

  await Promise.all(
    Array.from({ length: 30 }, async (_, i) => {
      const name = `cm-${i}`;
      await cms.create({ metadata: { name }, data: { v: "0" } } as KubeObject);
      for (let v = 1; v <= 3; v++) await cms.patch(name, { data: { v: String(v) } }, "merge");
      if (i % 3 === 0) await cms.delete(name);
    }),
  );
  for (let i = 0; i < 5; i++) await cms.delete(`pre-${i}`);

  const want = await serverState("churn");
  assert.equal(want.size, 25);
  await until(
    "the cache to match the server",
    () => JSON.stringify([...cacheState(inf)].sort()) === JSON.stringify([...want].sort()),
  );
  assert.deepEqual(
    new Map([...lastSeen].map(([n, rv]) => [`churn/${n}`, rv])),
    want,
    "handlers saw the final state",
  );
  assert.deepEqual(order, []);
  factory.stop();
});

/**
 * A ListerWatcher over the real resource client whose watches the test can hold back,
 * so the informer is blind while the test changes things, then reconnects.
 */
class GatedListerWatcher implements ListerWatcher<KubeObject> {
  private open = true;
  private release: (() => void)[] = [];
  private current: Watch | undefined;
  constructor(private readonly inner = client.resource(configmaps).namespace("relist")) {}
  list = (opts: Parameters<ListerWatcher<KubeObject>["list"]>[0]) => this.inner.list(opts);
  watch(opts: WatchOptions): Watch {
    const gate = this.open ? Promise.resolve() : new Promise<void>((r) => this.release.push(r));
    const w = new Watch(async (signal) => {
      await gate;
      if (signal.aborted) throw new Error("stopped");
      return client.stream("GET", this.inner.path(), { query: { ...opts, watch: true }, signal });
    });
    this.current = w;
    return w;
  }
  close(): void {
    this.open = false;
    this.current?.stop();
  }
  reopen(): void {
    this.open = true;
    for (const r of this.release.splice(0)) r();
  }
}

test("a forced relist after missed changes delivers tombstones, adds and updates, then keeps watching", async () => {
  await client.resource(namespaces).create({ metadata: { name: "relist" } });
  const cms = client.resource(configmaps).namespace("relist");
  for (const n of ["stays", "changes", "vanishes"]) await cms.create({ metadata: { name: n } });
  const lw = new GatedListerWatcher();
  const inf = new SharedInformer(lw, { logger: silentLogger, reflector: fast });
  const events: string[] = [];
  inf.addEventHandler({
    add: (o) => events.push(`add ${o.metadata.name}`),
    update: (old, o) =>
      events.push(
        `update ${o.metadata.name}${old.metadata.resourceVersion === o.metadata.resourceVersion ? "" : " changed"}`,
      ),
    delete: (o) =>
      events.push(
        o instanceof DeletedFinalStateUnknown ? `tombstone ${o.key}` : `delete ${o.metadata.name}`,
      ),
  });
  inf.start();
  assert.equal(await inf.waitForSync(10_000), true);
  await sleep(200); // let the first watch connect
  events.length = 0;

  lw.close(); // the informer goes blind
  await cms.delete("vanishes");
  await cms.patch("changes", { data: { x: "1" } }, "merge");
  await cms.create({ metadata: { name: "appears" } });
  await api.restart(); // the new watch cache only knows history from now: the old resourceVersion is Gone
  lw.reopen();

  await until("the relist", () => events.includes("tombstone relist/vanishes"));
  await until(
    "the cache to match the server",
    async () =>
      JSON.stringify([...cacheState(inf)].sort()) ===
      JSON.stringify([...(await serverState("relist"))].sort()),
  );
  assert.deepEqual(events.sort(), [
    "add appears",
    "tombstone relist/vanishes",
    "update changes changed",
    "update stays",
  ]);

  events.length = 0;
  await cms.delete("stays");
  await until("the watch after the relist to deliver", () => events.includes("delete stays"));
  inf.stop();
});
