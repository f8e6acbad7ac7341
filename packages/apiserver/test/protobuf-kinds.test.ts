// Every kind Skiff serves, in protobuf. The golden bodies (fixtures/protobuf/kinds/*.pb) were
// written without any of Skiff's code: Kubernetes' generated.proto files compiled by protoc,
// the bytes by Google's protobuf runtime (scripts/gen-protobuf-goldens.py) from the objects
// of fixtures/protobuf/kinds.json. Skiff must decode each to its object and encode the object
// to the same bytes; POSTed as protobuf, each creates its object; and every list reads the
// same in protobuf as in JSON (timestamps, quantities, int-or-strings, conditions, managedFields).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { decodeEnvelope, encodeEnvelope, resources, type ResourceInfo } from "@skiff/api";
import { startApiserver, type TestApiserver } from "@skiff/testing";
import { rawRequest } from "./raw-request.js";

const PROTOBUF = "application/vnd.kubernetes.protobuf";
const fixtures = fileURLToPath(new URL("./fixtures/protobuf/", import.meta.url));
/** Golden name -> object: one per served kind (by kind), plus status-rich and request kinds. */
const objects = JSON.parse(readFileSync(join(fixtures, "kinds.json"), "utf8")) as Record<
  string,
  Record<string, unknown>
>;
const golden = (name: string) => readFileSync(join(fixtures, "kinds", `${name}.pb`));

let api: TestApiserver;
before(async () => {
  api = await startApiserver();
});
after(async () => {
  await api?.stop();
});

const ns = "kinds";
// The namespace first: the namespaced kinds are created in it.
const protobufKinds = [...resources].sort(
  (a, b) => Number(b.kind === "Namespace") - Number(a.kind === "Namespace"),
);

const collection = (info: ResourceInfo) =>
  `/${info.group ? `apis/${info.group}` : "api"}/${info.version}${info.namespaced ? `/namespaces/${ns}` : ""}/${info.resource}`;

/** Strips what protobuf does not carry per item (apiVersion/kind live in the envelope). */
function items(list: { items: Record<string, unknown>[] }) {
  return list.items.map(({ apiVersion: _a, kind: _k, ...rest }) => rest);
}

test("independently encoded bodies of every kind decode to their objects and re-encode byte for byte", () => {
  for (const info of resources) assert.ok(objects[info.kind], `a golden ${info.kind}`);
  for (const [name, object] of Object.entries(objects)) {
    const bytes = golden(name);
    assert.deepEqual(decodeEnvelope(bytes).object, object, `${name} decoded`);
    assert.ok(encodeEnvelope(object).equals(bytes), `${name} encoded as Kubernetes encodes it`);
  }
});

test("every served kind is created from its protobuf body and lists the same in protobuf as in JSON", async () => {
  for (const info of protobufKinds) {
    const r = await rawRequest(
      api,
      "POST",
      info.kind === "Namespace" ? "/api/v1/namespaces" : collection(info),
      {
        body: golden(info.kind),
        contentType: PROTOBUF,
      },
    );
    assert.equal(r.status, 201, `${info.kind}: ${r.body.toString()}`);
    const created = JSON.parse(r.body.toString()) as Record<string, unknown>;
    const { metadata: sent, ...rest } = objects[info.kind]!;
    assert.match(String((created.metadata as { uid: string }).uid), /^[0-9a-f-]{36}$/, info.kind);
    assert.deepEqual(
      (created.metadata as { name: string }).name,
      (sent as { name: string }).name,
      info.kind,
    );
    assert.equal(created.kind, rest.kind);
  }
  for (const info of protobufKinds) {
    // A list's resourceVersion is the store's latest: a write elsewhere between the two reads
    // moves it, so the pair is read again until both saw the same revision.
    for (let attempt = 1; ; attempt++) {
      const json = await api.request("GET", collection(info));
      const pb = await rawRequest(api, "GET", collection(info), { accept: PROTOBUF });
      assert.equal(pb.type, PROTOBUF, info.kind);
      const decoded = decodeEnvelope(pb.body).object as {
        kind: string;
        metadata: { resourceVersion: string };
        items: Record<string, unknown>[];
      };
      if (decoded.metadata.resourceVersion !== json.json.metadata.resourceVersion && attempt < 5)
        continue;
      assert.equal(decoded.kind, info.listKind);
      assert.ok(json.json.items.length > 0, `${info.kind} has objects`);
      assert.deepEqual(items(decoded), items(json.json), info.kind);
      assert.deepEqual(decoded.metadata, json.json.metadata, info.kind);
      break;
    }
  }
});

test("malformed protobuf bodies of every kind are refused with a Status, never a 500", async () => {
  // Deterministic mutations of each kind's golden body: cut short, bytes flipped, junk
  // inserted, or garbage after the magic.
  let seed = 51;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const junk = (n: number) => Buffer.from(Array.from({ length: n }, () => rand(256)));
  let refused = 0;
  for (const info of protobufKinds) {
    const base = golden(info.kind);
    const path = info.kind === "Namespace" ? "/api/v1/namespaces" : collection(info);
    for (let i = 0; i < 24; i++) {
      let body = Buffer.from(base);
      const at = 4 + rand(body.length - 4);
      if (i % 4 === 0) body = body.subarray(0, at);
      else if (i % 4 === 1)
        for (let k = 0; k <= rand(3); k++) body[4 + rand(body.length - 4)] = rand(256);
      else if (i % 4 === 2)
        body = Buffer.concat([body.subarray(0, at), junk(1 + rand(6)), body.subarray(at)]);
      else body = Buffer.concat([body.subarray(0, 4), junk(rand(64))]);
      const reply = await rawRequest(api, "POST", path, { body, contentType: PROTOBUF });
      assert.ok(
        reply.status < 500,
        `${info.kind} mutation ${i} got ${reply.status}: ${reply.body.toString()}`,
      );
      if (reply.status >= 400) {
        const status = JSON.parse(reply.body.toString());
        assert.equal(status.kind, "Status", info.kind);
        assert.ok(status.message.length > 0, info.kind);
        refused++;
      }
    }
  }
  assert.ok(refused > protobufKinds.length * 12, `most mutations refused: ${refused}`);
});
