// WATCH: ordered events from a resourceVersion, selectors, bookmarks, 410 Gone, timeouts.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { request as httpsRequest, Agent } from "node:https";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { startApiserver, type TestApiserver } from "@skiff/testing";
import { Etcd3 } from "etcd3";

let api: TestApiserver;
let agent: Agent;
before(async () => {
  api = await startApiserver({ bookmarkIntervalMs: 300 });
  agent = new Agent({
    ca: readFileSync(join(api.certDir, "ca.crt")),
    cert: readFileSync(join(api.certDir, "admin.crt")),
    key: readFileSync(join(api.certDir, "admin.key")),
  });
});
after(async () => {
  agent?.destroy();
  await api?.stop();
});

interface WatchEvent {
  type: string;
  object: {
    kind: string;
    metadata: { name: string; resourceVersion: string };
    data?: Record<string, string>;
    code?: number;
    rows?: unknown[];
  };
}

/** Opens a watch and collects its events; `until` decides when the test has seen enough. */
function openWatch(path: string, accept?: string) {
  const events: WatchEvent[] = [];
  let ended = false;
  let status = 0;
  const waiters: (() => void)[] = [];
  const req = httpsRequest(
    `${api.url}${path}`,
    { agent, headers: accept ? { Accept: accept } : {} },
    (res) => {
      status = res.statusCode ?? 0;
      let buf = "";
      res.on("data", (chunk: Buffer) => {
        buf += chunk.toString();
        let i;
        while ((i = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          if (line.trim()) events.push(JSON.parse(line) as WatchEvent);
        }
        waiters.splice(0).forEach((w) => w());
      });
      res.on("end", () => {
        ended = true;
        waiters.splice(0).forEach((w) => w());
      });
    },
  );
  req.end();
  return {
    events,
    get ended() {
      return ended;
    },
    get status() {
      return status;
    },
    async until(pred: (evs: WatchEvent[]) => boolean, ms = 5000): Promise<void> {
      const deadline = Date.now() + ms;
      while (!pred(events)) {
        if (ended) throw new Error(`watch ended early with ${JSON.stringify(events)}`);
        if (Date.now() > deadline)
          throw new Error(
            `timed out; events so far: ${JSON.stringify(events.map((e) => [e.type, e.object.metadata?.name]))}`,
          );
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 100);
        });
      }
    },
    close() {
      req.destroy();
    },
  };
}

const cm = (name: string, data?: Record<string, string>, labels: Record<string, string> = {}) => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name, labels },
  data,
});

test("a watch from a LIST's resourceVersion starts at once when only other resources changed since", async () => {
  await api.request("POST", "/api/v1/namespaces", { metadata: { name: "w-quiet" } });
  await api.request("POST", "/api/v1/namespaces/w-quiet/configmaps", cm("before"));
  // Writes elsewhere move etcd's revision past the last configmap change.
  for (let i = 0; i < 3; i++)
    await api.request("POST", "/api/v1/namespaces/w-quiet/secrets", {
      metadata: { name: `s${i}` },
    });
  const list = (await api.request("GET", "/api/v1/namespaces/w-quiet/configmaps")).json;
  const rv = list.metadata.resourceVersion;
  // Nothing happens to configmaps: the watch runs its second and ends cleanly, no ERROR.
  const idle = openWatch(
    `/api/v1/namespaces/w-quiet/configmaps?watch=true&resourceVersion=${rv}&timeoutSeconds=1`,
  );
  const started = Date.now();
  while (!idle.ended && Date.now() - started < 6000) await new Promise((r) => setTimeout(r, 50));
  assert.ok(idle.ended, "the watch ended after its timeoutSeconds");
  assert.deepEqual(idle.events, [], "no events, no ERROR (Too large resource version)");
  assert.ok(Date.now() - started < 2500, `it ran for its 1 s, not longer`);

  // And it gets what comes after the list, only that.
  const w = openWatch(`/api/v1/namespaces/w-quiet/configmaps?watch=true&resourceVersion=${rv}`);
  await new Promise((r) => setTimeout(r, 200));
  await api.request("POST", "/api/v1/namespaces/w-quiet/configmaps", cm("after"));
  await w.until((evs) => evs.length > 0);
  w.close();
  assert.deepEqual(
    w.events.map((e) => `${e.type} ${e.object.metadata.name}`),
    ["ADDED after"],
  );

  // A version etcd has not reached is refused (after a short grace), as Kubernetes does.
  const future = Number(list.metadata.resourceVersion) + 100_000;
  const f = openWatch(`/api/v1/namespaces/w-quiet/configmaps?watch=true&resourceVersion=${future}`);
  await f.until((evs) => evs.length > 0);
  f.close();
  assert.equal(f.events[0]?.type, "ERROR");
  assert.equal(f.events[0]?.object.code, 504);
});

test("a watch from a resourceVersion gets every later event in order, with no gaps or duplicates", async () => {
  await api.request("POST", "/api/v1/namespaces", {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name: "w1" },
  });
  const list = (await api.request("GET", "/api/v1/namespaces/w1/configmaps")).json;
  const w = openWatch(
    `/api/v1/namespaces/w1/configmaps?watch=true&resourceVersion=${list.metadata.resourceVersion}`,
  );
  const created = (
    await api.request("POST", "/api/v1/namespaces/w1/configmaps", cm("a", { v: "0" }))
  ).json;
  let cur = created;
  for (let i = 1; i <= 20; i++) {
    cur = (
      await api.request("PUT", "/api/v1/namespaces/w1/configmaps/a", {
        ...cur,
        data: { v: String(i) },
      })
    ).json;
  }
  await api.request("DELETE", "/api/v1/namespaces/w1/configmaps/a");
  await w.until((evs) => evs.some((e) => e.type === "DELETED"));
  w.close();
  assert.equal(w.status, 200);
  assert.deepEqual(
    w.events.map((e) => e.type),
    ["ADDED", ...Array(20).fill("MODIFIED"), "DELETED"],
  );
  assert.deepEqual(
    w.events.slice(0, 21).map((e) => e.object.data?.v),
    Array.from({ length: 21 }, (_, i) => String(i)),
  );
  const rvs = w.events.map((e) => Number(e.object.metadata.resourceVersion));
  assert.deepEqual(
    [...rvs].sort((a, b) => a - b),
    rvs,
    "resourceVersions increase",
  );
  assert.equal(new Set(rvs).size, rvs.length, "no duplicates");
});

test("a watch without a resourceVersion starts with the current objects as ADDED", async () => {
  await api.request("POST", "/api/v1/namespaces", {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name: "w2" },
  });
  await api.request("POST", "/api/v1/namespaces/w2/configmaps", cm("x", { v: "1" }));
  await api.request("POST", "/api/v1/namespaces/w2/configmaps", cm("y", { v: "1" }));
  const w = openWatch(`/api/v1/namespaces/w2/configmaps?watch=1`);
  await w.until((evs) => evs.length >= 2);
  w.close();
  assert.deepEqual(
    w.events.map((e) => [e.type, e.object.metadata.name]),
    [
      ["ADDED", "x"],
      ["ADDED", "y"],
    ],
  );
});

test("an object that stops matching the selector arrives as DELETED, one that starts as ADDED", async () => {
  await api.request("POST", "/api/v1/namespaces", {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name: "w3" },
  });
  const list = (await api.request("GET", "/api/v1/namespaces/w3/configmaps")).json;
  const w = openWatch(
    `/api/v1/namespaces/w3/configmaps?watch=true&labelSelector=tier%3Dweb&resourceVersion=${list.metadata.resourceVersion}`,
  );
  await api.request(
    "POST",
    "/api/v1/namespaces/w3/configmaps",
    cm("m", { v: "1" }, { tier: "db" }),
  );
  await api.request(
    "PATCH",
    "/api/v1/namespaces/w3/configmaps/m",
    { metadata: { labels: { tier: "web" } } },
    { contentType: "application/merge-patch+json" },
  );
  await api.request(
    "PATCH",
    "/api/v1/namespaces/w3/configmaps/m",
    { data: { v: "2" } },
    { contentType: "application/merge-patch+json" },
  );
  await api.request(
    "PATCH",
    "/api/v1/namespaces/w3/configmaps/m",
    { metadata: { labels: { tier: "db" } } },
    { contentType: "application/merge-patch+json" },
  );
  await w.until((evs) => evs.length >= 3);
  w.close();
  assert.deepEqual(
    w.events.map((e) => e.type),
    ["ADDED", "MODIFIED", "DELETED"],
  );
});

test("a watch from before the history gets an ERROR event with 410 Gone", async () => {
  const w = openWatch(`/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=1`);
  await w.until((evs) => evs.length >= 1);
  w.close();
  assert.equal(w.events[0]!.type, "ERROR");
  assert.equal(w.events[0]!.object.code, 410);
});

test("bookmarks arrive when asked for, and timeoutSeconds ends the stream", async () => {
  const list = (await api.request("GET", "/api/v1/namespaces/default/configmaps")).json;
  const w = openWatch(
    `/api/v1/namespaces/default/configmaps?watch=true&allowWatchBookmarks=true&timeoutSeconds=2&resourceVersion=${list.metadata.resourceVersion}`,
  );
  await api.request("POST", "/api/v1/namespaces", {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name: "w4" },
  });
  await api.request("POST", "/api/v1/namespaces/w4/configmaps", cm("other-ns", { v: "1" }));
  await w.until((evs) => evs.some((e) => e.type === "BOOKMARK"));
  const started = Date.now();
  while (!w.ended && Date.now() - started < 5000) await new Promise((r) => setTimeout(r, 100));
  assert.ok(w.ended, "the stream ended after timeoutSeconds");
  const bookmark = w.events.find((e) => e.type === "BOOKMARK")!;
  assert.equal(bookmark.object.kind, "ConfigMap");
  assert.ok(
    Number(bookmark.object.metadata.resourceVersion) > Number(list.metadata.resourceVersion),
  );
  assert.ok(
    !w.events.some((e) => e.type === "ADDED"),
    "other namespaces' objects are not delivered",
  );
});

test("watch events are Tables when the client asks for them", async () => {
  await api.request("POST", "/api/v1/namespaces", {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name: "w5" },
  });
  const w = openWatch(
    `/api/v1/namespaces/w5/configmaps?watch=true`,
    "application/json;as=Table;v=v1;g=meta.k8s.io,application/json",
  );
  await api.request("POST", "/api/v1/namespaces/w5/configmaps", cm("t", { a: "1", b: "2" }));
  await w.until((evs) => evs.length >= 1);
  w.close();
  assert.equal(w.events[0]!.object.kind, "Table");
  assert.equal(w.events[0]!.object.rows?.length, 1);
});

// Events are not in the watch cache (as in Kubernetes): lists and watches go to etcd.
const ev = (name: string, pod: string, message: string) => ({
  apiVersion: "v1",
  kind: "Event",
  metadata: { name },
  involvedObject: { kind: "Pod", namespace: "w-events", name: pod },
  reason: "Test",
  message,
  type: "Normal",
});

test("Events are served from etcd: lists, watches with selectors, and 410 for a compacted revision", async () => {
  const events = "/api/v1/namespaces/w-events/events";
  await api.request("POST", "/api/v1/namespaces", { metadata: { name: "w-events" } });
  assert.equal((await api.request("POST", events, ev("e1", "web", "one"))).status, 201);
  assert.equal((await api.request("POST", events, ev("e2", "db", "two"))).status, 201);

  // resourceVersion=0 (the watch cache for other kinds) reads etcd.
  const list = (await api.request("GET", `${events}?resourceVersion=0`)).json;
  assert.deepEqual(
    list.items.map((e: { metadata: { name: string } }) => e.metadata.name),
    ["e1", "e2"],
  );
  const metrics = (await api.request("GET", "/metrics")).text;
  // The watch caches reported: configmaps', none for events.
  assert.match(metrics, /^apiserver_storage_objects\{group="",resource="configmaps"\} \d+$/m);
  assert.doesNotMatch(metrics, /^apiserver_storage_objects\{group="",resource="events"\}/m);

  // A watch without a version: the current Events first, then changes, filtered.
  const all = openWatch(`${events}?watch=true`);
  const web = openWatch(
    `${events}?watch=true&resourceVersion=${list.metadata.resourceVersion}` +
      `&fieldSelector=involvedObject.name%3Dweb&allowWatchBookmarks=true`,
  );
  await all.until((evs) => evs.length >= 2);
  await api.request("POST", events, ev("e3", "web", "three"));
  await api.request(
    "PATCH",
    `${events}/e1`,
    { message: "one, again" },
    { contentType: "application/merge-patch+json" },
  );
  // e2 moves to web (ADDED for the filtered watcher), e3 moves away (DELETED for it).
  await api.request(
    "PATCH",
    `${events}/e2`,
    { involvedObject: { name: "web" } },
    { contentType: "application/merge-patch+json" },
  );
  await api.request(
    "PATCH",
    `${events}/e3`,
    { involvedObject: { name: "db" } },
    { contentType: "application/merge-patch+json" },
  );
  await api.request("DELETE", `${events}/e1`);
  const seen = (w: typeof all) => w.events.map((e) => `${e.type} ${e.object.metadata.name}`);
  await all.until((evs) => evs.length >= 7);
  assert.deepEqual(seen(all), [
    "ADDED e1",
    "ADDED e2",
    "ADDED e3",
    "MODIFIED e1",
    "MODIFIED e2",
    "MODIFIED e3",
    "DELETED e1",
  ]);
  await web.until((evs) => evs.length >= 5);
  assert.deepEqual(seen(web), ["ADDED e3", "MODIFIED e1", "ADDED e2", "DELETED e3", "DELETED e1"]);
  const versions = all.events.map((e) => Number(e.object.metadata.resourceVersion));
  assert.deepEqual(
    [...versions.slice(2)].sort((a, b) => a - b),
    versions.slice(2),
  );
  all.close();
  web.close();

  // After etcd compacts past a version, a watch from it is refused with 410 Gone.
  const etcd = new Etcd3({ hosts: api.etcdEndpoints });
  try {
    const rev = Number((await etcd.get("compact-probe").exec()).header.revision);
    await etcd.put("compact-probe").value("x");
    await etcd.kv.compact({ revision: String(rev + 1) });
  } finally {
    etcd.close();
  }
  const old = openWatch(`${events}?watch=true&resourceVersion=${list.metadata.resourceVersion}`);
  await old.until((evs) => evs.length >= 1);
  old.close();
  assert.equal(old.events[0]!.type, "ERROR");
  assert.equal(old.events[0]!.object.code, 410);
});
