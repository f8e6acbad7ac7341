// Malformed and hostile packets: FORMERR (or silence) for each, and the server still answers
// afterwards. The server runs in this process against a real apiserver; its resolv.conf names
// a loopback port where nothing listens, so names outside the zone must fail fast.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { connect } from "node:net";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decode, encode } from "dns-packet";
import { freePort, startApiserver } from "@skiff/testing";
import type { TestApiserver } from "@skiff/testing";
import { DnsServer } from "../src/server.js";
import { question, tcpQuery, udpQuery, type Response } from "./clients.js";

let api: TestApiserver;
let dns: DnsServer;

before(async () => {
  api = await startApiserver();
  const dir = mkdtempSync(join(tmpdir(), "skiff-dns-fuzz-"));
  writeFileSync(join(dir, "resolv.conf"), `nameserver 127.0.0.1:${await freePort()}\n`);
  dns = new DnsServer({
    kubeconfig: api.kubeconfig,
    dnsAddress: "127.0.0.1",
    dnsPort: 0,
    healthPort: 0,
    metricsPort: 0,
    resolvConf: join(dir, "resolv.conf"),
  });
  await dns.start();
});

after(async () => {
  await dns?.stop();
  await api?.stop();
});

/** A deterministic generator (xorshift), so that a failure can be replayed. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
}

/** Hostile messages: random bytes, valid queries with flipped bytes or cut short, pointer loops, huge counts. */
function hostile(n: number, seed: number): Buffer[] {
  const r = rng(seed);
  const valid = encode(question("kubernetes.default.svc.cluster.local", "A", 4096));
  const out: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const kind = i % 5;
    let b: Buffer;
    if (kind === 0)
      b = Buffer.from(Array.from({ length: Math.floor(r() * 600) }, () => Math.floor(r() * 256)));
    else if (kind === 1) {
      b = Buffer.from(valid);
      for (let k = 0; k < 1 + r() * 6; k++) b[Math.floor(r() * b.length)] = Math.floor(r() * 256);
    } else if (kind === 2) b = valid.subarray(0, 12 + Math.floor(r() * (valid.length - 12)));
    else if (kind === 3) {
      // a question whose name is a compression pointer to itself
      b = Buffer.from([0, i & 0xff, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1]);
    } else {
      b = Buffer.from(valid);
      b.writeUInt16BE(0xffff, 4 + 2 * Math.floor(r() * 4)); // 65535 questions/answers/...
    }
    if (b.length >= 2) b.writeUInt16BE(i & 0xffff, 0);
    if (b.length >= 3) b[2] = b[2]! & 0x7f; // queries, not responses (those get no answer)
    out.push(b);
  }
  return out;
}

test("thousands of hostile packets over UDP get FORMERR or silence, and the server still answers", async () => {
  const packets = hostile(5000, 42);
  const socket = createSocket("udp4");
  const rcodes = new Map<string, number>();
  socket.on("message", (m) => {
    const rcode = (m.readUInt16BE(2) & 0xf).toString();
    rcodes.set(rcode, (rcodes.get(rcode) ?? 0) + 1);
  });
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", () => resolve()));
  for (let i = 0; i < packets.length; i += 100) {
    for (const p of packets.slice(i, i + 100)) socket.send(p, dns.dnsPort, "127.0.0.1");
    await new Promise((r) => setTimeout(r, 5));
  }
  await new Promise((r) => setTimeout(r, 1500));
  socket.close();
  assert.ok((rcodes.get("1") ?? 0) > 1000, `FORMERR for most: ${JSON.stringify([...rcodes])}`);
  const a = await udpQuery(dns.dnsPort, question("kubernetes.default.svc.cluster.local"));
  assert.equal(a.rcode, "NOERROR");
  assert.deepEqual(
    a.answers?.map((x) => x.data),
    ["10.96.0.1"],
  );
});

test("hostile TCP streams (garbage, half messages, silence) are cut off; others are still served", async () => {
  const packets = hostile(1000, 7);
  const streams = Array.from(
    { length: 20 },
    (_, s) =>
      new Promise<void>((resolve) => {
        const c = connect(dns.dnsPort, "127.0.0.1");
        c.on("error", () => resolve());
        c.on("close", () => resolve());
        c.on("data", () => {});
        c.on("connect", () => {
          for (const p of packets.slice(s * 50, s * 50 + 50)) {
            const len = Buffer.alloc(2);
            len.writeUInt16BE(p.length);
            c.write(Buffer.concat([len, p]));
          }
          // then a length that promises more than ever comes, and the rest of the stream is silence
          c.write(Buffer.from([0x40, 0x00, 1, 2, 3]));
          setTimeout(() => c.destroy(), 300);
        });
      }),
  );
  await Promise.all(streams);
  const a = await tcpQuery(dns.dnsPort, question("kubernetes.default.svc.cluster.local"));
  assert.deepEqual(
    a.answers?.map((x) => x.data),
    ["10.96.0.1"],
  );
});

test("FORMERR keeps the query's ID; two questions, two OPTs and a response are refused as the RFCs say", async () => {
  const garbage = Buffer.from([0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0xff]);
  const r = await udpQuery(dns.dnsPort, garbage);
  assert.equal(r.id, 0x1234);
  assert.equal(r.rcode, "FORMERR");
  const two = question("a.default.svc.cluster.local");
  two.questions!.push({ name: "b.default.svc.cluster.local", type: "A", class: "IN" });
  assert.equal((await udpQuery(dns.dnsPort, two)).rcode, "FORMERR");
  const opts = question("kubernetes.default.svc.cluster.local", "A", 1232);
  opts.additionals!.push(opts.additionals![0]!);
  assert.equal((await udpQuery(dns.dnsPort, opts)).rcode, "FORMERR");
  const v1 = question("kubernetes.default.svc.cluster.local", "A", 1232);
  (v1.additionals![0] as { ednsVersion: number }).ednsVersion = 1;
  const bad = await udpQuery(dns.dnsPort, v1);
  const opt = bad.additionals?.find((x) => x.type === "OPT") as
    { extendedRcode: number } | undefined;
  assert.equal(opt?.extendedRcode, 1, "BADVERS (16) is 1 in the OPT's upper rcode bits");
  const notify = encode(question("kubernetes.default.svc.cluster.local"));
  notify[2] = (notify[2]! & 0x87) | (4 << 3); // opcode NOTIFY
  assert.equal((decode(notify) as Response).opcode, "NOTIFY");
  assert.equal((await udpQuery(dns.dnsPort, notify)).rcode, "NOTIMP");
  const response = encode({
    ...question("kubernetes.default.svc.cluster.local"),
    type: "response",
  });
  await assert.rejects(udpQuery(dns.dnsPort, response, 500), /no answer/);
});

test("a name outside the zone with no upstream listening fails fast with SERVFAIL", async () => {
  const started = Date.now();
  const r = await udpQuery(dns.dnsPort, question("www.example.test"));
  assert.equal(r.rcode, "SERVFAIL");
  assert.ok(Date.now() - started < 500, `SERVFAIL after ${Date.now() - started} ms`);
});
