// The proxier against the real kernel: three backends in network namespaces of our own on a
// bridge in 10.244.251.0/24, Services on 10.96.251.x, traffic from the host. Every address
// used is loopback, one of these namespaces, or a ClusterIP that our rules DNAT to them.
// (All kernel tests live in this one file so that they never race each other.)
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { connect } from "node:net";
import type { EndpointSlice, Service } from "../src/types.js";
import { exec, mustExec } from "../src/exec.js";
import { IptablesProxier } from "../src/iptables/proxier.js";
import { SafetyNet } from "../src/safety.js";
import { lockKernel, othersRules, othersRulesLost } from "./kernel-lock.js";
import { backendNet, httpGet, startBackends } from "./backends.js";

const net = backendNet("skpt", 251, 3);
const { bridge, backends } = net;
let stopBackends = async (): Promise<void> => {};
const sh = (cmd: string, ...args: string[]): Promise<string> => mustExec(exec, cmd, args);

function service(name: string, clusterIP: string, spec: Partial<Service["spec"]> = {}): Service {
  return {
    metadata: { name, namespace: "test" },
    spec: {
      type: "ClusterIP",
      clusterIP,
      ports: [{ name: "http", port: 80, targetPort: "http" }],
      ...spec,
    },
  };
}

function slice(
  svc: string,
  ips: string[],
  port: { name: string; port: number; protocol?: "TCP" | "UDP" } = { name: "http", port: 8080 },
): EndpointSlice {
  return {
    metadata: {
      name: `${svc}-1`,
      namespace: "test",
      labels: { "kubernetes.io/service-name": svc },
    },
    addressType: "IPv4",
    ports: [{ protocol: "TCP", ...port }],
    endpoints: ips.map((ip) => ({
      addresses: [ip],
      nodeName: "node-a",
      conditions: { ready: true },
    })),
  };
}

const allIPs = backends.map((b) => b.ip);
const web = service("web", "10.96.251.10");
const sticky = service("sticky", "10.96.251.11", { sessionAffinity: "ClientIP" });
const nodePort = service("np", "10.96.251.12", {
  type: "NodePort",
  ports: [{ name: "http", port: 80, targetPort: "http", nodePort: 30251 }],
});
const empty = service("empty", "10.96.251.13");
const echo = service("echo", "10.96.251.14", {
  ports: [{ name: "dns", port: 53, protocol: "UDP", targetPort: 5353 }],
});
const webSlice = slice("web", allIPs);

const safety = new SafetyNet({ clusterCIDR: "10.244.0.0/16" });
const proxier = new IptablesProxier({
  node: { name: "node-a", addresses: [] },
  clusterCIDR: "10.244.0.0/16",
  safety,
  minSyncPeriodMs: 0,
});
let othersBefore: string[] = [];
let routeLocalnetBefore = "";
let unlock = (): void => {};

const get = (ip: string, port: number): Promise<string> => httpGet(ip, port, 3000);

async function names(ip: string, port: number, n: number): Promise<Set<string>> {
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) seen.add(await get(ip, port));
  return seen;
}

/** Connects and reports how it ended and how long that took. */
function tryConnect(ip: string, port: number): Promise<{ error: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const s = connect({ host: ip, port });
    s.setTimeout(5000, () => s.destroy(new Error("timeout")));
    s.on("connect", () => {
      s.destroy();
      resolve({ error: "connected", ms: Date.now() - started });
    });
    s.on("error", (e: NodeJS.ErrnoException) =>
      resolve({ error: e.code ?? e.message, ms: Date.now() - started }),
    );
  });
}

before(async () => {
  unlock = await lockKernel();
  othersBefore = await othersRules();
  routeLocalnetBefore = (await sh("sysctl", "-n", "net.ipv4.conf.all.route_localnet")).trim();
  stopBackends = await startBackends(net);
  for (const s of [web, sticky, nodePort, empty, echo]) proxier.onServiceAdd(s);
  for (const s of [
    webSlice,
    slice("sticky", allIPs),
    slice("np", allIPs),
    slice("echo", allIPs, { name: "dns", port: 5353, protocol: "UDP" }),
  ]) {
    proxier.onEndpointSliceAdd(s);
  }
  await proxier.sync();
});

after(async () => {
  await proxier.cleanup().catch(() => {});
  await stopBackends();
  unlock();
});

test("connections to a ClusterIP are spread over every endpoint", async () => {
  assert.deepEqual([...(await names("10.96.251.10", 80, 40))].sort(), ["be0", "be1", "be2"]);
});

test("the kernel holds kube-proxy's chains, with 1/3 stored as 0.33333333349", async () => {
  const nat = await sh("iptables-save", "-t", "nat");
  assert.match(
    nat,
    /-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES/,
  );
  assert.match(nat, /-A KUBE-SVC-\w{16} .*--probability 0.33333333349 -j KUBE-SEP-\w{16}/);
  assert.match(nat, /-A KUBE-SEP-\w{16} -p tcp .*-j DNAT --to-destination 10\.244\.251\.10:8080/);
  assert.match(nat, /-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000\/0x4000/);
});

test("an endpoint that goes away gets no more connections after a partial sync", async () => {
  const two = slice("web", allIPs.slice(0, 2));
  proxier.onEndpointSliceUpdate(webSlice, two);
  await proxier.sync();
  assert.equal(proxier.lastResult?.full, false);
  assert.equal(proxier.lastResult?.written, 1, "only the web service's chains are rewritten");
  assert.deepEqual([...(await names("10.96.251.10", 80, 30))].sort(), ["be0", "be1"]);
  proxier.onEndpointSliceUpdate(two, webSlice);
  await proxier.sync();
});

test("a NodePort answers on 127.0.0.1, the way kube-proxy does it (route_localnet)", async () => {
  assert.equal((await sh("sysctl", "-n", "net.ipv4.conf.all.route_localnet")).trim(), "1");
  assert.ok(["be0", "be1", "be2"].includes(await get("127.0.0.1", 30251)));
});

test("ClientIP affinity keeps a client on one endpoint", async () => {
  assert.equal((await names("10.96.251.11", 80, 15)).size, 1);
});

test("a service without endpoints refuses connections at once", async () => {
  const r = await tryConnect("10.96.251.13", 80);
  assert.equal(r.error, "ECONNREFUSED");
  assert.ok(r.ms < 1000, `took ${r.ms} ms`);
});

test("UDP reaches the endpoints, and a flow moves on when its endpoint is removed (conntrack flush)", async () => {
  const socket = createSocket("udp4");
  const ask = (): Promise<string> =>
    new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no UDP reply")), 3000);
      socket.once("message", (m) => {
        clearTimeout(timer);
        resolve(m.toString());
      });
      socket.send("ping", 53, "10.96.251.14");
    });
  const echoSlice = slice("echo", allIPs, { name: "dns", port: 5353, protocol: "UDP" });
  try {
    const first = await ask();
    assert.match(first, /^be[012]:ping$/);
    assert.equal(await ask(), first, "one flow, one endpoint");
    // The endpoint leaves (its server still runs): without deleting the conntrack entry the
    // flow would stay pinned to it.
    const pinned = backends.find((b) => first.startsWith(b.name + ":"))!;
    const rest = slice(
      "echo",
      allIPs.filter((ip) => ip !== pinned.ip),
      { name: "dns", port: 5353, protocol: "UDP" },
    );
    proxier.onEndpointSliceUpdate(echoSlice, rest);
    await proxier.sync();
    const next = await ask();
    assert.notEqual(next, first);
    assert.match(next, /^be[012]:ping$/);
    proxier.onEndpointSliceUpdate(rest, echoSlice);
    await proxier.sync();
  } finally {
    socket.close();
  }
});

test("a packet to an unused ClusterIP dies on this host, at once", async () => {
  // Checked before any packet is sent: the route must point at the drop device.
  assert.match(await sh("ip", "route", "get", "10.96.123.45"), /dev skiff-drop0/);
  assert.match(await sh("ip", "route", "get", "10.244.77.7"), /dev skiff-drop0/);
  assert.match(
    await sh("ip", "route", "get", "10.244.251.10"),
    new RegExp(`dev ${bridge}`),
    "real pod subnets win",
  );
  const r = await tryConnect("10.96.123.45", 80);
  assert.notEqual(r.error, "connected");
  assert.ok(r.ms < 1000, `took ${r.ms} ms (${r.error})`);
});

test("a full sync repairs chains someone else changed", async () => {
  const nat = await sh("iptables-save", "-t", "nat");
  const svc = /-A KUBE-SERVICES .*10\.96\.251\.10\/32 .*-j (KUBE-SVC-\w{16})/.exec(nat)?.[1];
  assert.ok(svc);
  await sh("iptables", "-w", "-t", "nat", "-F", svc);
  await assert.rejects(get("10.96.251.10", 80));
  proxier.requestFullSync();
  await proxier.sync();
  assert.equal(proxier.lastResult?.full, true);
  assert.ok(["be0", "be1", "be2"].includes(await get("10.96.251.10", 80)));
});

test("the compact layout (no SEP chains) balances, sticks and hairpins the same way", async () => {
  const compact = new IptablesProxier({
    node: { name: "node-a", addresses: [] },
    clusterCIDR: "10.244.0.0/16",
    layout: "compact",
    minSyncPeriodMs: 0,
  });
  for (const s of [web, sticky]) compact.onServiceAdd(s);
  for (const s of [webSlice, slice("sticky", allIPs)]) compact.onEndpointSliceAdd(s);
  await compact.sync();
  assert.doesNotMatch(
    await sh("iptables-save", "-t", "nat"),
    /^:KUBE-SEP-/m,
    "no SEP chain (affinity lists keep the name)",
  );
  assert.deepEqual([...(await names("10.96.251.10", 80, 40))].sort(), ["be0", "be1", "be2"]);
  assert.equal((await names("10.96.251.11", 80, 15)).size, 1);
  // Hairpin: a backend reaching itself through its Service is answered (masqueraded).
  const own = await sh(
    "ip",
    "netns",
    "exec",
    "skpt-be0",
    process.execPath,
    "-e",
    `let n=0,ok=0;const go=()=>require("http").get({host:"10.96.251.10",port:80,agent:false},r=>{r.resume();ok++;r.on("end",()=>++n<12?go():console.log(ok))}).on("error",()=>++n<12?go():console.log(ok));go()`,
  );
  assert.equal(own.trim(), "12");
  // Back to the kube-proxy layout of the main proxier.
  proxier.requestFullSync();
  await proxier.sync();
  assert.match(await sh("iptables-save", "-t", "nat"), /^:KUBE-SEP-/m);
});

test("cleanup removes every KUBE-* chain, the safety net and nothing of anyone else's", async () => {
  await proxier.cleanup();
  const after = await sh("iptables-save");
  // Only kube-proxy's own chains: skiff-net's SKIFF-NET-* (a cluster on this host) are not its to remove.
  assert.doesNotMatch(after, /KUBE-|SKIFF-SAFETY/);
  assert.deepEqual(
    othersRulesLost(othersBefore, await othersRules()),
    [],
    "Docker's chains and rules are still there",
  );
  assert.notEqual((await exec("ip", ["link", "show", "dev", "skiff-drop0"])).code, 0);
  assert.doesNotMatch(await sh("ip", "route"), /10\.96\.0\.0\/12/);
  assert.equal(
    (await sh("sysctl", "-n", "net.ipv4.conf.all.route_localnet")).trim(),
    routeLocalnetBefore,
  );
});
