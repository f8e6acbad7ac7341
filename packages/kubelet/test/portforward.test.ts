// `kubectl port-forward` end to end: the real kubectl (1.31: SPDY/3.1 in WebSocket messages;
// 1.27: SPDY/3.1 on the upgraded connection)
// through a real apiserver to a kubelet on the real Docker engine — to a pod's IP on the pod
// network (an echo server in the container) and to a hostNetwork pod (whose port is a server
// in this test, on 127.0.0.1); and the kubelet's session against a scripted peer, for what
// kubectl never does.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import http from "node:http";
import { join } from "node:path";
import { EventEmitter } from "node:events";
import net from "node:net";
import { after, before, test } from "node:test";
import { freePort, kubectlDir } from "@skiff/testing";
import { pino } from "pino";
import { PortForwardSession } from "../src/portforward.js";
import type { FrameChannel } from "../src/spdy-session.js";
import * as spdy from "../src/spdy.js";
import { IMAGE, assignPodCIDR, startHarness, waitFor, type Harness } from "./harness.js";

let h: Harness;
let server: http.Server;
let serverPort: number;
const children: ChildProcess[] = [];
/** The echo server's port inside the "echo" pod (nothing on the host listens there). */
const ECHO_PORT = 7407;

before(async () => {
  h = await startHarness();
  await h.startKubelet();
  await assignPodCIDR(h);
  // The hostNetwork pod's "container": hostNetwork pods are reached on 127.0.0.1.
  server = http.createServer((req, res) => {
    let size = 0;
    req.on("data", (c: Buffer) => (size += c.length));
    req.on("end", () => {
      const body = req.url === "/big" ? "x".repeat(300_000) : `hello ${size}`;
      res.end(body);
    });
  });
  serverPort = await new Promise<number>((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port)),
  );
  await h.createPod("echo", {
    containers: [
      {
        name: "app",
        image: IMAGE,
        // One `cat` per connection: every byte sent comes back.
        command: ["nc", "-ll", "-p", String(ECHO_PORT), "-e", "cat"],
      },
    ],
  });
  await h.createPod("host", {
    hostNetwork: true,
    containers: [{ name: "app", image: IMAGE, command: ["sleep", "3600"] }],
  });
  await h.waitPod("echo", (p) => p.status?.phase === "Running");
  await h.waitPod("host", (p) => p.status?.phase === "Running");
});

after(async () => {
  for (const c of children) c.kill();
  await h?.cleanup();
  await new Promise((resolve) => server?.close(resolve));
});

/**
 * Starts `kubectl port-forward pod/NAME LOCAL:REMOTE` and waits until it listens; `version`
 * picks one of the bundled kubectls (default: the dispatcher's choice, 1.31).
 */
async function portForward(pod: string, remote: number, version?: string) {
  const local = await freePort();
  const child = spawn(
    version ? join(kubectlDir, `kubectl.${version}`) : "kubectl",
    [
      "--kubeconfig",
      h.api.kubeconfig,
      `--cache-dir=${join(h.rootDir, "kubectl-cache")}`,
      "port-forward",
      "--address=127.0.0.1",
      `pod/${pod}`,
      `${local}:${remote}`,
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  children.push(child);
  const output = { stdout: "", stderr: "" };
  child.stdout.on("data", (d: Buffer) => (output.stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (output.stderr += d.toString()));
  await waitFor(
    "kubectl port-forward to listen",
    async () => output.stdout.includes("Forwarding from") || output.stderr.length > 0,
    30_000,
  );
  assert.match(output.stdout, /Forwarding from 127\.0\.0\.1/, output.stderr);
  return { local, child, output };
}

/** Sends `data` on a new connection and resolves with the first data.length bytes back. */
function echo(port: number, data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let got = 0;
    const c = net.connect({ host: "127.0.0.1", port }, () => c.write(data));
    c.on("data", (d: Buffer) => {
      chunks.push(d);
      got += d.length;
      if (got >= data.length) {
        c.destroy();
        resolve(Buffer.concat(chunks));
      }
    });
    c.on("error", reject);
    c.on("close", () =>
      reject(new Error(`connection closed after ${got} of ${data.length} bytes`)),
    );
  });
}

function post(port: number, path: string, body: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, path, method: "POST", agent: false });
    req.on("response", (res) => {
      let text = "";
      res.on("data", (c: Buffer) => (text += c.toString()));
      res.on("end", () => resolve(text));
    });
    req.on("error", reject);
    req.end(body);
  });
}

test("kubectl port-forward reaches a pod's IP: connections both ways, in parallel and past the 64 KiB window", async () => {
  const pf = await portForward("echo", ECHO_PORT);
  assert.deepEqual(await echo(pf.local, Buffer.from("ping")), Buffer.from("ping"));
  const payloads = [1, 2, 3, 4].map((n) => Buffer.alloc(n * 100_000, `payload ${n};`));
  const replies = await Promise.all(payloads.map((p) => echo(pf.local, p)));
  replies.forEach((r, i) => assert.ok(r.equals(payloads[i]!), `connection ${i + 1}`));
  assert.equal(pf.output.stderr, "");
  pf.child.kill();
});

test("kubectl port-forward reaches a hostNetwork pod's port on 127.0.0.1", async () => {
  const pf = await portForward("host", serverPort);
  assert.equal(await post(pf.local, "/", "y".repeat(100_000)), "hello 100000");
  assert.equal((await post(pf.local, "/big", "")).length, 300_000);
  assert.equal(pf.output.stderr, "");
  pf.child.kill();
});

test("kubectl 1.27 port-forwards over SPDY/3.1 itself (no WebSocket), through the apiserver", async () => {
  const pf = await portForward("echo", ECHO_PORT, "1.27");
  assert.deepEqual(await echo(pf.local, Buffer.from("ping")), Buffer.from("ping"));
  const big = Buffer.alloc(300_000, "spdy;");
  assert.ok((await echo(pf.local, big)).equals(big));
  assert.equal(pf.output.stderr, "");
  pf.child.kill();
});

test("a refused pod port is reported by kubectl as the kubelet's error", async () => {
  const closed = ECHO_PORT + 1;
  const pf = await portForward("echo", closed);
  await post(pf.local, "/", "").catch(() => "refused");
  await waitFor("kubectl to print the error", async () => pf.output.stderr.includes("refused"));
  assert.match(
    pf.output.stderr,
    new RegExp(`error forwarding port ${closed} to pod .*connect: connection refused`),
  );
  pf.child.kill();
});

test("the kubelet answers PING and sends no more than the window a peer keeps", async () => {
  const sent: Buffer[] = [];
  const peer = new EventEmitter();
  const channel: FrameChannel = {
    onChunk: (cb) => peer.on("message", cb),
    onClose: (cb) => peer.on("close", cb),
    send: (b) => sent.push(b),
    close: () => undefined,
  };
  const payload = Buffer.alloc(200_000, 1);
  const pod = net.createServer((c) => c.end(payload));
  const port = await new Promise<number>((resolve) =>
    pod.listen(0, "127.0.0.1", () => resolve((pod.address() as { port: number }).port)),
  );
  new PortForwardSession(channel, "uid-1", () => "127.0.0.1", pino({ level: "silent" }));
  const headers = new spdy.HeaderCompressor();
  const reader = new spdy.FrameReader();
  const frames: spdy.Frame[] = [];
  const received = () => {
    frames.push(...reader.push(Buffer.concat(sent.splice(0))));
    return frames.filter((f) => !f.control && f.streamId === 3);
  };
  try {
    const syn = async (id: number, type: string) =>
      spdy.synStream(0, {
        streamId: id,
        associatedTo: 0,
        priority: 0,
        block: await headers.compress({
          streamtype: [type],
          port: [String(port)],
          requestid: ["0"],
        }),
      });
    peer.emit(
      "message",
      spdy.settings([{ flags: 0, id: spdy.SETTINGS_INITIAL_WINDOW_SIZE, value: 1000 }]),
    );
    peer.emit(
      "message",
      Buffer.concat([await syn(1, "error"), await syn(3, "data"), spdy.ping(7)]),
    );
    await waitFor("the first 1000 bytes", async () => {
      const n = received().reduce((sum, f) => sum + (f.control ? 0 : f.data.length), 0);
      return n === 1000;
    });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(
      received().reduce((sum, f) => sum + (f.control ? 0 : f.data.length), 0),
      1000,
    );
    assert.ok(
      frames.some((f) => f.control && f.type === spdy.PING && spdy.parsePing(f.payload) === 7),
    );
    assert.equal(frames.filter((f) => f.control && f.type === spdy.SYN_REPLY).length, 2);
    peer.emit("message", spdy.windowUpdate(3, 199_000));
    const all = await waitFor("the rest and FIN", async () => {
      const data = received();
      return data.some((f) => !f.control && f.flags & spdy.FLAG_FIN) ? data : undefined;
    });
    const bytes = Buffer.concat(all.map((f) => (f.control ? Buffer.alloc(0) : f.data)));
    assert.deepEqual(bytes, payload);
  } finally {
    headers.close();
    peer.emit("close");
    await new Promise((resolve) => pod.close(resolve));
  }
});
