// SPDY/3.1 framing as kubectl port-forward puts it on the wire: every frame type to bytes and
// back, frames split across messages, and header blocks through the per-direction zlib context.
import assert from "node:assert/strict";
import { test } from "node:test";
import zlib from "node:zlib";
import * as spdy from "../src/spdy.js";

function only(bytes: Buffer): spdy.Frame {
  const frames = new spdy.FrameReader().push(bytes);
  assert.equal(frames.length, 1);
  return frames[0]!;
}

function control(bytes: Buffer, type: number): Buffer {
  const f = only(bytes);
  assert.ok(f.control);
  assert.equal(f.type, type);
  return f.payload;
}

test("a DATA frame keeps its stream id, FIN flag and payload", () => {
  const bytes = spdy.dataFrame(7, spdy.FLAG_FIN, Buffer.from("hello"));
  assert.deepEqual(bytes.subarray(0, 8), Buffer.from([0, 0, 0, 7, 1, 0, 0, 5]));
  assert.deepEqual(only(bytes), {
    control: false,
    streamId: 7,
    flags: spdy.FLAG_FIN,
    data: Buffer.from("hello"),
  });
});

test("control frames carry version 3, their type and length in the header", () => {
  const bytes = spdy.rstStream(3, spdy.RST_CANCEL);
  assert.deepEqual(bytes, Buffer.from([0x80, 3, 0, 3, 0, 0, 0, 8, 0, 0, 0, 3, 0, 0, 0, 5]));
  assert.deepEqual(spdy.parsePair(control(bytes, spdy.RST_STREAM)), [3, spdy.RST_CANCEL]);
});

test("SYN_STREAM, SYN_REPLY, PING, GOAWAY, WINDOW_UPDATE and SETTINGS round-trip", () => {
  const block = Buffer.from("compressed headers");
  const syn = spdy.synStream(spdy.FLAG_FIN, { streamId: 5, associatedTo: 0, priority: 2, block });
  const f = only(syn);
  assert.ok(f.control && f.flags === spdy.FLAG_FIN);
  assert.deepEqual(spdy.parseSynStream(control(syn, spdy.SYN_STREAM)), {
    streamId: 5,
    associatedTo: 0,
    priority: 2,
    block,
  });
  assert.deepEqual(spdy.parseStreamHeaders(control(spdy.synReply(0, 5, block), spdy.SYN_REPLY)), {
    streamId: 5,
    block,
  });
  assert.equal(spdy.parsePing(control(spdy.ping(0xfffffff1), spdy.PING)), 0xfffffff1);
  assert.deepEqual(spdy.parsePair(control(spdy.goAway(9, 1), spdy.GOAWAY)), [9, 1]);
  assert.deepEqual(
    spdy.parsePair(control(spdy.windowUpdate(5, 65536), spdy.WINDOW_UPDATE)),
    [5, 65536],
  );
  const entries = [{ flags: 1, id: spdy.SETTINGS_INITIAL_WINDOW_SIZE, value: 1 << 20 }];
  assert.deepEqual(spdy.parseSettings(control(spdy.settings(entries), spdy.SETTINGS)), entries);
});

test("frames split across and packed into WebSocket messages come out whole and in order", () => {
  const wire = Buffer.concat([
    spdy.ping(1),
    spdy.dataFrame(1, 0, Buffer.alloc(70_000, 7)),
    spdy.dataFrame(3, spdy.FLAG_FIN, Buffer.alloc(0)),
  ]);
  const reader = new spdy.FrameReader();
  const frames: spdy.Frame[] = [];
  for (let at = 0; at < wire.length; at += 1000) {
    frames.push(...reader.push(wire.subarray(at, at + 1000)));
  }
  assert.deepEqual(
    frames.map((f) => (f.control ? `control ${f.type}` : `data ${f.streamId} ${f.data.length}`)),
    [`control ${spdy.PING}`, "data 1 70000", "data 3 0"],
  );
});

test("a frame of another SPDY version is refused", () => {
  const bytes = spdy.ping(1);
  bytes[1] = 2;
  assert.throws(() => new spdy.FrameReader().push(bytes), /unsupported SPDY version 2/);
});

test("the header dictionary is draft 3's (1423 bytes, zlib id e3c6a7c2)", () => {
  assert.equal(spdy.DICTIONARY.length, 1423);
  // A zlib stream made with a preset dictionary names it by its Adler-32 (RFC 1950).
  const stream = zlib.deflateSync(Buffer.from("x"), { dictionary: spdy.DICTIONARY });
  assert.equal(stream.readUInt32BE(2).toString(16), "e3c6a7c2");
});

test("header blocks round-trip through one zlib context per direction, block after block", async () => {
  const out = new spdy.HeaderCompressor();
  const into = new spdy.HeaderDecompressor();
  const sets: spdy.Headers[] = [
    { streamtype: ["error"], port: ["8080"], requestid: ["0"] },
    { streamtype: ["data"], port: ["8080"], requestid: ["0"] },
    {},
    { "x-many": ["a", "b"] },
  ];
  try {
    // Compressed all at once, decompressed in order: later blocks refer to earlier ones.
    const blocks = await Promise.all(sets.map((h) => out.compress(h)));
    assert.ok(blocks[1]!.length < blocks[0]!.length, "the second block reuses the first");
    for (const [i, block] of blocks.entries())
      assert.deepEqual(await into.decompress(block), sets[i]);
  } finally {
    out.close();
    into.close();
  }
});

test("a header block reads count, then length-prefixed names and NUL-joined values", () => {
  const block = spdy.encodeHeaderBlock({ Port: ["80"], v: ["a", "b"] });
  assert.equal(block.readUInt32BE(0), 2);
  assert.deepEqual(spdy.decodeHeaderBlock(block), { port: ["80"], v: ["a", "b"] });
  assert.throws(() => spdy.decodeHeaderBlock(block.subarray(0, 10)), /truncated/);
});
