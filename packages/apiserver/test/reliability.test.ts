// Reliability: etcd going away under load, and a three-member etcd losing a member.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startApiserver, startEtcdCluster } from "@skiff/testing";

const cm = (name: string) => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name },
  data: { v: name },
});

test("with etcd stopped the apiserver answers 503/504 Status, recovers by itself, and loses no acknowledged write", async (t) => {
  const cluster = await startEtcdCluster(1);
  t.after(() => cluster.stop());
  const api = await startApiserver({ etcdEndpoints: cluster.endpoints });
  t.after(() => api.stop());
  const acknowledged: string[] = [];
  const outageCodes = new Set<number>();
  let running = true;
  let i = 0;
  const writer = (async () => {
    while (running) {
      const name = `w-${i++}`;
      const res = await api
        .request("POST", "/api/v1/namespaces/default/configmaps", cm(name))
        .catch(() => undefined);
      if (res?.status === 201) acknowledged.push(name);
      else if (res) {
        assert.equal(res.json?.kind, "Status", `an error is a Status: ${res.text}`);
        outageCodes.add(res.status);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  await new Promise((r) => setTimeout(r, 500));
  await cluster.members[0]!.stop();
  await new Promise((r) => setTimeout(r, 3000));
  const during = await api.request("GET", "/api/v1/namespaces/default/configmaps/w-0");
  assert.ok(
    [503, 504].includes(during.status),
    `GET during the outage: ${during.status} ${during.text}`,
  );
  assert.equal(during.json.kind, "Status");
  const ready = await api.request("GET", "/readyz");
  assert.equal(ready.status, 503);
  await cluster.members[0]!.start();
  // Recovery: writes succeed again without restarting the apiserver.
  const deadline = Date.now() + 20_000;
  const before = acknowledged.length;
  while (acknowledged.length < before + 10 && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 100));
  running = false;
  await writer;
  assert.ok(acknowledged.length >= before + 10, "writes resumed after etcd came back");
  for (const code of outageCodes)
    assert.ok(code === 503 || code === 504, `outage answered ${code}`);
  const list = await api.request("GET", "/api/v1/namespaces/default/configmaps");
  const stored = new Set(
    list.json.items.map((x: { metadata: { name: string } }) => x.metadata.name),
  );
  const lost = acknowledged.filter((n) => !stored.has(n));
  assert.deepEqual(lost, [], "every acknowledged write is stored");
});

test("a three-member etcd keeps taking writes with one member stopped", async (t) => {
  const cluster = await startEtcdCluster(3);
  t.after(() => cluster.stop());
  const api = await startApiserver({ etcdEndpoints: cluster.endpoints });
  t.after(() => api.stop());
  const failures: string[] = [];
  let ok = 0;
  let running = true;
  let i = 0;
  const writer = (async () => {
    while (running) {
      const res = await api.request(
        "POST",
        "/api/v1/namespaces/default/configmaps",
        cm(`c-${i++}`),
      );
      if (res.status === 201) ok++;
      else failures.push(`${res.status} ${res.text}`);
    }
  })();
  await new Promise((r) => setTimeout(r, 500));
  const atStop = ok;
  await cluster.members[1]!.stop();
  // At least 2 s with the member gone, and until 20 more writes have landed (a loaded machine
  // may take longer than that to elect a new leader): a lost quorum would never get there.
  const stopped = Date.now();
  while (Date.now() - stopped < 2000 || (ok <= atStop + 20 && Date.now() - stopped < 20_000))
    await new Promise((r) => setTimeout(r, 100));
  running = false;
  await writer;
  assert.ok(ok > atStop + 20, `writes kept succeeding (${ok - atStop} after the stop)`);
  // A leader change may cost a request or two; nothing more.
  assert.ok(failures.length <= 3, failures.join("\n"));
  const list = await api.request("GET", "/api/v1/namespaces/default/configmaps");
  // Every acknowledged write is there (a failed one may or may not have landed).
  assert.ok(list.json.items.length >= ok && list.json.items.length <= ok + failures.length);
});
