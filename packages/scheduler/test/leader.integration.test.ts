import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { resourceInfo } from "@skiff/api";
import type { Lease } from "@skiff/client";
import { startEnv, waitFor } from "./helpers.js";
import { makeNode, makePod } from "./fixtures.js";

const main = new URL("../src/main.ts", import.meta.url).pathname;

interface Replica {
  proc: ChildProcess;
  identity: Promise<string>;
  port: Promise<number>;
}

/** Runs skiff-scheduler as its own process, as a user would. */
function startReplica(kubeconfig: string): Replica {
  const proc = spawn(
    process.execPath,
    [
      "--conditions=source",
      "--import",
      "tsx",
      main,
      `--kubeconfig=${kubeconfig}`,
      "--port=0",
      "--leader-elect-lease-duration=3",
      "--leader-elect-renew-deadline=2",
      "--leader-elect-retry-period=0.5",
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const lines = createInterface({ input: proc.stdout! });
  let onServing: (v: { identity: string; port: number }) => void = () => {};
  const serving = new Promise<{ identity: string; port: number }>((r) => (onServing = r));
  lines.on("line", (line) => {
    try {
      const entry = JSON.parse(line) as { msg?: string; port?: number; identity?: string };
      if (entry.msg === "serving /healthz and /metrics")
        onServing({ identity: entry.identity!, port: entry.port! });
    } catch {
      // not a log line
    }
  });
  return { proc, identity: serving.then((s) => s.identity), port: serving.then((s) => s.port) };
}

const get = async (port: number, path: string) => {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, text: await res.text() };
};

test("two replicas: one leads and schedules, and the other takes over when the leader is killed", async (t) => {
  const env = await startEnv();
  const own = env.api.kubeconfigFor("system:kube-scheduler");
  const replicas = [startReplica(own), startReplica(own)];
  t.after(async () => {
    for (const r of replicas) r.proc.kill("SIGKILL");
    await env.stop();
  });
  const leases = env.client
    .resource<Lease>(resourceInfo("coordination.k8s.io", "v1", "leases"))
    .namespace("kube-system");
  const ids = await Promise.all(replicas.map((r) => r.identity));
  const holder = await waitFor("a leader", async () => {
    const h = await leases.get("kube-scheduler").then(
      (l) => l.spec?.holderIdentity,
      () => undefined,
    );
    return h && ids.includes(h) ? h : undefined;
  });
  const leader = replicas[ids.indexOf(holder)]!;
  const follower = replicas[1 - ids.indexOf(holder)]!;

  await env.createNode(makeNode("n1"));
  await env.createPod(makePod("before"));
  assert.equal(await env.boundNode("before"), "n1");
  for (const r of replicas)
    assert.deepEqual(await get(await r.port, "/healthz"), { status: 200, text: "ok" });
  const leaderMetrics = (await get(await leader.port, "/metrics")).text;
  assert.match(
    leaderMetrics,
    /scheduler_schedule_attempts_total\{result="scheduled",profile="default-scheduler"\} 1/,
  );
  assert.match(leaderMetrics, /scheduler_pending_pods\{queue="active"\} 0/);
  assert.doesNotMatch(
    (await get(await follower.port, "/metrics")).text,
    /result="scheduled"/,
    "the follower does not schedule",
  );

  const killedAt = Date.now();
  leader.proc.kill("SIGKILL");
  const followerId = await follower.identity;
  await waitFor(
    "the follower to take the lease",
    async () =>
      (await leases.get("kube-scheduler")).spec?.holderIdentity === followerId ? true : undefined,
    15_000,
  );
  await env.createPod(makePod("after"));
  assert.equal(await env.boundNode("after"), "n1");
  const failoverMs = Date.now() - killedAt;
  assert.ok(failoverMs < 10_000, `failover took ${failoverMs} ms`);
});
