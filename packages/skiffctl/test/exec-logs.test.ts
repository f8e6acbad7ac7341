// exec and logs against a small stand-in apiserver on loopback, for the v5.channel.k8s.io
// framing, container choice and the pods/log query. `skiffctl exec -i` through a real
// apiserver and kubelet (stdin, exit codes) is tested in kubelet/test/kubelet-lifecycle.test.ts.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { WebSocketServer } from "ws";
import { skiffctl, tempHome, type Result } from "./helpers.js";

let server: Server;
let home: ReturnType<typeof tempHome>;
let kubeconfig: string;
let lastExecQuery = "";

const pod = {
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name: "box", namespace: "default" },
  spec: {
    containers: [
      { name: "main", image: "busybox" },
      { name: "side", image: "busybox" },
    ],
  },
};

before(async () => {
  home = tempHome();
  const wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (p) => (p.has("v5.channel.k8s.io") ? "v5.channel.k8s.io" : false),
  });
  server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const send = (v: unknown): void => {
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end(JSON.stringify(v));
    };
    if (url.pathname === "/api") return send({ kind: "APIVersions", versions: ["v1"] });
    if (url.pathname === "/apis") return send({ kind: "APIGroupList", groups: [] });
    if (url.pathname === "/api/v1")
      return send({
        kind: "APIResourceList",
        groupVersion: "v1",
        resources: [
          { name: "pods", namespaced: true, kind: "Pod", verbs: ["get"], shortNames: ["po"] },
        ],
      });
    if (url.pathname === "/api/v1/namespaces/default/pods/box") return send(pod);
    if (url.pathname === "/api/v1/namespaces/default/pods/box/log") {
      res.writeHead(200, { "Content-Type": "text/plain" });
      return res.end(`log of ${url.searchParams.toString()}\n`);
    }
    res.writeHead(404, { "Content-Type": "application/json" });
    res.end(
      JSON.stringify({
        kind: "Status",
        apiVersion: "v1",
        status: "Failure",
        reason: "NotFound",
        code: 404,
        message: `pods "${url.pathname.split("/")[6] ?? ""}" not found`,
      }),
    );
  });
  server.on("upgrade", (req, socket, head) => {
    lastExecQuery = new URL(req.url ?? "/", "http://x").searchParams.toString();
    wss.handleUpgrade(req, socket, head, (ws) => {
      const frame = (channel: number, text: string): Buffer =>
        Buffer.concat([Buffer.from([channel]), Buffer.from(text)]);
      ws.send(frame(1, "hello from main\n"));
      ws.send(frame(2, "a warning\n"));
      ws.on("message", (data: Buffer) => {
        if (data[0] === 0) ws.send(frame(1, `echo:${data.subarray(1).toString()}`));
        if (data[0] === 255) {
          ws.send(
            frame(
              3,
              JSON.stringify({
                status: "Failure",
                reason: "NonZeroExitCode",
                details: { causes: [{ reason: "ExitCode", message: "3" }] },
              }),
            ),
          );
          ws.close(1000);
        }
      });
      if (!lastExecQuery.includes("stdin=true")) {
        ws.send(frame(3, JSON.stringify({ metadata: {}, status: "Success" })));
        ws.close(1000);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  kubeconfig = join(home.home, "kubeconfig");
  writeFileSync(
    kubeconfig,
    `apiVersion: v1\nkind: Config\ncurrent-context: fake\nclusters: [{name: fake, cluster: {server: "http://127.0.0.1:${port}"}}]\ncontexts: [{name: fake, context: {cluster: fake}}]\n`,
  );
});
after(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  home?.cleanup();
});

const sk = (args: string[], stdin?: string): Promise<Result> =>
  skiffctl(kubeconfig, home.home, args, stdin === undefined ? {} : { stdin });

test("exec streams stdout and stderr from their channels and exits 0 on Success", async () => {
  const r = await sk(["exec", "box", "-c", "main", "--", "ls", "-l", "/"]);
  assert.deepEqual(r, { code: 0, stdout: "hello from main\n", stderr: "a warning\n" });
  assert.match(
    lastExecQuery,
    /command=ls&command=-l&command=%2F&container=main&stdout=true&stderr=true/,
  );
});

test("exec -i sends stdin, closes it, and exits with the command's exit code", async () => {
  const r = await sk(["exec", "-i", "box", "-c", "side", "--", "cat"], "typed input");
  assert.equal(r.code, 3);
  assert.equal(r.stdout, "hello from main\necho:typed input");
});

test("exec and logs ask for a container when the pod has several", async () => {
  const r = await sk(["exec", "box", "--", "ls"]);
  assert.deepEqual(
    [r.code, r.stderr],
    [1, "error: a container name must be specified for pod box, choose one of: [main side]\n"],
  );
});

test("logs passes container, tail, timestamps and previous to pods/log", async () => {
  const r = await sk(["logs", "box", "-c", "side", "--tail=5", "--timestamps", "-p"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "log of container=side&previous=true&timestamps=true&tailLines=5\n");
  const missing = await sk(["logs", "nothere", "-c", "x"]);
  assert.deepEqual(
    [missing.code, missing.stderr],
    [1, 'Error from server (NotFound): pods "nothere" not found\n'],
  );
});
