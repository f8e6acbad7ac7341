// The REST client against a small recording HTTP server on loopback: paths, query, headers,
// bodies, error decoding, watch streaming and the client-side rate limit.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type ServerResponse, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { resourceInfo } from "@skiff/api";
import { RestClient, isNotFound, isConflict, ApiError, ConnectionError } from "@skiff/client";

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
}
let server: Server;
let base: string;
const seen: Seen[] = [];
let respond: (req: Seen, res: ServerResponse) => void = (_req, res) => res.end("{}");

before(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const s = {
        method: req.method!,
        url: req.url!,
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      };
      seen.push(s);
      respond(s, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.closeAllConnections();
  server.close();
});

const pods = resourceInfo("", "v1", "pods");
const deployments = resourceInfo("apps", "v1", "deployments");
const nodes = resourceInfo("", "v1", "nodes");
const obj = (name: string) =>
  JSON.stringify({ kind: "X", metadata: { name, resourceVersion: "7" } });

function client(extra: object = {}) {
  return new RestClient({ server: base, namespace: "default", token: "tok", qps: -1, ...extra });
}

test("resource paths follow Kubernetes for core, group, namespaced and cluster-scoped resources", async () => {
  const c = client();
  respond = (req, res) =>
    res.end(
      req.url.includes("?") || req.url.endsWith("s")
        ? JSON.stringify({ metadata: {}, items: [] })
        : obj("x"),
    );
  seen.length = 0;
  await c.resource(pods).namespace("default").get("web");
  await c.resource(deployments).namespace("prod").get("api");
  await c.resource(nodes).get("node-1");
  await c.resource(pods).list();
  await c
    .resource(deployments)
    .namespace("prod")
    .list({ labelSelector: "app=web", limit: 5, continue: "tok en" });
  assert.deepEqual(
    seen.map((s) => s.url),
    [
      "/api/v1/namespaces/default/pods/web",
      "/apis/apps/v1/namespaces/prod/deployments/api",
      "/api/v1/nodes/node-1",
      "/api/v1/pods",
      "/apis/apps/v1/namespaces/prod/deployments?labelSelector=app%3Dweb&limit=5&continue=tok+en",
    ],
  );
  assert.equal(seen[0]!.headers.authorization, "Bearer tok");
  assert.equal(seen[0]!.headers.accept, "application/json");
  await assert.rejects(c.resource(pods).get("x"), /namespaced: choose a namespace/);
  c.close();
});

test("create, update, status, patch, delete, bind and scale send the right verb, path, type and body", async () => {
  const c = client();
  respond = (_req, res) => res.end(obj("x"));
  seen.length = 0;
  const p = c.resource(pods).namespace("ns");
  await p.create({ metadata: { name: "a" } }, { fieldManager: "me" });
  await p.update({ metadata: { name: "a", resourceVersion: "3" } });
  await p.updateStatus({ metadata: { name: "a", resourceVersion: "3" } });
  await p.patch("a", { metadata: { labels: { x: "y" } } }, "merge");
  await p.patch("a", [{ op: "add", path: "/x", value: 1 }], "json");
  await p.patch("a", {}, "strategic", { subresource: "status" });
  await p.patch("a", { metadata: { name: "a" } }, "apply", {
    fieldManager: "skiffctl",
    force: true,
  });
  await p.delete("a", {
    propagationPolicy: "Foreground",
    gracePeriodSeconds: 0,
    preconditions: { uid: "u1" },
  });
  await p.bind("a", "node-1");
  await c.resource(deployments).namespace("ns").getScale("d");
  const lines = seen.map((s) => `${s.method} ${s.url} ${s.headers["content-type"] ?? "-"}`);
  assert.deepEqual(lines, [
    "POST /api/v1/namespaces/ns/pods?fieldManager=me application/json",
    "PUT /api/v1/namespaces/ns/pods/a application/json",
    "PUT /api/v1/namespaces/ns/pods/a/status application/json",
    "PATCH /api/v1/namespaces/ns/pods/a application/merge-patch+json",
    "PATCH /api/v1/namespaces/ns/pods/a application/json-patch+json",
    "PATCH /api/v1/namespaces/ns/pods/a/status application/strategic-merge-patch+json",
    "PATCH /api/v1/namespaces/ns/pods/a?fieldManager=skiffctl&force=true application/apply-patch+yaml",
    "DELETE /api/v1/namespaces/ns/pods/a application/json",
    "POST /api/v1/namespaces/ns/pods/a/binding application/json",
    "GET /apis/apps/v1/namespaces/ns/deployments/d/scale -",
  ]);
  assert.deepEqual(JSON.parse(seen[0]!.body), {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "a" },
  });
  assert.deepEqual(JSON.parse(seen[7]!.body), {
    apiVersion: "v1",
    kind: "DeleteOptions",
    propagationPolicy: "Foreground",
    gracePeriodSeconds: 0,
    preconditions: { uid: "u1" },
  });
  assert.deepEqual(JSON.parse(seen[8]!.body), {
    apiVersion: "v1",
    kind: "Binding",
    metadata: { name: "a", namespace: "ns" },
    target: { apiVersion: "v1", kind: "Node", name: "node-1" },
  });
  c.close();
});

test("a Status answer throws a typed ApiError; a non-JSON answer a clear one", async () => {
  const c = client();
  respond = (req, res) => {
    if (req.url.endsWith("/missing")) {
      res.writeHead(404, { "Content-Type": "application/json" });
      res.end(
        JSON.stringify({
          kind: "Status",
          apiVersion: "v1",
          status: "Failure",
          code: 404,
          reason: "NotFound",
          message: 'pods "missing" not found',
        }),
      );
    } else if (req.method === "PUT") {
      res.writeHead(409);
      res.end(
        JSON.stringify({
          kind: "Status",
          apiVersion: "v1",
          code: 409,
          reason: "Conflict",
          message: "the object has been modified",
        }),
      );
    } else {
      res.writeHead(502);
      res.end("Bad Gateway");
    }
  };
  const p = c.resource(pods).namespace("default");
  await assert.rejects(
    p.get("missing"),
    (e) => isNotFound(e) && e.message === 'pods "missing" not found',
  );
  await assert.rejects(p.update({ metadata: { name: "a", resourceVersion: "1" } }), (e) =>
    isConflict(e),
  );
  await assert.rejects(
    p.get("other"),
    (e) => e instanceof ApiError && e.code === 502 && /Bad Gateway/.test(e.message) && e.retryable,
  );
  c.close();
});

test("a refused connection throws a ConnectionError", async () => {
  const dead = new RestClient({ server: "http://127.0.0.1:1", namespace: "default", qps: -1 });
  await assert.rejects(
    dead.request("GET", "/version"),
    (e) => e instanceof ConnectionError && e.retryable,
  );
  dead.close();
});

test("a client key that is no key is a clear error naming the server", () => {
  assert.throws(
    () =>
      new RestClient({
        server: "https://127.0.0.1:1",
        namespace: "default",
        cert: "not a PEM",
        key: "not a PEM",
      }),
    /^Error: the CA or client certificate for https:\/\/127\.0\.0\.1:1 cannot be used: /,
  );
});

test("a watch streams chunked events with the watch query and stops on request", async () => {
  const c = client();
  seen.length = 0;
  respond = (_req, res) => {
    res.writeHead(200, { "Content-Type": "application/json" });
    const line =
      JSON.stringify({
        type: "ADDED",
        object: { metadata: { name: "a", resourceVersion: "11" } },
      }) + "\n";
    res.write(line.slice(0, 15));
    setTimeout(
      () =>
        res.write(
          line.slice(15) +
            JSON.stringify({
              type: "MODIFIED",
              object: { metadata: { name: "a", resourceVersion: "12" } },
            }) +
            "\n",
        ),
      20,
    );
  };
  const w = c
    .resource(pods)
    .namespace("default")
    .watch({ resourceVersion: "10", allowWatchBookmarks: true, timeoutSeconds: 30 });
  const got: string[] = [];
  for await (const e of w) {
    got.push(`${e.type} ${e.object.metadata?.resourceVersion}`);
    if (got.length === 2) w.stop();
  }
  assert.deepEqual(got, ["ADDED 11", "MODIFIED 12"]);
  assert.equal(
    seen[0]!.url,
    "/api/v1/namespaces/default/pods?resourceVersion=10&allowWatchBookmarks=true&timeoutSeconds=30&watch=true",
  );
  c.close();
});

test("a watch refused with 410 throws Gone from the iteration", async () => {
  const c = client();
  respond = (_req, res) => {
    res.writeHead(410);
    res.end(
      JSON.stringify({
        kind: "Status",
        apiVersion: "v1",
        code: 410,
        reason: "Expired",
        message: "too old resource version: 1 (50)",
      }),
    );
  };
  const w = c.resource(pods).all().watch({ resourceVersion: "1" });
  await assert.rejects(
    async () => {
      for await (const _ of w) void _;
    },
    (e) => e instanceof ApiError && e.code === 410,
  );
  c.close();
});

test("the client-side rate limit spaces requests beyond the burst", async () => {
  const c = client({ qps: 20, burst: 2 });
  respond = (_req, res) => res.end(obj("x"));
  const t0 = performance.now();
  for (let i = 0; i < 6; i++) await c.resource(nodes).get("n");
  const ms = performance.now() - t0;
  assert.ok(
    ms >= 170,
    `6 requests at 20 qps with burst 2 took ${ms.toFixed(0)} ms, expected >= 200`,
  );
  c.close();
});

test("parallel requests share a bounded pool: at most 10 connections, 2 kept idle, shared by clients of one server", async () => {
  const open = new Set<Socket>();
  let opened = 0;
  let peak = 0;
  const onConnection = (s: Socket) => {
    opened++;
    open.add(s);
    peak = Math.max(peak, open.size);
    s.once("close", () => open.delete(s));
  };
  server.closeAllConnections();
  server.on("connection", onConnection);
  respond = (_req, res) => setTimeout(() => res.end(obj("x")), 30);
  const a = client();
  const b = client(); // the same server and identity: the kubelet's event client, say
  try {
    const gets = Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).resource(nodes).get("n"));
    assert.equal((await Promise.all(gets)).length, 40);
    assert.ok(peak <= 10, `40 parallel requests from two clients opened ${peak} at once`);
    assert.ok(opened <= 10, `${opened} connections opened for 40 requests`);
    await waitFor(() => open.size <= 2, "idle connections kept beyond 2");
    // Closing one client leaves the other's requests working on the shared pool.
    a.close();
    await b.resource(nodes).get("n");
    b.close();
    await waitFor(() => open.size === 0, "connections left open after both clients closed");
  } finally {
    server.off("connection", onConnection);
  }
});

async function waitFor(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 100 && !cond(); i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(cond(), what);
}
