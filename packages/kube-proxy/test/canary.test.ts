// The sync schedule and kube-proxy's canary, in a network namespace made for the purpose (its
// own netfilter tables, deleted at the end): periodic syncs are partial, a flush of the
// tables is noticed through the missing KUBE-PROXY-CANARY chain and repaired by a full sync,
// and --cleanup removes the canaries. No packet is sent.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { EndpointSlice, Service } from "../src/types.js";
import { exec, execInNetns, mustExec } from "../src/exec.js";
import { IptablesProxier } from "../src/iptables/proxier.js";
import { cleanupProxyRules } from "../src/proxy.js";
import type { SyncResult } from "../src/iptables/proxier.js";

const netns = `skpc-${process.pid}`;
const inNetns = execInNetns(netns);
const sh = (cmd: string, ...args: string[]): Promise<string> => mustExec(inNetns, cmd, args);
const syncPeriodMs = 1000;
const results: SyncResult[] = [];

const service: Service = {
  metadata: { name: "web", namespace: "canary" },
  spec: { type: "ClusterIP", clusterIP: "10.96.77.10", ports: [{ name: "http", port: 80 }] },
};
const slice: EndpointSlice = {
  metadata: {
    name: "web-1",
    namespace: "canary",
    labels: { "kubernetes.io/service-name": "web" },
  },
  addressType: "IPv4",
  ports: [{ name: "http", port: 8080, protocol: "TCP" }],
  endpoints: [{ addresses: ["10.244.77.2"], conditions: { ready: true } }],
};

const proxier = new IptablesProxier({
  node: { name: "node-a", addresses: [] },
  clusterCIDR: "10.244.0.0/16",
  exec: inNetns,
  syncPeriodMs,
  minSyncPeriodMs: 0,
  onSync: (r) => results.push(r),
});

/** The first sync that starts at or after `since`, meeting `ok`. */
async function nextSync(
  since: number,
  ok: (r: SyncResult) => boolean = () => true,
): Promise<SyncResult> {
  const deadline = Date.now() + 4 * syncPeriodMs + 5000;
  for (;;) {
    const r = results.find((r) => r.startedAt >= since && ok(r));
    if (r) return r;
    if (Date.now() > deadline) throw new Error("no such sync");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const dnat = /-A KUBE-SEP-\w{16} .*-j DNAT --to-destination 10\.244\.77\.2:8080/;

before(async () => {
  await mustExec(exec, "ip", ["netns", "add", netns]);
  proxier.onServiceAdd(service);
  proxier.onEndpointSliceAdd(slice);
  proxier.start();
  assert.equal((await nextSync(0)).full, true, "the first sync is a full one");
});

after(async () => {
  await proxier.stop();
  await exec("ip", ["netns", "del", netns]);
});

test("a periodic sync with nothing changed is partial and rewrites no service chain", async () => {
  const since = Date.now();
  const periodic = await nextSync(since);
  assert.equal(periodic.full, false);
  assert.equal(periodic.written, 0);
  const next = await nextSync(periodic.startedAt + 1);
  assert.equal(next.full, false, "and so is the one after it");
  assert.ok(
    next.startedAt - periodic.startedAt >= syncPeriodMs - 50,
    `${next.startedAt - periodic.startedAt} ms apart`,
  );
  assert.match(await sh("iptables-save", "-t", "nat"), dnat);
});

test("a flushed nat table without its canary is rewritten in full within one sync period", async () => {
  for (const table of ["mangle", "nat", "filter"])
    await sh("iptables", "-w", "-t", table, "-n", "-L", "KUBE-PROXY-CANARY");
  // What a firewall reload does: our rules go, the chains empty, the canary with them.
  await sh("iptables", "-w", "-t", "nat", "-F");
  await sh("iptables", "-w", "-t", "nat", "-X", "KUBE-PROXY-CANARY");
  const flushed = Date.now();
  assert.doesNotMatch(await sh("iptables-save", "-t", "nat"), dnat);
  const repair = await nextSync(flushed, (r) => r.full);
  const tookMs = repair.startedAt + repair.ms - flushed;
  // One check per period, then one sync; the slack is for a machine shared with other suites.
  assert.ok(tookMs < syncPeriodMs + 4000, `repaired after ${tookMs} ms`);
  const nat = await sh("iptables-save", "-t", "nat");
  assert.match(nat, dnat);
  assert.match(
    nat,
    /-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES/,
  );
  await sh("iptables", "-w", "-t", "nat", "-n", "-L", "KUBE-PROXY-CANARY");
  const later = await nextSync(Date.now());
  assert.equal(later.full, false, "then back to partial syncs");
});

test("--cleanup removes the canary chains from mangle, nat and filter", async () => {
  await proxier.stop();
  for (const table of ["mangle", "nat", "filter"])
    assert.match(await sh("iptables-save", "-t", table), /^:KUBE-PROXY-CANARY /m);
  await cleanupProxyRules({ exec: inNetns });
  const left = await sh("iptables-save");
  assert.doesNotMatch(left, /KUBE-PROXY-CANARY/);
  assert.doesNotMatch(left, /KUBE-/);
});
