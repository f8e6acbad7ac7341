// Leader election on a real Lease: one leader among candidates, takeover after the leader
// stops (by expiry, or at once when it releases), and a leader that cannot renew steps down.
import { test } from "node:test";
import assert from "node:assert/strict";
import { resourceInfo, rfc3339Micro } from "@skiff/api";
import { RestClient, LeaderElector, loadKubeconfig, silentLogger, type Lease } from "@skiff/client";
import { useApiserver } from "./apiserver.js";

const env = useApiserver();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const leases = () =>
  env.client
    .resource<Lease>(resourceInfo("coordination.k8s.io", "v1", "leases"))
    .namespace("kube-system");

function candidate(
  name: string,
  identity: string,
  log: string[],
  opts: { releaseOnCancel?: boolean; c?: RestClient } = {},
) {
  return new LeaderElector({
    client: opts.c ?? env.client,
    namespace: "kube-system",
    name,
    identity,
    leaseDurationSeconds: 2,
    renewDeadlineMs: 1500,
    retryPeriodMs: 300,
    releaseOnCancel: opts.releaseOnCancel,
    logger: silentLogger,
    callbacks: {
      onStartedLeading: () => void log.push(`${identity} started`),
      onStoppedLeading: () => void log.push(`${identity} stopped`),
      onNewLeader: (id) => void log.push(`${identity} sees ${id}`),
    },
  });
}

async function until(what: string, ok: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

test("two candidates: exactly one leads; when it stops, the other takes over after the lease expires", async () => {
  const log: string[] = [];
  const a = candidate("le-expiry", "a", log);
  const b = candidate("le-expiry", "b", log);
  let both = 0;
  const watchdog = setInterval(() => {
    if (a.isLeader() && b.isLeader()) both++;
  }, 10);
  const runs = [a.run(), b.run()];
  await until("a leader", () => a.isLeader() || b.isLeader());
  await sleep(2500); // longer than the lease: the leader keeps renewing, the other keeps waiting
  const [leader, follower] = a.isLeader() ? [a, b] : [b, a];
  const leaderId = leader === a ? "a" : "b";
  const followerId = leader === a ? "b" : "a";
  assert.equal(follower.isLeader(), false);
  assert.equal(follower.getLeader(), leaderId);
  const lease = await leases().get("le-expiry");
  assert.equal(lease.spec?.holderIdentity, leaderId);
  assert.equal(lease.spec?.leaseDurationSeconds, 2);
  assert.match(lease.spec?.renewTime ?? "", /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);

  const stoppedAt = Date.now();
  await leader.stop(); // no release: the follower must wait out the lease
  assert.ok(log.includes(`${leaderId} stopped`));
  await until("the takeover", () => follower.isLeader());
  const waited = Date.now() - stoppedAt;
  assert.ok(waited >= 1500, `took over after ${waited} ms; the lease lasts 2 s`);
  const taken = await leases().get("le-expiry");
  assert.equal(taken.spec?.holderIdentity, followerId);
  assert.equal(taken.spec?.leaseTransitions, 1);
  assert.ok(log.includes(`${followerId} sees ${followerId}`));
  await follower.stop();
  await Promise.all(runs);
  clearInterval(watchdog);
  assert.equal(both, 0, "never two leaders at once");
});

test("a leader that releases on stop is replaced at once", async () => {
  const log: string[] = [];
  const a = candidate("le-release", "a", log, { releaseOnCancel: true });
  void a.run();
  await until("a to lead", () => a.isLeader());
  const b = candidate("le-release", "b", log);
  void b.run();
  await sleep(600);
  assert.equal(b.isLeader(), false);
  const t0 = Date.now();
  await a.stop();
  assert.equal((await leases().get("le-release")).spec?.holderIdentity, "");
  await until("b to lead", () => b.isLeader());
  assert.ok(Date.now() - t0 < 1500, "no need to wait for expiry");
  await b.stop();
});

test("a leader whose lease is taken by someone else steps down", async () => {
  const log: string[] = [];
  const a = candidate("le-stolen", "a", log);
  const done = a.run();
  await until("a to lead", () => a.isLeader());
  // Another writer takes the lease (e.g. after a long pause of ours); our next renew sees it.
  const lease = await leases().get("le-stolen");
  const now = rfc3339Micro(Date.now());
  await leases().update({
    ...lease,
    spec: {
      ...lease.spec,
      holderIdentity: "intruder",
      renewTime: now,
      acquireTime: now,
      leaseDurationSeconds: 60,
    },
  });
  await done; // run() resolves when leadership is lost
  assert.equal(a.isLeader(), false);
  assert.ok(log.includes("a stopped"));
  assert.ok(log.includes("a sees intruder"));
});

test("a leader that cannot reach the apiserver stops leading within the renew deadline", async () => {
  const log: string[] = [];
  const c = new RestClient(loadKubeconfig({ kubeconfig: env.api.kubeconfig, env: {} }), {
    timeoutMs: 500,
  });
  const a = candidate("le-cut", "a", log, { c });
  const done = a.run();
  await until("a to lead", () => a.isLeader());
  const t0 = Date.now();
  await env.api.server.stop();
  await done;
  const took = Date.now() - t0;
  assert.ok(log.includes("a stopped"));
  assert.ok(took < 2000, `stepped down after ${took} ms (lease 2 s)`);
  await env.api.restart();
  c.close();
});
