import { test } from "node:test";
import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { NdjsonDecoder, Watch, toWatchEvent, type WatchEvent } from "@skiff/client";

const ev = (type: string, name: string, rv: string) =>
  JSON.stringify({ type, object: { kind: "ConfigMap", metadata: { name, resourceVersion: rv } } });

test("events split across chunks at any byte come out whole and in order", () => {
  const text =
    [
      ev("ADDED", "a", "1"),
      ev("MODIFIED", "a", "2"),
      ev("DELETED", "a", "3"),
      ev("BOOKMARK", "", "9"),
    ].join("\n") + "\n";
  const bytes = Buffer.from(text);
  for (const size of [1, 2, 7, 64, bytes.length]) {
    const d = new NdjsonDecoder();
    const out: unknown[] = [];
    for (let i = 0; i < bytes.length; i += size) out.push(...d.push(bytes.subarray(i, i + size)));
    out.push(...d.end());
    assert.deepEqual(
      out.map((v) => toWatchEvent(v)).map((e) => `${e.type}:${e.object.metadata?.resourceVersion}`),
      ["ADDED:1", "MODIFIED:2", "DELETED:3", "BOOKMARK:9"],
      `chunk size ${size}`,
    );
  }
});

test("a multi-byte character split between chunks survives", () => {
  const bytes = Buffer.from(
    JSON.stringify({ type: "ADDED", object: { metadata: { name: "ü-€" } } }) + "\n",
  );
  const cut = bytes.indexOf(Buffer.from("€")) + 1; // inside the 3-byte €
  const d = new NdjsonDecoder();
  const out = [...d.push(bytes.subarray(0, cut)), ...d.push(bytes.subarray(cut))];
  assert.equal((toWatchEvent(out[0]).object.metadata as { name: string }).name, "ü-€");
});

test("a last line without a newline is still delivered; blank lines are skipped", () => {
  const d = new NdjsonDecoder();
  assert.deepEqual(d.push("\n\n" + ev("ADDED", "a", "1")), []);
  assert.equal(d.end().length, 1);
});

test("an ERROR event carries the Status; garbage is refused", () => {
  const e = toWatchEvent({
    type: "ERROR",
    object: { kind: "Status", apiVersion: "v1", code: 410, reason: "Expired", message: "too old" },
  });
  assert.equal(e.type, "ERROR");
  assert.equal(e.object.kind, "Status");
  assert.throws(() => toWatchEvent({ type: "WHAT", object: {} }), /not a watch event/);
  assert.throws(() => toWatchEvent({ type: "ADDED", object: "x" }), /no object/);
  assert.throws(() => new NdjsonDecoder().push("{not json\n"), /not JSON/);
});

test("a Watch yields events as the stream delivers them and ends when it closes", async () => {
  const body = new PassThrough();
  const w = new Watch(async () => body);
  const got: WatchEvent[] = [];
  const done = (async () => {
    for await (const e of w) got.push(e);
  })();
  body.write(ev("ADDED", "a", "1").slice(0, 10));
  body.write(ev("ADDED", "a", "1").slice(10) + "\n" + ev("MODIFIED", "a", "2") + "\n");
  body.end(ev("DELETED", "a", "3"));
  await done;
  assert.deepEqual(
    got.map((e) => e.type),
    ["ADDED", "MODIFIED", "DELETED"],
  );
});

test("stop ends the iteration without an error and closes the stream", async () => {
  const body = new PassThrough();
  const w = new Watch(async () => body);
  const iter = w[Symbol.asyncIterator]();
  body.write(ev("ADDED", "a", "1") + "\n");
  assert.equal((await iter.next()).done, false);
  const pending = iter.next();
  w.stop();
  assert.equal((await pending).done, true);
  await new Promise((r) => setImmediate(r));
  assert.equal(body.destroyed, true);
});

test("a failed connection surfaces as an error from the iteration", async () => {
  const w = new Watch(async () => {
    throw new Error("connect ECONNREFUSED");
  });
  await assert.rejects(async () => {
    for await (const _ of w) void _;
  }, /ECONNREFUSED/);
});
