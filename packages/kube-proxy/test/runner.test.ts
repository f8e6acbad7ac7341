// The bounded-frequency runner and the change tracker that feed the proxier's syncs.
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { BoundedFrequencyRunner } from "../src/runner.js";
import { ChangeTracker } from "../src/tracker.js";

// The runner's timers and Date.now() run on node:test's fake clock, so no window below
// depends on how busy the machine is.
const useFakeClock = (t: TestContext): void =>
  t.mock.timers.enable({ apis: ["setTimeout", "Date"], now: 1_000_000 });

/** Moves the fake clock on `ms` milliseconds, one at a time, letting promises settle. */
async function advance(t: TestContext, ms: number): Promise<void> {
  for (let i = 0; i < ms; i++) {
    t.mock.timers.tick(1);
    await new Promise((r) => setImmediate(r));
  }
}
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test("a burst of sync requests costs one sync per minimum interval", async (t) => {
  useFakeClock(t);
  const runs: number[] = [];
  const runner = new BoundedFrequencyRunner(async () => void runs.push(Date.now()), {
    minIntervalMs: 150,
    maxIntervalMs: 60_000,
  });
  runner.start(); // first run at once
  await advance(t, 20);
  assert.equal(runs.length, 1);
  for (let i = 0; i < 50; i++) runner.run();
  await advance(t, 125);
  assert.equal(runs.length, 1, "the requests wait for the interval");
  await advance(t, 10);
  assert.equal(runs.length, 2, "and then run once");
  assert.equal(runs[1]! - runs[0]!, 150);
  await advance(t, 1000);
  assert.equal(runs.length, 2, "50 requests cost one run");
  await runner.stop();
});

test("with a burst of 2, a change right after a sync runs at once, the next one an interval later", async (t) => {
  useFakeClock(t);
  const runs: number[] = [];
  const runner = new BoundedFrequencyRunner(async () => void runs.push(Date.now()), {
    minIntervalMs: 300,
    maxIntervalMs: 60_000,
    burst: 2,
  });
  runner.start(); // the first run, say the periodic one
  await advance(t, 20);
  runner.run(); // a change that lands just after it
  await advance(t, 1);
  assert.equal(runs.length, 2, "the second run does not wait for the interval");
  assert.equal(runs[1]! - runs[0]!, 20);
  runner.run();
  await advance(t, 270);
  assert.equal(runs.length, 2, "the third one does");
  await advance(t, 20);
  assert.equal(runs.length, 3);
  // The bucket had 20 ms of a token back: the third run is one interval after the second.
  assert.equal(runs[2]! - runs[1]!, 280);
  await runner.stop();
});

test("without requests the runner still syncs every maximum interval, and retries when asked", async (t) => {
  useFakeClock(t);
  const runs: number[] = [];
  const runner = new BoundedFrequencyRunner(async () => void runs.push(Date.now()), {
    minIntervalMs: 10,
    maxIntervalMs: 80,
  });
  runner.start();
  await advance(t, 200);
  assert.deepEqual(
    runs.map((r) => r - runs[0]!),
    [0, 80, 160],
  );
  await runner.stop();
  await advance(t, 500);
  assert.equal(runs.length, 3, "stop() stops it");

  const attempts: number[] = [];
  const retrying = new BoundedFrequencyRunner(
    async () => {
      if (attempts.push(Date.now()) === 1) retrying.retryAfter(30);
    },
    { minIntervalMs: 0, maxIntervalMs: 60_000 },
  );
  retrying.start();
  await advance(t, 29);
  assert.equal(attempts.length, 1);
  await advance(t, 2);
  assert.equal(attempts.length, 2);
  assert.equal(attempts[1]! - attempts[0]!, 30);
  await retrying.stop();
});

test("a sync never overlaps the previous one", async (t) => {
  useFakeClock(t);
  let active = 0;
  let overlap = false;
  let runs = 0;
  const runner = new BoundedFrequencyRunner(
    async () => {
      runs++;
      overlap ||= active++ > 0;
      await sleep(40);
      active--;
    },
    { minIntervalMs: 0, maxIntervalMs: 60_000 },
  );
  runner.start();
  for (let i = 0; i < 5; i++) {
    runner.run();
    await advance(t, 15);
  }
  await advance(t, 100);
  await runner.stop();
  assert.equal(overlap, false);
  // Requests during a run are merged into one run after it: 75 ms of requests, 40 ms runs.
  assert.equal(runs, 3);
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
