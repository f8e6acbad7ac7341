// Events expire after --event-ttl (etcd deletes them through a shared lease); nothing else does.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startApiserver, type TestApiserver } from "@skiff/testing";

let api: TestApiserver;
before(async () => {
  api = await startApiserver({ eventTtlSeconds: 2 });
});
after(async () => {
  await api?.stop();
});

const event = (name: string) => ({
  apiVersion: "v1",
  kind: "Event",
  metadata: { name },
  involvedObject: { kind: "Pod", namespace: "default", name: "web-0" },
  reason: "Started",
  message: "Started container web",
  type: "Normal",
});

test("events disappear after the event TTL, from etcd and from the watch cache; configmaps stay", async () => {
  for (const name of ["e1", "e2", "e3"]) {
    const res = await api.request("POST", "/api/v1/namespaces/default/events", event(name));
    assert.equal(res.status, 201);
  }
  const cm = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "kept" }, data: { a: "1" } };
  assert.equal(
    (await api.request("POST", "/api/v1/namespaces/default/configmaps", cm)).status,
    201,
  );
  // Updating an event keeps it expiring.
  const e1 = (await api.request("GET", "/api/v1/namespaces/default/events/e1")).json as {
    count?: number;
  };
  const put = await api.request("PUT", "/api/v1/namespaces/default/events/e1", { ...e1, count: 2 });
  assert.equal(put.status, 200);

  const started = Date.now();
  const names = async (rv: string) =>
    (
      (await api.request("GET", `/api/v1/namespaces/default/events?resourceVersion=${rv}`))
        .json as { items: { metadata: { name: string } }[] }
    ).items.map((i) => i.metadata.name);
  assert.deepEqual((await names("")).sort(), ["e1", "e2", "e3"]);
  // TTL 2 s, plus 1 s of lease to spare and etcd's expiry sweep.
  while ((await names("")).length > 0 && Date.now() - started < 15_000) {
    await new Promise((r) => setTimeout(r, 250));
  }
  const waited = Date.now() - started;
  assert.deepEqual(await names(""), [], "etcd no longer holds the events");
  assert.ok(waited >= 1500, `events lived about their TTL, not less (gone after ${waited} ms)`);
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(await names("0"), [], "the watch cache saw them deleted");
  assert.equal((await api.request("GET", "/api/v1/namespaces/default/events/e1")).status, 404);
  assert.equal(
    (await api.request("GET", "/api/v1/namespaces/default/configmaps/kept")).status,
    200,
    "a configmap does not expire",
  );
});
