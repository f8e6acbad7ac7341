import { test } from "node:test";
import assert from "node:assert/strict";
import {
  WorkQueue,
  ItemExponentialFailureRateLimiter,
  MaxOfRateLimiter,
  BucketRateLimiter,
  TokenBucket,
  defaultControllerRateLimiter,
} from "@skiff/client";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("a key added twice while waiting is processed once", async () => {
  const q = new WorkQueue<string>();
  q.add("default/a");
  q.add("default/b");
  q.add("default/a");
  assert.equal(q.len(), 2);
  assert.deepEqual(await q.get(), { key: "default/a", shutdown: false });
  assert.deepEqual(await q.get(), { key: "default/b", shutdown: false });
  assert.equal(q.len(), 0);
});

test("keys come out in the order they were added", async () => {
  const q = new WorkQueue<string>();
  for (const k of ["c", "a", "b"]) q.add(k);
  const got = [(await q.get()).key, (await q.get()).key, (await q.get()).key];
  assert.deepEqual(got, ["c", "a", "b"]);
});

test("a key being processed is not handed to a second worker, and is re-queued after done", async () => {
  const q = new WorkQueue<string>();
  q.add("k");
  const first = await q.get();
  assert.equal(first.key, "k");
  q.add("k"); // changed again while a worker holds it
  assert.equal(q.len(), 0, "not queued while processing");
  let second: string | undefined;
  void q.get().then((r) => (second = r.key));
  await sleep(10);
  assert.equal(second, undefined, "a second worker must not get it yet");
  q.done("k");
  await sleep(0);
  assert.equal(second, "k", "queued again once done");
  q.done("k");
  assert.equal(q.len(), 0);
});

test("a waiting get resolves as soon as a key is added", async () => {
  const q = new WorkQueue<string>();
  const pending = q.get();
  q.add("x");
  assert.deepEqual(await pending, { key: "x", shutdown: false });
});

test("waiting workers are served in the order they asked", async () => {
  const q = new WorkQueue<string>();
  const order: string[] = [];
  const w1 = q.get().then((r) => order.push(`w1:${r.key}`));
  const w2 = q.get().then((r) => order.push(`w2:${r.key}`));
  q.add("a");
  q.add("b");
  await Promise.all([w1, w2]);
  assert.deepEqual(order, ["w1:a", "w2:b"]);
});

test("addAfter adds the key only after the delay, and the earliest delay wins", async (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const q = new WorkQueue<string>();
  q.addAfter("late", 60);
  q.addAfter("late", 1000); // later than pending: ignored
  q.addAfter("early", 100);
  q.addAfter("early", 30); // earlier than pending: wins
  assert.equal(q.len(), 0);
  t.mock.timers.tick(29);
  assert.equal(q.len(), 0, "not yet");
  t.mock.timers.tick(1);
  assert.equal(q.len(), 1);
  assert.equal((await q.get()).key, "early");
  t.mock.timers.tick(29);
  assert.equal(q.len(), 0, "not yet");
  t.mock.timers.tick(1);
  assert.equal((await q.get()).key, "late");
  t.mock.timers.tick(2000);
  assert.equal(q.len(), 0, "each key was added once");
  q.shutDown();
});

test("rate-limited requeues back off exponentially per key until forgotten", () => {
  const rl = new ItemExponentialFailureRateLimiter<string>(5, 1000_000);
  assert.deepEqual([rl.when("a"), rl.when("a"), rl.when("a"), rl.when("a")], [5, 10, 20, 40]);
  assert.equal(rl.when("b"), 5, "each key has its own backoff");
  assert.equal(rl.numRequeues("a"), 4);
  for (let i = 0; i < 40; i++) rl.when("a");
  assert.equal(rl.when("a"), 1000_000, "capped at 1000 s");
  rl.forget("a");
  assert.equal(rl.numRequeues("a"), 0);
  assert.equal(rl.when("a"), 5);
});

test("the default rate limiter also caps the overall rate at 10/s after a burst of 100", () => {
  let now = 0;
  const rl = new MaxOfRateLimiter<string>(
    new ItemExponentialFailureRateLimiter<string>(5, 1000_000),
    new BucketRateLimiter<string>(new TokenBucket(10, 100, () => now)),
  );
  for (let i = 0; i < 100; i++)
    assert.equal(rl.when(`k${i}`), 5, "burst: only the per-key backoff");
  assert.equal(Math.round(rl.when("k100")), 100, "101st key waits for a token");
  assert.equal(Math.round(rl.when("k101")), 200);
  now = 10_000;
  assert.equal(rl.when("fresh"), 5);
  assert.ok(defaultControllerRateLimiter<string>().when("x") >= 5);
});

test("addRateLimited delays by the backoff and numRequeues counts retries", (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const q = new WorkQueue<string>({
    rateLimiter: new ItemExponentialFailureRateLimiter<string>(20, 1000),
  });
  q.addRateLimited("k");
  assert.equal(q.numRequeues("k"), 1);
  t.mock.timers.tick(19);
  assert.equal(q.len(), 0);
  t.mock.timers.tick(1);
  assert.equal(q.len(), 1);
  q.forget("k");
  assert.equal(q.numRequeues("k"), 0);
  q.shutDown();
});

test("shutDown tells waiting and later workers to stop and ignores new keys", async () => {
  const q = new WorkQueue<string>();
  const waiting = q.get();
  q.shutDown();
  assert.deepEqual(await waiting, { key: undefined, shutdown: true });
  q.add("ignored");
  assert.equal(q.len(), 0);
  assert.deepEqual(await q.get(), { key: undefined, shutdown: true });
});

test("shutDownWithDrain lets workers finish queued and in-flight keys first", async () => {
  const q = new WorkQueue<string>();
  q.add("a");
  q.add("b");
  const a = await q.get();
  let drained = false;
  const drain = q.shutDownWithDrain().then(() => (drained = true));
  q.add("c"); // ignored: shutting down
  const b = await q.get();
  assert.equal(b.key, "b", "queued keys are still handed out");
  q.done("b");
  await sleep(5);
  assert.equal(drained, false, "a is still processing");
  q.done(a.key!);
  await drain;
  assert.equal(drained, true);
  assert.deepEqual(await q.get(), { key: undefined, shutdown: true });
});

test("metrics hooks see adds, depth and latency", async () => {
  const seen = { adds: 0, depth: [] as number[], latency: 0 };
  const q = new WorkQueue<string>({
    metrics: {
      adds: () => seen.adds++,
      depth: (d) => seen.depth.push(d),
      latency: () => seen.latency++,
    },
  });
  q.add("a");
  q.add("a");
  q.add("b");
  await q.get();
  assert.equal(seen.adds, 2);
  assert.deepEqual(seen.depth, [1, 2, 1]);
  assert.equal(seen.latency, 1);
});
