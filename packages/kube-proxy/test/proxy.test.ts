// skiff-proxy against a real apiserver and the real kernel: Services and EndpointSlices are
// created through the API, backends run in network namespaces of our own on a bridge in
// 10.244.252.0/24. Traffic goes only to loopback, the host's own address, those namespaces
// and ClusterIPs our rules DNAT to them.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { request } from "node:http";
import { createSocket } from "node:dgram";
import { connect } from "node:net";
import type { Socket } from "node:net";
import { resourceInfo } from "@skiff/api";
import { ApiError, RestClient, loadClientConfig } from "@skiff/client";
import type { KubeObject } from "@skiff/client";
import { eventually, freePort, startApiserver } from "@skiff/testing";
import type { TestApiserver } from "@skiff/testing";
import { exec, mustExec } from "../src/exec.js";
import { ProxyServer, cleanupProxyRules, hostAddresses } from "../src/proxy.js";
import { lockKernel, othersRules, othersRulesLost } from "./kernel-lock.js";
import { backendNet, startBackends } from "./backends.js";
import { kernelHasIpvs } from "./ipvs-kernel.js";

const ns = "proxy-test";
const nodeName = "proxy-test-node";
const net = backendNet("skpa", 252, 4);
const { backends } = net;
let stopBackends = async (): Promise<void> => {};
const ips = backends.map((b) => b.ip);
const hostIP = hostAddresses()[0]!;
const mainScript = new URL("../src/main.ts", import.meta.url).pathname;
const sh = (cmd: string, ...args: string[]): Promise<string> => mustExec(exec, cmd, args);

let api: TestApiserver;
let client: RestClient;
let proxy: ProxyServer;
let unlock = (): void => {};
let othersBefore: string[] = [];
let routeLocalnetBefore = "";

const services = resourceInfo("", "v1", "services");
const slices = resourceInfo("discovery.k8s.io", "v1", "endpointslices");

// Per backend: HTTP 8080 answers its name, UDP 5353 echoes with its name, TCP 9000 echoes.
type Port = { name: string; port: number; protocol: "TCP" | "UDP"; targetPort: number };
const http: Port = { name: "http", port: 80, protocol: "TCP", targetPort: 8080 };

function service(name: string, clusterIP: string, spec: Record<string, unknown> = {}): KubeObject {
  return {
    metadata: { name, namespace: ns },
    spec: { type: "ClusterIP", clusterIP, ports: [http], ...spec },
  } as KubeObject;
}

function slice(svc: string, addresses: string[], port: Port = http): KubeObject {
  return {
    metadata: { name: `${svc}-abc`, namespace: ns, labels: { "kubernetes.io/service-name": svc } },
    addressType: "IPv4",
    ports: [{ name: port.name, port: port.targetPort, protocol: port.protocol }],
    endpoints: addresses.map((ip) => ({
      addresses: [ip],
      nodeName,
      conditions: { ready: true },
    })),
  } as KubeObject;
}

/** Replaces a slice's endpoints through the API; resolves when the proxy has synced them. */
async function setEndpoints(svc: string, addresses: string[]): Promise<number> {
  const rc = client.resource(slices).namespace(ns);
  const current = await rc.get(`${svc}-abc`);
  const next = { ...slice(svc, addresses), metadata: current.metadata };
  const written = Date.now();
  const synced = proxy.waitForSync(written);
  await rc.update(next);
  await synced;
  return Date.now() - written;
}

function get(host: string, port: number, path = "/"): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path, agent: false, timeout: 3000 }, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.end();
  });
}

async function names(ip: string, port: number, n: number): Promise<string[]> {
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) seen.add((await get(ip, port)).body);
  return [...seen].sort();
}

/** Sends a line on an open connection and reads the echo. */
function echo(s: Socket, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no echo")), 3000);
    s.once("data", (d: Buffer) => {
      clearTimeout(timer);
      resolve(d.toString());
    });
    s.write(text);
  });
}

async function createOrReplace(info: typeof services, obj: KubeObject): Promise<void> {
  try {
    await client.resource(info).namespace(ns).create(obj);
  } catch (e) {
    if (!(e instanceof ApiError) || e.code !== 409) throw e;
  }
}

before(async () => {
  unlock = await lockKernel();
  othersBefore = await othersRules();
  routeLocalnetBefore = (await sh("sysctl", "-n", "net.ipv4.conf.all.route_localnet")).trim();
  api = await startApiserver();
  client = new RestClient(loadClientConfig({ kubeconfig: api.kubeconfig }));
  stopBackends = await startBackends(net);

  await client.resource(resourceInfo("", "v1", "namespaces")).create({ metadata: { name: ns } });
  const nodes = client.resource(resourceInfo("", "v1", "nodes"));
  const node = await nodes.create({ metadata: { name: nodeName } });
  await api.request("PUT", `/api/v1/nodes/${nodeName}/status`, {
    ...node,
    status: { addresses: [{ type: "InternalIP", address: hostIP }] },
  });
  const tcp: Port = { name: "tcp", port: 9000, protocol: "TCP", targetPort: 9000 };
  const dns: Port = { name: "dns", port: 53, protocol: "UDP", targetPort: 5353 };
  for (const s of [
    service("web", "10.96.252.10"),
    service("sticky", "10.96.252.11", { sessionAffinity: "ClientIP" }),
    service("np", "10.96.252.12", { type: "NodePort", ports: [{ ...http, nodePort: 30252 }] }),
    service("empty", "10.96.252.13"),
    service("echo", "10.96.252.14", { ports: [dns] }),
    service("conn", "10.96.252.15", { ports: [tcp] }),
  ])
    await createOrReplace(services, s);
  const three = ips.slice(0, 3);
  for (const s of [
    slice("web", three),
    slice("sticky", three),
    slice("np", three),
    slice("echo", three, dns),
    slice("conn", three, tcp),
  ])
    await createOrReplace(slices, s);

  proxy = new ProxyServer({
    client,
    hostnameOverride: nodeName,
    minSyncPeriodMs: 100,
    metricsBindAddress: "127.0.0.1:0",
    healthzBindAddress: "127.0.0.1:0",
  });
  const started = Date.now();
  const synced = proxy.waitForSync(started);
  await proxy.start();
  await synced;
});

after(async () => {
  await proxy?.stop().catch(() => {});
  await cleanupProxyRules().catch(() => {});
  // --cleanup in a fresh process cannot know the value the first proxy found (nor does
  // kube-proxy restore it): put the host back as it was.
  await exec("sysctl", ["-w", `net.ipv4.conf.all.route_localnet=${routeLocalnetBefore}`]);
  await stopBackends();
  await api?.stop();
  unlock();
});

test("a ClusterIP created through the API reaches every backend", async () => {
  assert.deepEqual(await names("10.96.252.10", 80, 40), ["be0", "be1", "be2"]);
});

test("scaling the endpoints up and down in the API reaches the kernel within a second", async () => {
  const up = await setEndpoints("web", ips);
  assert.ok(up < 1000, `scale up took ${up} ms`);
  assert.deepEqual(await names("10.96.252.10", 80, 50), ["be0", "be1", "be2", "be3"]);
  const down = await setEndpoints("web", [ips[0]!]);
  assert.ok(down < 1000, `scale down took ${down} ms`);
  assert.deepEqual(await names("10.96.252.10", 80, 10), ["be0"]);
  await setEndpoints("web", ips.slice(0, 3));
});

test("a NodePort answers on the node's own address", async () => {
  const r = await get(hostIP, 30252);
  assert.ok(["be0", "be1", "be2"].includes(r.body), r.body);
});

test("ClientIP affinity keeps a client on one backend", async () => {
  assert.equal((await names("10.96.252.11", 80, 15)).length, 1);
});

test("a service with no endpoints refuses connections at once", async () => {
  const started = Date.now();
  const error = await new Promise<string>((resolve) => {
    const s = connect({ host: "10.96.252.13", port: 80 });
    s.setTimeout(5000, () => s.destroy(new Error("timeout")));
    s.on("connect", () => (s.destroy(), resolve("connected")));
    s.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
  assert.equal(error, "ECONNREFUSED");
  assert.ok(Date.now() - started < 1000);
});

test("UDP reaches a backend through the ClusterIP", async () => {
  const socket = createSocket("udp4");
  try {
    const reply = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no UDP reply")), 3000);
      socket.once("message", (m) => (clearTimeout(timer), resolve(m.toString())));
      socket.send("ping", 53, "10.96.252.14");
    });
    assert.match(reply, /^be[012]:ping$/);
  } finally {
    socket.close();
  }
});

test("/proxyMode, /metrics and /healthz answer as kube-proxy's do", async () => {
  const [mhost, mport] = proxy.metricsAddress!.split(":") as [string, string];
  assert.deepEqual(await get(mhost, Number(mport), "/proxyMode"), {
    status: 200,
    body: "iptables",
  });
  const metrics = (await get(mhost, Number(mport), "/metrics")).body;
  assert.match(metrics, /^kubeproxy_sync_proxy_rules_duration_seconds_count [1-9]/m);
  // A full sync at start; the endpoint changes above were partial ones.
  assert.match(metrics, /^kubeproxy_sync_full_proxy_rules_duration_seconds_count [1-9]/m);
  assert.match(metrics, /^kubeproxy_sync_partial_proxy_rules_duration_seconds_count [1-9]/m);
  assert.match(metrics, /^kubeproxy_sync_proxy_rules_iptables_total [1-9]\d+/m);
  assert.match(metrics, /^kubeproxy_sync_proxy_rules_last_timestamp_seconds \d/m);
  const [hhost, hport] = proxy.healthzAddress!.split(":") as [string, string];
  const health = await get(hhost, Number(hport), "/healthz");
  assert.equal(health.status, 200);
  const body = JSON.parse(health.body) as { lastUpdated: string; currentTime: string };
  assert.ok(Date.parse(body.lastUpdated) > Date.now() - 60_000);
  assert.ok(Date.parse(body.currentTime) >= Date.parse(body.lastUpdated));
});

test("deleting a Service in the API removes its rules", async () => {
  const gone = service("gone", "10.96.252.16");
  await client.resource(services).namespace(ns).create(gone);
  await client
    .resource(slices)
    .namespace(ns)
    .create(slice("gone", ips.slice(0, 1)));
  await eventually(async () => assert.equal((await get("10.96.252.16", 80)).body, "be0"));
  await client.resource(services).namespace(ns).delete("gone");
  await eventually(
    async () => assert.doesNotMatch(await sh("iptables-save", "-t", "nat"), /10\.96\.252\.16\//),
    5000,
  );
  await assert.rejects(get("10.96.252.16", 80));
  await client.resource(slices).namespace(ns).delete("gone-abc");
});

/** Runs skiff-proxy as its own process; resolves once it has synced (healthz 200). */
async function startChild(
  ...flags: string[]
): Promise<{ child: ChildProcess; output: () => string; metricsPort: number }> {
  const metricsPort = await freePort();
  const healthzPort = await freePort();
  let output = "";
  const child = spawn(
    process.execPath,
    [
      "--conditions=source",
      "--import",
      "tsx",
      mainScript,
      `--kubeconfig=${api.kubeconfigFor("system:kube-proxy")}`,
      `--hostname-override=${nodeName}`,
      `--metrics-bind-address=127.0.0.1:${metricsPort}`,
      `--healthz-bind-address=127.0.0.1:${healthzPort}`,
      "--min-sync-period=100ms",
      ...flags,
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
  await eventually(
    async () => assert.equal((await get("127.0.0.1", healthzPort, "/healthz")).status, 200),
    30_000,
  );
  return { child, output: () => output, metricsPort };
}

function stopChild(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    child.once("exit", (code) => resolve(code));
    child.kill("SIGTERM");
  });
}

test("a proxy restart (and --proxy-mode=ipvs, which falls back where the kernel has no IPVS) keeps an open TCP connection", async () => {
  const hasIpvs = kernelHasIpvs();
  const conn = connect({ host: "10.96.252.15", port: 9000 });
  await new Promise<void>((resolve, reject) => conn.once("connect", resolve).once("error", reject));
  try {
    assert.equal(await echo(conn, "one"), "one");
    await proxy.stop(); // the in-process proxy goes away; its rules stay
    assert.equal(await echo(conn, "two"), "two");

    const ipvs = await startChild("--proxy-mode=ipvs");
    try {
      const mode = await get("127.0.0.1", ipvs.metricsPort, "/proxyMode");
      if (hasIpvs) {
        // The real IPVS path: virtual servers serve the ClusterIP.
        assert.equal(mode.body, "ipvs");
        assert.doesNotMatch(ipvs.output(), /IPVS is not available/);
        assert.deepEqual(await names("10.96.252.10", 80, 30), ["be0", "be1", "be2"]);
      } else {
        assert.equal(mode.body, "iptables");
        assert.equal(ipvs.output().match(/IPVS is not available/g)?.length, 1, ipvs.output());
      }
      assert.equal(await echo(conn, "three"), "three");
    } finally {
      assert.equal(await stopChild(ipvs.child), 0);
    }
    // Stopped: the rules are still there and still serve.
    if (!hasIpvs) assert.match(await sh("iptables-save", "-t", "nat"), /10\.96\.252\.15\/32/);
    assert.equal(await echo(conn, "four"), "four");
    assert.ok(["be0", "be1", "be2"].includes((await get("10.96.252.10", 80)).body));

    const again = await startChild();
    try {
      assert.equal(await echo(conn, "five"), "five");
      assert.deepEqual(await names("10.96.252.10", 80, 30), ["be0", "be1", "be2"]);
    } finally {
      assert.equal(await stopChild(again.child), 0);
    }
  } finally {
    conn.destroy();
  }
});

test("--cleanup removes every Skiff rule, route and device and leaves Docker's rules", async () => {
  const child = spawn(
    process.execPath,
    ["--conditions=source", "--import", "tsx", mainScript, "--cleanup"],
    {
      stdio: "ignore",
    },
  );
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  assert.equal(code, 0);
  // skiff-net's SKIFF-NET-* chains belong to another program and may stay.
  assert.doesNotMatch(await sh("iptables-save"), /KUBE-|SKIFF-SAFETY/);
  assert.deepEqual(
    othersRulesLost(othersBefore, await othersRules()),
    [],
    "Docker's chains and rules are still there",
  );
  assert.notEqual((await exec("ip", ["link", "show", "dev", "skiff-drop0"])).code, 0);
  assert.doesNotMatch(await sh("ip", "route"), /10\.96\.0\.0\/12|10\.244\.0\.0\/16/);
});
