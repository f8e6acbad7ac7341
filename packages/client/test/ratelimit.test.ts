import { test } from "node:test";
import assert from "node:assert/strict";
import { TokenBucket } from "@skiff/client";

test("a token bucket allows a burst, then spaces requests at qps", () => {
  let now = 0;
  const b = new TokenBucket(50, 100, () => now);
  for (let i = 0; i < 100; i++) assert.equal(b.reserve(), 0);
  assert.equal(b.reserve(), 20, "the 101st waits one token: 1/50 s");
  assert.equal(b.reserve(), 40);
  now = 1000; // one second later: 50 tokens back, two already promised
  assert.equal(b.reserve(), 0);
  assert.equal(b.tryAccept(), true);
});

test("tryAccept refuses when no token is left", () => {
  let now = 0;
  const b = new TokenBucket(1, 2, () => now);
  assert.equal(b.tryAccept(), true);
  assert.equal(b.tryAccept(), true);
  assert.equal(b.tryAccept(), false);
  now = 1000;
  assert.equal(b.tryAccept(), true);
});

test("saved tokens never exceed the burst", () => {
  let now = 0;
  const b = new TokenBucket(10, 3, () => now);
  now = 60_000;
  for (let i = 0; i < 3; i++) assert.equal(b.reserve(), 0);
  assert.ok(b.reserve() > 0);
});

test("wait resolves after the reserved delay", async (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  let now = 0;
  const b = new TokenBucket(20, 1, () => now);
  await b.wait(); // the saved token: at once
  let done = false;
  const second = b.wait().then(() => (done = true));
  const settle = () => new Promise((r) => setImmediate(r));
  t.mock.timers.tick(49);
  await settle();
  assert.equal(done, false, "one token takes 1/20 s");
  now = 50;
  t.mock.timers.tick(1);
  await second;
});

test("a bucket with no rate is refused", () => {
  assert.throws(() => new TokenBucket(0, 1), /qps/);
});
