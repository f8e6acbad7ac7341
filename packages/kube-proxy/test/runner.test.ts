// The bounded-frequency runner and the change tracker that feed the proxier's syncs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { BoundedFrequencyRunner } from "../src/runner.js";
import { ChangeTracker } from "../src/tracker.js";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test("a burst of sync requests costs one sync per minimum interval", async () => {
  const runs: number[] = [];
  const runner = new BoundedFrequencyRunner(async () => void runs.push(Date.now()), {
    minIntervalMs: 150,
    maxIntervalMs: 60_000,
  });
  runner.start(); // first run at once
  await sleep(20);
  for (let i = 0; i < 50; i++) runner.run();
  await sleep(100);
  assert.equal(runs.length, 1, "the requests wait for the interval");
  await sleep(150);
  assert.equal(runs.length, 2, "and then run once");
  assert.ok(runs[1]! - runs[0]! >= 145);
  await runner.stop();
});

test("with a burst of 2, a change right after a sync runs at once, the next one an interval later", async () => {
  const runs: number[] = [];
  const runner = new BoundedFrequencyRunner(async () => void runs.push(Date.now()), {
    minIntervalMs: 300,
    maxIntervalMs: 60_000,
    burst: 2,
  });
  runner.start(); // the first run, say the periodic one
  await sleep(20);
  runner.run(); // a change that lands just after it
  await sleep(60);
  assert.equal(runs.length, 2, "the second run does not wait for the interval");
  runner.run();
  await sleep(100);
  assert.equal(runs.length, 2, "the third one does");
  await sleep(400);
  assert.equal(runs.length, 3);
  assert.ok(runs[2]! - runs[0]! >= 250, `${runs[2]! - runs[0]!} ms`);
  await runner.stop();
});

test("without requests the runner still syncs every maximum interval, and retries when asked", async () => {
  let runs = 0;
  const runner = new BoundedFrequencyRunner(async () => void runs++, {
    minIntervalMs: 10,
    maxIntervalMs: 80,
  });
  runner.start();
  await sleep(200);
  assert.ok(runs >= 3 && runs <= 4, `ran ${runs} times`);
  await runner.stop();
  const after = runs;
  await sleep(120);
  assert.equal(runs, after, "stop() stops it");

  let attempts = 0;
  const retrying = new BoundedFrequencyRunner(
    async () => {
      if (++attempts === 1) retrying.retryAfter(30);
    },
    { minIntervalMs: 0, maxIntervalMs: 60_000 },
  );
  retrying.start();
  await sleep(80);
  assert.equal(attempts, 2);
  await retrying.stop();
});

test("a sync never overlaps the previous one", async () => {
  let active = 0;
  let overlap = false;
  const runner = new BoundedFrequencyRunner(
    async () => {
      overlap ||= active++ > 0;
      await sleep(40);
      active--;
    },
    { minIntervalMs: 0, maxIntervalMs: 60_000 },
  );
  runner.start();
  for (let i = 0; i < 5; i++) {
    runner.run();
    await sleep(15);
  }
  await sleep(100);
  await runner.stop();
  assert.equal(overlap, false);
});

test("the change tracker merges updates and forgets objects that changed back", () => {
  const t = new ChangeTracker<{ v: number }>();
  assert.equal(t.update("ns/a", undefined, { v: 1 }), true);
  t.update("ns/a", { v: 1 }, { v: 2 });
  t.update("ns/b", { v: 1 }, { v: 2 });
  t.update("ns/b", { v: 2 }, { v: 1 }); // back where the last sync saw it
  const changes = t.drain();
  assert.deepEqual([...changes.entries()], [["ns/a", { previous: undefined, current: { v: 2 } }]]);
  assert.equal(t.pending(), false);
});
