// etcd's history is compacted by the apiservers, one compaction per interval however many
// apiservers there are (kube-apiserver's --etcd-compaction-interval), on a real etcd.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { pino, type Logger } from "pino";
import { startEtcd, type Etcd } from "@skiff/testing";
import { Compactor } from "../src/compactor.js";
import { CompactedError, EtcdStorage } from "../src/storage.js";

let etcd: Etcd;
before(async () => {
  etcd = await startEtcd();
});
after(async () => {
  await etcd?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A logger that counts the compactions it is told about. */
function counting(): { log: Logger; compactions: () => number } {
  let n = 0;
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      if (chunk.toString().includes("compacted etcd history")) n++;
      done();
    },
  });
  return { log: pino(sink), compactions: () => n };
}

test("history older than an interval is compacted, and two apiservers compact once per interval", async () => {
  const a = new EtcdStorage({ endpoints: etcd.endpoints });
  const b = new EtcdStorage({ endpoints: etcd.endpoints });
  const first = await a.create("/registry/configmaps/default/c", { metadata: { name: "c" } });
  // Before any compaction the first revision can still be read.
  assert.equal((await a.list("/registry/configmaps/", { revision: first })).items.length, 1);

  const interval = 300;
  const ca = counting();
  const cb = counting();
  const compactors = [new Compactor(a, interval, ca.log), new Compactor(b, interval, cb.log)];
  const started = Date.now();
  for (const c of compactors) c.start();
  let rev = first;
  for (let i = 0; i < 20; i++) {
    const cur = await a.get("/registry/configmaps/default/c");
    rev = await a.update(
      "/registry/configmaps/default/c",
      { metadata: { name: "c", i } },
      cur!.modRevision,
    );
    await sleep(100);
  }
  for (const c of compactors) c.stop();
  const elapsed = Date.now() - started;

  await assert.rejects(a.list("/registry/configmaps/", { revision: first }), CompactedError);
  // The newest revision is always kept.
  const now = await b.list("/registry/configmaps/", { revision: rev });
  assert.equal(
    now.items[0]?.value.metadata && (now.items[0].value.metadata as { i: number }).i,
    19,
  );
  const total = ca.compactions() + cb.compactions();
  assert.ok(total >= 2, `compacted ${total} times in ${elapsed} ms`);
  // Each apiserver ticks about elapsed/interval times; one compaction per tick, not two.
  assert.ok(
    total <= Math.ceil(elapsed / interval) + 1,
    `compacted ${total} times in ${elapsed} ms`,
  );
  assert.ok(ca.compactions() > 0 || cb.compactions() > 0);
  await a.close();
  await b.close();
});

test("an interval of 0 leaves the history alone", async () => {
  const s = new EtcdStorage({ endpoints: etcd.endpoints });
  const rev = await s.create("/registry/configmaps/default/keep", { metadata: { name: "keep" } });
  const c = counting();
  const compactor = new Compactor(s, 0, c.log);
  compactor.start();
  await sleep(300);
  compactor.stop();
  assert.equal(c.compactions(), 0);
  assert.equal(
    (await s.list("/registry/configmaps/default/keep", { revision: rev })).items.length,
    1,
  );
  await s.close();
});
