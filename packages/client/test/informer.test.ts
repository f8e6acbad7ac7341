// The reflector and informer against a scripted in-memory ListerWatcher (a fake apiserver
// for precise control of lists, watch events and 410s; the real one is in the
// integration tests).
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  ApiError,
  Backoff,
  DeletedFinalStateUnknown,
  SharedInformer,
  Watch,
  silentLogger,
  stripManagedFields,
  type KubeList,
  type KubeObject,
  type ListOptions,
  type WatchOptions,
  type ListerWatcher,
} from "@skiff/client";
import { PassThrough } from "node:stream";

const cm = (name: string, rv: string): KubeObject => ({
  metadata: { namespace: "default", name, resourceVersion: rv },
});

/** A scripted ListerWatcher: lists come from `lists`, each watch is a stream the test writes to. */
class FakeLW implements ListerWatcher<KubeObject> {
  lists: KubeList[] = [];
  listCalls: ListOptions[] = [];
  watchCalls: WatchOptions[] = [];
  streams: PassThrough[] = [];
  private waiters: (() => void)[] = [];

  async list(opts: ListOptions): Promise<KubeList> {
    this.listCalls.push(opts);
    const next = this.lists.shift();
    if (!next)
      throw new ApiError({
        kind: "Status",
        apiVersion: "v1",
        code: 500,
        reason: "InternalError",
        message: "no list scripted",
      });
    return next;
  }

  watch(opts: WatchOptions): Watch {
    this.watchCalls.push(opts);
    const s = new PassThrough();
    this.streams.push(s);
    for (const w of this.waiters.splice(0)) w();
    return new Watch(async () => s);
  }

  async nextWatch(n: number): Promise<PassThrough> {
    while (this.streams.length < n) await new Promise<void>((r) => this.waiters.push(r));
    return this.streams[n - 1]!;
  }

  static send(s: PassThrough, type: string, object: unknown): void {
    s.write(JSON.stringify({ type, object }) + "\n");
  }
}

const tick = () => new Promise((r) => setTimeout(r, 5));
const fast = { initialBackoffMs: 5, maxBackoffMs: 20 };

test("an informer lists in pages, then watches from the list's resourceVersion with bookmarks", async () => {
  const lw = new FakeLW();
  lw.lists.push({ metadata: { resourceVersion: "10", continue: "page2" }, items: [cm("a", "5")] });
  lw.lists.push({ metadata: { resourceVersion: "10" }, items: [cm("b", "6")] });
  const inf = new SharedInformer(lw, { logger: silentLogger, reflector: { pageSize: 1, ...fast } });
  const adds: string[] = [];
  inf.addEventHandler({ add: (o, initial) => adds.push(`${o.metadata.name}:${initial}`) });
  inf.start();
  assert.equal(await inf.waitForSync(1000), true);
  assert.deepEqual(adds, ["a:true", "b:true"]);
  assert.deepEqual(
    lw.listCalls.map((c) => [c.limit, c.continue]),
    [
      [1, undefined],
      [1, "page2"],
    ],
  );
  await lw.nextWatch(1);
  assert.equal(lw.watchCalls[0]!.resourceVersion, "10");
  assert.equal(lw.watchCalls[0]!.allowWatchBookmarks, true);
  const timeout = lw.watchCalls[0]!.timeoutSeconds!;
  assert.ok(
    timeout >= 300 && timeout < 600,
    `watch timeout ${timeout} s is randomized in [300, 600)`,
  );
  inf.stop();
});

test("the cache is updated before handlers hear of a change, and events arrive in order", async () => {
  const lw = new FakeLW();
  lw.lists.push({ metadata: { resourceVersion: "1" }, items: [] });
  const inf = new SharedInformer(lw, { logger: silentLogger, reflector: fast });
  const seen: string[] = [];
  inf.addEventHandler({
    add: (o) =>
      seen.push(
        `add ${o.metadata.name} cached=${inf.lister().namespace("default").get(o.metadata.name!) === o}`,
      ),
    update: (old, o) =>
      seen.push(
        `update ${old.metadata.resourceVersion}->${o.metadata.resourceVersion} cached=${inf.store.get("default/a") === o}`,
      ),
    delete: (o) =>
      seen.push(
        `delete ${o instanceof DeletedFinalStateUnknown ? "tombstone" : o.metadata.name} cached=${inf.store.has("default/a")}`,
      ),
  });
  inf.start();
  const s = await lw.nextWatch(1);
  FakeLW.send(s, "ADDED", cm("a", "2"));
  FakeLW.send(s, "MODIFIED", cm("a", "3"));
  FakeLW.send(s, "BOOKMARK", { metadata: { resourceVersion: "7" } });
  FakeLW.send(s, "DELETED", cm("a", "8"));
  await tick();
  assert.deepEqual(seen, ["add a cached=true", "update 2->3 cached=true", "delete a cached=false"]);
  assert.equal(inf.lastSyncResourceVersion, "8");
  inf.stop();
});

test("when a watch ends the next resumes from the last resourceVersion seen, bookmarks included", async () => {
  const lw = new FakeLW();
  lw.lists.push({ metadata: { resourceVersion: "1" }, items: [] });
  const inf = new SharedInformer(lw, { logger: silentLogger, reflector: fast });
  inf.start();
  const s1 = await lw.nextWatch(1);
  FakeLW.send(s1, "ADDED", cm("a", "2"));
  FakeLW.send(s1, "BOOKMARK", { metadata: { resourceVersion: "5" } });
  s1.end();
  await lw.nextWatch(2);
  assert.equal(lw.watchCalls[1]!.resourceVersion, "5");
  assert.equal(lw.listCalls.length, 1, "no relist for a watch that simply ended");
  inf.stop();
});

test("a 410 ERROR event makes it relist, and objects that vanished arrive as DeletedFinalStateUnknown", async () => {
  const lw = new FakeLW();
  lw.lists.push({ metadata: { resourceVersion: "10" }, items: [cm("keep", "3"), cm("gone", "4")] });
  lw.lists.push({
    metadata: { resourceVersion: "50" },
    items: [cm("keep", "40"), cm("new", "45")],
  });
  const inf = new SharedInformer(lw, { logger: silentLogger, reflector: fast });
  const events: string[] = [];
  inf.addEventHandler({
    add: (o) => events.push(`add ${o.metadata.name}`),
    update: (old, o) =>
      events.push(
        `update ${o.metadata.name} ${old.metadata.resourceVersion}->${o.metadata.resourceVersion}`,
      ),
    delete: (o) =>
      events.push(
        o instanceof DeletedFinalStateUnknown
          ? `tombstone ${o.key} rv=${o.obj.metadata.resourceVersion}`
          : `delete ${o.metadata.name}`,
      ),
  });
  inf.start();
  const s = await lw.nextWatch(1);
  events.length = 0;
  FakeLW.send(s, "ERROR", {
    kind: "Status",
    apiVersion: "v1",
    code: 410,
    reason: "Expired",
    message: "too old resource version",
  });
  await lw.nextWatch(2);
  assert.deepEqual(events.sort(), ["add new", "tombstone default/gone rv=4", "update keep 3->40"]);
  assert.deepEqual(inf.store.listKeys().sort(), ["default/keep", "default/new"]);
  assert.equal(lw.watchCalls[1]!.resourceVersion, "50");
  inf.stop();
});

test("a 410 answer to the watch request also relists", async () => {
  let watches = 0;
  const lists: KubeList[] = [
    { metadata: { resourceVersion: "1" }, items: [] },
    { metadata: { resourceVersion: "99" }, items: [cm("x", "99")] },
  ];
  const lw: ListerWatcher<KubeObject> = {
    list: async () => lists.shift() ?? { metadata: { resourceVersion: "99" }, items: [] },
    watch: () => {
      watches++;
      return new Watch(async () => {
        if (watches === 1)
          throw new ApiError({ kind: "Status", apiVersion: "v1", code: 410, reason: "Gone" });
        return new PassThrough();
      });
    },
  };
  const inf = new SharedInformer(lw, { logger: silentLogger, reflector: fast });
  inf.start();
  for (let i = 0; i < 100 && !inf.store.has("default/x"); i++) await tick();
  assert.ok(inf.store.has("default/x"));
  inf.stop();
});

test("list errors back off and retry until the list succeeds", async () => {
  const lw = new FakeLW();
  const inf = new SharedInformer(lw, { logger: silentLogger, reflector: fast });
  inf.start();
  await tick();
  assert.equal(inf.hasSynced(), false);
  lw.lists.push({ metadata: { resourceVersion: "3" }, items: [cm("a", "3")] });
  assert.equal(await inf.waitForSync(2000), true);
  assert.ok(lw.listCalls.length >= 2);
  inf.stop();
});

test("backoff doubles from 0.8 s to a 30 s cap and resets", () => {
  const b = new Backoff(800, 30_000, () => 0);
  assert.deepEqual([b.delay(), b.delay(), b.delay(), b.delay()], [800, 1600, 3200, 6400]);
  for (let i = 0; i < 10; i++) b.delay();
  assert.equal(b.delay(), 30_000);
  b.reset();
  assert.equal(b.delay(), 800);
});

test("a handler added late gets adds for what is cached; resync re-delivers as updates", async () => {
  const lw = new FakeLW();
  lw.lists.push({ metadata: { resourceVersion: "2" }, items: [cm("a", "2")] });
  const inf = new SharedInformer(lw, { logger: silentLogger, resyncPeriodMs: 30, reflector: fast });
  inf.start();
  await inf.waitForSync(1000);
  const seen: string[] = [];
  const reg = inf.addEventHandler({
    add: (o) => seen.push(`add ${o.metadata.name}`),
    update: (old, o) => seen.push(`update same=${old === o} rv=${o.metadata.resourceVersion}`),
  });
  assert.deepEqual(seen, ["add a"]);
  await new Promise((r) => setTimeout(r, 80));
  assert.ok(seen.includes("update same=true rv=2"), seen.join(","));
  reg.remove();
  const n = seen.length;
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(seen.length, n, "a removed handler hears nothing");
  inf.stop();
});

test("a handler that throws does not stop the others", async () => {
  const lw = new FakeLW();
  lw.lists.push({ metadata: { resourceVersion: "2" }, items: [cm("a", "2")] });
  const inf = new SharedInformer(lw, { logger: silentLogger, reflector: fast });
  let second = 0;
  inf.addEventHandler({
    add: () => {
      throw new Error("boom");
    },
  });
  inf.addEventHandler({ add: () => second++ });
  inf.start();
  await inf.waitForSync(1000);
  assert.equal(second, 1);
  inf.stop();
});

test("the lister filters by namespace and label selector", async () => {
  const lw = new FakeLW();
  const o = (ns: string, name: string, labels: Record<string, string>): KubeObject => ({
    metadata: { namespace: ns, name, labels, resourceVersion: "1" },
  });
  lw.lists.push({
    metadata: { resourceVersion: "2" },
    items: [
      o("a", "web", { app: "web" }),
      o("a", "db", { app: "db" }),
      o("b", "web", { app: "web" }),
    ],
  });
  const inf = new SharedInformer(lw, { logger: silentLogger, reflector: fast });
  inf.start();
  await inf.waitForSync(1000);
  const l = inf.lister();
  assert.equal(l.list().length, 3);
  assert.deepEqual(
    l
      .list("app=web")
      .map((x) => x.metadata.namespace)
      .sort(),
    ["a", "b"],
  );
  assert.deepEqual(
    l
      .namespace("a")
      .list("app!=web")
      .map((x) => x.metadata.name),
    ["db"],
  );
  assert.equal(l.namespace("b").get("web")?.metadata.namespace, "b");
  assert.equal(l.namespace("b").get("db"), undefined);
  inf.stop();
});

test("with stripManagedFields neither the cache nor the handlers see managedFields", async () => {
  const withFields = (name: string, rv: string): KubeObject => ({
    metadata: { ...cm(name, rv).metadata, managedFields: [{ manager: "kubectl" }] },
  });
  const lw = new FakeLW();
  lw.lists.push({ metadata: { resourceVersion: "1" }, items: [withFields("a", "1")] });
  const inf = new SharedInformer(lw, {
    logger: silentLogger,
    reflector: fast,
    transform: stripManagedFields,
  });
  const seen: unknown[] = [];
  inf.addEventHandler({
    add: (o) => seen.push(o.metadata.managedFields),
    update: (_old, o) => seen.push(o.metadata.managedFields),
  });
  inf.start();
  assert.equal(await inf.waitForSync(1000), true);
  FakeLW.send(await lw.nextWatch(1), "MODIFIED", withFields("a", "2"));
  for (let i = 0; i < 100 && seen.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(seen, [undefined, undefined]);
  assert.equal(inf.lister().get("default/a")?.metadata.resourceVersion, "2");
  assert.equal("managedFields" in inf.lister().get("default/a")!.metadata, false);
  inf.stop();
});
