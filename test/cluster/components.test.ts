// `make up`'s components come back and say why they cannot start: scripts/cluster.sh with its
// own state and ports. Only etcd and the apiserver ever start here (the apiserver's port is
// taken), so this cluster never touches the host's pods or iptables rules.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "@skiff/testing";
import { eventually, run } from "../lib.js";

const root = new URL("../../", import.meta.url).pathname;
const state = mkdtempSync(join(tmpdir(), "skiff-components-"));
let env: NodeJS.ProcessEnv;
let blocker: Server;
let apiPort: number;
let etcdPort: number;

const cluster = (verb: string) => run("bash", [join(root, "scripts/cluster.sh"), verb], env);
const pid = (name: string) => Number(readFileSync(join(state, "run", `${name}.child`), "utf8"));

before(async () => {
  apiPort = await freePort();
  etcdPort = await freePort();
  env = {
    ...process.env,
    SKIFF_STATE: state,
    SKIFF_API_PORT: String(apiPort),
    SKIFF_ETCD_PORT: String(etcdPort),
  };
  // Something else already listens on the apiserver's port, on every address.
  blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(apiPort, "0.0.0.0", resolve));
});

after(async () => {
  const down = await cluster("down");
  if (down.code !== 0) console.log(down.out, down.err);
  blocker.close();
  rmSync(state, { recursive: true, force: true });
});

test("with the API port taken, `cluster.sh up` stops at once and prints the apiserver's listen error", async () => {
  const started = Date.now();
  const up = await cluster("up");
  const seconds = (Date.now() - started) / 1000;
  assert.notEqual(up.code, 0, up.out);
  assert.match(up.err, new RegExp(`listen EADDRINUSE.*0\\.0\\.0\\.0:${apiPort}`), up.err);
  assert.match(up.err, /apiserver cannot start/);
  // etcd starts in a few seconds; waiting for the apiserver would take its full 30 s.
  assert.ok(seconds < 25, `took ${seconds.toFixed(1)} s`);
  // The failed apiserver is not left restarting in the background.
  const status = await cluster("status");
  assert.match(status.out, /^apiserver\s+stopped$/m, status.out);
  assert.match(status.out, /^etcd1\s+running \(pid \d+, restarts 0\)$/m, status.out);
});

test("a component that dies is restarted with a growing back-off, and `status` counts its restarts", async () => {
  const health = async () => {
    const r = await run(
      "curl",
      ["-fsS", "--max-time", "2", `http://127.0.0.1:${etcdPort}/health`],
      env,
    );
    return r.code === 0 && r.out.includes("true");
  };
  const first = pid("etcd1");
  process.kill(first, "SIGKILL");
  const second = await eventually("etcd restarted", async () => {
    const p = existsSync(join(state, "run", "etcd1.child")) ? pid("etcd1") : first;
    return p !== first && (await health()) ? p : undefined;
  });
  let status = await cluster("status");
  assert.match(status.out, new RegExp(`^etcd1\\s+running \\(pid ${second}, restarts 1\\)$`, "m"));
  // Dying again soon after: the next start waits 2 s, and `status` says it is backing off.
  const killed = Date.now();
  process.kill(second, "SIGKILL");
  await eventually("back-off shown", async () => {
    status = await cluster("status");
    return /^etcd1\s+restarting \(back-off; restarts 2; last: etcd1 exited with code 137; restarting in 2s/m.test(
      status.out,
    );
  });
  await eventually("etcd back again", async () => pid("etcd1") !== second && (await health()));
  assert.ok(Date.now() - killed >= 2000, "restarted before its 2 s back-off");
  const log = readFileSync(join(state, "logs", "etcd1.log"), "utf8");
  assert.match(log, /cluster: etcd1 exited with code 137; restarting in 1s \(restart 1\)/);
  assert.match(log, /cluster: etcd1 exited with code 137; restarting in 2s \(restart 2\)/);
  status = await cluster("status");
  assert.match(status.out, /^etcd1\s+running \(pid \d+, restarts 2\)$/m, status.out);
});

test("`cluster.sh up` again leaves the running etcd alone (its earlier restarts are no start failure)", async () => {
  const etcd = pid("etcd1");
  // etcd answers only 3 s into this `up` (paused meanwhile), so `up` waits on it.
  process.kill(etcd, "SIGSTOP");
  const resume = setTimeout(() => process.kill(etcd, "SIGCONT"), 3000);
  const up = await cluster("up");
  clearTimeout(resume);
  process.kill(etcd, "SIGCONT");
  assert.notEqual(up.code, 0);
  assert.match(up.out, /etcd1 already running/);
  assert.match(up.err, /apiserver cannot start/);
  assert.doesNotMatch(up.err, /etcd1/);
  assert.equal(pid("etcd1"), etcd);
  const status = await cluster("status");
  assert.match(status.out, new RegExp(`^etcd1\\s+running \\(pid ${etcd}, restarts 2\\)$`, "m"));
});

test("`cluster.sh down` stops the supervisors with their components", async () => {
  const etcd = pid("etcd1");
  const supervisor = Number(readFileSync(join(state, "run", "etcd1.pid"), "utf8"));
  const down = await cluster("down");
  assert.equal(down.code, 0, down.err);
  const alive = (p: number) => {
    try {
      process.kill(p, 0);
      return true;
    } catch {
      return false;
    }
  };
  assert.equal(alive(etcd), false, "etcd still runs");
  assert.equal(alive(supervisor), false, "its supervisor still runs");
  // It ran no proxy or agent, so it removed no iptables rules (other clusters' stay).
  assert.doesNotMatch(down.out, /iptables|skiff-net/);
});
