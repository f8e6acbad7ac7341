// The watch cache's history on a real etcd: bounded by count and by age, as Kubernetes'.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startEtcd, type Etcd } from "@skiff/testing";
import { EtcdStorage } from "../src/storage.js";
import { WatchCache, type CacheEvent, type Watcher } from "../src/watchcache.js";
import type { KubeObject } from "../src/objects.js";
import { GoneError } from "../src/errors.js";

let etcd: Etcd;
let storage: EtcdStorage;
before(async () => {
  etcd = await startEtcd();
  storage = new EtcdStorage({ endpoints: etcd.endpoints });
});
after(async () => {
  await etcd?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A watcher that records the names and types it is sent. */
function recorder(): Watcher & { seen: string[] } {
  const seen: string[] = [];
  return {
    seen,
    send(type: string, object: KubeObject, _ev: CacheEvent) {
      seen.push(`${type} ${String(object.metadata.name)}`);
    },
    bookmark() {},
    terminate() {},
  };
}

/** Writes ConfigMaps under prefix; returns the revision of the last write. */
async function put(prefix: string, names: string[]): Promise<number> {
  let rev = 0;
  for (const name of names) rev = await storage.create(`${prefix}${name}`, { metadata: { name } });
  return rev;
}

async function until(pred: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await sleep(20);
  }
}

test("events older than the fresh window are dropped beyond the minimum; a watch from before them gets 410 Gone", async () => {
  const prefix = "/registry/test-fresh/";
  const cache = new WatchCache(storage, prefix, { freshMs: 300, minHistory: 2 });
  await cache.start();
  const start = cache.currentRevision();
  const old = await put(prefix, ["a", "b", "c", "d"]);
  await until(() => cache.currentRevision() >= old);

  // Within the window every event is replayed.
  const w1 = recorder();
  const stop1 = await cache.watch(w1, { fromRevision: start, filter: () => true });
  assert.deepEqual(w1.seen, ["ADDED a", "ADDED b", "ADDED c", "ADDED d"]);
  stop1();

  await sleep(400);
  cache.bookmarkAll(); // the periodic tick prunes a resource that stopped changing
  await assert.rejects(
    cache.watch(recorder(), { fromRevision: start, filter: () => true }),
    GoneError,
  );
  // The newest minHistory events stay, however old.
  const w2 = recorder();
  const stop2 = await cache.watch(w2, { fromRevision: old - 2, filter: () => true });
  assert.deepEqual(w2.seen, ["ADDED c", "ADDED d"]);
  stop2();
  await cache.stop();
});

test("the history never holds more than historySize events, fresh or not", async () => {
  const prefix = "/registry/test-size/";
  const cache = new WatchCache(storage, prefix, { historySize: 3 });
  await cache.start();
  const start = cache.currentRevision();
  const last = await put(prefix, ["a", "b", "c", "d", "e"]);
  await until(() => cache.currentRevision() >= last);
  await assert.rejects(
    cache.watch(recorder(), { fromRevision: start, filter: () => true }),
    GoneError,
  );
  const w = recorder();
  const stop = await cache.watch(w, { fromRevision: last - 3, filter: () => true });
  assert.deepEqual(w.seen, ["ADDED c", "ADDED d", "ADDED e"]);
  stop();
  await cache.stop();
});
